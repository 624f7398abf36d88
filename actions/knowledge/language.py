"""English words for the facts module's free-text search: content lemmas from spaCy's lookup
table (the `spacy-lookups-data` package), the one the NLU pipeline's lemmatizer uses
(pipeline/spacy_pipeline.py).

It reads the table without importing spaCy: importing spaCy imports TensorFlow (through thinc),
which would cost the action server seconds of start-up and hundreds of MB.
tests/unit/test_language.py checks that both give the same lemmas.
"""
import gzip
import json
import re
from typing import Dict, List

import spacy_lookups_data

# Function words, and words that carry no topic in a question to this assistant.
STOP_WORDS = frozenset(
    """a about after all also am an and any are as at be been being between betwen but by can could did do does
    doing for from had has have having he her here hers him his how i if in into is it its itself
    just me my myself no nor not of off on once only or our ours out over own please same she
    should so some such than that the their theirs them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself tell know want kindly explain question answer sir madam mam
    hi hello bhai ji hai kya ka ki ke mein me main ko se wat wht whats plz pls abt""".split()
)
TOKEN = re.compile(r"[a-z0-9]+")


def load_lemma_table() -> Dict[str, str]:
    with gzip.open(spacy_lookups_data.get_file("en_lemma_lookup.json.gz"), "rt", encoding="utf-8") as handle:
        return json.load(handle)


class Lemmatizer:
    """Turns text into lowercase content lemmas: "What are the risks?" -> ["risk"]."""

    def __init__(self, table: Dict[str, str]) -> None:
        self._table = table

    def lemma(self, word: str) -> str:
        return self._table.get(word, word)

    def content_lemmas(self, text: str) -> List[str]:
        # Stop words are dropped by their surface form: "better" is kept though its lemma is "well".
        return [
            self.lemma(word)
            for word in TOKEN.findall(text.lower())
            if word not in STOP_WORDS and len(word) > 1
        ]
