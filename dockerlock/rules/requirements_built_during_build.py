"""DLK117: the requirements file is made during the build; a lock made beforehand cannot stand in for it."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.rules.base import Code, Decision, Phase

BUILT_DURING_BUILD = Code(
    "DLK117", Level.WARNING, "requirements made during the build: left as is",
    what="The requirements path is computed (`$(...)`), downloaded, cloned, or copied from another "
         "stage or image.",
    why="Its content is only known at build time, so no lock checked in beforehand can be shown to "
        "cover it.",
    fix="Commit the requirements file to the build context and COPY it, then lock it.",
    decision=Decision.REFUSED)
CODES = (BUILT_DURING_BUILD,)
PHASE = Phase.SOURCES
KINDS = frozenset({"computed", "downloaded", "other-stage", "produced", "exec-variables"})


def check(stanza, rc):
    for problem in stanza.problems:
        if problem.kind in KINDS:
            yield BUILT_DURING_BUILD.at(f"{stanza.described} left as is: {problem.reason}", rc.path, stanza.line)
