"""Custom actions: they turn Rasa's view of a turn (intent, entities, slots, text) into a
question for the facts module, and its answer into messages with follow-up buttons."""
import json
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge.facts import Answer, Followup, KnowledgeBase

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
}
INTENT_OF_ASPECT = {aspect: intent for intent, aspect in ASPECT_OF_INTENT.items()}

# Free-text search confidence (see KnowledgeBase.search) above which the assistant answers, and
# above which it offers "did you mean" buttons instead of declining; set by reading the search's
# results for the tests/nlu messages and for off-topic ones.
ANSWER_CONFIDENCE = 0.75
SUGGEST_CONFIDENCE = 0.3

SUGGESTIONS = "I'm not sure I understood. Did you mean one of these?"
NOT_UNDERSTOOD = (
    "Sorry, I didn't understand that. I can answer questions about KPO and BPO outsourcing: "
    "what they are, how they differ, which suits a business or a career, and more."
)


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
    return KNOWLEDGE.subject_named(tracker.get_slot("subject") or "")


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
    return [SlotSet("subject", subject), SlotSet("aspect", answer.aspect)]


class ActionAnswerQuestion(Action):
    """Answers a question on one aspect, or a follow-up that switches KPO/BPO."""

    def name(self) -> Text:
        return "action_answer_question"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[EventType]:
        intent = tracker.latest_message.get("intent", {}).get("name")
        previous = tracker.get_slot("aspect")
        if intent == "switch_subject" and previous == "career":  # "and for KPO?" after advice
            background = last_text_of(tracker, "ask_career")
            return say(dispatcher, KNOWLEDGE.career_advice(background, subject_of(tracker)))
        if intent in ASPECT_OF_INTENT:
            aspect = ASPECT_OF_INTENT[intent]
        elif previous in KNOWLEDGE.aspects:  # switch_subject: same question, other subject
            aspect = previous
        else:
            aspect = "definition"
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
        return say(dispatcher, KNOWLEDGE.career_advice(text, subject_of(tracker)), offer)


class ActionAnswerFreeText(Action):
    """For messages NLU could not classify: search the facts, answer, suggest or decline."""

    def name(self) -> Text:
        return "action_answer_free_text"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[EventType]:
        result = KNOWLEDGE.search(tracker.latest_message.get("text") or "")
        if result.candidates and result.confidence >= ANSWER_CONFIDENCE:
            best = result.candidates[0]
            return say(dispatcher, KNOWLEDGE.answer(best.aspect,
                                               best.subject or subject_of(tracker)))
        if result.candidates and result.confidence >= SUGGEST_CONFIDENCE:
            dispatcher.utter_message(text=SUGGESTIONS, buttons=buttons(result.candidates))
        else:
            dispatcher.utter_message(text=NOT_UNDERSTOOD, buttons=buttons(STARTERS))
        return []
