"""The facts module: what the source articles say about KPO and BPO, and how to ask it.

Plain Python with no Rasa in it, so it can be tested and reused on its own. It answers
- structured questions: `answer("risks", "kpo")`, an aspect and a subject;
- comparisons: `answer("risks")`, both subjects side by side;
- career questions in the user's words: `career_advice("I work in healthcare ...")`;
- free text: `search("which is better, kpo or bpo?")`, facts ranked with a confidence.
The knowledge itself lives in facts.yml; every answer keeps the facts (and so the source
passages) it was composed from.
"""
import difflib
import math
import re
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


@dataclass
class Answer:
    text: str
    aspect: str
    subject: Optional[str]
    facts: List[Fact]
    followups: List[Followup] = field(default_factory=list)
    # False when the sources are silent on (part of) what was asked.
    complete: bool = True

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
    alternatives = "|".join(re.escape(a.lower()) for a in sorted(aliases, key=len, reverse=True))
    return re.compile(rf"(?<![\w.])(?:{alternatives})(?!\w)")


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

    def answer(self, aspect: str, subject: Optional[str] = None) -> Answer:
        """Answer a question on one aspect of one subject, or of both when subject is None or the
        aspect covers both by nature (a comparison, the history).

        When the sources say nothing on the aspect for that subject but do for the other, the
        answer says so and gives what they say about the other.
        """
        if aspect not in self.aspects:
            raise KeyError(f"unknown aspect {aspect!r}")
        if self.aspects[aspect].get("covers_both"):
            subject = None
        if not self.facts_about(aspect):
            return Answer(self._silent_on(aspect, subject) + " Here is what I can tell you:",
                          aspect, subject, [], self.followups(aspect, subject), complete=False)
        facts = self.facts_about(aspect, subject)
        other = _other(subject)
        if subject and other and not self.has_specific_facts(aspect, subject) \
                and self.has_specific_facts(aspect, other):
            return self._gap_answer(aspect, subject, other, facts)
        paragraphs = [self.aspects[aspect]["intro"]] if "intro" in self.aspects[aspect] else []
        if "perspectives" in self.aspects[aspect]:
            paragraphs += self._by_perspective(facts, self.aspects[aspect]["perspectives"])
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
        terms = self._index.terms(self._without_subject_names(text))
        if not terms and subjects:  # just a name: "kpo?" asks what it is
            return SearchResult(1.0, [], [Followup(self.question("definition", subject),
                                                   "definition", subject)])
        scored = self._index.rank(terms)
        ranked = [(self.facts[i], score) for i, score in scored if score > 0]
        if not ranked and subjects:  # "what is a kpo analyst": only the name is known
            share = len(subjects) / (len(subjects) + len(set(terms)))
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
