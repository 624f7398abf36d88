"""The figures of a review, counted from the tracker store's events in one pass.

Events come one conversation after another (store.events). A conversation is a run of turns:
a user message and what followed it up to the next one. What kind of reply a turn got is the
`answer_kind` slot the actions set with their reply (actions/actions.py); a turn whose action
failed has one of the bot texts of runtime/turn_failures.py; a turn with neither is chit-chat, a
thumbs up or down, or the advisor's form ("other"). Memory holds one conversation's last few
turns and, across conversations, the distinct wordings of unanswered questions and of
did-you-mean clicks (each up to a cap), never the events themselves.
"""
import heapq
import itertools
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Tuple

from actions.actions import ANSWER_KIND_SLOT, ASPECT_OF_INTENT, CAREER_INTENT, OUT_OF_SCOPE_INTENT
from actions.knowledge.facts import ANSWERED, DECLINED, NOT_COVERED, SUGGESTIONS
from review.privacy import mask
from review.store import Event
from runtime.turn_failures import ACTION_FAILED, ACTION_TIMED_OUT

FAILED = "failed"
OTHER = "other"
KINDS = (ANSWERED, NOT_COVERED, SUGGESTIONS, DECLINED, FAILED, OTHER)
FAILURE_TEXTS = {ACTION_FAILED, ACTION_TIMED_OUT}
THUMBS_DOWN_INTENT = "feedback_negative"
# The intents an unanswered question may be taught as: the questions about the knowledge.
QUESTION_INTENTS = set(ASPECT_OF_INTENT) | {CAREER_INTENT}
# Why a question counts as unanswered.
NO_CLICK = "suggestions_without_click"
FALLBACK = "not_understood"
# Turns shown before the question a thumbs down rates (and one after the thumbs down).
CONTEXT_TURNS = 2
# Caps that keep memory bounded however large the store: what is over them is counted only.
MAX_WORDINGS = 20_000
MAX_CLICKS = 5_000
MAX_THUMBS_DOWN = 200  # the latest are kept


@dataclass
class Turn:
    timestamp: float
    text: str
    intent: Optional[str]
    guess: Optional[str]  # the question intent NLU ranked highest
    feedback: Dict[str, Any]  # what the widget sends with a thumbs up or down
    replies: List[str] = field(default_factory=list)
    buttons: List[Dict[str, str]] = field(default_factory=list)
    answer_kind: Optional[str] = None
    failed: bool = False

    @property
    def kind(self) -> str:
        return FAILED if self.failed else self.answer_kind or OTHER

    @property
    def typed(self) -> bool:
        """Written by the user, not a button's `/intent{...}` payload."""
        return bool(self.text.strip()) and not self.text.startswith("/")

    def shown(self) -> Dict[str, Any]:
        return {"user": mask(self.text), "bot": [mask(reply) for reply in self.replies]}


def turn_of(event: Event) -> Turn:
    data = event.data or {}
    parsed = data.get("parse_data") or {}
    ranking = parsed.get("intent_ranking") or [parsed.get("intent") or {}]
    guess = next((i.get("name") for i in ranking if i.get("name") in QUESTION_INTENTS), None)
    feedback = (data.get("metadata") or {}).get("feedback")
    return Turn(event.timestamp, data.get("text") or "", (parsed.get("intent") or {}).get("name"),
                guess, feedback if isinstance(feedback, dict) else {})


def day_of(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).date().isoformat()


def key_of(text: str) -> str:
    return " ".join(mask(text).lower().split())


def clicked(turn: Turn, offered: Turn) -> Optional[Dict[str, str]]:
    """The button of `offered` that `turn` is a click on (its payload, or its title typed)."""
    return next((b for b in offered.buttons
                 if turn.text.strip() in (b.get("payload"), b.get("title"))), None)


def intent_of_payload(payload: str) -> str:
    return payload[1:].split("{", 1)[0] if payload.startswith("/") else ""


@dataclass
class Wording:
    """An unanswered question, as worded (masked), with how often and why."""

    text: str
    count: int = 0
    guesses: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)


class Figures:
    def __init__(self, hash_sender: Callable[[str], str]) -> None:
        self.hash_sender = hash_sender
        self.conversations = 0
        self.messages = 0
        self.kinds: Counter = Counter()
        self.days: Dict[str, Dict[str, Any]] = defaultdict(
            lambda: {"conversations": 0, "messages": 0, "kinds": Counter()})
        self.unanswered: Dict[str, Wording] = {}
        self.unanswered_over_cap = 0
        self.clicks: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.clicks_over_cap = 0
        self.thumbs_down_count = 0
        self._thumbs_down: List[Tuple[float, int, Dict[str, Any]]] = []  # a heap, oldest first
        self._order = itertools.count()

    def read(self, events: Iterable[Event]) -> "Figures":
        for sender_id, conversation in itertools.groupby(events, lambda e: e.sender_id):
            self._read_conversation(sender_id, conversation)
        return self

    def _read_conversation(self, sender_id: str, events: Iterable[Event]) -> None:
        state = _Conversation(self.hash_sender(sender_id))
        turn: Optional[Turn] = None
        for event in events:
            if event.type_name == "user":
                if turn:
                    self._add_turn(state, turn)
                turn = turn_of(event)
            elif event.type_name == "session_started":
                # Slots carried into a new session are set again: not a reply to anything.
                if turn:
                    self._add_turn(state, turn)
                turn = None
            elif turn and event.type_name == "bot":
                text = (event.data or {}).get("text") or ""
                turn.replies.append(text)
                turn.buttons += ((event.data or {}).get("data") or {}).get("buttons") or []
                turn.failed |= text in FAILURE_TEXTS
            elif turn and event.type_name == "slot" and \
                    (event.data or {}).get("name") == ANSWER_KIND_SLOT:
                turn.answer_kind = event.data.get("value")
        if turn:
            self._add_turn(state, turn)
        if state.offered:
            self._add_unanswered(state.offered, NO_CLICK)
        if state.days:
            self.conversations += 1
            for day in state.days:
                self.days[day]["conversations"] += 1

    def _add_turn(self, state: "_Conversation", turn: Turn) -> None:
        day = day_of(turn.timestamp)
        state.days.add(day)
        self.messages += 1
        self.kinds[turn.kind] += 1
        self.days[day]["messages"] += 1
        self.days[day]["kinds"][turn.kind] += 1
        if state.offered:  # the previous turn offered "did you mean"
            button = clicked(turn, state.offered)
            if button:
                self._add_click(state.offered, button)
            else:
                self._add_unanswered(state.offered, NO_CLICK)
            state.offered = None
        if state.rated:  # the previous turn was a thumbs down: what came next
            state.rated["after"].append(turn.shown())
            state.rated = None
        if turn.kind == SUGGESTIONS and turn.typed:
            state.offered = turn
        elif turn.kind == NOT_COVERED and turn.typed:
            self._add_unanswered(turn, NOT_COVERED)
        elif turn.kind == DECLINED and turn.intent != OUT_OF_SCOPE_INTENT and turn.typed:
            self._add_unanswered(turn, FALLBACK)  # not understood, rather than off-topic
        if turn.intent == THUMBS_DOWN_INTENT:
            state.rated = self._add_thumbs_down(state, turn)
        else:
            state.recent.append(turn)

    def _add_unanswered(self, turn: Turn, reason: str) -> None:
        key = key_of(turn.text)
        wording = self.unanswered.get(key)
        if wording is None:
            if len(self.unanswered) >= MAX_WORDINGS:
                self.unanswered_over_cap += 1
                return
            wording = self.unanswered[key] = Wording(" ".join(mask(turn.text).split()))
        wording.count += 1
        wording.reasons[reason] += 1
        if turn.guess:
            wording.guesses[turn.guess] += 1

    def _add_click(self, offered: Turn, button: Dict[str, str]) -> None:
        key = (key_of(offered.text), button.get("title") or "")
        click = self.clicks.get(key)
        if click is None:
            if len(self.clicks) >= MAX_CLICKS:
                self.clicks_over_cap += 1
                return
            click = self.clicks[key] = {
                "wording": " ".join(mask(offered.text).split()), "clicked": key[1],
                "intent": intent_of_payload(button.get("payload") or ""), "count": 0}
        click["count"] += 1

    def _add_thumbs_down(self, state: "_Conversation", turn: Turn) -> Dict[str, Any]:
        # The turn rated: the last before it (thumbs down are kept out of `recent`).
        earlier = list(state.recent)
        rated = earlier.pop() if earlier else None
        item = {
            "conversation": state.sender_hash, "timestamp": turn.timestamp,
            "question": mask(str(turn.feedback.get("question") or (rated.text if rated else ""))),
            "answer": mask(str(turn.feedback.get("answer")
                               or ("\n".join(rated.replies) if rated else ""))),
            "before": [t.shown() for t in earlier[-CONTEXT_TURNS:]], "after": []}
        self.thumbs_down_count += 1
        entry = (turn.timestamp, next(self._order), item)
        if len(self._thumbs_down) < MAX_THUMBS_DOWN:
            heapq.heappush(self._thumbs_down, entry)
        else:
            heapq.heappushpop(self._thumbs_down, entry)
        return item

    def thumbs_down(self) -> List[Dict[str, Any]]:
        """The latest thumbs down kept, newest first."""
        return [item for _, _, item in sorted(self._thumbs_down, reverse=True)]


@dataclass
class _Conversation:
    sender_hash: str
    days: set = field(default_factory=set)
    recent: Deque[Turn] = field(default_factory=lambda: deque(maxlen=CONTEXT_TURNS + 1))
    offered: Optional[Turn] = None  # a "did you mean" turn awaiting the next message
    rated: Optional[Dict[str, Any]] = None  # a thumbs down awaiting the turn after it
