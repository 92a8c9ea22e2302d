"""The migration record: one comment line above each migrated region.

Format (documented in docs/record.md)::

    # dockerlock: migrated pip -> uv; `dockerlock revert` restores it [v1 n=4 h=3f2a9c0d1b7e d=eNpz...]

- ``n``: how many lines after the record line belong to the migrated region;
- ``h``: first 12 hex digits of the SHA-256 of those lines as migrate wrote them, so
  revert can tell a hand-edited region from an untouched one;
- ``d``: the original region's exact text (line endings, tabs, trailing spaces and
  all), zlib-compressed and URL-safe base64 encoded without padding.

A comment line is ignored by BuildKit everywhere (even inside a continuation), carries
no trailing whitespace (editors will not strip it) and shows up as one readable
``+`` line in a PR diff next to the ``-`` lines of the pip stanza it replaced.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from dataclasses import dataclass

from dockerlock.diagnostics import DockerlockError

HEADER = "# dockerlock: migrated pip -> uv; `dockerlock revert` restores it"
_RECORD = re.compile(r"^# dockerlock: migrated pip -> uv;[^\[]*\[v1 n=(\d+) h=([0-9a-f]{12}) d=([A-Za-z0-9_-]*)\][ \t]*$")
# What marks a line as (meant to be) a record: the exact header prefix. A user comment that
# merely starts "# dockerlock: migrated ..." is an ordinary comment.
_ANY_RECORD = re.compile(r"^# dockerlock: migrated pip -> uv;")
MAX_ORIGINAL = 1 << 20


@dataclass(frozen=True)
class Record:
    line: int  # 1-based line of the record comment
    lines: int  # migrated region length in lines
    digest: str
    original: str


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def make_record_line(original: str, migrated: str, eol: str) -> str:
    lines = migrated.count("\n") + (0 if migrated.endswith("\n") or not migrated else 1)
    payload = base64.urlsafe_b64encode(zlib.compress(original.encode("utf-8"), 9)).decode("ascii").rstrip("=")
    return f"{HEADER} [v1 n={lines} h={digest(migrated)} d={payload}]{eol}"


def parse_record(text: str, line: int, path: str | None = None) -> Record | None:
    """Parse one line; None if it is not a record, an error if it is a damaged one."""
    if not _ANY_RECORD.match(text):
        return None
    m = _RECORD.match(text)
    if not m:
        raise DockerlockError("damaged dockerlock record comment (it no longer matches the v1 format)",
                              path, line, hint="restore the line from version control or use --force")
    data = m.group(3)
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        original = zlib.decompressobj().decompress(raw, MAX_ORIGINAL).decode("utf-8")
    except (ValueError, zlib.error, UnicodeDecodeError):
        raise DockerlockError("damaged dockerlock record comment (its data does not decode)", path, line,
                              hint="restore the line from version control") from None
    return Record(line=line, lines=int(m.group(1)), digest=m.group(2), original=original)
