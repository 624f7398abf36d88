"""The facts module lemmatises like the spaCy pipeline the NLU uses, without importing spaCy."""
import re

from actions.knowledge.facts import KNOWLEDGE_DIR
from actions.knowledge.language import Lemmatizer, load_lemma_table
from pipeline.spacy_pipeline import build_pipeline


def test_lemmas_match_spacys_lookup_lemmatizer_on_the_whole_knowledge():
    words = sorted(set(re.findall(r"[a-z]+", (KNOWLEDGE_DIR / "facts.yml").read_text().lower())))
    words += ["risks", "advantages", "earning", "salaries", "better", "companies", "outsourced"]
    nlp = build_pipeline()
    ours = Lemmatizer(load_lemma_table())
    for word in words:
        tokens = nlp(word)
        if len(tokens) == 1:  # spaCy's tokenizer splits a few words ("id" -> "i", "d")
            assert ours.lemma(word) == tokens[0].lemma_, word


def test_content_lemmas_drop_function_words_but_keep_the_topic():
    lemmas = Lemmatizer(load_lemma_table()).content_lemmas("What are the RISKS of outsourcing?")
    assert lemmas == ["risk", "outsource"]
