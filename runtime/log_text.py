"""What users write never reaches the log raw (docs/security.md). Rasa puts user text into its
log: a message starting with "/" that is not a known intent is warned about verbatim (through
`warnings`, by rasa.shared.utils.io.raise_warning), and at --debug every message is logged. A
newline in it forged a log line, and terminal escape sequences landed raw. Here every log
record's message and every warning's text are written with their control characters escaped
(a newline as `\\n`, ESC as `\\x1b`); tracebacks are left as they are.
"""
from typing import Any, Callable, Type


def escaped(text: str) -> str:
    """`text` with each character that is not printable (newlines, tabs, ESC, the other
    control and format characters, Unicode's line separators) written as its escape."""
    if text.isprintable():
        return text
    return "".join(character if character.isprintable()
                   else character.encode("unicode_escape").decode("ascii")
                   for character in text)


def escaped_log_messages(get_message: Callable) -> Callable:
    """`logging.LogRecord.getMessage`, escaped: every handler and formatter (Rasa's, Sanic's,
    coloredlogs') writes a record's message through it."""

    def getMessage(self: Any) -> str:
        return escaped(str(get_message(self)))

    getMessage.__wrapped__ = get_message
    return getMessage


def escaped_warnings(format_warning: Callable) -> Callable:
    """`warnings.formatwarning`, with the warning's text escaped (Rasa's raise_warning formats
    its warnings through the one set here, then colours them)."""

    def formatwarning(message: Any, category: Type[Warning], filename: str, lineno: int,
                      line: Any = None) -> str:
        return format_warning(escaped(str(message)), category, filename, lineno, line)

    formatwarning.__wrapped__ = format_warning
    return formatwarning
