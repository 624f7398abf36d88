"""runtime/metrics.py's names for what the actions report agree with the actions'."""
from actions.actions import ANSWER_KIND_SLOT
from actions.knowledge.facts import ANSWERED, DECLINED, NOT_COVERED, SUGGESTIONS
from runtime import metrics


def test_the_answer_kinds_are_those_the_actions_set():
    assert metrics.ANSWER_KIND_SLOT == ANSWER_KIND_SLOT
    assert set(metrics.ANSWER_KINDS) == {ANSWERED, NOT_COVERED, SUGGESTIONS, DECLINED}


def test_an_unknown_kind_is_counted_as_other():
    before = metrics.ANSWERS.labels("other")._value.get()
    metrics.answer_kind("something new")
    assert metrics.ANSWERS.labels("other")._value.get() == before + 1


def test_the_token_is_required_and_compared_whole(monkeypatch):
    monkeypatch.delenv(metrics.TOKEN, raising=False)
    assert not metrics.authorized("Bearer ")
    monkeypatch.setenv(metrics.TOKEN, "s3cret")
    assert metrics.authorized("Bearer s3cret")
    assert not metrics.authorized("Bearer s3cre") and not metrics.authorized("s3cret")
