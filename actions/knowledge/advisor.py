"""The advisor: reads a user's answers to a few questions and recommends BPO, KPO or both.

Plain Python with no Rasa in it, like the facts module it builds on. The questions, the words
each answer is written with, which answers point to which path, and which facts give each
reason and each risk all live in advisor.yml; every sentence of a recommendation that states
something is a fact of facts.yml, so it keeps its source.
"""
import difflib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from actions.knowledge.facts import (
    KNOWLEDGE_DIR,
    SUBJECTS,
    Answer,
    Fact,
    Followup,
    KnowledgeBase,
    _alias_pattern,
    _unique,
)

PATH_QUESTION = "advisor_path"
BOTH = "both"
# Single words of at least this length are matched with typos ("reserch", "bussiness").
FUZZY_MIN_LENGTH, FUZZY_CUTOFF = 5, 0.85
# A message that does not answer the question asked may change an earlier answer, but only
# with words at least this long: "me" or "ok" alone never do.
CORRECTION_MIN_LENGTH = 3


@dataclass(frozen=True)
class Choice:
    id: str
    label: str
    points: Tuple[str, ...] = ()
    reasons: Tuple[str, ...] = ()
    risks: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Reading:
    """What a message answers to a question: the choice, and the words that said it."""

    choice: str
    words: str


class Question:
    def __init__(self, id: str, spec: dict, knowledge: KnowledgeBase) -> None:
        self.id = id
        self.path: Optional[str] = spec.get("path")
        self.ask: str = spec["ask"]
        self.topic: str = spec["topic"]
        self.hint: str = spec["hint"]
        self.changed: Optional[str] = spec.get("changed")
        self._buttons: List[str] = spec["buttons"]
        self._knowledge = knowledge
        self._from_backgrounds = spec.get("from") == "backgrounds"
        if self._from_backgrounds:
            self.choices = {
                b.id: Choice(b.id, spec["labels"][b.id], b.fits, b.fact_ids)
                for b in knowledge.backgrounds
            }
            return
        self.choices = {
            key: Choice(key, c["label"], tuple(c.get("points", ())), tuple(c.get("reasons", ())),
                        tuple(c.get("risks", ())))
            for key, c in spec["choices"].items()
        }
        self._patterns = {key: _alias_pattern(c["aliases"]) for key, c in spec["choices"].items()}
        self._single_words = {
            alias: key for key, c in spec["choices"].items() for alias in c["aliases"]
            if " " not in alias and len(alias) >= FUZZY_MIN_LENGTH
        }

    def read(self, text: str) -> Optional[Reading]:
        """The choice a free-text answer names, or None when it names none or two equally."""
        lowered = " ".join(text.lower().split())
        if self._from_backgrounds:  # the facts module's reading of a user's background
            background = self._knowledge.background_in(lowered)
            if not background:
                return None
            return Reading(background.id, background.pattern.search(lowered).group())
        found = []
        for key, pattern in self._patterns.items():
            words = max((m.group() for m in pattern.finditer(lowered)), key=len, default="")
            if words:
                found.append((len(words), key, words))
        if not found:
            return self._read_with_typos(lowered)
        found.sort(reverse=True)
        if len(found) > 1 and found[0][0] == found[1][0]:
            return None
        return Reading(found[0][1], found[0][2])

    def _read_with_typos(self, lowered: str) -> Optional[Reading]:
        keys = set()
        for word in lowered.split():
            word = word.strip(".,!?;:'\"()")
            if len(word) < FUZZY_MIN_LENGTH:
                continue
            close = difflib.get_close_matches(word, self._single_words, n=1, cutoff=FUZZY_CUTOFF)
            if close:
                keys.add((self._single_words[close[0]], word))
        return Reading(*keys.pop()) if len({k for k, _ in keys}) == 1 else None

    @property
    def buttons(self) -> List[Tuple[str, str]]:
        """(title, text sent) of each button: the choice's label, which reads back as it."""
        return [(self.choices[c].label[:1].upper() + self.choices[c].label[1:],
                 self.choices[c].label) for c in self._buttons]

    def restate(self, choice: str) -> str:
        return f"{self.topic} ({self.choices[choice].label})"


class Advisor:
    def __init__(self, data: dict, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge
        self.questions = {key: Question(key, spec, knowledge)
                          for key, spec in data["questions"].items()}
        self._paths = data["paths"]
        self._changed = data["changed"]

    @classmethod
    def load(cls, knowledge: KnowledgeBase,
             path: Path = KNOWLEDGE_DIR / "advisor.yml") -> "Advisor":
        with open(path, encoding="utf-8") as handle:
            return cls(yaml.safe_load(handle), knowledge)

    @property
    def paths(self) -> List[str]:
        return list(self._paths)

    def questions_for(self, path: Optional[str]) -> List[str]:
        """The questions to ask, in order: which path first, then that path's own."""
        return [PATH_QUESTION] + (self._paths[path]["questions"] if path in self._paths else [])

    def read(self, question: str, text: str) -> Optional[str]:
        reading = self.questions[question].read(text)
        return reading.choice if reading else None

    def corrections(self, text: str, asked: str, answers: Dict[str, Optional[str]]) -> Dict[str, str]:
        """Earlier answers a message changes ("actually I studied law"), when it does not
        answer the question asked: {question: new choice}."""
        if self.read(asked, text):
            return {}
        changed = {}
        for question in self.questions_for(answers.get(PATH_QUESTION)):
            if question == asked or not answers.get(question):
                continue
            reading = self.questions[question].read(text)
            if reading and reading.choice != answers[question] \
                    and len(reading.words) >= CORRECTION_MIN_LENGTH:
                changed[question] = reading.choice
        return changed

    def acknowledge(self, question: str, choice: str) -> str:
        spec = self.questions[question]
        return (spec.changed or self._changed).format(topic=spec.topic,
                                                      label=spec.choices[choice].label)

    def hint(self, question: str) -> str:
        return self.questions[question].hint

    # --- the recommendation --------------------------------------------------------------------

    def outcome(self, path: str, answers: Dict[str, str]) -> str:
        """kpo or bpo, whichever the answers point to more, or both on a tie."""
        points = Counter(p for q, choice in self._chosen(path, answers) for p in choice.points)
        kpo, bpo = points["kpo"], points["bpo"]
        return "kpo" if kpo > bpo else "bpo" if bpo > kpo else BOTH

    def recommend(self, path: str, answers: Dict[str, str]) -> Answer:
        """The recommendation for a path's answers, as an answer of the facts module: its text,
        the facts it quotes (so their sources), follow-up questions and whether the sources
        covered everything it needed."""
        spec = self._paths[path]
        outcome = self.outcome(path, answers)
        paths = list(SUBJECTS) if outcome == BOTH else [outcome]
        chosen = self._chosen(path, answers)
        shown: List[Fact] = []

        def new(fact_ids) -> List[Fact]:
            facts = [self.knowledge.fact(fid) for fid in _unique(fact_ids)]
            facts = [f for f in facts if f not in shown]
            shown.extend(facts)
            return facts

        lines = [spec["headline"].format(name=spec["names"][outcome])]
        complete = True
        for section in spec["sections"]:
            bullets = []
            if "answers" in section:
                for question, choice in chosen:
                    facts = new(self._fitting(getattr(choice, section["answers"]), paths))
                    if facts:
                        bullets.append(self.questions[question].restate(choice.id) + ": "
                                       + " ".join(f.answer for f in facts))
            keys = paths + ([BOTH] if outcome == BOTH else [])
            bullets += [f.answer for f in new(fid for key in keys
                                              for fid in section.get("facts", {}).get(key, ()))]
            for aspect in section.get("silent_on", ()):
                for subject in paths:
                    if not self.knowledge.has_specific_facts(aspect, subject):
                        bullets.append(self.knowledge.silent_on(aspect, subject))
                        complete = False
            if bullets:
                lines.append(f"\n{section['heading']}:")
                lines += [f"• {bullet}" for bullet in bullets]
        subject = None if outcome == BOTH else outcome
        followups = [Followup(self.knowledge.question(a, subject), a, subject)
                     for a in spec["followups"]]
        return Answer("\n".join(lines), "deciding", subject, shown, followups, complete)

    def _chosen(self, path: str, answers: Dict[str, str]) -> List[Tuple[str, Choice]]:
        questions = self._paths[path]["questions"]
        return [(q, self.questions[q].choices[answers[q]]) for q in questions
                if answers.get(q) in self.questions[q].choices]

    def _fitting(self, fact_ids, paths: List[str]) -> List[str]:
        """The facts on the recommended paths (or on outsourcing in general); all of them when
        none are, since a concern may be one the sources name only for the other path."""
        fitting = [fid for fid in fact_ids if self.knowledge.fact(fid).subject not in
                   [s for s in SUBJECTS if s not in paths]]
        return fitting or list(fact_ids)
