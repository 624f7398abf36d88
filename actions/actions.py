"""Custom actions: they turn Rasa's view of a turn (intent, entities, slots, text) into a
question for the facts module, and its answer into messages with follow-up buttons."""
import json
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge.facts import DECLINED, Answer, Followup, KnowledgeBase, Reading
from actions.knowledge.facts import SUGGESTIONS as SUGGESTED

KNOWLEDGE = KnowledgeBase.load()

# Intents that ask about one aspect of KPO/BPO, and the aspect's name in the facts module.
ASPECT_OF_INTENT = {
    "ask_definition": "definition",
    "ask_difference": "difference",
    "ask_which_better": "deciding",
    "ask_work": "work",
    "ask_industries": "industries",
    "ask_skills": "skills",
    "ask_qualification": "qualifications",
    "ask_salary": "salary",
    "ask_companies": "companies",
    "ask_advantages": "advantages",
    "ask_risks": "risks",
    "ask_cost": "cost",
    "ask_evolution": "evolution",
    "ask_trends": "trends",
    "ask_future": "future",
    "ask_automation": "automation",
    "ask_data_security": "data_security",
    "ask_use_both": "using_both",
    "ask_india": "india",
    "ask_location": "location",
    "ask_conditions": "conditions",
    "ask_outsourcing": "outsourcing",
}
INTENT_OF_ASPECT = {aspect: intent for intent, aspect in ASPECT_OF_INTENT.items()}

SUGGESTIONS = ("I'm not sure I understood, and my sources may not cover it. Did you mean one of "
               "these?")
NOT_UNDERSTOOD = (
    "Sorry, I didn't understand that. I can answer questions about KPO and BPO outsourcing: "
    "what they are, how they differ, which suits a business or a career, and more."
)
# Intents that are no question about the knowledge, and the reading respond() gets for them.
CAREER_INTENT = "ask_career"
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE_INTENT = "out_of_scope"
QUESTIONS_KEY = "questions"  # pipeline/intent_classifier.py: each question of a message
# What kind of reply each answer was (facts.ANSWERED, NOT_COVERED, SUGGESTIONS, DECLINED), kept in
# the conversation's record for those who review what users asked.
ANSWER_KIND_SLOT = "answer_kind"


HELP_ME_DECIDE = {"title": "Help me decide", "payload": "/start_advisor"}

STARTERS = [
    Followup(KNOWLEDGE.question(aspect, subject), aspect, subject)
    for aspect, subject in (("definition", "kpo"), ("definition", "bpo"), ("difference", None))
]


def subject_of(tracker: Tracker) -> Optional[str]:
    """The subject ("kpo", "bpo" or None for both) the latest message is about.

    A message naming one subject is about it, one naming both is about both, and one naming none
    ("what are its risks?") continues with the conversation's subject.
    """
    message = tracker.latest_message
    names = [e["value"] for e in message.get("entities", []) if e.get("entity") == "process"]
    named = {KNOWLEDGE.subject_named(str(name)) for name in names} - {None}
    named |= set(KNOWLEDGE.subjects_in(message.get("text") or ""))
    if named:
        return named.pop() if len(named) == 1 else None
    return conversation_subject(tracker)


def conversation_subject(tracker: Tracker) -> Optional[str]:
    return KNOWLEDGE.subject_named(tracker.get_slot("subject") or "")


def aspect_of(intent: Optional[Text]) -> Optional[Text]:
    """What respond() reads an intent as: an aspect, "career", or None (no such question)."""
    return "career" if intent == CAREER_INTENT else ASPECT_OF_INTENT.get(intent)


def reading_of(parsed: Dict[Text, Any]) -> Reading:
    """One question as NLU read it: its intents, best first, without FallbackClassifier's."""
    ranking = parsed.get("intent_ranking") or [parsed.get("intent") or {}]
    return Reading(parsed.get("text") or "", tuple(
        (aspect_of(intent.get("name")), float(intent.get("confidence") or 0.0))
        for intent in ranking if intent.get("name") != FALLBACK_INTENT))


def readings_of(tracker: Tracker) -> List[Reading]:
    message = tracker.latest_message
    questions = message.get(QUESTIONS_KEY) or [message]
    if len(questions) == 1:
        # One question in a paragraph: the message's intent is the surer of the question's own
        # and the whole paragraph's (pipeline/intent_classifier.py).
        return [reading_of({**message, "text": questions[0].get("text")})]
    return [reading_of(question) for question in questions]


def last_text_of(tracker: Tracker, intent: Text) -> Text:
    """What the user last said with this intent, e.g. their background in a career question."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and \
                (event.get("parse_data") or {}).get("intent", {}).get("name") == intent:
            return event.get("text") or ""
    return ""


def payload(followup: Followup) -> Text:
    """A button payload that asks the follow-up directly, bypassing NLU."""
    intent = INTENT_OF_ASPECT[followup.aspect]
    names = [KNOWLEDGE.subject_names[followup.subject]] if followup.subject else ["KPO", "BPO"]
    return f"/{intent}{json.dumps({'process': names})}"


def buttons(followups: List[Followup]) -> List[Dict[Text, Text]]:
    return [{"title": f.question, "payload": payload(f)} for f in followups]


def say(dispatcher: CollectingDispatcher, answer: Answer,
        extra_buttons: List[Dict[Text, Text]] = ()) -> List[EventType]:
    """Send an answer with its sources and follow-ups, and remember what it was about."""
    text = answer.text
    if answer.source_titles:
        text += "\n\nSource: " + "; ".join(f"“{t}”" for t in answer.source_titles)
    dispatcher.utter_message(text=text, buttons=buttons(answer.followups) + list(extra_buttons))
    subject = KNOWLEDGE.subject_names.get(answer.subject) if answer.subject else None
    aspect = answer.aspect if answer.aspect in KNOWLEDGE.aspects or answer.aspect == "career" \
        else None
    return [SlotSet("subject", subject), SlotSet("aspect", aspect),
            SlotSet(ANSWER_KIND_SLOT, answer.kind)]


def respond(dispatcher: CollectingDispatcher, tracker: Tracker,
            extra_buttons: List[Dict[Text, Text]] = ()) -> List[EventType]:
    """Reply to the latest message, each of its questions in turn (KnowledgeBase.respond)."""
    answer = KNOWLEDGE.respond(tracker.latest_message.get("text") or "", readings_of(tracker),
                               conversation_subject(tracker))
    if answer.kind == SUGGESTED and not answer.facts:
        dispatcher.utter_message(text=answer.text or SUGGESTIONS, buttons=buttons(answer.followups))
        return [SlotSet(ANSWER_KIND_SLOT, answer.kind)]
    if answer.kind == DECLINED:
        if tracker.latest_message.get("intent", {}).get("name") == OUT_OF_SCOPE_INTENT:
            dispatcher.utter_message(response="utter_out_of_scope")
        else:
            dispatcher.utter_message(text=NOT_UNDERSTOOD, buttons=buttons(STARTERS))
        return [SlotSet(ANSWER_KIND_SLOT, answer.kind)]
    return say(dispatcher, answer, extra_buttons)


class ActionAnswerQuestion(Action):
    """Answers the questions of a message, or a follow-up that switches KPO/BPO."""

    def name(self) -> Text:
        return "action_answer_question"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[EventType]:
        if tracker.latest_message.get("intent", {}).get("name") != "switch_subject":
            return respond(dispatcher, tracker)
        previous = tracker.get_slot("aspect")
        if previous == "career":  # "and for KPO?" after advice
            background = last_text_of(tracker, CAREER_INTENT)
            return say(dispatcher, KNOWLEDGE.career_advice(background, subject_of(tracker)))
        aspect = previous if previous in KNOWLEDGE.aspects else "definition"
        return say(dispatcher, KNOWLEDGE.answer(aspect, subject_of(tracker)))


class ActionAnswerCareer(Action):
    """Answers a user's question about their own career from what they tell of themselves."""

    def name(self) -> Text:
        return "action_answer_career"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[EventType]:
        text = tracker.latest_message.get("text") or ""
        # Someone who says nothing about themselves may like the advisor to ask.
        offer = [] if KNOWLEDGE.background_in(text) else [HELP_ME_DECIDE]
        return respond(dispatcher, tracker, offer)


class ActionAnswerFreeText(Action):
    """For messages NLU could not classify or found off-topic: an answer or an honest "my
    sources don't cover ..." when they are about outsourcing at all, else a polite decline."""

    def name(self) -> Text:
        return "action_answer_free_text"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[EventType]:
        return respond(dispatcher, tracker)
