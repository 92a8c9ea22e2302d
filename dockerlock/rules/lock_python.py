"""DLK106: the lock was made for another Python or platform than the image runs."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.facts.images import root_image
from dockerlock.facts.locks import readable_lock, target_libc, target_platform, target_python
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
        from dockerlock.lockfile import check_python  # a lock was read: its module is loaded anyway

        problems = [f for f in check_python(lock, python, source=source or "the image") if f.level == Level.ERROR]
        if problems:
            yield LOCK_TARGET.at(f"{problems[0].message}; {fix}", rc.path, stanza.line,
                                 hint=f"dockerlock lock {rc.path}")
            return
    origin = lock.origin
    libc = target_libc(rc.df, stanza)
    if libc == "musl" and python and (origin is None or origin.platform == "universal"):
        yield from _musl_wheel_gap(lock, python, target_platform(stanza), rc, stanza, fix)
    if origin is None:
        return
    if python and "." not in python and origin.python and origin.python.split(".")[0] == python:
        # python:3 floats: a lock for one 3.x fits only while the tag points there, and re-locking
        # cannot help (there is no minor version to lock for): pinning the tag can
        yield LOCK_TARGET.at(f"lock file {shown} was compiled for Python {origin.python}, but {source} names "
                             f"no minor version (Python {python} floats to each new 3.x release); pin the tag "
                             f"to Python {origin.python}", rc.path, stanza.line)
    elif python and origin.python and not _same_series(origin.python, python):
        yield LOCK_TARGET.at(f"lock file {shown} was compiled for Python {origin.python}, but {source} runs "
                             f"Python {python}; {fix}", rc.path, stanza.line, hint=f"dockerlock lock {rc.path}")
    platform = target_platform(stanza)
    if origin.platform and origin.platform != "universal" and origin.platform != platform:
        yield LOCK_TARGET.at(f"lock file {shown} was compiled for {origin.platform}, but the image is built for "
                             f"{platform}; {fix}", rc.path, stanza.line, hint=f"dockerlock lock {rc.path}")
    elif origin.platform and origin.platform != "universal" and (origin.libc or "glibc") != libc:
        image = root_image(rc.df, stanza.stage)
        yield LOCK_TARGET.at(f"lock file {shown} was compiled for {_LIBC_WHEELS[origin.libc or 'glibc']}, but "
                             f"the image {image} uses {_LIBC_WHEELS[libc]}; {fix}", rc.path, stanza.line,
                             hint=f"dockerlock lock {rc.path}")


_LIBC_WHEELS = {"glibc": "glibc (manylinux wheels)", "musl": "musl (Alpine: musllinux wheels)"}


def _musl_wheel_gap(lock, python, platform, rc, stanza, fix):
    """A lock without a record of its target, on an Alpine image: a package with neither a
    musllinux (or pure) wheel nor an sdist cannot install there."""
    from dockerlock.lockfile import check_platform

    for finding in check_platform(lock, platform, python_version=python, libc="musl"):
        if finding.level is Level.ERROR:
            image = root_image(rc.df, stanza.stage)
            yield LOCK_TARGET.at(f"the image {image} uses musl (Alpine), and {finding.message}; {fix}",
                                 rc.path, stanza.line, hint=f"dockerlock lock {rc.path}")
            return


def _same_series(a: str, b: str) -> bool:
    return a.split(".")[:2] == b.split(".")[:2]
