"""DLK113: pip run under a wrapper (sudo, gosu, nice...) is left as is."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.rules.base import Code, Decision, Phase

PIP_WRAPPER = Code(
    "DLK113", Level.WARNING, "pip under a wrapper command: left as is",
    what="pip runs under `sudo`, `gosu`, `su-exec`, `nice`, `timeout`... or inside `sh -c` text "
         "dockerlock cannot rewrite exactly.",
    why="The wrapper changes the user, limits or shell the install runs with; the uv step would have "
        "to reproduce that.",
    fix="Run pip directly (a USER instruction instead of sudo/gosu), or migrate this step by hand.",
    decision=Decision.REFUSED)
CODES = (PIP_WRAPPER,)
PHASE = Phase.COMMAND


def check(stanza, rc):
    wrapper = stanza.pip.wrapper
    if wrapper and not stanza.pip.plain_env:
        yield PIP_WRAPPER.at(f"{stanza.described} left as is: pip runs under '{wrapper}'; remove the wrapper "
                             "or migrate by hand", rc.path, stanza.line)
    reason = stanza.command.wrapper_problem
    if reason:
        yield PIP_WRAPPER.at(f"{stanza.described} left as is: {reason}", rc.path, stanza.line)
