"""DLK124: ``pip install --no-deps`` installs only the listed requirements; the lock holds more."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.facts.locks import readable_lock, target_platform, target_python
from dockerlock.facts.requirements import context_requirements
from dockerlock.rules.base import Code, Decision, Phase

NO_DEPS = Code(
    "DLK124", Level.ERROR, "--no-deps step, but the lock holds unlisted packages: nothing written for the file",
    what="The pip step runs with --no-deps, so it installs exactly the requirements it lists; the lock also "
         "holds packages those lines do not name (their dependencies, resolved by uv).",
    why="The migrated image would install packages the pip step never did.",
    fix="List every package of the lock in the requirements files (a fully pinned file, as pip-compile "
        "writes), or drop --no-deps from the pip step before migrating.",
    decision=Decision.BLOCKED)
CODES = (NO_DEPS,)
PHASE = Phase.LOCK


def check(stanza, rc):
    if not any(o.name == "--no-deps" for o in stanza.pip.all_options):
        return
    found = readable_lock(rc.ctx, rc.settings, stanza)
    if found is None:
        return
    choice, lock = found
    listed = set()
    for file in stanza.requirements:
        if file.context_path:
            lines, _missing = context_requirements(rc.ctx, file.context_path)
            listed |= {line.name for line in lines if line.name is not None and not line.is_constraint}
    python, _source = target_python(rc.ctx, stanza, rc.df, choice.context_path)
    environment = _environment(target_platform(stanza), python)
    unlisted = sorted({p.normalized_name for p in lock.packages
                       if p.normalized_name not in listed and _applies(p.marker, environment)})
    if not unlisted:
        return
    shown = ", ".join(unlisted[:6]) + (f" (and {len(unlisted) - 6} more)" if len(unlisted) > 6 else "")
    yield NO_DEPS.at(f"pip install --no-deps installs only what the requirements list, but the lock "
                     f"{rc.ctx.show(choice.context_path)} also installs {shown}; list them in the requirements "
                     "(pinned, as the lock has them) or drop --no-deps, then re-lock", rc.path, stanza.line)


def _environment(platform: str, python: str | None):
    from dockerlock.diagnostics import ConfigError
    from dockerlock.lockfile import marker_environment

    try:
        return marker_environment(platform, python) if python and python.count(".") >= 1 else None
    except ConfigError:  # a platform markers cannot describe: every entry counts
        return None


def _applies(marker, environment) -> bool:
    """Does a locked entry install on the image? When that cannot be told (unknown Python, a
    marker naming an extra), the entry counts: refuse rather than miss a package."""
    if marker is None or environment is None:
        return True
    try:
        return marker.evaluate({"extra": "", **environment})
    except Exception:  # noqa: BLE001 - packaging's undefined-name errors vary by version
        return True
