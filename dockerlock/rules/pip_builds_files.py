"""DLK111: ``pip wheel -r`` / ``pip download -r`` fetch files for a later install; nothing to lock here."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.rules.base import Code, Decision, Phase

PIP_BUILDS_FILES = Code(
    "DLK111", Level.WARNING, "pip wheel/download -r: not an install",
    what="The command builds or downloads distributions from a requirements file.",
    why="It installs nothing; the install that consumes the files is what a lock replaces.",
    fix="Migrate the install that consumes them (e.g. `uv pip sync` the lock in that stage) by hand.",
    decision=Decision.REFUSED)
CODES = (PIP_BUILDS_FILES,)
PHASE = Phase.COMMAND


def check(stanza, rc):
    sub = stanza.pip.subcommand
    if sub in ("wheel", "download"):
        yield PIP_BUILDS_FILES.at(f"{stanza.described} left as is: pip {sub} -r builds or fetches files for a "
                                  "later install, it installs nothing: migrate the install that consumes them by "
                                  "hand (e.g. uv pip sync the lock in that stage)", rc.path, stanza.line)
