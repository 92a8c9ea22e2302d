"""DLK118: dockerlock cannot tell which build-context file the pip step installs from."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.rules.base import Code, Decision, Phase

SOURCE_UNKNOWN = Code(
    "DLK118", Level.WARNING, "requirements file not traced to the build context: left as is",
    what="No COPY, ADD or bind mount puts the requirements file where pip reads it, the working "
         "directory is unknown, a variable in the path has no default, or the path leaves the context.",
    why="Without the file, dockerlock cannot pick its lock or show that the lock covers it.",
    fix="COPY the file from the build context (or bind-mount it), set WORKDIR, or give the ARG a default.",
    decision=Decision.REFUSED)
CODES = (SOURCE_UNKNOWN,)
PHASE = Phase.SOURCES
KINDS = frozenset({"not-found", "workdir", "escapes", "unresolved"})


def check(stanza, rc):
    for problem in stanza.problems:
        if problem.kind in KINDS:
            yield SOURCE_UNKNOWN.at(f"{stanza.described} left as is: {problem.reason}", rc.path, stanza.line)
