"""DLK116: pip installs packages besides the requirements files; the lock would not cover them."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.rules.base import Code, Decision, Phase

EXTRA_PACKAGES = Code(
    "DLK116", Level.WARNING, "packages besides the requirements file: left as is",
    what="The same pip command installs named packages, paths or editables next to `-r`.",
    why="The lock stands in for the requirements files only; converting would drop those packages "
        "or install them unlocked.",
    fix="Add them to the requirements file and re-lock, or install them in a separate step.",
    decision=Decision.REFUSED)
CODES = (EXTRA_PACKAGES,)
PHASE = Phase.COMMAND


def check(stanza, rc):
    pip = stanza.pip
    if pip.editables:
        yield EXTRA_PACKAGES.at(f"{stanza.described} left as is: editable installs (-e "
                                f"{' '.join(w.raw for w in pip.editables)}) are not part of a lock: split them "
                                "into their own step", rc.path, stanza.line)
    if pip.packages:
        names = " ".join(w.raw for w in pip.packages)
        yield EXTRA_PACKAGES.at(f"{stanza.described} left as is: installs packages besides the requirements file "
                                f"({names}); the lock would not cover them: split them into their own step or add "
                                "them to requirements", rc.path, stanza.line)
