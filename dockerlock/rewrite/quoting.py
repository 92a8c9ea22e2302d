"""Text dockerlock writes into a Dockerfile: words kept as written, and COPY arguments BuildKit
reads back unchanged. (Shell words from a value: ``dockerlock.shell.quote_word``.)"""

from __future__ import annotations

import json
import re

#: Shell text dockerlock keeps as the Dockerfile wrote it (variables expand at build time).
_KEPT_AS_WRITTEN = re.compile(r"^[A-Za-z0-9_@%+=:,./{}$-]+$")


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
