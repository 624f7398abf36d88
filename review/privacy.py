"""What the review shows of people: sender ids as hashes, text with e-mail addresses and phone
numbers masked."""
import hashlib
import hmac
import re
import secrets

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits, spaces, dots, dashes and brackets, with an optional leading +; it is a phone
# number when it holds at least PHONE_DIGITS digits (years, prices in lakh and ages have fewer).
NUMBER_RUN = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]*\d(?!\w)")
PHONE_DIGITS = 7
EMAIL_MASK = "<email>"
PHONE_MASK = "<phone>"


def mask(text: str) -> str:
    text = EMAIL.sub(EMAIL_MASK, text)
    return NUMBER_RUN.sub(lambda m: PHONE_MASK if sum(c.isdigit() for c in m.group())
                          >= PHONE_DIGITS else m.group(), text)


class SenderHasher:
    """Short keyed hashes of sender ids. The key is new for each report, so a hash links the
    items of one report to each other and to nothing else: a phone number or a chat id used as
    the sender id cannot be found by hashing candidates."""

    def __init__(self, key: bytes = b"") -> None:
        self._key = key or secrets.token_bytes(32)

    def __call__(self, sender_id: str) -> str:
        return hmac.new(self._key, sender_id.encode(), hashlib.sha256).hexdigest()[:12]
