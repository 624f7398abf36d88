"""actions/knowledge/questions.py: the questions of a message, as people write them."""
import pytest

from actions.knowledge.questions import question_spans


def questions(text):
    return [text[start:end] for start, end in question_spans(text)]


@pytest.mark.parametrize("text, expected", [
    ("Define KPO and list the kinds of work it does", ["Define KPO", "list the kinds of work it does"]),
    ("what is bpo and what are its advantages", ["what is bpo", "what are its advantages"]),
    ("what is kpo?what is bpo?", ["what is kpo?", "what is bpo?"]),
    ("what is the salary in bpo, and which companies hire", ["what is the salary in bpo",
                                                             "which companies hire"]),
    # The sentence before the question tells of the writer: it is no question of its own.
    ("I have done MBA in finance. Is KPO good for me?", ["Is KPO good for me?"]),
    ("my english accent is not good, can i join bpo?", ["can i join bpo?"]),
    # A title that names its subject, then asks.
    ("Difference between BPO & KPO – What’s best for you?", ["Difference between BPO & KPO",
                                                          "What’s best for you?"]),
    ("Difference Between BPO and KPO Which Option is Best", ["Difference Between BPO and KPO",
                                                             "Which Option is Best"]),
    # Hinglish asks at the end of each clause, joined by "aur".
    ("bpo kya hai aur usme job kaise milti hai", ["bpo kya hai", "usme job kaise milti hai"]),
    # Hindi too, joined by "और" or a comma.
    ("केपीओ क्या है, इसमें नौकरी कैसे मिलती है", ["केपीओ क्या है", "इसमें नौकरी कैसे मिलती है"]),
    ("केपीओ क्या है और इसमें नौकरी कैसे मिलती है", ["केपीओ क्या है", "इसमें नौकरी कैसे मिलती है"]),
    # A question may open with "so", "ok", "but" before its question word.
    ("So, how do they differ, and which suits a startup?", ["So, how do they differ",
                                                            "which suits a startup?"]),
])
def test_each_question_of_a_message_is_found(text, expected):
    assert questions(text) == expected


@pytest.mark.parametrize("text", [
    "difference between kpo and bpo",  # "and" inside one question
    "pros and cons of kpo",
    "What are the pros and cons of outsourcing?",
    "can you tell me what is kpo",  # a question word inside the question
    "What is the scope of r getting a job after M.Sc computer science?",  # a dot in a degree
    "is kpo good or is bpo good",
    "bpo aur kpo me kya fark hai",  # "aur" between two names, one question word
    "केपीओ और बीपीओ में क्या फर्क है",
    "hi",
    "",
])
def test_a_single_question_is_the_whole_message(text):
    assert question_spans(text) == [(0, len(text))]


def test_a_message_with_many_questions_is_cut_at_four():
    text = " ".join(f"what is question {n}?" for n in range(6))
    assert len(question_spans(text)) == 4
