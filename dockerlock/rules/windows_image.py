"""DLK110: a pip step in a Windows image is left as is."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.facts.images import windows_reason
from dockerlock.rules.base import Code, Decision, Phase

WINDOWS_IMAGE = Code(
    "DLK110", Level.WARNING, "Windows image: the pip step is left as is",
    what="The stage builds on a Windows base image or runs a Windows shell.",
    why="The uv binaries dockerlock copies in are Linux executables; they cannot run there.",
    fix="Keep pip for this image, or migrate it by hand with uv's Windows installer.",
    decision=Decision.REFUSED)
CODES = (WINDOWS_IMAGE,)
PHASE = Phase.IMAGE


def check(stanza, rc):
    reason = windows_reason(rc.df, stanza.stage)
    if reason:
        yield WINDOWS_IMAGE.at(f"{stanza.described} left as is: Windows image ({reason}): the Linux uv binaries "
                               "cannot run there; keep pip or migrate by hand", rc.path, stanza.line)
