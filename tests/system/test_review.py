"""The review (python -m review, docs/review.md): its pure parts on their own, then end to end on
a tracker store the running assistant filled with real conversations, on SQLite and on
PostgreSQL, checked against what was sent."""
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pytest
import requests
import sqlalchemy as sa

from actions.actions import KNOWLEDGE, NOT_UNDERSTOOD
from harness.launcher import PROJECT, RASA, Assistant
from harness.production_stores import ProductionStores, unreachable_services
from review import store
from review.figures import FALLBACK, NO_CLICK, Figures
from review.groups import cluster, nlu_snippet
from review.privacy import SenderHasher, mask
from review.store import Event
from runtime.turn_failures import ACTION_FAILED

DAY = 86400


# --- the pure parts ----------------------------------------------------------------------------

def test_ages_are_hours_days_or_weeks():
    assert store.parse_age("36h") == 36 * 3600
    assert store.parse_age("7d") == 7 * DAY
    assert store.parse_age(" 2W ") == 14 * DAY
    assert store.cutoff("90d", now=100 * DAY) == 10 * DAY
    assert store.cutoff(None) is None
    for wrong in ("7", "d7", "7 days", "-7d", "7x", ""):
        with pytest.raises(ValueError):
            store.parse_age(wrong)


@pytest.mark.parametrize("text, shown", [
    ("mail me at jane.doe+kpo@example.co.in please", "mail me at <email> please"),
    ("call +91 98765 43210 or (022) 2345-6789", "call <phone> or <phone>"),
    ("my number is 9876543210.", "my number is <phone>."),
    ("in 2019 I earned 15000 a month, 3.5 lakh a year", "in 2019 I earned 15000 a month, 3.5 lakh "
                                                        "a year"),
    ("is kpo better than bpo for a 25 year old?", "is kpo better than bpo for a 25 year old?"),
])
def test_e_mail_addresses_and_phone_numbers_are_masked_and_nothing_else(text, shown):
    assert mask(text) == shown


def test_sender_hashes_link_one_report_and_nothing_else():
    hasher = SenderHasher()
    assert hasher("+919876543210") == hasher("+919876543210") != hasher("+919876543211")
    assert SenderHasher()("+919876543210") != hasher("+919876543210")  # a new key each report
    assert len(hasher("x")) == 12 and "9876" not in hasher("+919876543210")


def test_rows_join_the_group_of_the_first_row_they_resemble_enough():
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]])
    assert cluster(vectors, similar=0.75) == [[0, 1], [2, 3]]
    assert cluster(vectors, similar=0.99) == [[0], [1], [2], [3]]


def test_an_nlu_snippet_is_rasa_training_data_whatever_the_messages_hold():
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
    tricky = "pay: 'kpo' # or \"bpo\"?\n| more"
    snippet = nlu_snippet({"ask_salary": ["what does a [KPO](process) analyst earn", tricky,
                                          tricky]}, "a test")
    data = RasaYAMLReader().reads(snippet)
    assert [(m.get("intent"), m.get("text")) for m in data.training_examples] == [
        ("ask_salary", "what does a (KPO)(process) analyst earn"),
        ("ask_salary", "pay: 'kpo' # or \"bpo\"? | more")]
    assert not data.entity_examples and "a suggestion: check it" in snippet


def user(sender: str, text: str, intent: str, at: float, metadata: Optional[dict] = None) -> Event:
    return Event(sender, "user", at, {"event": "user", "text": text, "metadata": metadata or {},
                                      "parse_data": {"intent": {"name": intent}, "intent_ranking": [
                                          {"name": intent}, {"name": "ask_salary"}]}})


def bot(sender: str, text: str, at: float, buttons: List[dict] = ()) -> Event:
    return Event(sender, "bot", at, {"event": "bot", "text": text,
                                     "data": {"buttons": list(buttons)}})


def kind(sender: str, value: str, at: float) -> Event:
    return Event(sender, "slot", at, {"event": "slot", "name": "answer_kind", "value": value})


def other(sender: str, type_name: str, at: float) -> Event:
    return Event(sender, type_name, at, None)


def test_each_turn_counts_with_the_kind_of_reply_it_got_and_only_that():
    button = {"title": "What are the risks of KPO?", "payload": '/ask_risks{"process": ["KPO"]}'}
    events = [
        user("a", "what is kpo", "ask_definition", 1 * DAY), bot("a", "KPO is ...", DAY),
        kind("a", "answered", DAY),
        user("a", "zork kpo", "nlu_fallback", DAY), bot("a", NOT_UNDERSTOOD, DAY),
        kind("a", "declined", DAY),
        # A new session sets the carried-over slots again: no reply to anything.
        other("a", "session_started", 2 * DAY), kind("a", "declined", 2 * DAY),
        user("a", "hi", "greet", 2 * DAY), bot("a", "Hi!", 2 * DAY),
        user("b", "what are kpo's risks", "ask_risks", 2 * DAY), bot("b", ACTION_FAILED, 2 * DAY),
        user("c", "weather?", "out_of_scope", 2 * DAY), kind("c", "declined", 2 * DAY),
        user("c", "kpo risks salary", "nlu_fallback", 2 * DAY),
        bot("c", "Did you mean", 2 * DAY, [button]), kind("c", "suggestions", 2 * DAY),
        user("c", button["payload"], "ask_risks", 2 * DAY), kind("c", "answered", 2 * DAY),
        user("c", "bpo risks salary", "nlu_fallback", 2 * DAY),
        bot("c", "Did you mean", 2 * DAY, [button]), kind("c", "suggestions", 2 * DAY),
        user("c", "/feedback_negative", "feedback_negative", 2 * DAY),
    ]
    figures = Figures(SenderHasher()).read(events)
    assert (figures.conversations, figures.messages) == (3, 9)
    assert dict(figures.kinds) == {"answered": 2, "declined": 2, "other": 2, "failed": 1,
                                   "suggestions": 2}
    assert {day: (d["conversations"], d["messages"]) for day, d in figures.days.items()} == {
        "1970-01-02": (1, 2), "1970-01-03": (3, 7)}
    assert {w.text: dict(w.reasons) for w in figures.unanswered.values()} == {
        "zork kpo": {FALLBACK: 1}, "bpo risks salary": {NO_CLICK: 1}}
    assert [w.guesses for w in figures.unanswered.values()] == [{"ask_salary": 1}] * 2
    assert list(figures.clicks.values()) == [{"wording": "kpo risks salary",
                                              "clicked": button["title"], "intent": "ask_risks",
                                              "count": 1}]
    [rated] = figures.thumbs_down()
    assert (rated["question"], rated["answer"]) == ("bpo risks salary", "Did you mean")
    assert [t["user"] for t in rated["before"]] == ["kpo risks salary", button["payload"]]


# --- end to end --------------------------------------------------------------------------------

@dataclass
class Conversation:
    messages: List[str]
    kinds: List[str]  # of the replies, as the review should count them


ATTRITION = "what is the attrition rate in bpo"
WORK_FROM_HOME = ["can i work from home in a bpo", "is work from home possible in bpo jobs"]
EMAIL = "my email is jane.doe@example.com, does genpact hire freshers?"
PHONE = "call me on +91 98765 43210 about bpo night shifts"
UNSURE = ["salary industries risks kpo", "skills cost india bpo"]
CLICK = "<click the first suggestion>"
THUMBS_DOWN = "<thumbs down, as the widget sends it>"
CONVERSATIONS = {
    "answered": Conversation(["what is kpo"], ["answered"]),
    "attrition-1": Conversation([ATTRITION], ["not_covered"]),
    "attrition-2": Conversation([ATTRITION], ["not_covered"]),
    "attrition-3": Conversation(["why is attrition so high in bpo companies"], ["not_covered"]),
    "leaving": Conversation(["why do so many people leave bpo jobs"], ["not_covered"]),
    "home": Conversation(WORK_FROM_HOME, ["not_covered", "not_covered"]),
    "email": Conversation([EMAIL], ["not_covered"]),
    "clicked": Conversation([UNSURE[0], CLICK], ["suggestions", "answered"]),
    "not-clicked": Conversation([UNSURE[1], "thanks"], ["suggestions", "other"]),
    # Hedged, then "not covered" (working hours).
    "phone": Conversation([PHONE], ["not_covered"]),
    "thumbs-down": Conversation(["what is bpo", "what are the risks of bpo", THUMBS_DOWN,
                                 "what are the advantages of bpo"],
                                ["answered", "answered", "other", "answered"]),
    "off-topic": Conversation(["what's the weather in delhi today"], ["declined"]),
}
# Unanswered, grouped by meaning, largest group first (ties by their first wording).
GROUPS = [
    [ATTRITION, "why is attrition so high in bpo companies"],
    WORK_FROM_HOME,
    [mask(PHONE)],
    [mask(EMAIL)],
    [UNSURE[1]],
    ["why do so many people leave bpo jobs"],
]
GROUP_COUNTS = [3, 2, 1, 1, 1, 1]
REPLY_STARTS = {"not_covered": "My sources",
                "suggestions": "My sources may not cover exactly", "declined": "Sorry"}


@dataclass
class FilledStore:
    backend: str
    env: Dict[str, str]  # what selects the store, for python -m review
    senders: Dict[str, str]  # conversation name -> sender id
    rated: Dict[str, str]  # the question and answer the thumbs down was on
    clicked: Dict[str, str]  # the button clicked
    ready_checks: int  # the launcher's "hi" turns, in the store too
    tmp: Path

    def review(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "review", *args], cwd=PROJECT,
                              env={**os.environ, **self.env}, capture_output=True, text=True,
                              timeout=300)

    def engine(self) -> sa.engine.Engine:
        return store.engine_for(store.tracker_store_settings(env=self.env), read_only=False)


def converse(assistant: Assistant, run: str) -> tuple:
    senders, rated, clicked = {}, {}, {}
    for name, conversation in CONVERSATIONS.items():
        sender = senders[name] = f"review-{run}-{name}"
        previous = []
        for message, expected in zip(conversation.messages, conversation.kinds):
            metadata = None
            if message == CLICK:
                clicked.update(previous[0]["buttons"][0])
                message = clicked["payload"]
            elif message == THUMBS_DOWN:
                rated.update(question="What are the risks of BPO?",
                             answer="\n\n".join(m.get("text", "") for m in previous))
                metadata = {"feedback": {"rating": "down", **rated}}
                message = "/feedback_negative"
            response = requests.post(assistant.webhook, headers=assistant.rest_headers,
                                     json={"sender": sender, "message": message,
                                           "metadata": metadata or {}}, timeout=60)
            response.raise_for_status()
            previous = response.json()
            if expected in REPLY_STARTS:  # the assistant replied as the test expects
                assert previous[0]["text"].startswith(REPLY_STARTS[expected]), (message, previous)
    return senders, rated, clicked


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def filled(request, tmp_path_factory) -> FilledStore:
    tmp = tmp_path_factory.mktemp(f"review-{request.param}")
    production = None
    if request.param == "postgresql":
        missing = unreachable_services()
        if missing:
            pytest.skip(f"not reachable: {', '.join(missing)}")
        production = ProductionStores.start()
        env = production.env()
    else:
        env = {"ASSISTANT_STORES": "embedded", "ASSISTANT_SQLITE_DB": str(tmp / "tracker.db")}
    assistant = Assistant(tmp, env=env)
    try:
        assistant.wait_until_ready()
        senders, rated, clicked = converse(assistant, request.param)
    finally:
        assistant.stop()  # the review reads a store nobody writes to
    try:
        filled = FilledStore(request.param, env, senders, rated, clicked, 0, tmp)
        with filled.engine().connect() as connection:
            filled.ready_checks = connection.execute(sa.text(
                "SELECT count(*) FROM events WHERE sender_id = 'ready-check' "
                "AND type_name = 'user'")).scalar()
        yield filled
    finally:
        if production:
            production.close()


@pytest.fixture(scope="module")
def reviewed(filled) -> dict:
    result = filled.review("--json", "--out", str(filled.tmp / "report.html"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def expected_kinds(ready_checks: int) -> Dict[str, int]:
    kinds = dict.fromkeys(["answered", "not_covered", "suggestions", "declined", "failed",
                           "other"], 0)
    for conversation in CONVERSATIONS.values():
        for kind in conversation.kinds:
            kinds[kind] += 1
    kinds["other"] += ready_checks  # "hi"
    return kinds


def test_volume_and_kinds_of_reply_are_what_was_sent(filled, reviewed):
    kinds = expected_kinds(filled.ready_checks)
    messages = sum(kinds.values())
    conversations = len(CONVERSATIONS) + min(filled.ready_checks, 1)  # and the ready check
    assert reviewed["conversations"] == conversations
    assert reviewed["messages"] == messages
    assert reviewed["kinds"] == kinds
    assert reviewed["shares"] == pytest.approx({k: n / messages for k, n in kinds.items()})
    [today] = reviewed["days"]  # every message was sent just now
    assert (today["conversations"], today["messages"], today["kinds"]) == (
        conversations, messages, kinds)


def test_unanswered_questions_are_grouped_by_meaning_largest_first(reviewed):
    groups = reviewed["unanswered"]["groups"]
    assert [[w["text"] for w in g["wordings"]] for g in groups] == GROUPS
    assert [g["count"] for g in groups] == GROUP_COUNTS
    assert reviewed["unanswered"]["messages"] == sum(GROUP_COUNTS)
    assert groups[0]["examples"] == GROUPS[0] and groups[0]["reasons"] == {"not_covered": 3}
    assert groups[4]["reasons"] == {"suggestions_without_click": 1}
    assert groups[0]["nearest_fact"] is None  # the sources say nothing about attrition
    for group in groups:
        ranked = KNOWLEDGE.search(group["examples"][0]).ranked
        assert (group["nearest_fact"] or {}).get("id") == (ranked[0][0].id if ranked else None)
        assert group["suggested_intent"].startswith("ask_")
        assert f"- intent: {group['suggested_intent']}  # a suggestion: check it" in group["nlu"]


def test_thumbs_down_come_with_the_question_answer_and_conversation(filled, reviewed):
    assert reviewed["thumbs_down"]["count"] == 1
    [item] = reviewed["thumbs_down"]["items"]
    assert (item["question"], item["answer"]) == (filled.rated["question"],
                                                  filled.rated["answer"])
    assert "dependency on the service provider" in item["answer"]
    assert [t["user"] for t in item["before"]] == ["what is bpo"]
    assert "Business Process Outsourcing" in item["before"][0]["bot"][0]
    assert [t["user"] for t in item["after"]] == ["what are the advantages of bpo"]


def test_did_you_mean_clicks_are_ready_made_training_examples(filled, reviewed):
    intent = filled.clicked["payload"][1:].split("{")[0]
    assert reviewed["did_you_mean"]["clicked"] == [
        {"wording": UNSURE[0], "clicked": filled.clicked["title"], "intent": intent, "count": 1}]
    assert f"- intent: {intent}" in reviewed["did_you_mean"]["nlu"]


def test_the_report_shows_no_sender_id_e_mail_or_phone_number(filled, reviewed):
    html = (filled.tmp / "report.html").read_text()
    for shown in (html, json.dumps(reviewed, ensure_ascii=False)):
        assert "jane.doe" not in shown and "98765" not in shown and "<email>" in mask(EMAIL)
        assert not any(sender in shown for sender in filled.senders.values())
    assert reviewed["thumbs_down"]["items"][0]["conversation"] not in filled.senders.values()


def test_the_report_opens_in_the_browser_with_its_groups_on_a_phone(filled, reviewed):
    from playwright.sync_api import sync_playwright

    from harness.browser import launch_chromium
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            page = chromium.new_page(viewport={"width": 390, "height": 844})
            requested = []
            page.on("request", lambda r: requested.append(r.url))
            page.goto((filled.tmp / "report.html").as_uri())
            cards = page.locator(".group")
            assert cards.count() == len(GROUPS)
            assert cards.first.locator(".count").inner_text() == str(GROUP_COUNTS[0])
            assert ATTRITION in cards.first.locator("h3").inner_text()
            assert cards.first.locator("ul.examples li").all_inner_texts() == GROUPS[0]
            assert page.locator("svg.chart rect").count() >= 1
            assert page.locator(".thumbs-down").count() == 1
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert all(url.startswith("file:") for url in requested)  # no external asset
        finally:
            chromium.close()


def test_the_nlu_snippets_pass_rasa_data_validate(filled, reviewed, tmp_path):
    if filled.backend != "sqlite":
        pytest.skip("the snippets are the same on every store: validated once")
    for name in ("domain.yml", "config.yml"):
        shutil.copy(PROJECT / name, tmp_path / name)
    shutil.copytree(PROJECT / "data", tmp_path / "data")
    snippets = [g["nlu"] for g in reviewed["unanswered"]["groups"]]
    snippets.append(reviewed["did_you_mean"]["nlu"])
    for number, snippet in enumerate(snippets):
        (tmp_path / "data" / "nlu" / f"review-{number}.yml").write_text(snippet)
    result = subprocess.run([str(RASA), "data", "validate", "--domain", "domain.yml", "--data",
                             "data", "--config", "config.yml"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_the_review_cannot_write_to_the_store(filled):
    engine = store.engine_for(store.tracker_store_settings(env=filled.env))
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM events"))


def test_old_conversations_are_left_out_of_a_window_and_purged_on_request(filled):
    """Last, as it changes the store: the off-topic conversation is moved 100 days back."""
    old = filled.senders["off-topic"]
    with filled.engine().begin() as connection:
        events = connection.execute(sa.text(
            "UPDATE events SET timestamp = timestamp - :age WHERE sender_id = :sender"),
            {"age": 100 * DAY, "sender": old}).rowcount
    recent = filled.review("--json", "--since", "7d", "--out", str(filled.tmp / "recent.html"))
    assert json.loads(recent.stdout)["kinds"]["declined"] == 0, recent.stderr
    dry_run = filled.review("--purge-older-than", "90d", "--dry-run")
    assert dry_run.stdout.strip() == (f"Dry run: 1 conversations ({events} events) older than "
                                      f"90d would be deleted."), dry_run.stderr
    purged = filled.review("--purge-older-than", "90d")
    assert purged.stdout.strip() == f"Deleted 1 conversations ({events} events) older than 90d."
    with filled.engine().connect() as connection:
        senders = {row[0] for row in connection.execute(sa.text(
            "SELECT DISTINCT sender_id FROM events"))}
    assert old not in senders and set(filled.senders.values()) - {old} <= senders
