"""DLK122: the lock was not resolved from the package sources the pip step uses."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.facts.locks import readable_lock
from dockerlock.facts.pip_sources import pip_sources, same_sources
from dockerlock.rules.base import Code, Decision, Phase, lock_mismatch

LOCK_SOURCES = Code(
    "DLK122", Level.ERROR, "lock not resolved from the pip step's indexes: nothing written for the file",
    what="The pip step takes packages from other indexes than PyPI (--index-url, --extra-index-url, "
         "--find-links, --no-index, on its command line or in PIP_* variables) and the lock does not record "
         "that it was resolved from the same ones; or the lock records other sources than the step uses; "
         "or the sources are only known at build time (a build argument, a pip configuration file).",
    why="The same version from another index can be another build: torch 2.3.0 from PyPI pulls the CUDA "
        "libraries, 2.3.0+cpu from PyTorch's index does not. The requirements check cannot see that.",
    fix="Re-lock with `dockerlock lock <Dockerfile>`, which resolves from the step's sources and records them; "
        "with sources known only at build time, lock with them yourself and pass --allow-drift.",
    decision=Decision.BLOCKED)
SOURCES_ALLOWED = Code(
    "DLK123", Level.WARNING, "converted although the lock may come from other indexes (--allow-drift)",
    what="As DLK122, converted because --allow-drift (or allow-drift = true) was given.",
    why="The image will install the builds the lock names, from wherever the lock names them.",
    fix="Re-lock with `dockerlock lock <Dockerfile>` to record the sources.")
CODES = (LOCK_SOURCES, SOURCES_ALLOWED)
PHASE = Phase.LOCK


def check(stanza, rc):
    found = readable_lock(rc.ctx, rc.settings, stanza)
    if found is None:
        return
    choice, lock = found
    problem = _problem(pip_sources(rc.df, stanza), lock.origin, rc.ctx.show(choice.context_path))
    if problem is None:
        return
    known = problem.startswith("pip installs from")
    yield lock_mismatch(rc, stanza, problem, blocked=LOCK_SOURCES, allowed=SOURCES_ALLOWED,
                        fix=_fix(rc.path, known=known), hint=f"dockerlock lock {rc.path}" if known else None,
                        installs="what the lock names")


def _problem(sources, origin, shown: str) -> str | None:
    recorded = origin.indexes if origin is not None else None
    if sources.unknown is not None:
        return f"pip's package sources are only known at build time ({sources.unknown}), so {shown} cannot be " \
               "shown to come from them"
    if recorded is None:
        if not sources.args:
            return None  # PyPI, as a lock without a record is assumed to be
        return f"pip installs from {sources.described}, and {shown} does not record which indexes it was " \
               "resolved from"
    if not same_sources(recorded, sources.args):
        return f"pip installs from {sources.described}, but {shown} was resolved from " \
               f"{' '.join(recorded) if recorded else 'PyPI only'}"
    return None


def _fix(path: str, *, known: bool) -> str:
    if known:
        return f"make a lock from the same sources with `dockerlock lock {path}` (or pass --allow-drift)"
    return "lock with the same sources yourself and pass --allow-drift"
