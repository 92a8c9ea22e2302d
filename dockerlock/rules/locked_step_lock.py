"""DLK242 / DLK243 / DLK244 (and the lock's own DLK2xx findings): is each locked step's lock right
for its image?

For every ``uv pip sync|install <pylock>``: the lock is found in the build context, is a valid
PEP 751 lock, admits the image's Python, has wheels for its platform, agrees with the
``.python-version`` beside it, and still satisfies the requirements files it stands in for
(the same drift engine migrate uses).
"""

from __future__ import annotations

from dataclasses import replace

import posixpath

from dockerlock.diagnostics import Level, LockError
from dockerlock.facts.images import image_libc, image_python
from dockerlock.facts.locks import drift, lock_fit, stage_platform
from dockerlock.facts.uv_steps import locked_steps
from dockerlock.lockfile.target import python_version_from_text
from dockerlock.rules.base import Code

LOCK_NOT_FOUND = Code(
    "DLK242", Level.WARNING, "uv step reads a lock dockerlock cannot find in the build context",
    what="No COPY or bind mount brings the pylock the uv step reads, or it cannot be read.",
    why="Then nothing can be checked about what the step installs.",
    fix="COPY the lock from the build context (or pass --context if it is inferred wrongly).")
PYTHON_VERSION_FILE = Code(
    "DLK243", Level.ERROR, ".python-version beside the lock disagrees with the image's Python",
    what="The lock's folder pins one Python, the FROM tag another.",
    why="A lock made for the .python-version may not install on the image's interpreter.",
    fix="Align the FROM tag, .python-version and the lock's requires-python, then re-lock.")
BUILD_PLATFORM = Code(
    "DLK244", Level.NOTE, "image platform set by the build (TARGETPLATFORM); wheels checked for linux/amd64",
    what="FROM --platform uses a build argument; dockerlock checks wheels for linux/amd64.",
    why="Another platform may lack wheels the lock names.",
    fix="Lock for each platform you build (`dockerlock lock --python-platform`), or pin --platform.")
CODES = (LOCK_NOT_FOUND, PYTHON_VERSION_FILE, BUILD_PLATFORM)


def check(rc):
    seen: set[tuple[str, str | None]] = set()
    for locked in locked_steps(rc.df, rc.ctx):
        line = locked.step.instruction.start_line
        if locked.lock_context_path is None:
            yield LOCK_NOT_FOUND.at(f"cannot find the COPY that brings {locked.step.lock_word} into the image; lock "
                                    "not checked", rc.path, line)
            continue
        lock = rc.ctx.lock(locked.lock_context_path)
        shown = rc.ctx.show(locked.lock_context_path)
        if lock is None or isinstance(lock, LockError):
            reason = lock.reason if isinstance(lock, LockError) else rc.ctx.unreadable.get(
                locked.lock_context_path, "not found")
            yield LOCK_NOT_FOUND.at(f"lock {shown}: {reason}", rc.path, line, level=Level.ERROR)
            continue
        stage = locked.stage
        python = image_python(rc.df, stage)
        platform = stage_platform(stage)
        if stage.platform and "$" in stage.platform:
            yield BUILD_PLATFORM.at(f"the image platform comes from the build ({stage.platform}); wheels were "
                                    f"checked for {platform}", rc.path, stage.start_line)
        folder = posixpath.dirname(locked.lock_context_path)
        pinned_text = rc.ctx.text(posixpath.join(folder, ".python-version") if folder else ".python-version")
        pinned = python_version_from_text(pinned_text) if pinned_text is not None else None
        if python and pinned and _minor(pinned) != _minor(python):
            yield PYTHON_VERSION_FILE.at(f".python-version beside the lock says {pinned} but the image runs Python "
                                         f"{python}", rc.path, stage.start_line,
                                         hint="align the FROM tag, .python-version and the lock's requires-python")
        key = (locked.lock_context_path, python)
        if key in seen:  # one lock, one image Python: its findings once per file
            continue
        seen.add(key)
        yield from lock_fit(rc.ctx, lock, python, platform, f"{rc.path}:{line} image Python {python}",
                            image_libc(rc.df, stage))
        files = [(p, False) for p in locked.requirements_paths(rc.ctx)]
        relock = _relock_command(rc, lock, [p for p, _ in files], python)
        for finding in drift(rc.ctx, lock, files, python, platform):
            # the lock is out of step with its requirements: making it again is the fix
            yield replace(finding, hint=f"re-lock: {relock}") if finding.level is Level.ERROR else finding


def _relock_command(rc, lock, requirements: list[str], python: str | None) -> str:
    """The command that makes the lock again, runnable from where the user stands: the Dockerfile
    when the lock records what it was made from (``dockerlock lock`` re-locks a migrated file's
    locks from their records), else its requirements files."""
    import shlex

    if lock.origin is not None and lock.origin.requirements:
        return f"dockerlock lock {shlex.quote(rc.path)}"
    words = ["dockerlock", "lock", *(rc.ctx.show(p) for p in requirements)]
    if python:
        words += ["--python-version", _minor(python)]
    return shlex.join(words)


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
