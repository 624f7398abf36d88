"""Intents by meaning: the training examples nearest to a message in a sentence encoder's space.

The linear classifier (pipeline/intent_classifier.py) knows the words of its training examples;
people use others ("will bots make call centre staff redundant" asks what "how does automation
affect BPO" asks). all-MiniLM-L6-v2 (pipeline/encoder.py) places both near each other. Each
intent scores the cosine similarity of its nearest example, and a softmax over those scores makes
them a distribution that can be blended with the classifier's.

Encoding costs far more than the classifier, so the classifier's component asks these neighbours
only about messages it is unsure of. Plain numpy; no Rasa in it.
"""
from pathlib import Path
from typing import List, Sequence

import numpy as np

EMBEDDINGS_FILE = "neighbours.npz"


class NearestExamples:
    """The encoded training examples and their intents (indices into the classifier's list)."""

    def __init__(self, embeddings: np.ndarray, labels: np.ndarray, intent_count: int,
                 temperature: float) -> None:
        self.embeddings = embeddings  # examples x dimension, unit rows
        self.labels = labels  # examples
        self.intent_count = intent_count
        self.temperature = temperature

    @classmethod
    def train(cls, encoder, texts: Sequence[str], labels: Sequence[int], intent_count: int,
              temperature: float) -> "NearestExamples":
        return cls(encoder.encode(list(texts)), np.asarray(labels, dtype=np.int64),
                   intent_count, temperature)

    def similarities(self, embeddings: np.ndarray) -> np.ndarray:
        """messages x intents: the cosine similarity of each intent's nearest example."""
        similarities = embeddings @ self.embeddings.T  # messages x examples
        best = np.full((len(embeddings), self.intent_count), -1.0, dtype=np.float64)
        for intent in range(self.intent_count):
            of_intent = similarities[:, self.labels == intent]
            if of_intent.shape[1]:
                best[:, intent] = of_intent.max(axis=1)
        return best

    def probabilities(self, best: np.ndarray) -> np.ndarray:
        """A softmax over each intent's best similarity (rows of `similarities`)."""
        scaled = np.exp((best - best.max(axis=-1, keepdims=True)) / self.temperature)
        return scaled / scaled.sum(axis=-1, keepdims=True)

    def save(self, directory: Path) -> None:
        np.savez(directory / EMBEDDINGS_FILE, embeddings=self.embeddings, labels=self.labels,
                 intent_count=self.intent_count, temperature=self.temperature)

    @classmethod
    def load(cls, directory: Path) -> "NearestExamples":
        with np.load(directory / EMBEDDINGS_FILE, allow_pickle=False) as arrays:
            return cls(arrays["embeddings"], arrays["labels"], int(arrays["intent_count"]),
                       float(arrays["temperature"]))

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / EMBEDDINGS_FILE).exists()


def blend(linear: np.ndarray, neighbours: np.ndarray, weight: float) -> np.ndarray:
    """The classifier's distribution and the neighbours', mixed."""
    return (1 - weight) * linear + weight * neighbours


def indices(intents: List[str], names: Sequence[str]) -> List[int]:
    position = {intent: i for i, intent in enumerate(intents)}
    return [position[name] for name in names]
