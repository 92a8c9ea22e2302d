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

DEFAULT_PLATFORM = "linux/amd64"


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


def lock_targets(df: Dockerfile, context: BuildContext, settings: Settings) -> list[LockTarget]:
    """Every pip requirements install in ``df``, with the lock migrate would read for it."""
    from dockerlock.facts import root_image
    from dockerlock.lockfile import python_from_image
    from dockerlock.rules.pip_to_uv import CONVERTED, DEFERRED, plan_migration

    plan = plan_migration(df, context, replace(settings, lock_check=False), None)
    targets: list[LockTarget] = []
    for st in plan.stanzas:
        platform = st.stage.platform if st.stage.platform and "$" not in st.stage.platform else DEFAULT_PLATFORM
        requirements = tuple(r.context_path for r in st.requirements if r.context_path)
        lock = st.lock_context_path
        python = python_from_image(root_image(df, st.stage))
        if python is None and lock is not None:
            python = nearest_python_version(context, posixpath.dirname(lock))
        refusal = None if st.status == CONVERTED else "; ".join(st.reasons) or st.status
        if st.status == DEFERRED:
            refusal = "deferred: " + refusal
        targets.append(LockTarget(df.source.path, st.line, requirements, (), lock, python, platform, refusal))
    return targets


def nearest_python_version(context: BuildContext, folder: str) -> str | None:
    """The ``.python-version`` in ``folder`` or the nearest folder above it, up to the context root."""
    from dockerlock.context import ContextEscape
    from dockerlock.lockfile import parse_python_version_file

    here = posixpath.normpath(folder) if folder else ""
    while True:
        candidate = posixpath.join(here, ".python-version") if here and here != "." else ".python-version"
        try:
            host = context.path(candidate)
        except ContextEscape:
            return None
        if host.is_file():
            return parse_python_version_file(host)
        if not here or here == ".":
            return None
        here = posixpath.dirname(here)
