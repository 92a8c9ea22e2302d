"""Write a value as one shell word whose value is exactly that value.

Issue 14: ``-r "/tmp/requirements.txt"`` once became ``'"/tmp/pylock.toml'`` (the quotes
kept inside the path) and the literal ``'/tmp/$(touch pwn)/requirements.txt'`` became a
double-quoted path where ``$(...)`` ran at build time.  Generated words therefore come
from the shell's *value* of a word and are quoted here: bare when every character is
safe, else single-quoted (nothing is special inside single quotes; a quote itself is
written ``'\\''``).
"""

from __future__ import annotations

import re

__all__ = ["UnquotableWord", "quote_word"]

# Characters that mean nothing to the shell anywhere in an argument word. Not `=` first
# (an assignment at the start of a command), not `~` (tilde), `{}` (braces), `#` (comment).
_SAFE = re.compile(r"[A-Za-z0-9_@%+:,./-][A-Za-z0-9_@%+=:,./-]*")


class UnquotableWord(ValueError):
    """The value cannot be written on a RUN line (a line break would end the instruction)."""


def quote_word(value: str) -> str:
    """Shell text whose value is exactly ``value``; raises ``UnquotableWord`` for line breaks and NUL."""
    if any(c in value for c in "\n\r\0"):
        raise UnquotableWord(f"{value!r} holds a line break or NUL, which a RUN line cannot carry")
    if _SAFE.fullmatch(value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"
