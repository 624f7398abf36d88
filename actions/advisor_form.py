"""The advisor's actions: they adapt Rasa's advisor_form to actions/knowledge/advisor.py.

The form asks the questions (`action_ask_<slot>`, with the wording of advisor.yml); each answer
arrives as the message's text (a button sends plain text too) and `validate_advisor_form` reads it with
the advisor. A message that answers no question but asks something else, or says stop, rejects
the form so that a rule answers it; the form then asks its question again.
"""
import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ASPECT_OF_INTENT, KNOWLEDGE, say
from actions.knowledge.advisor import PATH_QUESTION, Advisor

ADVISOR = Advisor.load(KNOWLEDGE)
FORM = "advisor_form"
REQUESTED_SLOT = "requested_slot"
# What a message that answers none of the advisor's questions may be instead: each has a rule
# for when the form is active (data/rules.yml).
INTERRUPTIONS = set(ASPECT_OF_INTENT) | {
    "switch_subject", "ask_career", "help", "bot_challenge", "greet", "thanks", "out_of_scope",
    "feedback_positive", "feedback_negative", "stop", "goodbye", "start_advisor"}
# Said as a question, an interruption is one even when it uses an answer's words ("is data
# security a concern?" while the advisor asks for the main concern).
QUESTION = re.compile(
    r"\?\s*$|^\s*(what|which|how|why|who|where|when|is|are|can|could|do|does|will|should)\b",
    re.IGNORECASE)
START_AGAIN = {"title": "Start the advisor again", "payload": "/start_advisor"}
NOT_UNDERSTOOD = "Sorry, I didn't catch that. Pick a button or type your answer, "


def answers_of(tracker: Tracker) -> Dict[Text, Any]:
    return {question: tracker.get_slot(question) for question in ADVISOR.questions}


def answered_just_now(tracker: Tracker) -> bool:
    """Whether the form runs on a new message, not on activation or on resuming after an
    interruption, when there is no answer to read, only the next question to name.

    Rasa runs the validation on a copy of the tracker that ends with the form's own action, so
    it is the action before that one that tells.
    """
    actions = [e.get("name") for e in tracker.events if e.get("event") == "action"]
    return len(actions) >= 2 and actions[-1] == FORM and actions[-2] == "action_listen"


class ActionAdvisorStart(Action):
    """Forgets the answers of an earlier run, so the advisor starts from its first question."""

    def name(self) -> Text:
        return "action_advisor_start"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[EventType]:
        return [SlotSet(question, None) for question in ADVISOR.questions] + \
            [SlotSet(REQUESTED_SLOT, None)]


class ValidateAdvisorForm(Action):
    """Reads the answer to the question asked (or a change to an earlier one) and names the
    next question: the chosen path's, or none when all are answered."""

    def name(self) -> Text:
        return f"validate_{FORM}"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[EventType]:
        answers = answers_of(tracker)
        asked = tracker.get_slot(REQUESTED_SLOT)
        events: List[EventType] = []
        if asked in ADVISOR.questions and answered_just_now(tracker):
            text = tracker.latest_message.get("text") or ""
            intent = (tracker.latest_message.get("intent") or {}).get("name")
            choice = ADVISOR.read(asked, text)
            corrections = ADVISOR.corrections(text, asked, answers)
            # An off-topic statement ("hmm dunno") is a try at an answer: it gets the hint.
            off_topic_statement = intent == "out_of_scope" and not QUESTION.search(text)
            if intent in INTERRUPTIONS and not off_topic_statement and (
                    intent in ("stop", "start_advisor") or QUESTION.search(text)
                    or not (choice or corrections)):
                return [SlotSet(asked, None), ActionExecutionRejected(FORM)]
            answers[asked] = choice
            events.append(SlotSet(asked, choice))
            for question, changed in corrections.items():
                answers[question] = changed
                events.append(SlotSet(question, changed))
                dispatcher.utter_message(text=ADVISOR.acknowledge(question, changed))
            if not choice and not corrections:
                dispatcher.utter_message(text=NOT_UNDERSTOOD + ADVISOR.hint(asked))
        missing = [q for q in ADVISOR.questions_for(answers[PATH_QUESTION])
                   if answers[q] not in ADVISOR.questions[q].choices]
        return events + [SlotSet(REQUESTED_SLOT, missing[0] if missing else None)]


def ask_action(question: Text) -> type:
    """The action `action_ask_<question>` that the form runs to ask one of the questions."""

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[EventType]:
        spec = ADVISOR.questions[question]
        dispatcher.utter_message(text=spec.ask, buttons=[
            {"title": title, "payload": sent} for title, sent in spec.buttons])
        return []

    return type(f"ActionAsk_{question}", (Action,), {
        "name": lambda self: f"action_ask_{question}", "run": run,
        "__doc__": f"Asks the advisor's question {question}."})


ASK_ACTIONS = [ask_action(question) for question in ADVISOR.questions]


class ActionAdvisorRecommend(Action):
    """The recommendation, once every question of the path is answered."""

    def name(self) -> Text:
        return "action_advisor_recommend"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[EventType]:
        answers = answers_of(tracker)
        recommendation = ADVISOR.recommend(answers[PATH_QUESTION], answers)
        return say(dispatcher, recommendation, extra_buttons=[START_AGAIN])
