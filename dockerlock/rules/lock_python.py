"""DLK106: the lock was made for another Python or platform than the image runs."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.facts.locks import readable_lock, target_platform, target_python
from dockerlock.lockfile import check_python
from dockerlock.rules.base import Code, Decision, Phase

LOCK_TARGET = Code(
    "DLK106", Level.ERROR, "lock made for another Python or platform: nothing written for the file",
    what="The image's Python (FROM tag, or .python-version) is outside the lock's requires-python, or "
         "the lock records that it was compiled for another Python or platform.",
    why="uv would refuse the lock at build time, or install wheels built for another interpreter.",
    fix="Re-lock for the image: `dockerlock lock <Dockerfile>` compiles for its Python and platform.",
    decision=Decision.BLOCKED)
CODES = (LOCK_TARGET,)
PHASE = Phase.LOCK


def check(stanza, rc):
    found = readable_lock(rc.ctx, rc.settings, stanza)
    if found is None:
        return
    choice, lock = found
    python, source = target_python(rc.ctx, stanza, rc.df, choice.context_path)
    fix = f"regenerate it for this image with `dockerlock lock {rc.path}`"
    shown = rc.ctx.show(choice.context_path)
    if python:
        problems = [f for f in check_python(lock, python, source=source or "the image") if f.level == Level.ERROR]
        if problems:
            yield LOCK_TARGET.at(f"{problems[0].message}; {fix}", rc.path, stanza.line,
                                 hint=f"dockerlock lock {rc.path}")
            return
    origin = lock.origin
    if origin is None:
        return
    if python and origin.python and not _same_series(origin.python, python):
        yield LOCK_TARGET.at(f"lock file {shown} was compiled for Python {origin.python}, but {source} runs "
                             f"Python {python}; {fix}", rc.path, stanza.line, hint=f"dockerlock lock {rc.path}")
    platform = target_platform(stanza)
    if origin.platform and origin.platform != "universal" and origin.platform != platform:
        yield LOCK_TARGET.at(f"lock file {shown} was compiled for {origin.platform}, but the image is built for "
                             f"{platform}; {fix}", rc.path, stanza.line, hint=f"dockerlock lock {rc.path}")


def _same_series(a: str, b: str) -> bool:
    return a.split(".")[:2] == b.split(".")[:2]
