"""DLK112: a pip command inside a subshell, block, loop or condition is left as is."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.rules.base import Code, Decision, Phase

PIP_IN_CONTROL_FLOW = Code(
    "DLK112", Level.WARNING, "pip inside control flow: left as is",
    what="The pip command sits inside `( )`, `{ }`, `if`, a loop, `case` or a function.",
    why="Whether and how often it runs depends on control flow dockerlock does not rewrite.",
    fix="Move the install into its own command (`&&` chains are fine), then run migrate again.",
    decision=Decision.REFUSED)
CODES = (PIP_IN_CONTROL_FLOW,)
PHASE = Phase.COMMAND


def check(stanza, rc):
    command = stanza.command.command
    if command is not None and command.in_compound:
        yield PIP_IN_CONTROL_FLOW.at(f"{stanza.described} left as is: the pip command sits inside a subshell, "
                                     "block or loop; its effect depends on control flow dockerlock does not "
                                     "rewrite (make it a plain command in the RUN)", rc.path, stanza.line)
