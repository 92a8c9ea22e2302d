"""Which lock stands in for a pip step's requirements files, and what the step must be checked against.

The lock is, in order: the one configured (``--lock``, ``[tool.dockerlock] locks``); the one
named after the requirements files (``dockerlock.lock_names``: ``requirements-test.txt`` ->
``pylock.test.toml``); else, only as a fallback the drift rule must confirm, the sibling
``pylock.toml``. Pure: existence comes from the build context's parsed locks.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import PurePosixPath

from dockerlock.context import BuildContext, context_relative
from dockerlock.diagnostics import LockError
from dockerlock.facts.images import image_python
from dockerlock.facts.stanzas import PipStanza
from dockerlock.lock_names import lock_name
from dockerlock.settings import Settings

DEFAULT_PLATFORM = "linux/amd64"


@dataclass(frozen=True)
class LockChoice:
    """The lock for one pip step: where it is in the build context and why that one."""

    context_path: str | None  # None: no single lock can be named (see ``problem``)
    how: str
    fallback: bool = False  # the named lock is missing; this is the sibling pylock.toml
    problem: str | None = None


def choose_lock(ctx: BuildContext, settings: Settings, stanza: PipStanza) -> LockChoice:
    paths = [f.context_path for f in stanza.requirements if f.context_path]
    if len(paths) != len(stanza.requirements) or not paths:
        return LockChoice(None, "", problem="the requirements files are not all located")
    configured = {settings.lock_for(p) for p in paths}
    if configured != {None}:
        chosen = {c for c in configured if c}
        if len(chosen) != 1 or None in configured:
            return LockChoice(None, "", problem="the configured locks disagree for these requirements files; "
                                                "map them to one lock in [tool.dockerlock] locks or pass --lock")
        lock = context_relative(chosen.pop())
        return LockChoice(lock, "configured (--lock or [tool.dockerlock] locks)")
    named = lock_name(paths)
    if named is None:
        return LockChoice(None, "", problem="the requirements files live in different folders and no single "
                                            "lock covers them; pass --lock or map them in [tool.dockerlock] locks")
    sibling = posixpath.join(posixpath.dirname(named), "pylock.toml")
    if ctx.lock(named) is None and named != sibling and ctx.lock(sibling) is not None:
        return LockChoice(sibling, f"{posixpath.basename(named)} does not exist; the sibling pylock.toml stands in "
                                   "only if it covers the requirements", fallback=True)
    return LockChoice(named, "named after the requirements files")


def lock_candidates(settings: Settings, stanza: PipStanza) -> list[str]:
    """Every lock path ``choose_lock`` may look at (what the loader must read)."""
    paths = [f.context_path for f in stanza.requirements if f.context_path]
    out = [context_relative(c) for c in {settings.lock_for(p) for p in paths} if c]
    named = lock_name(paths) if paths else None
    if named:
        out += [named, posixpath.join(posixpath.dirname(named), "pylock.toml")]
    return out


def lock_of(ctx: BuildContext, choice: LockChoice):
    """The parsed ``Lock``, the ``LockError`` reading it gave, or None when absent."""
    return ctx.lock(choice.context_path) if choice.context_path else None


def is_lock(value) -> bool:
    return value is not None and not isinstance(value, LockError)


def target_python(ctx: BuildContext, stanza: PipStanza, df, lock_path: str | None) -> tuple[str | None, str]:
    """(X.Y[.Z], where it came from): the FROM tag (through ARG defaults), else the nearest
    ``.python-version`` from the lock's folder up to the context root."""
    version = image_python(df, stanza.stage)
    if version:
        return version, f"the image {stanza.stage.image_expanded or stanza.stage.image}"
    folder = posixpath.dirname(lock_path) if lock_path else ""
    for candidate in python_version_files(folder):
        text = ctx.text(candidate)
        if text is not None:
            from dockerlock.lockfile.target import python_version_from_text

            parsed = python_version_from_text(text)
            if parsed:
                return parsed, ctx.show(candidate)
    return None, ""


def python_version_files(folder: str) -> list[str]:
    """``.python-version`` in ``folder`` and every folder above it, nearest first."""
    out = []
    folder = folder.strip("/")  # a context path: "/" (from `COPY / /app`) is the root, whose parent is itself
    here = PurePosixPath(folder) if folder and folder != "." else None
    while here is not None and str(here) not in ("", "."):
        out.append(f"{here}/.python-version")
        here = here.parent if str(here.parent) not in ("", ".") else None
    out.append(".python-version")
    return out


def target_platform(stanza: PipStanza) -> str:
    platform = stanza.stage.platform
    return platform if platform and "$" not in platform else DEFAULT_PLATFORM


def drift(ctx: BuildContext, lock, files: list[tuple[str, bool]], python: str | None, platform: str) -> list:
    """The one drift engine (migrate and check): ``lockfile.check_drift`` over the requirements
    and constraints files ``[(context path, is constraint)]`` as the build context holds them,
    evaluated for the image's Python and platform. Paths in findings are shown as the user types them."""
    from dataclasses import replace as _replace

    from dockerlock.facts.requirements import context_requirements
    from dockerlock.lockfile import check_drift, marker_environment

    lines = []
    for path, constraint in files:
        found, _missing = context_requirements(ctx, path, constraint=constraint)
        lines.extend(found)
    environment = marker_environment(platform, python) if python and python.count(".") >= 1 else None
    return [_replace(f, path=ctx.show(str(f.path)) if f.path else f.path)
            for f in check_drift(lines, lock, environment=environment)]
