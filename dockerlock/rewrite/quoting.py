"""Text dockerlock writes into a Dockerfile: shell words whose value is exactly what was meant,
and COPY arguments BuildKit reads back unchanged."""

from __future__ import annotations

import json
import re

#: Characters that need no quoting in a shell word or a Dockerfile COPY argument.
_BARE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")
#: Shell text dockerlock keeps as the Dockerfile wrote it (variables expand at build time).
_KEPT_AS_WRITTEN = re.compile(r"^[A-Za-z0-9_@%+=:,./{}$-]+$")


def quote_word(value: str) -> str | None:
    """Shell text whose value is exactly ``value`` (None for a newline: never written)."""
    if "\n" in value or "\r" in value or "\x00" in value:
        return None
    if _BARE.match(value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


def kept_as_written(text: str) -> bool:
    """Can this word (with ``$VAR`` / ``${VAR}``) be written back verbatim, unquoted, safely?"""
    return bool(_KEPT_AS_WRITTEN.match(text))


def copy_arguments(args: list[str]) -> str | None:
    """COPY arguments: plain words when each is safe (variables kept), else the JSON array form."""
    if any("\n" in a or "\r" in a for a in args):
        return None
    if all(_KEPT_AS_WRITTEN.match(a) for a in args):
        return " ".join(args)
    return json.dumps(args)
