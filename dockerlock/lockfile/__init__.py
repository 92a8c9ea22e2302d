"""Read a PEP 751 ``pylock.toml`` and check that it fits the image that will install it.

Why this module exists: a Dockerfile migrated from ``pip install -r requirements.txt`` to
``uv pip sync pylock.toml`` moves the failure point. pip resolved inside the image, so a wheel that
did not exist for the image's platform or Python was found at build time, on the right machine. A lock
is resolved *elsewhere* (a laptop, CI) and can silently be wrong for the image: made for another Python
(``requires-python``), resolved for the host platform only (no ``--universal``: marker-gated packages
dropped, x86_64-only wheels on an arm64 build), or simply older than the requirements file it claims to
replace. Each of those is cheap to detect from the lock alone, before any image is built.

Layout, top to bottom:

* ``load_lock`` reads and validates (``tomllib`` + ``packaging.pylock``) into the small immutable
  ``Lock``/``LockedPackage`` model. Anything wrong with the file is a ``LockError`` naming the file,
  the TOML key path, the package and (best effort) the line; hostile input (huge, deeply nested,
  wrong types) fails the same way, never with a traceback or a hang.
* ``check_python`` / ``check_platform`` compare the lock with the image's Python and platform.
* ``read_requirements`` / ``check_drift`` compare the lock with the requirements files it was made from.

Every check returns ``Finding`` values with a stable ``DLK2xx`` code listed in ``CHECKS``; none raises
for a problem in the user's files (bad *arguments*, such as an unknown platform, raise ``ConfigError``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Each name loads its module on first use (PEP 562): reading requirements files and image tags
# is needed by nearly every run, the TOML lock parser only by runs that meet a lock.
_HOMES = {
    "check_drift": "drift", "stale_packages": "drift",
    "MAX_LOCK_BYTES": "reading",
    "Lock": "pylock", "LockedPackage": "pylock", "load_lock": "pylock", "parse_lock": "pylock",
    "RequirementLine": "requirements", "read_requirements": "requirements",
    "check_platform": "target", "check_python": "target", "marker_environment": "target",
    "parse_python_version_file": "target", "python_from_image": "target", "target_tags": "target",
}

if TYPE_CHECKING:
    from dockerlock.lockfile.drift import check_drift, stale_packages
    from dockerlock.lockfile.pylock import Lock, LockedPackage, load_lock, parse_lock
    from dockerlock.lockfile.reading import MAX_LOCK_BYTES
    from dockerlock.lockfile.requirements import RequirementLine, read_requirements
    from dockerlock.lockfile.target import (
        check_platform,
        check_python,
        marker_environment,
        parse_python_version_file,
        python_from_image,
        target_tags,
    )


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CHECKS",
    "MAX_LOCK_BYTES",
    "Lock",
    "LockedPackage",
    "RequirementLine",
    "check_drift",
    "check_platform",
    "check_python",
    "load_lock",
    "parse_lock",
    "marker_environment",
    "parse_python_version_file",
    "python_from_image",
    "read_requirements",
    "stale_packages",
    "target_tags",
]

#: Every finding code this module emits, with the one-line description used in docs and ``--explain``.
CHECKS: dict[str, str] = {
    "DLK201": "The image's Python is outside the lock's requires-python.",
    "DLK202": "Only some patch (or minor) releases of the image's Python tag satisfy the lock's "
              "requires-python; pin the image tag more precisely.",
    "DLK203": "A locked package's requires-python excludes the image's Python.",
    "DLK204": "A locked package's requires-python excludes some releases of the image's Python tag.",
    "DLK210": "The lock's environments markers exclude the target platform/Python.",
    "DLK211": "A locked package has no wheel for the target platform and Python, and no sdist.",
    "DLK212": "A locked package has no wheel for the target; it is built from its sdist at image build time.",
    "DLK213": "A locked package installs from a VCS checkout; the build stage needs git.",
    "DLK214": "A locked package installs from a local directory; it must be in the build context.",
    "DLK215": "Wheel compatibility not checked: the image's Python version has no minor component.",
    "DLK219": "A requirements file changed since the lock was made from it (the lock records its earlier "
              "content): a removed or edited line may still be in the lock.",
    "DLK220": "A requirement is missing from the lock.",
    "DLK221": "The locked version does not satisfy the requirement's specifier.",
    "DLK222": "The locked VCS source (URL, revision or commit) differs from the requirement.",
    "DLK223": "The locked direct-URL source differs from the requirement's URL.",
    "DLK224": "A constraint (-c) pins a version the lock does not have.",
    "DLK225": "A requirement asks for extras the lock cannot be shown to hold (it records no dependencies).",
    "DLK226": "A requirement line uses an unresolved ${VAR}; it was checked only partially.",
    "DLK227": "A pre-release is locked although the requirement's specifier names none.",
    "DLK228": "A requirements line or included file cannot be read.",
    "DLK229": "A local-path or editable requirement was not compared with the lock.",
    "DLK230": "A locked package is needed by no requirement (only when the lock records dependencies).",
}
