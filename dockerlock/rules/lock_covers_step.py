"""DLK108: the lock was made from more requirements files than the pip step installs."""

from __future__ import annotations

import posixpath

from dockerlock.diagnostics import Level
from dockerlock.facts.locks import readable_lock
from dockerlock.rules.base import Code, Decision, Phase

LOCK_COVERS_MORE = Code(
    "DLK108", Level.ERROR, "lock made from more requirements than the step installs: nothing written",
    what="The lock's [tool.dockerlock] table says it was compiled from requirements files this pip "
         "step does not install (say runtime plus test requirements, used for the runtime image).",
    why="The migrated image would install packages the pip step never did (test tools in production).",
    fix="Lock exactly what the step installs: `dockerlock lock <Dockerfile>`.",
    decision=Decision.BLOCKED)
CODES = (LOCK_COVERS_MORE,)
PHASE = Phase.LOCK


def check(stanza, rc):
    found = readable_lock(rc.ctx, rc.settings, stanza)
    if found is None or found[1].origin is None:
        return
    choice, lock = found
    folder = posixpath.dirname(choice.context_path)
    made_from = {posixpath.normpath(posixpath.join(folder, r)) for r in lock.origin.requirements}
    installs = {f.context_path for f in stanza.requirements if f.context_path}
    extra = sorted(made_from - installs)
    if extra:
        shown = ", ".join(rc.ctx.show(p) for p in extra)
        yield LOCK_COVERS_MORE.at(f"the lock {rc.ctx.show(choice.context_path)} was made from {shown} too, which "
                                  f"this step does not install: the image would get their packages as well; lock "
                                  f"exactly what it installs with `dockerlock lock {rc.path}`", rc.path, stanza.line,
                                  hint=f"dockerlock lock {rc.path}")
