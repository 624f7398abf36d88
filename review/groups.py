"""Unanswered questions grouped by what they mean, with the assistant's own text understanding:
the sentence encoder its intent classifier consults (pipeline/encoder.py, as in
pipeline/neighbours.py) and the facts module's search for the nearest fact."""
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from actions.actions import INTENT_OF_ASPECT, KNOWLEDGE
from review.figures import Wording

# Cosine similarity from which a wording joins a group's first (most frequent) wording:
# rephrasings of one question score above it, different questions on one subject below.
SIMILAR = 0.65
EXAMPLES = 3
SNIPPET_EXAMPLES = 10


@dataclass
class Group:
    wordings: List[Wording]  # most frequent first
    nearest_fact: Optional[Dict[str, str]]
    intent: Optional[str]  # the suggestion to check

    @property
    def count(self) -> int:
        return sum(w.count for w in self.wordings)

    @property
    def examples(self) -> List[str]:
        return [w.text for w in self.wordings[:EXAMPLES]]

    @property
    def reasons(self) -> Counter:
        return sum((w.reasons for w in self.wordings), Counter())

    def nlu_snippet(self, number: int) -> str:
        return nlu_snippet({self.intent or "CHOOSE_AN_INTENT":
                            [w.text for w in self.wordings[:SNIPPET_EXAMPLES]]},
                           f"group {number}, {self.count} unanswered")

    def as_dict(self, number: int) -> Dict:
        return {"count": self.count, "examples": self.examples,
                "wordings": [{"text": w.text, "count": w.count} for w in self.wordings],
                "reasons": dict(self.reasons), "nearest_fact": self.nearest_fact,
                "suggested_intent": self.intent, "nlu": self.nlu_snippet(number)}


def cluster(vectors: np.ndarray, similar: float = SIMILAR) -> List[List[int]]:
    """Rows (unit vectors, most frequent wording first) grouped: each joins the group whose
    first row it is most similar to, from `similar` up, or starts a group."""
    leaders: List[int] = []
    groups: List[List[int]] = []
    for row in range(len(vectors)):
        if leaders:
            similarities = vectors[leaders] @ vectors[row]
            best = int(np.argmax(similarities))
            if similarities[best] >= similar:
                groups[best].append(row)
                continue
        leaders.append(row)
        groups.append([row])
    return groups


def group(wordings: Sequence[Wording], encoder) -> List[Group]:
    """The wordings grouped by meaning, largest group first."""
    ordered = sorted(wordings, key=lambda w: (-w.count, w.text))
    if not ordered:
        return []
    vectors = encoder.encode([w.text for w in ordered])
    groups = [[ordered[i] for i in rows] for rows in cluster(vectors)]
    made = [Group(members, nearest_fact(members[0].text), suggested_intent(members))
            for members in groups]
    return sorted(made, key=lambda g: (-g.count, g.wordings[0].text))


def nearest_fact(text: str) -> Optional[Dict[str, str]]:
    found = KNOWLEDGE.search(text)
    if not found.ranked:
        return None
    fact = found.ranked[0][0]
    return {"id": fact.id, "answer": fact.answer,
            "source": fact.sources[0].title if fact.sources else ""}


def suggested_intent(wordings: Sequence[Wording]) -> Optional[str]:
    """What the assistant's best guess makes of the group: the question intent NLU ranked
    highest for most of its messages, else the intent of the nearest fact's aspect."""
    guesses = sum((w.guesses for w in wordings), Counter())
    if guesses:
        return guesses.most_common(1)[0][0]
    found = KNOWLEDGE.search(wordings[0].text)
    if found.candidates:
        return INTENT_OF_ASPECT.get(found.candidates[0].aspect)
    return None


def example_line(text: str) -> str:
    """A message as one NLU example: on one line, and with brackets that Rasa would read as an
    entity annotation ("[KPO](process)") made round."""
    return " ".join(text.replace("[", "(").replace("]", ")").split())


def nlu_snippet(examples: Dict[str, Sequence[str]], about: str) -> str:
    """Rasa NLU training data for the examples of each intent (literal blocks: any text is
    taken as it is), marked as a suggestion to check."""
    intents = "".join(
        f"- intent: {intent}  # a suggestion: check it\n  examples: |\n"
        + "".join(f"    - {line}\n" for line in dict.fromkeys(map(example_line, texts)))
        for intent, texts in examples.items())
    return (f"# Suggested by the review ({about}): check the intents and the examples before\n"
            f'# adding them to data/nlu/.\nversion: "3.1"\nnlu:\n{intents}')
