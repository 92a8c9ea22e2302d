"""Make and re-check ``pylock.toml`` files with uv: the engine behind ``dockerlock lock``.

Why a wrapper and not "just run uv": the lock is committed and an image build depends on it,
so it must be the lock migrate will look for, compiled for the image that installs it, and a
failed run must never leave it half-written.

* ``image``: ``ImageTarget``, what a lock is compiled for (the image's Python X.Y and platform,
  or ``--universal``) and how that becomes uv options and ``requires-python``;
* ``plan``: which locks to write, from requirements files or from Dockerfiles (``LockJob``);
* ``compile``: ``compile_lock``, one atomic ``uv pip compile`` plus the ``[tool.dockerlock]`` record;
* ``compare``: ``lock_is_stale`` (``lock --check``) and ``resolve_check`` (``check --resolve``),
  both comparing resolved packages, not bytes;
* ``uv``: finding and running uv.

With ``verify``, the only part of the library that starts processes.
"""

from __future__ import annotations

from dockerlock.locking.compare import (
    PackageChange,
    ResolveReport,
    StaleResult,
    compare_locks,
    lock_is_stale,
    resolve_check,
)
from dockerlock.locking.compile import (
    LockResult,
    compile_lock,
    default_output,
    origin_for,
)
from dockerlock.locking.image import (
    DEFAULT_PLATFORM,
    ImageTarget,
    parse_platform,
    uv_platform,
)
from dockerlock.locking.plan import (
    LockJob,
    LockPlan,
    PlatformChoice,
    Skipped,
    merge_jobs,
    nearest_python_version,
    plan_dockerfile_locks,
    plan_requirements_lock,
)
from dockerlock.locking.uv import (
    DEFAULT_TIMEOUT,
    UV_INSTALL_HINT,
    find_uv,
    uv_environment,
)

__all__ = [
    "DEFAULT_PLATFORM", "DEFAULT_TIMEOUT", "ImageTarget", "LockJob", "LockPlan", "LockResult",
    "PackageChange", "PlatformChoice", "ResolveReport", "Skipped", "StaleResult", "UV_INSTALL_HINT",
    "compare_locks", "compile_lock", "default_output", "find_uv", "lock_is_stale", "merge_jobs",
    "nearest_python_version", "origin_for", "parse_platform", "plan_dockerfile_locks",
    "plan_requirements_lock", "resolve_check", "uv_environment", "uv_platform",
]
