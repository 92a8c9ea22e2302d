"""DLK114: a pip command line dockerlock cannot read with certainty is left as is."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.rules.base import Code, Decision, Phase

PIP_COMMAND_LINE = Code(
    "DLK114", Level.WARNING, "pip command line not understood: left as is",
    what="pip would reject the command line, an option is unknown to pip, or the pip launcher is a "
         "variable whose value is unknown.",
    why="dockerlock never guesses what an install does.",
    fix="Fix the command line (the message names the part), or give the launcher variable a default.",
    decision=Decision.REFUSED)
CODES = (PIP_COMMAND_LINE,)
PHASE = Phase.COMMAND


def check(stanza, rc):
    pip = stanza.pip
    reasons = [f"pip would reject this command line: {problem}" for problem in pip.errors]
    for name in dict.fromkeys(pip.unknown_options):
        reasons.append(f"unknown pip option '{name}': dockerlock will not guess what it means")
    if not pip.launcher_known:
        reasons.append(f"the pip launcher {pip.program.raw} is a variable with no known value: give it a default "
                       "(ARG/ENV) or call pip directly")
    if reasons:
        yield PIP_COMMAND_LINE.at(f"{stanza.described} left as is: " + "; ".join(reasons), rc.path, stanza.line)
