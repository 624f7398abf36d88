"""Fitting answers into a platform's message size limit."""
from typing import Callable, List

# Where a long answer is best split: between paragraphs, then lines, then words.
BOUNDARIES = ("\n\n", "\n", " ")


def split_text(text: str, limit: int, length: Callable[[str], int] = len) -> List[str]:
    """Splits text into parts whose `length` is at most `limit`, at the widest boundary that
    fits; only a word longer than the limit is cut inside. No part is empty."""
    text = text.strip()
    if length(text) <= limit:
        return [text] if text else []
    boundary = next((b for b in BOUNDARIES if b in text), None)
    if boundary is None:
        cut = limit
        while length(text[:cut]) > limit:
            cut -= 1
        return [text[:cut], *split_text(text[cut:], limit, length)]
    parts, current = [], ""
    for piece in text.split(boundary):
        joined = f"{current}{boundary}{piece}" if current else piece
        if length(joined) <= limit:
            current = joined
            continue
        if current.strip():
            parts.append(current)
        *whole, current = split_text(piece, limit, length) or [""]
        parts.extend(whole)
    if current.strip():
        parts.append(current)
    return [part.strip() for part in parts]


def utf16_length(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji can count as two)."""
    return len(text.encode("utf-16-le")) // 2
