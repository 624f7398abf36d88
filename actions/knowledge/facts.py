"""The facts module: what the source articles say about KPO and BPO, and how to ask it.

Plain Python with no Rasa in it, so it can be tested and reused on its own. It answers
- structured questions: `answer("risks", "kpo")`, an aspect and a subject;
- comparisons: `answer("risks")`, both subjects side by side;
- career questions in the user's words: `career_advice("I work in healthcare ...")`;
- free text: `search("which is better, kpo or bpo?")`, facts ranked with a confidence;
- whole messages: `respond(text, readings)`, one reply to every question a message asks, as
  NLU read them: a grounded answer, or "my sources don't cover ..." and what they do say.
The knowledge itself lives in facts.yml; every answer keeps the facts (and so the source
passages) it was composed from.
"""
import difflib
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from actions.knowledge.language import Lemmatizer, load_lemma_table

KNOWLEDGE_DIR = Path(__file__).parent
SUBJECTS = ("kpo", "bpo")
# A fact's subject is one of SUBJECTS, or one of these, which speak to every subject.
GENERAL_SUBJECTS = ("both", "outsourcing")


@dataclass(frozen=True)
class Source:
    article: str
    title: str
    passage: str


@dataclass(frozen=True)
class Fact:
    id: str
    subject: str
    aspects: Tuple[str, ...]
    answer: str
    sources: Tuple[Source, ...]
    perspective: Optional[str] = None


@dataclass(frozen=True)
class Followup:
    """A question the user may ask next, as an aspect and a subject (None: both)."""

    question: str
    aspect: str
    subject: Optional[str]


# What kind of reply an Answer is (operators count them; the actions render the last two).
ANSWERED = "answered"  # from the sources (where `complete` is False, with what they don't cover)
NOT_COVERED = "not_covered"  # on this subject, but the sources don't cover what was asked
# Unsure what was meant: the likeliest reading answered under a doubt, `followups` the others
# (or, with no text, the likely questions alone).
SUGGESTIONS = "suggestions"
DECLINED = "declined"  # not about this subject at all


@dataclass
class Answer:
    text: str
    aspect: str
    subject: Optional[str]
    facts: List[Fact]
    followups: List[Followup] = field(default_factory=list)
    # False when the sources are silent on (part of) what was asked.
    complete: bool = True
    kind: str = ANSWERED

    @property
    def source_titles(self) -> List[str]:
        return _unique(source.title for fact in self.facts for source in fact.sources)


@dataclass
class SearchResult:
    """Facts ranked for a free-text question.

    `confidence` (0..1) is the share of the question's content words, weighted by how rare they
    are in the knowledge, that the best fact explains; it is 0 for a question that uses none of
    the words people ask about this knowledge with (an aspect's keywords, KPO/BPO, outsourcing).
    Callers answer above a threshold, offer `candidates` below it, and decline near zero.
    """

    confidence: float
    ranked: List[Tuple[Fact, float]]
    candidates: List[Followup]


def _unique(items: Iterable) -> list:
    return list(dict.fromkeys(items))


def _alias_pattern(aliases: Iterable[str]) -> "re.Pattern":
    # Longest first, so "knowledge process outsourcing" wins over a shorter alias inside it.
    alternatives = "|".join(re.escape(_normal(a.lower()))
                            for a in sorted(aliases, key=len, reverse=True))
    return re.compile(rf"(?<![\w.])(?:{alternatives})(?!\w)")


@dataclass(frozen=True)
class Reading:
    """How NLU read one question of a message: its text, and the aspects it may ask about with
    their confidence, best first. "career" stands for a question about the user's own career,
    None for anything that is no question about the knowledge (a greeting, something off-topic)."""

    text: str
    ranking: Tuple[Tuple[Optional[str], float], ...]


@dataclass(frozen=True)
class Gap:
    """Something people ask about this subject that the sources don't cover."""

    id: str
    label: str
    pattern: "re.Pattern"
    near: Tuple[str, ...]
    # Aliases written with capitals in facts.yml, shown so ("ITES", "HR outsourcing").
    written: Tuple[Tuple[str, str], ...] = ()

    def named_in(self, text: str) -> Optional[str]:
        """How the gap is named in the user's words, or None; e.g. "my sources don't cover
        Genpact" for a label "{alias}"."""
        match = self.pattern.search(text.lower())
        if not match:
            return None
        name = dict(self.written).get(match.group()) or _display_name(match.group())
        return self.label.format(alias=name)


def _display_name(alias: str) -> str:
    # Names of three letters or fewer are acronyms (TCS, EXL, UK); longer ones are names
    # (Genpact, Pune).
    return alias.upper() if len(alias) <= 3 else alias.title()


@dataclass(frozen=True)
class Background:
    id: str
    pattern: "re.Pattern"
    fits: Tuple[str, ...]
    note: str
    fact_ids: Tuple[str, ...]


class KnowledgeBase:
    def __init__(self, data: dict, lemmatizer: Lemmatizer) -> None:
        self._lemmatizer = lemmatizer
        titles = {key: article["title"] for key, article in data["articles"].items()}
        self.facts: List[Fact] = [
            Fact(
                id=raw["id"],
                subject=raw["subject"],
                aspects=tuple(raw["aspects"]),
                answer=raw["answer"],
                sources=tuple(
                    Source(s["article"], titles[s["article"]], s["passage"]) for s in raw["sources"]
                ),
                perspective=raw.get("perspective"),
            )
            for raw in data["facts"]
        ]
        self._by_id = {fact.id: fact for fact in self.facts}
        self.aspects: Dict[str, dict] = data["aspects"]
        self._general_followups: List[str] = data["general_followups"]
        self.subject_names = {key: s["name"] for key, s in data["subjects"].items()}
        self._subject_patterns = {
            key: _alias_pattern(s["aliases"]) for key, s in data["subjects"].items()
        }
        self.career_facts: Dict[str, List[str]] = data["career"]["facts"]
        self.backgrounds = [
            Background(b["id"], _alias_pattern(b["aliases"]), tuple(b["fits"]), b["note"],
                       tuple(b["facts"]))
            for b in data["career"]["backgrounds"]
        ]
        self._topic_pattern = _alias_pattern(data["topic_words"])
        self.gaps = [Gap(g["id"], g["label"], _alias_pattern(g["aliases"]), tuple(g["near"]),
                         tuple((a.lower(), a) for a in g["aliases"] if a != a.lower()))
                     for g in data["gaps"]]
        self._index = _SearchIndex([self._search_text(fact) for fact in self.facts], lemmatizer)
        self._aspect_lemmas = {
            aspect: set(lemmatizer.content_lemmas(" ".join(spec["keywords"])))
            for aspect, spec in self.aspects.items()
        }
        # The words people use to ask about this knowledge at all.
        self._question_vocabulary = set().union(*self._aspect_lemmas.values()) | set(
            lemmatizer.content_lemmas(
                " ".join(a for s in data["subjects"].values() for a in s["aliases"]) + " outsourcing"
            )
        )

    @classmethod
    def load(cls, path: Path = KNOWLEDGE_DIR / "facts.yml") -> "KnowledgeBase":
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        return cls(data, Lemmatizer(load_lemma_table()))

    # --- subjects ----------------------------------------------------------------------------

    def subjects_in(self, text: str) -> List[str]:
        """The subjects a text names, in the order it names them: "bpo vs kpo" -> [bpo, kpo]."""
        found = []
        for subject, pattern in self._subject_patterns.items():
            match = pattern.search(text.lower())
            if match:
                found.append((match.start(), subject))
        return [subject for _, subject in sorted(found)]

    def _without_subject_names(self, text: str) -> str:
        text = text.lower()
        for pattern in self._subject_patterns.values():
            text = pattern.sub(" ", text)
        return text

    def subject_named(self, text: str) -> Optional[str]:
        """The subject a single name stands for ("KPO", "kpo's", "b.p.o"), or None."""
        named = self.subjects_in(text)
        return named[0] if named else None

    # --- structured questions ----------------------------------------------------------------

    def fact(self, fact_id: str) -> Fact:
        return self._by_id[fact_id]

    def silent_on(self, aspect: str, subject: Optional[str] = None) -> str:
        """What to say when the sources don't cover an aspect (for a subject)."""
        return self._silent_on(aspect, subject)

    def question(self, aspect: str, subject: Optional[str] = None) -> str:
        spec = self.aspects[aspect]
        if subject is None:
            return spec.get("question_both", spec["question"]).format(subject="KPO and BPO")
        return spec["question"].format(subject=self.subject_names[subject])

    def facts_about(self, aspect: str, subject: Optional[str] = None) -> List[Fact]:
        """Facts on an aspect that speak to a subject (None: to either)."""
        return [
            fact
            for fact in self.facts
            if aspect in fact.aspects
            and (subject is None or fact.subject in (subject,) + GENERAL_SUBJECTS)
        ]

    def has_specific_facts(self, aspect: str, subject: str) -> bool:
        return any(fact.subject == subject for fact in self.facts_about(aspect, subject))

    def answer(self, aspect: str, subject: Optional[str] = None,
               said: Sequence[Fact] = (), question: str = "") -> Answer:
        """Answer a question on one aspect of one subject, or of both when subject is None or the
        aspect covers both by nature (a comparison, the history).

        When the sources say nothing on the aspect for that subject but do for the other, the
        answer says so and gives what they say about the other. Facts `said` already in the same
        reply are left out, unless nothing else answers. An aspect with points of view
        answers only the one the `question` takes, when it takes one.
        """
        if aspect not in self.aspects:
            raise KeyError(f"unknown aspect {aspect!r}")
        if self.aspects[aspect].get("covers_both"):
            subject = None
        if not self.facts_about(aspect):
            return Answer(self._silent_on(aspect, subject) + " Here is what I can tell you:",
                          aspect, subject, [], self.followups(aspect, subject), complete=False,
                          kind=NOT_COVERED)
        facts = self.facts_about(aspect, subject)
        other = _other(subject)
        if subject and other and not self.has_specific_facts(aspect, subject) \
                and self.has_specific_facts(aspect, other):
            return self._gap_answer(aspect, subject, other, facts)
        facts = [fact for fact in facts if fact not in said] or facts
        paragraphs = [self.aspects[aspect]["intro"]] if "intro" in self.aspects[aspect] else []
        if "perspectives" in self.aspects[aspect]:
            headings = self.aspects[aspect]["perspectives"]
            taken = self._perspective_of(aspect, question)
            if taken:
                paragraphs = [self.aspects[aspect]["intro_for_one"]]
                headings = {taken: headings[taken]}
                facts = [fact for fact in facts if fact.perspective == taken]
            paragraphs += self._by_perspective(facts, headings)
        else:
            paragraphs += _paragraphs(facts)
        # A comparison says which side the sources are silent on ("which pays more?").
        silent = [] if subject else [
            s for s in SUBJECTS
            if not self.has_specific_facts(aspect, s) and self.has_specific_facts(aspect, _other(s))
        ]
        paragraphs += [self._silent_on(aspect, s) for s in silent]
        return Answer("\n".join(paragraphs), aspect, subject, facts,
                      self.followups(aspect, subject), complete=not silent)

    def _gap_answer(self, aspect: str, subject: str, other: str, general: List[Fact]) -> Answer:
        other_facts = [f for f in self.facts_about(aspect, other) if f.subject == other]
        paragraphs = [self._silent_on(aspect, subject)]
        if general:
            paragraphs.append("In general: " + " ".join(f.answer for f in general))
        paragraphs.append(f"What they do say is about {self.subject_names[other]}: "
                          + " ".join(f.answer for f in other_facts))
        return Answer("\n".join(paragraphs), aspect, subject, general + other_facts,
                      self.followups(aspect, subject), complete=False)

    def _silent_on(self, aspect: str, subject: Optional[str]) -> str:
        scope = f" for {self.subject_names[subject]}" if subject else ""
        return f"My sources don't cover {self.aspects[aspect]['label']}{scope}."

    def _perspective_of(self, aspect: str, question: str) -> Optional[str]:
        words = set(re.findall(r"[a-z]+", question.lower()))
        taken = [view for view, cues in self.aspects[aspect].get("perspective_words", {}).items()
                 if words & set(cues)]
        return taken[0] if len(taken) == 1 else None

    @staticmethod
    def _by_perspective(facts: List[Fact], headings: Dict[str, str]) -> List[str]:
        return [
            f"{heading}: " + " ".join(f.answer for f in facts if f.perspective == key)
            for key, heading in headings.items()
            if any(f.perspective == key for f in facts)
        ]

    def followups(self, aspect: str, subject: Optional[str], limit: int = 3) -> List[Followup]:
        """Related questions the sources can answer for this subject, nearest first."""
        related = [
            other for other in _unique(self.aspects[aspect]["related"] + self._general_followups)
            if other != aspect and (
                subject is None or self.has_specific_facts(other, subject)
                or not self.has_specific_facts(other, _other(subject)))
        ]
        return [Followup(self.question(a, subject), a, subject) for a in related[:limit]]

    # --- careers -----------------------------------------------------------------------------

    def background_in(self, text: str) -> Optional[Background]:
        lowered = text.lower()
        return next((b for b in self.backgrounds if b.pattern.search(lowered)), None)

    def career_advice(self, text: str, subject: Optional[str] = None) -> Answer:
        """Advice for someone describing their own situation, grounded in the facts.

        It connects the background they mention (a degree, a field, a job) to what the sources
        say, then gives the qualifications and pay for the path they asked about, or the paths
        their background fits, and says where the sources give no pay figures.
        """
        background = self.background_in(text)
        if subject:
            paths = [subject]
        elif background:
            paths = list(background.fits)
        else:
            paths = list(SUBJECTS)
        stated = _unique(self._by_id[fid] for path in paths for fid in self.career_facts[path])
        paragraphs = [background.note] if background else []
        paragraphs += _paragraphs(stated)
        facts = stated + [self._by_id[fid] for fid in (background.fact_ids if background else ())]
        complete = True
        for path in paths:
            pay = self.answer("salary", path)
            if pay.complete:
                continue
            complete = False
            missing = [f for f in pay.facts if f not in facts]
            paragraphs.append(pay.text if missing else self._silent_on("salary", path))
            facts += missing
        shown = paths[0] if len(paths) == 1 else None
        followups = [Followup(self.question(a, shown), a, shown)
                     for a in ("work", "skills", "qualifications")]
        return Answer("\n".join(paragraphs), "career", shown, _unique(facts), followups, complete)

    # --- whole messages ----------------------------------------------------------------------

    def on_topic(self, text: str) -> bool:
        """Whether a message is about outsourcing at all: it names KPO or BPO, outsourcing, call
        centres or the like."""
        return bool(self._topic_pattern.search(text.lower()) or self.subjects_in(text))

    def gaps_in(self, text: str) -> List[Tuple[Gap, str]]:
        """What the text asks about that the sources don't cover, each with its name."""
        found = [(gap, gap.named_in(text)) for gap in self.gaps]
        return [(gap, name) for gap, name in found if name]

    def respond(self, text: str, readings: Sequence[Reading] = (),
                subject: Optional[str] = None) -> Answer:
        """One reply to a whole message: each of its questions (`readings`, as NLU read them;
        none: the text is one question NLU could not read) answered in turn. `subject` is the
        conversation's, for questions that name none."""
        text = _normal(text)
        readings = [Reading(_normal(r.text), r.ranking) for r in readings]
        alone = len(readings) <= 1
        replies: List[Answer] = []
        said: List[Fact] = []
        for reading in readings or [Reading(text, ())]:
            reply = self._respond_to(reading, text, subject, alone, said)
            subject = reply.subject if reply.subject in SUBJECTS else subject
            repeated = reply.facts and all(fact in said for fact in reply.facts)
            if not repeated and all((r.aspect, r.subject) != (reply.aspect, reply.subject)
                                    for r in replies):
                replies.append(reply)
                said += reply.facts
        useful = [r for r in replies if r.kind in (ANSWERED, NOT_COVERED)]
        if not alone:
            useful = self._around_questions(text, readings, useful, replies, subject)
            # A question among answered ones that NLU could not read offers its likely readings.
            useful += [r for r in replies if r.kind == SUGGESTIONS and r.text and useful
                       and r not in useful]
        useful = useful or replies[:1]
        return useful[0] if len(useful) == 1 else _joined(useful)

    def _around_questions(self, text: str, readings: Sequence[Reading], useful: List[Answer],
                          replies: List[Answer], subject: Optional[str]) -> List[Answer]:
        """A long message's sentences around its questions may name what the sources don't
        cover ("my employer outsourced my remote job"); and a message about outsourcing whose
        questions ask nothing on their own ("is this right?") still gets an honest reply."""
        unreported = [(gap, name) for gap, name in self.gaps_in(text)
                      if all(name not in reply.text for reply in useful)]
        names = [name for _, name in unreported]
        if unreported and useful:
            first = useful[0]
            return [Answer(f"My sources don't cover {_listed(names)}.\n{first.text}", first.aspect,
                           first.subject, first.facts, first.followups, False, first.kind)
                    ] + useful[1:]
        if unreported:
            return [self._gap_reply(names, None, [a for gap, _ in unreported for a in gap.near],
                                    subject)]
        if useful or not self.on_topic(text):
            return useful
        suggested = [r for r in replies if r.kind == SUGGESTIONS]
        return suggested[:1] or [self._not_covered(readings[0].text, subject)]

    def _respond_to(self, reading: Reading, whole: str, context: Optional[str], alone: bool,
                    said: Sequence[Fact]) -> Answer:
        """The reply to one question; `alone` when it is the message's only question, whose
        other sentences tell of the writer (their background, what worries them)."""
        named = self.subjects_in(reading.text) or (self.subjects_in(whole) if alone else [])
        subject = (named[0] if len(named) == 1 else None) if named else context
        general = not named and bool(OUTSOURCING.search(reading.text.lower()))
        aspect, confidence = reading.ranking[0] if reading.ranking else (None, 0.0)
        runner_up, runner_up_confidence = (reading.ranking[1] if len(reading.ranking) > 1
                                           else (None, 0.0))
        on_topic = self.on_topic(whole)  # the other questions of a message share its subject
        if aspect is None and confidence >= SURE and not on_topic:  # off-topic, NLU is sure
            return Answer("", "none", None, [], [], False, DECLINED)
        found = self.search(reading.text)
        answer = None
        if self._asks_about_career(whole if alone else reading.text, aspect, confidence):
            answer = self.career_advice(whole if alone else reading.text, subject)
            if aspect == "deciding":  # "which is better for me?": it depends on the person
                answer.text = f"{self.aspects[aspect]['intro']}\n{answer.text}"
        elif aspect in self.aspects and (confidence >= SURE or (
                confidence >= LEANING and confidence - runner_up_confidence >= LEAD)):
            answer = self._with_paired(reading.text, self.answer(
                _general(aspect, general), subject, said, reading.text), said)
            if confidence < SURE and runner_up in self.aspects and runner_up != aspect:
                offered = Followup(self.question(runner_up, answer.subject), runner_up,
                                   answer.subject)
                others = [f for f in answer.followups if f.aspect != runner_up]
                answer.followups = [offered] + others[:2]
        elif found.candidates and found.confidence >= SEARCH_ANSWER:
            best = found.candidates[0]
            answer = self._with_paired(reading.text, self.answer(
                _general(best.aspect, general), best.subject or subject, said), said)
        gaps = self.gaps_in(whole if alone else reading.text)
        names = [name for _, name in gaps]
        near = [a for gap, _ in gaps for a in gap.near]
        if not names and answer is not None and answer.aspect == "difference":
            names = self._other_comparison(reading.text)
        if answer is not None and not names and answer.aspect in self.aspects:
            answer = self._hedged(reading.text, answer)
        if names:
            return self._gap_reply(names, answer, near or ["difference"], subject)
        if answer is not None:
            return answer
        likely = found.candidates if found.confidence >= SEARCH_SUGGEST else []
        if on_topic:
            read = [a for a, c in reading.ranking[:2] if a in self.aspects and c >= LEANING]
            guesses = _unique(read + [c.aspect for c in likely])
            if guesses:
                return self._best_guess(reading.text, guesses, general, subject, said)
            return self._not_covered(reading.text, subject)
        if likely:
            return Answer("", "none", subject, [], likely, False, SUGGESTIONS)
        return Answer("", "none", None, [], [], False, DECLINED)

    def _other_comparison(self, question: str) -> List[str]:
        """"a comparison of X and Y" when the question compares two things that are not both
        KPO or BPO ("difference between onshore and offshore outsourcing"); the sources compare
        only those two."""
        pair = COMPARED.search(question.lower())
        if not pair:
            return []
        sides = [" ".join(w for w in side.split() if not any(c.isdigit() for c in w))
                 for side in pair.groups() if side is not None]
        if not all(sides) or any(len(side.split()) > MAX_COMPARED_WORDS for side in sides) or \
                all(self.subjects_in(side) for side in sides):
            return []
        return [f"a comparison of {sides[0]} and {sides[1]}"]

    def _asks_about_career(self, text: str, aspect: Optional[str], confidence: float) -> bool:
        """A question about the user's own career: NLU says so, or the user tells of their
        background (a degree, a field) and asks what a career question would ask."""
        if aspect == "career":
            return True
        background = self.background_in(text)
        if not background:
            return False
        lowered = text.lower()
        # "why BPO after engineering?": a career after the background, said without "I".
        after = re.search(r"\bafter\s+(?:(?:my|a|an|the|doing|completing)\s+)?"
                          + background.pattern.pattern, lowered)
        return bool(PERSONAL.search(lowered) or after) and (
            aspect in CAREER_ASPECTS or confidence < SURE)

    def _with_paired(self, question: str, answer: Answer, said: Sequence[Fact]) -> Answer:
        """The answer, and that of an aspect the question also names by one of the words in
        the aspect's `also_when` ("pros and cons", "why ... outsourced to India")."""
        words = set(re.findall(r"[a-z]+", question.lower()))
        paired = [other for other, cues in self.aspects[answer.aspect].get("also_when", {}).items()
                  if words & set(cues)]
        if not paired:
            return answer
        return _joined([answer] + [self.answer(other, answer.subject, list(said) + answer.facts)
                                   for other in paired])

    def _best_guess(self, question: str, guesses: List[str], general: bool,
                    subject: Optional[str], said: Sequence[Fact]) -> Answer:
        """An on-topic question neither NLU nor the search is sure of: the likeliest reading
        answered under "my sources may not cover that exactly", the others offered as buttons.
        Real people's questions are sentences that name what they want in words of their own;
        an answer to the likeliest reading helps them more than a choice of questions."""
        answer = self._with_paired(question, self.answer(_general(guesses[0], general), subject,
                                                         said), said)
        offered = [Followup(self.question(other, answer.subject), other, answer.subject)
                   for other in guesses[1:3]]
        others = [f for f in answer.followups if f.aspect not in guesses]
        return Answer(f"{self._doubt(question, answer)}\n{answer.text}", answer.aspect,
                      answer.subject, answer.facts, (offered + others)[:3], False, SUGGESTIONS)

    def _doubt(self, question: str, answer: Answer) -> str:
        return (f"My sources may not cover exactly what you asked (“{_quoted(question)}”). "
                f"Here is what they say on “{self.question(answer.aspect, answer.subject)}”:")

    def _hedged(self, question: str, answer: Answer) -> Answer:
        """The answer, led by "my sources may not cover exactly that" when most of the question's
        words are words the knowledge never uses ("are bpos that bad?"): the answer is the
        nearest the sources give, not necessarily what was asked."""
        rest = self._without_subject_names(question)
        for background in self.backgrounds:  # "i did btech cse": known to the career advice
            rest = background.pattern.sub(" ", rest)
        # Words of other scripts (Hindi in Devanagari) are words the knowledge never uses.
        terms = self._index.terms(rest) + NON_LATIN_WORD.findall(rest)
        unknown = [term for term in terms if not self._index.knows(term)]
        # A question naming neither KPO nor BPO ("difference between IT and ITES?") asks about
        # something else as soon as half its words are unknown.
        share = len(unknown) / len(terms) if terms else 0.0
        if share < MOSTLY_UNKNOWN or (share == MOSTLY_UNKNOWN and self.subjects_in(question)):
            return answer
        return Answer(f"{self._doubt(question, answer)}\n{answer.text}", answer.aspect, answer.subject, answer.facts,
                      answer.followups, False, answer.kind)

    def _gap_reply(self, names: List[str], answer: Optional[Answer], near: List[str],
                   subject: Optional[str]) -> Answer:
        """"My sources don't cover <names>", then the nearest answer the sources give."""
        if answer is not None and not answer.facts:  # an aspect the sources never touch
            names.append(self.aspects[answer.aspect]["label"])
            answer = None
        if answer is None:
            aspect = next((a for a in near if self.facts_about(a)), "definition")
            answer = self.answer(aspect, subject)
        if answer.aspect in self.aspects:
            lead = f"Here is what they say on “{self.question(answer.aspect, answer.subject)}”"
        else:
            lead = "Here is what they say that bears on it"
        text = f"My sources don't cover {_listed(_unique(names))}. {lead}:\n{answer.text}"
        return Answer(text, answer.aspect, answer.subject, answer.facts, answer.followups,
                      complete=False, kind=NOT_COVERED)

    def _not_covered(self, question: str, subject: Optional[str]) -> Answer:
        """An on-topic question that nothing in the sources answers: say so, naming it, and
        offer what they do answer."""
        text = (f"My sources don't cover that: “{_quoted(question)}”. They are two articles on "
                f"KPO and BPO; here is what they can answer:")
        followups = [Followup(self.question("definition", subject), "definition", subject)]
        followups += self.followups("definition", subject, limit=2)
        return Answer(text, "none", subject, [], followups, complete=False, kind=NOT_COVERED)

    # --- free text ---------------------------------------------------------------------------

    def _search_text(self, fact: Fact) -> str:
        # An aspect's keywords are how people ask for the fact: they count three times.
        keywords = [" ".join(self.aspects[a]["keywords"]) for a in fact.aspects] * 3
        return " ".join([fact.answer, *keywords, *(s.passage for s in fact.sources)])

    def search(self, text: str, limit: int = 3) -> SearchResult:
        """Rank facts for a free-text question (BM25 over lemmas, see _SearchIndex)."""
        subjects = self.subjects_in(text)
        subject = subjects[0] if len(subjects) == 1 else None
        # The subject is found above; its name in the ranking would only favour facts repeating it.
        rest = self._without_subject_names(text)
        terms = self._index.terms(rest)
        # Words of other scripts are words too, ones the index never has (Hindi in Devanagari).
        foreign = set(NON_LATIN_WORD.findall(rest))
        if not terms and not foreign and subjects:  # just a name: "kpo?" asks what it is
            return SearchResult(1.0, [], [Followup(self.question("definition", subject),
                                                   "definition", subject)])
        scored = self._index.rank(terms)
        ranked = [(self.facts[i], score) for i, score in scored if score > 0]
        if not ranked and subjects:  # "what is a kpo analyst": only the name is known
            share = len(subjects) / (len(subjects) + len(set(terms) | foreign))
            return SearchResult(share, [], [Followup(self.question(a, subject), a, subject)
                                            for a in ("definition", "work", "qualifications")])
        candidates: List[Followup] = []
        for fact, _ in ranked:
            aspect = self._best_aspect(fact, terms)
            followup = Followup(self.question(aspect, subject), aspect, subject)
            if followup.aspect not in (c.aspect for c in candidates):
                candidates.append(followup)
            if len(candidates) == limit:
                break
        on_topic = bool((set(terms) | set(subjects)) & self._question_vocabulary)
        confidence = self._index.coverage(terms, scored[0][0]) if ranked and on_topic else 0.0
        return SearchResult(confidence, ranked, candidates)

    def _best_aspect(self, fact: Fact, terms: List[str]) -> str:
        lemmas = set(terms)
        # Ties keep the fact's first aspect.
        return max(fact.aspects, key=lambda aspect: len(lemmas & self._aspect_lemmas[aspect]))


# NLU's confidence at which the aspect it reads is answered; below it, a reading still leading the
# runner-up by LEAD is answered from LEANING up, with the runner-up offered as a button.
SURE = 0.4
LEANING = 0.2
LEAD = 0.15
# Free-text search confidence (SearchResult) at which its best fact answers a question NLU could
# not read, and at which its candidates are offered.
SEARCH_ANSWER = 0.75
SEARCH_SUGGEST = 0.3
# The aspects a question about one's own career asks under other names ("is kpo good for me?").
CAREER_ASPECTS = ("deciding", "future", "qualifications", "india", "trends")
# Words that make a question about the one asking ("I", "my"), or about a career after a degree.
PERSONAL = re.compile(r"\b(?:i|i'm|im|i've|ive|me|my|mine|myself|we|our|us|job after|jobs after|"
                      r"career after|scope after|fresher|freshers)\b")
OUTSOURCING = re.compile(r"\b(?:outsourc|offshor)")
# Two things compared: "between X and Y", "X vs Y".
COMPARED = re.compile(r"\bbetween\s+(?:the\s+|a\s+|an\s+)?(.+?)\s+(?:and|&|vs\.?|versus)\s+"
                      r"(?:the\s+|a\s+|an\s+)?(.+?)\s*(?:[?.!,;:]|$)"
                      r"|^(?:the\s+)?(\S+(?:\s+\S+)?)\s+(?:vs\.?|versus)\s+(\S+(?:\s+\S+)?)\s*(?:[?.!,;:]|$)")
MAX_COMPARED_WORDS = 4
MAX_QUOTED_WORDS = 14
# The share of a question's words unknown to the knowledge above which an answer is hedged (at
# which, for a question that names neither KPO nor BPO).
MOSTLY_UNKNOWN = 0.5
NON_LATIN_WORD = re.compile(r"[^\W\d_a-zA-Z]{2,}")


def _normal(text: str) -> str:
    """One way of writing each character: Devanagari's nukta letters (ड़) come composed or not."""
    return unicodedata.normalize("NFC", text)


def _general(aspect: str, general: bool) -> str:
    """"What is outsourcing?" asks for outsourcing in general, not for KPO's and BPO's forms."""
    return "outsourcing" if general and aspect == "definition" else aspect


def _listed(names: List[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _quoted(question: str) -> str:
    """A question as the user wrote it, shortened, without numbers (a reply states no figure
    the sources don't give, not even one the user wrote)."""
    words = [w for w in question.split() if not any(c.isdigit() for c in w)]
    shortened = " ".join(words[:MAX_QUOTED_WORDS]).strip(" ?.!,;:")
    return shortened + ("…" if len(words) > MAX_QUOTED_WORDS else "")


def _joined(answers: List[Answer]) -> Answer:
    """The answers to a message's questions, as one reply."""
    answered = {a.aspect for a in answers}
    last = answers[-1]
    # Buttons for a question that got none of its own answer come first.
    followups = [f for a in answers if a.kind == SUGGESTIONS for f in a.followups]
    followups += [f for a in reversed(answers) for f in a.followups if f.aspect not in answered]
    return Answer("\n\n".join(a.text for a in answers), last.aspect, last.subject,
                  _unique(f for a in answers for f in a.facts), _unique(followups)[:3],
                  all(a.complete for a in answers),
                  ANSWERED if any(a.kind == ANSWERED for a in answers) else NOT_COVERED)


def _other(subject: Optional[str]) -> Optional[str]:
    if subject not in SUBJECTS:
        return None
    return SUBJECTS[1 - SUBJECTS.index(subject)]


def _paragraphs(facts: Sequence[Fact]) -> List[str]:
    """One paragraph per run of facts on the same subject."""
    paragraphs: List[List[str]] = []
    previous = None
    for fact in facts:
        if fact.subject != previous:
            paragraphs.append([])
            previous = fact.subject
        paragraphs[-1].append(fact.answer)
    return [" ".join(p) for p in paragraphs]


class _SearchIndex:
    """Okapi BM25 over the content lemmas of each document."""

    K1, B = 1.2, 0.75

    def __init__(self, documents: List[str], lemmatizer: Lemmatizer) -> None:
        self._lemmatizer = lemmatizer
        self._docs = [Counter(lemmatizer.content_lemmas(d)) for d in documents]
        self._avg_len = sum(sum(d.values()) for d in self._docs) / len(self._docs)
        frequency = Counter(term for doc in self._docs for term in doc)
        n = len(self._docs)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}
        # A word the knowledge never uses weighs like the rarest word it does.
        self._unknown_idf = math.log(1 + (n - 0.5) / 1.5)
        self._vocabulary = sorted(self._idf)

    def terms(self, text: str) -> List[str]:
        """The query's lemmas to search for; a misspelt word becomes the known word nearest it."""
        terms = []
        for lemma in self._lemmatizer.content_lemmas(text):
            if lemma not in self._idf and len(lemma) > 3:
                nearest = difflib.get_close_matches(lemma, self._vocabulary, n=1, cutoff=0.8)
                lemma = nearest[0] if nearest else lemma
            terms.append(lemma)
        return terms

    def knows(self, term: str) -> bool:
        return term in self._idf

    def rank(self, terms: List[str]) -> List[Tuple[int, float]]:
        scores = []
        for i, doc in enumerate(self._docs):
            length_norm = self.K1 * (1 - self.B + self.B * sum(doc.values()) / self._avg_len)
            score = sum(
                self._idf[t] * doc[t] * (self.K1 + 1) / (doc[t] + length_norm)
                for t in terms if t in doc
            )
            scores.append((i, score))
        return sorted(scores, key=lambda pair: -pair[1])

    def coverage(self, terms: List[str], doc_index: int) -> float:
        weight = {t: self._idf.get(t, self._unknown_idf) for t in set(terms)}
        if not weight:
            return 0.0
        matched = sum(w for t, w in weight.items() if t in self._docs[doc_index])
        return matched / sum(weight.values())
