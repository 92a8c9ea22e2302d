"""What each pip requirements install of a Dockerfile needs locked, and for which target.

``dockerlock lock Dockerfile`` uses this to write exactly the lock ``dockerlock migrate``
will look for: same requirements files, same lock path, compiled for the image's Python
and platform. Pure: the Dockerfile model and the build context in, ``LockTarget`` values out.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, replace

from dockerlock.context import BuildContext
from dockerlock.model import Dockerfile
from dockerlock.settings import Settings


@dataclass(frozen=True)
class LockTarget:
    """One pip requirements install and the lock that would replace it.

    Paths are relative to the build context (posix). ``python`` is the image's ``X.Y``
    (FROM tag through ARG defaults, else the nearest ``.python-version`` from the lock's
    folder up to the context root), None when neither says. ``refusal`` is why migrate
    would leave the stanza as it is for reasons other than the lock (then the other
    fields may be empty).
    """

    dockerfile: str
    line: int
    requirements: tuple[str, ...]
    constraints: tuple[str, ...]
    lock: str | None
    python: str | None
    platform: str
    refusal: str | None = None
    libc: str = "glibc"  # musl for an Alpine image
    indexes: tuple[str, ...] = ()  # the pip step's source options, resolved from too


def lock_targets(df: Dockerfile, context: BuildContext, settings: Settings) -> list[LockTarget]:
    """Every pip requirements install in ``df``, with the lock migrate would read for it."""
    from dockerlock.engine import review
    from dockerlock.facts.locks import choose_lock, target_libc, target_platform, target_python
    from dockerlock.facts.pip_sources import pip_sources
    from dockerlock.rules.base import Decision, RuleContext

    rc = RuleContext(df, context, replace(settings, lock_check=False))
    targets: list[LockTarget] = []
    for stanza_review in review(rc):
        stanza = stanza_review.stanza
        choice = choose_lock(context, settings, stanza)
        lock = choice.context_path
        if choice.fallback:  # `lock` writes the lock named after the requirements, not the fallback
            from dockerlock.lock_names import lock_name

            lock = lock_name([f.context_path for f in stanza.requirements if f.context_path])
        python, _ = target_python(context, stanza, df, lock)
        decisive = stanza_review.decisive
        refusal = None
        if stanza_review.decision in (Decision.REFUSED, Decision.DEFERRED) and decisive is not None:
            refusal = f"{decisive.code}: {decisive.message}"
        sources = pip_sources(df, stanza)
        if refusal is None and sources.unknown is not None:
            refusal = (f"pip's package sources are only known at build time ({sources.unknown}); lock with the "
                       "same sources yourself")
        requirements = tuple(f.context_path for f in stanza.requirements if f.context_path)
        constraints = tuple(f.context_path for f in stanza.constraints if f.context_path)
        targets.append(LockTarget(df.source.path, stanza.line, requirements, constraints, lock, python,
                                  target_platform(stanza), refusal, target_libc(df, stanza), sources.args))
    return targets + migrated_targets(df, context)


def migrated_targets(df: Dockerfile, context: BuildContext) -> list[LockTarget]:
    """The locks the file's uv steps already read (a migrated file), to re-lock from what each
    lock's ``[tool.dockerlock]`` record says it was made from, for the image as it is now."""
    from dockerlock.facts.images import image_libc, image_python
    from dockerlock.facts.locks import stage_platform
    from dockerlock.facts.uv_steps import locked_steps

    targets = []
    for locked in locked_steps(df, context):
        line = locked.step.instruction.start_line
        lock = context.lock(locked.lock_context_path) if locked.lock_context_path else None
        origin = getattr(lock, "origin", None)
        platform = stage_platform(locked.stage)
        if locked.lock_context_path is None or origin is None or not origin.requirements:
            why = ("cannot find the COPY that brings its lock into the image" if locked.lock_context_path is None
                   else f"{context.show(locked.lock_context_path)} does not record the requirements files it was "
                        "made from (not made by `dockerlock lock`): lock them with `dockerlock lock <files>`")
            targets.append(LockTarget(df.source.path, line, (), (), locked.lock_context_path, None, platform,
                                      refusal=why))
            continue
        folder = posixpath.dirname(locked.lock_context_path)
        inside = tuple(posixpath.normpath(posixpath.join(folder, r)) for r in origin.requirements)
        constraints = tuple(posixpath.normpath(posixpath.join(folder, c)) for c in origin.constraints)
        targets.append(LockTarget(df.source.path, line, inside, constraints, locked.lock_context_path,
                                  image_python(df, locked.stage) or origin.python, platform,
                                  libc=image_libc(df, locked.stage), indexes=origin.indexes or ()))
    return targets
