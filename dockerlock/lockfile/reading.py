"""Reading the lock module's input files with a size cap, refusing what is not a regular file.

Kept apart from ``pylock`` (TOML and ``packaging.pylock``) so that reading requirements files
and ``.python-version`` does not load the lock parser: a run that reads no lock never imports it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dockerlock.diagnostics import DockerlockError

#: Refuse lock files larger than this before reading them (uv's locks for big apps are < 2 MB).
MAX_LOCK_BYTES = 50 * 1024 * 1024
#: Requirements files are read with the same cap; include chains deeper than this are refused.
MAX_REQUIREMENTS_BYTES = MAX_LOCK_BYTES
MAX_INCLUDE_DEPTH = 64


def read_capped(path: Path, limit: int, *, what: str, error: type[DockerlockError]) -> bytes:
    """Read a regular file of at most ``limit`` bytes; refuse others before reading anything."""
    where = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"{what} not found", path=where) from None
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", path=where) from None
    # A FIFO or device would block or never end; a directory is a plain mistake.
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{what} is not a regular file", path=where)
    if info.st_size > limit:
        raise error(
            f"{what} is too large ({info.st_size / 2**20:.1f} MiB; the limit is "
            f"{limit / 2**20:.0f} MiB); refusing to parse it",
            path=where,
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", path=where) from None
    if len(data) > limit:
        raise error(f"{what} is larger than {limit / 2**20:.0f} MiB; refusing to parse it", path=where)
    return data
