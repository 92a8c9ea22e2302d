"""Which lock stands in for a pip step's requirements files, and what the step must be checked against.

The lock is, in order: the one configured (``--lock``, ``[tool.dockerlock] locks``); the one
named after the requirements files (``dockerlock.lock_names``: ``requirements-test.txt`` ->
``pylock.test.toml``); else, only as a fallback the drift rule must confirm, the sibling
``pylock.toml``. Pure: existence comes from the build context's parsed locks.
"""

from __future__ import annotations

import posixpath
from pathlib import PurePosixPath
from typing import NamedTuple

from dockerlock.context import BuildContext, ContextEscape, context_relative
from dockerlock.diagnostics import LockError
from dockerlock.facts.images import image_libc, image_python
from dockerlock.facts.stanzas import PipStanza
from dockerlock.lock_names import lock_name
from dockerlock.model import Dockerfile
from dockerlock.settings import Settings

DEFAULT_PLATFORM = "linux/amd64"


class LockChoice(NamedTuple):
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
        configured_path = chosen.pop()
        try:
            lock = context_relative(configured_path)
        except ContextEscape:
            return LockChoice(None, "", problem=f"the configured lock {configured_path} leaves the build context "
                                                "(BuildKit copies nothing from outside it); put the lock inside "
                                                "the context")
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
    out = []
    for configured in {settings.lock_for(p) for p in paths} - {None}:
        try:
            out.append(context_relative(configured))
        except ContextEscape:
            continue
    named = lock_name(paths) if paths else None
    if named:
        out += [named, posixpath.join(posixpath.dirname(named), "pylock.toml")]
    return out


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
    return stage_platform(stanza.stage)


def stage_platform(stage) -> str:
    """The platform a stage is built for: its ``FROM --platform``, else linux/amd64 (also when the
    flag is a build argument such as $TARGETPLATFORM, which only the build knows)."""
    platform = stage.platform
    return platform if platform and "$" not in platform else DEFAULT_PLATFORM


def target_libc(df: Dockerfile, stanza: PipStanza) -> str:
    """``musl`` (Alpine) or ``glibc``: which Linux wheels the image that runs ``stanza`` takes."""
    return image_libc(df, stanza.stage)


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
    recorded, changed = _compiled_from(ctx, lock)
    found = check_drift(lines, lock, environment=environment, compiled_from=lambda item: str(item.file) in recorded)
    if changed:  # said first: it explains the rest (a removed line no other finding can name)
        found = [_changed_since_locked(ctx, lock, path) for path in changed] + list(found)
    return [_replace(f, path=ctx.show(str(f.path)) if f.path else f.path) for f in found]


def _changed_since_locked(ctx: BuildContext, lock, path: str):
    from dockerlock.diagnostics import Finding, Level

    shown = ctx.show(ctx.relative(lock.path)) if str(lock.path).startswith(str(ctx.root)) else str(lock.path)
    return Finding("DLK219", Level.ERROR, f"{ctx.show(path)} changed since {shown} was made from it: a line "
                   "removed or edited there may still be in the lock", path=path)


def _compiled_from(ctx: BuildContext, lock) -> tuple[set[str], list[str]]:
    """(context paths of the requirements files the lock records it was compiled from whose content
    is still what it was then, those whose content has changed since)."""
    from dockerlock.lock_names import content_digest

    origin = getattr(lock, "origin", None)
    if origin is None or not origin.inputs:
        return set(), []
    folder = posixpath.dirname(ctx.relative(lock.path)) if str(lock.path).startswith(str(ctx.root)) else None
    if folder is None:
        return set(), []
    same, changed = set(), []
    for rel, digest in origin.inputs:
        try:
            path = context_relative(posixpath.join(folder, rel))
        except ContextEscape:
            continue
        text = ctx.text(path)
        if text is not None and content_digest(text) == digest:
            same.add(path)
        elif text is not None:
            changed.append(path)
    return same, changed


def lock_fit(ctx: BuildContext, lock, python: str | None, platform: str, source: str, libc: str = "glibc") -> list:
    """Does the lock install on the image: its Python (requires-python) and platform (wheels)?
    Findings (DLK2xx) with lock paths shown as the user types them."""
    from dataclasses import replace as _replace

    from dockerlock.lockfile import check_platform, check_python

    if not python:
        return []
    found = check_python(lock, python, source=source) + check_platform(lock, platform, python_version=python, libc=libc)
    return [_replace(f, path=_shown(ctx, f.path)) for f in found]


def _shown(ctx: BuildContext, path) -> str | None:
    if path is None:
        return None
    text = str(path)
    root = str(ctx.root)
    if text == root or text.startswith(root.rstrip("/") + "/"):
        return ctx.show(ctx.relative(path))
    return text


class LockInUse(NamedTuple):
    """A lock a Dockerfile installs (or, once migrated, would install), with what it stands in for."""

    lock: str  # context path
    requirements: tuple[str, ...]
    constraints: tuple[str, ...]
    python: str | None
    platform: str
    line: int
    libc: str = "glibc"


def locks_in_use(df, ctx: BuildContext, settings: Settings) -> list[LockInUse]:
    """Every lock the file's locked steps read, and every lock migrate would use for its
    convertible pip steps (what ``check --resolve`` re-resolves)."""
    from dockerlock.facts.images import image_python
    from dockerlock.facts.stanzas import pip_stanzas
    from dockerlock.facts.uv_steps import locked_steps

    found: list[LockInUse] = []
    for stanza in pip_stanzas(df, ctx, settings):
        choice = choose_lock(ctx, settings, stanza)
        if choice.context_path is None or not is_lock(ctx.lock(choice.context_path)) or stanza.problems:
            continue
        python, _ = target_python(ctx, stanza, df, choice.context_path)
        found.append(LockInUse(choice.context_path,
                               tuple(f.context_path for f in stanza.requirements if f.context_path),
                               tuple(f.context_path for f in stanza.constraints if f.context_path),
                               python, target_platform(stanza), stanza.line, target_libc(df, stanza)))
    for step in locked_steps(df, ctx):
        if step.lock_context_path is None or not is_lock(ctx.lock(step.lock_context_path)):
            continue
        found.append(LockInUse(step.lock_context_path, tuple(step.requirements_paths(ctx)), (),
                               image_python(df, step.stage), stage_platform(step.stage),
                               step.step.instruction.start_line,
                               image_libc(df, step.stage)))
    return found


def readable_lock(ctx: BuildContext, settings: Settings, stanza: PipStanza):
    """(choice, the parsed ``Lock``) when the lock that stands in for ``stanza`` exists and is valid
    and locks are being checked; else None (``lock_present`` says why)."""
    if not settings.lock_check:
        return None
    choice = choose_lock(ctx, settings, stanza)
    lock = ctx.lock(choice.context_path) if choice.context_path else None
    return (choice, lock) if is_lock(lock) else None
