"""The spaCy pipeline Rasa's `SpacyNLP` loads (config.yml). Official spaCy models cannot be
downloaded here, so it is `spacy.blank("en")` with spaCy's lookup lemmatizer, whose table ships in
the `spacy-lookups-data` package.

    python -m pipeline.spacy_pipeline build/spacy-en
"""
import sys
from pathlib import Path
from typing import List


def build_pipeline():
    """spaCy's English pipeline with the lookup lemmatizer (imports spaCy, and so TensorFlow)."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


def main(argv: List[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: python -m pipeline.spacy_pipeline OUTPUT_DIR")
    Path(argv[1]).parent.mkdir(parents=True, exist_ok=True)
    build_pipeline().to_disk(argv[1])
    print(f"spaCy pipeline saved to {argv[1]}")


if __name__ == "__main__":
    main(sys.argv)
