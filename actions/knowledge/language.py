"""English text processing for the NLU pipeline and the facts module's free-text search.

Official spaCy models cannot be downloaded here, so the NLU pipeline is `spacy.blank("en")` with
spaCy's lookup lemmatizer, whose table ships in the `spacy-lookups-data` package.
`python -m actions.knowledge.language DIR` saves that pipeline to DIR, where Rasa's `SpacyNLP`
component loads it from (see config.yml).

The facts module lemmatises with the same table but without importing spaCy: importing spaCy
imports TensorFlow (through thinc), which would cost the action server ~4.7 s of start-up and
~400 MB. tests/test_language.py checks that both give the same lemmas.
"""
import gzip
import json
import re
import sys
from pathlib import Path
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


def build_pipeline():
    """spaCy's English pipeline with the lookup lemmatizer (imports spaCy, and so TensorFlow)."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


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


def main(argv: List[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: python -m actions.knowledge.language OUTPUT_DIR")
    Path(argv[1]).parent.mkdir(parents=True, exist_ok=True)
    build_pipeline().to_disk(argv[1])
    print(f"spaCy pipeline saved to {argv[1]}")


if __name__ == "__main__":
    main(sys.argv)
