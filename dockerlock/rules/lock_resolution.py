"""DLK231 / DLK232 / DLK233: what a fresh resolution of a lock's requirements says about the lock.

``check --resolve`` asks uv to resolve the requirements a lock stands in for, for the same
image (the CLI runs uv; this module only reads the answer). A lock made from runtime plus test
requirements and used for the runtime image holds packages the step never needed (DLK231);
a lock that lacks what the requirements now pull in (DLK232), or pins a version they no longer
allow (DLK233), is stale.
"""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.rules.base import Code

UNNEEDED = Code(
    "DLK231", Level.WARNING, "locked package the requirements no longer pull in (check --resolve)",
    what="uv, resolving the lock's requirements for the image, does not need this locked package.",
    why="`uv pip sync` installs it anyway: test tools or leftovers end up in the image.",
    fix="Re-lock exactly what the step installs: `dockerlock lock <Dockerfile>`.")
MISSING = Code(
    "DLK232", Level.ERROR, "package the requirements pull in but the lock lacks (check --resolve)",
    what="uv, resolving the lock's requirements for the image, needs a package the lock does not hold.",
    why="The image would miss a dependency the requirements ask for.",
    fix="Re-lock: `dockerlock lock <Dockerfile>`.")
CHANGED = Code(
    "DLK233", Level.ERROR, "locked version the requirements no longer allow (check --resolve)",
    what="uv cannot keep the lock's version of a package: the requirements now exclude it.",
    why="The image would install a version the requirements rule out.",
    fix="Re-lock: `dockerlock lock <Dockerfile>`.")
CODES = (UNNEEDED, MISSING, CHANGED)


def findings(report, path: str, line: int, shown_lock: str) -> list:
    """Findings for one ``locking.ResolveReport`` of the lock used at ``path:line``."""
    out = []
    for change in report.unneeded:
        out.append(UNNEEDED.at(f"{change.name} {', '.join(change.old)} is in {shown_lock} but its requirements "
                               "no longer pull it in", path, line))
    for change in report.missing:
        out.append(MISSING.at(f"{change.name} {', '.join(change.new)} is pulled in by the requirements but not in "
                              f"{shown_lock}", path, line))
    for change in report.changed:
        out.append(CHANGED.at(f"{change.name} is locked at {', '.join(change.old)} in {shown_lock}; the "
                              f"requirements now need {', '.join(change.new)}", path, line))
    return out
