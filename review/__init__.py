"""The review of what users asked the assistant: volume, answer kinds, unanswered questions
grouped by meaning, thumbs down and "did you mean" clicks, from the tracker store (docs/review.md).
"""
