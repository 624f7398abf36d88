"""Finding the questions in a message: people write a paragraph about themselves and then ask,
or ask two things at once ("define KPO and list the kinds of work it does").

`question_spans(text)` gives the character spans of the questions, in order. NLU classifies
each span on its own (pipeline/intent_classifier.py), so every question gets its own reading and
the background around it does not drown it. Plain Python with no Rasa in it.
"""
import re
from typing import List, Tuple

# Words that open a question or a request, in English and the Hinglish people write.
OPENERS = (
    "what whats what's wat wht how why which who whom whose where when is are am was were can "
    "could do does did should shall will would may might has have tell explain define describe "
    "list give compare name suggest kindly pls plz please any kya kaise kaisa kitna kitni kyun "
    "kaun konsa kab batao bataye"
).split()
# Titles and exam questions open with what they ask about ("Difference between BPO & KPO"); these
# words open a question only at the start of a sentence ("pros and cons" is one question).
TITLE_OPENERS = (
    "difference differences meaning definition advantages disadvantages benefits merits demerits "
    "pros cons scope future salary types role importance features"
).split()
# Words a question may open with before its question word: "So, what's the real difference".
LEAD_INS = "so ok okay well but and then now also hi hello sir".split()
# A clause ends at a line break, a "?" or "!", a "." before a space, or a dash, bar or colon
# between words ("Difference between BPO & KPO – What's best for you?"): "kpo?what is bpo" is two
# clauses, "after M.Sc computer science" one.
CLAUSE = re.compile(r"(?:[^.!?\n|:–—-]|\.(?=\S)|[:–—-](?!\s))+[.!?|:–—-]*")
# Inside a clause, a new question starts after "and", "also", "&", ";" or "," when the words that
# follow open a question: "what is bpo and what are its advantages", "define kpo and list ...".
OPENER = "|".join(re.escape(word) for word in sorted(OPENERS, key=len, reverse=True))
CONJUNCTION = r"(?:and\s+also|and|also|&|then)"
JOINT = re.compile(rf"(?:\s*[,;]\s*(?:{CONJUNCTION}\s+)?|\s+{CONJUNCTION}\s+)(?=(?:{OPENER})\b)",
                   re.I)
# Hinglish and Hindi put their question word late ("bpo kya hai aur job kaise milegi", "BPO क्या
# है, जॉब कैसे मिलेगी"): "aur" (and) or a comma joins two questions when each side holds a question
# word of its own.
HINGLISH_QUESTION = re.compile(
    r"\b(?:kya|kaise|kaisa|kaisi|kitna|kitni|kitne|kyun|kyu|kaun|konsa|kab|kahan)\b"
    r"|(?<![\u0900-\u097F])(?:क्या|कैसे|कैसा|कैसी|कितना|कितनी|कितने|क्यों|क्यूं|कौन|कौनसा|कब|कहाँ|कहां)"
    r"(?![\u0900-\u097F])", re.I)
HINGLISH_JOINT = re.compile(r"\s*,\s*|\s+(?:aur|और)\s+", re.I)
# A title that opens with what it is about asks its next question with a capital and no comma:
# "Difference Between BPO and KPO Which Option is Best".
TITLE_JOINT = re.compile(r"\s+(?=(?:What|Which|How|Why|Who|Where|When|Is|Are|Can|Should|Does|Do)"
                         r"\b)")
MAX_QUESTIONS = 4
MIN_WORDS = 2


def _is_question(clause: str) -> bool:
    words = re.findall(r"[a-z']+", clause.lower())
    while words[1:] and words[0] in LEAD_INS:
        words = words[1:]
    return (clause.rstrip().endswith("?") or bool(words and words[0] in OPENERS + TITLE_OPENERS)
            or bool(HINGLISH_QUESTION.search(clause)))


def _split_clause(start: int, clause: str) -> List[Tuple[int, int]]:
    """Split one clause where a conjunction is followed by a new question's opening word."""
    pieces, left = [], 0
    words = re.findall(r"[a-z]+", clause.lower())
    titled = [*TITLE_JOINT.finditer(clause)] if words and words[0] in TITLE_OPENERS else []
    joints = sorted([*JOINT.finditer(clause), *HINGLISH_JOINT.finditer(clause), *titled],
                    key=lambda m: m.start())
    for match in joints:
        both_ask = (HINGLISH_QUESTION.search(clause[left:match.start()])
                    and HINGLISH_QUESTION.search(clause[match.end():]))
        if match.re is HINGLISH_JOINT and not both_ask:
            continue
        # Only a cut that leaves a question of some length on the left: "what and how" stays.
        if len(re.findall(r"\w+", clause[left:match.start()])) >= MIN_WORDS:
            pieces.append((left, match.start()))
            left = match.end()
    pieces.append((left, len(clause)))
    spans = []
    for left, right in pieces:
        piece = clause[left:right]
        stripped = piece.strip(" ,;&:|–—-")
        if stripped:
            offset = left + piece.index(stripped)
            spans.append((start + offset, start + offset + len(stripped)))
    return spans


def question_spans(text: str) -> List[Tuple[int, int]]:
    """The (start, end) spans of the questions in `text`, at most MAX_QUESTIONS; one span over
    the whole text when it holds a single question or none that can be told apart."""
    whole = [(0, len(text))]
    spans: List[Tuple[int, int]] = []
    for match in CLAUSE.finditer(text):
        clause = match.group()
        if not clause.strip() or not _is_question(clause):
            continue
        for left, right in _split_clause(match.start(), clause):
            # "my accent is weak, can i join bpo?": the part before the question tells of the
            # writer, it asks nothing.
            piece = text[left:right]
            if len(re.findall(r"\w+", piece)) >= MIN_WORDS and (
                    _is_question(piece) or right == match.end()):
                spans.append((left, right))
    if not spans:
        return whole
    if len(spans) == 1 and not _background_around(text, spans[0]):
        return whole
    return spans[:MAX_QUESTIONS]


def _background_around(text: str, span: Tuple[int, int]) -> bool:
    """Whether the text says more than the question: a sentence or more around it."""
    rest = text[:span[0]] + " " + text[span[1]:]
    return len(re.findall(r"\w+", rest)) >= 4
