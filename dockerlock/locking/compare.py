"""Is a lock still what its requirements resolve to? Stale checks and ``check --resolve``.

Both answer by resolving again with uv (into a temporary folder, the existing lock given as
uv's previous output so a newer upstream release of an unpinned requirement does not count)
and comparing *resolved packages* (name, version, VCS commit, URL), not bytes: the header,
``created-by`` and upload times can differ between uv versions.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from dockerlock.diagnostics import ConfigError
from dockerlock.lock_names import LockOrigin
from dockerlock.lockfile import Lock, LockedPackage, load_lock
from dockerlock.locking.compile import (
    compile_lock,
    lock_folder_path,
    origin_for,
    recorded_constraints,
)
from dockerlock.locking.image import ImageTarget
from dockerlock.locking.uv import DEFAULT_TIMEOUT


@dataclass(frozen=True)
class PackageChange:
    """One project whose locked versions differ; ``old``/``new`` are labels like ``1.2.0`` or
    ``0.1.0 (git 91963f4)``, one per lock entry (a universal lock may hold several)."""

    name: str
    old: tuple[str, ...] = ()
    new: tuple[str, ...] = ()

    def describe(self) -> str:
        if not self.old:
            return f"+ {self.name} {', '.join(self.new)}"
        if not self.new:
            return f"- {self.name} {', '.join(self.old)}"
        return f"~ {self.name} {', '.join(self.old)} -> {', '.join(self.new)}"


def describe_origin(origin: LockOrigin | None) -> str:
    """``requirements.txt, requirements-dev.txt for Python 3.11 on linux/amd64``."""
    if origin is None:
        return "(no [tool.dockerlock] record)"
    files = ", ".join(origin.requirements) or "(no files)"
    python = f"Python {origin.python}" if origin.python else "uv's default Python"
    libc = f" ({origin.libc})" if origin.libc else ""
    return f"{files} for {python} on {origin.platform or 'an unrecorded platform'}{libc}"


@dataclass(frozen=True)
class StaleResult:
    """The difference between an existing lock and a fresh resolution of its requirements."""

    lock_path: Path
    added: tuple[PackageChange, ...] = ()
    removed: tuple[PackageChange, ...] = ()
    changed: tuple[PackageChange, ...] = ()
    requires_python: tuple[str | None, str | None] | None = None  # (old, new) when they differ
    origin: tuple[LockOrigin | None, LockOrigin | None] | None = None  # (old, new) when they differ
    #: Requirements files whose content changed since the lock recorded it: what the lock was
    #: compiled from is no longer what they say (migrate can then not vouch for their extras).
    inputs_changed: tuple[str, ...] = ()
    command: tuple[str, ...] = field(default=(), compare=False)
    duration: float = field(default=0.0, compare=False)

    @property
    def stale(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.requires_python or self.origin
                    or self.inputs_changed)

    def __bool__(self) -> bool:
        return self.stale

    def describe(self) -> list[str]:
        """One line per difference, for the CLI."""
        lines = []
        if self.origin:
            old, new = self.origin
            lines.append(f"~ made from {describe_origin(old)} -> {describe_origin(new)}")
        if self.inputs_changed:
            lines.append(f"~ changed since the lock was made: {', '.join(self.inputs_changed)}")
        if self.requires_python:
            old_python, new_python = self.requires_python
            lines.append(f"~ requires-python {old_python or '(none)'} -> {new_python or '(none)'}")
        lines += [change.describe() for change in (*self.added, *self.removed, *self.changed)]
        return lines


def _label(package: LockedPackage) -> str:
    version = str(package.version) if package.version is not None else "(no version)"
    if package.vcs_commit:
        return f"{version} (git {package.vcs_commit[:7]})"
    if package.archive_url:
        return f"{version} ({package.archive_url})"
    if package.source_kind == "directory":
        return f"{version} (directory)"
    return version


def _resolved(lock: Lock) -> dict[str, tuple[str, ...]]:
    # Directory and archive *paths* are written relative to the lock file, so a lock compiled
    # elsewhere spells them differently: only the version, commit and URL identify what is installed.
    result: dict[str, list[str]] = {}
    for package in lock.packages:
        result.setdefault(package.normalized_name, []).append(_label(package))
    return {name: tuple(sorted(labels)) for name, labels in result.items()}


def compare_locks(old: Lock, new: Lock) -> StaleResult:
    """Packages added, removed or changed from ``old`` to ``new``, and a requires-python change.

    The ``[tool.dockerlock]`` records are compared too when ``new`` has one: a lock made from
    other files, or for another Python or platform, is not the lock these requirements make
    (a platform change can leave every version equal while the wheels differ).
    """
    before, after = _resolved(old), _resolved(new)
    added = tuple(PackageChange(name, (), after[name]) for name in sorted(after.keys() - before.keys()))
    removed = tuple(PackageChange(name, before[name], ()) for name in sorted(before.keys() - after.keys()))
    changed = tuple(PackageChange(name, before[name], after[name])
                    for name in sorted(before.keys() & after.keys()) if before[name] != after[name])
    old_python = str(old.requires_python) if old.requires_python is not None else None
    new_python = str(new.requires_python) if new.requires_python is not None else None
    origin_changed = new.origin is not None and _target(old.origin) != _target(new.origin)
    return StaleResult(
        lock_path=old.path, added=added, removed=removed, changed=changed,
        requires_python=(old_python, new_python) if old_python != new_python else None,
        origin=(old.origin, new.origin) if origin_changed else None,
        inputs_changed=_inputs_changed(old.origin, new.origin),
    )


def _target(origin: LockOrigin | None) -> tuple | None:
    """What an origin says the lock is for (files, Python, platform, C library), without the content digests."""
    # a record without sources (written before they were recorded) is a PyPI lock, as migrate reads it
    return None if origin is None else (origin.requirements, origin.python, origin.platform, origin.libc,
                                        origin.indexes or ())


def _inputs_changed(old: LockOrigin | None, new: LockOrigin | None) -> tuple[str, ...]:
    if old is None or new is None or not old.inputs:
        return ()
    before = dict(old.inputs)
    return tuple(path for path, digest in new.inputs if path in before and before[path] != digest)


def _fresh_resolution(lock_path: Path, requirements: Sequence[Path], *, target: ImageTarget,
                      constraints: Sequence[Path], origin: LockOrigin | None, extra_args: Sequence[str],
                      uv: Sequence[str] | None, env: Mapping[str, str] | None, cwd: Path | None,
                      timeout: float, what: str, index_args: Sequence[str] = ()):
    """Compile into a scratch folder, the existing lock as uv's previous output."""
    with tempfile.TemporaryDirectory(prefix="dockerlock-resolve-") as scratch:
        fresh_path = Path(scratch) / Path(lock_path).name
        shutil.copyfile(lock_path, fresh_path)
        return compile_lock(
            requirements, target=target, output=fresh_path, constraints=constraints,
            origin=origin or origin_for(lock_path, requirements, target, index_args), extra_args=extra_args,
            uv=uv, env=env, cwd=cwd, timeout=timeout, custom_compile_command=what, index_args=index_args,
        )


def lock_is_stale(requirements: Sequence[Path] | Path, lock_path: Path, *, target: ImageTarget,
                  constraints: Sequence[Path] = (), extra_args: Sequence[str] = (),
                  uv: Sequence[str] | None = None, env: Mapping[str, str] | None = None,
                  cwd: Path | None = None, timeout: float = DEFAULT_TIMEOUT,
                  index_args: Sequence[str] = ()) -> StaleResult:
    """Resolve ``requirements`` for ``target`` again and compare with the lock at ``lock_path``.

    Same inputs as ``compile_lock``. A requirement edit the lock no longer satisfies, a new
    target (requires-python, platform) or other requirements files make it stale; a newer
    upstream release of an unpinned requirement does not. ``lock_path`` is never written;
    raises ``LockError`` if it is missing or invalid.
    """
    existing = load_lock(Path(lock_path))
    files = [requirements] if isinstance(requirements, (str, Path)) else list(requirements)
    result = _fresh_resolution(Path(lock_path), [Path(f) for f in files], target=target,
                               constraints=constraints, origin=None, extra_args=extra_args, uv=uv, env=env,
                               cwd=cwd, timeout=timeout, what="dockerlock staleness check", index_args=index_args)
    comparison = compare_locks(existing, replace(result.lock, path=Path(lock_path)))
    return replace(comparison, lock_path=Path(lock_path), command=result.command, duration=result.duration)


@dataclass(frozen=True)
class ResolveReport:
    """A lock compared with what its requirements pull in today (``check --resolve``).

    ``unneeded``: packages the lock holds that the requirements no longer pull in (a lock made
    from runtime plus test requirements, used for a runtime step); ``missing``: packages the
    requirements pull in that the lock lacks; ``changed``: the lock's version cannot stay (the
    requirements exclude it).
    """

    lock_path: Path
    requirements: tuple[Path, ...]
    constraints: tuple[Path, ...]
    target: ImageTarget
    unneeded: tuple[PackageChange, ...] = ()
    missing: tuple[PackageChange, ...] = ()
    changed: tuple[PackageChange, ...] = ()
    command: tuple[str, ...] = field(default=(), compare=False)
    duration: float = field(default=0.0, compare=False)

    @property
    def ok(self) -> bool:
        return not (self.unneeded or self.missing or self.changed)

    def describe(self) -> list[str]:
        """One line per package, for a report: ``unneeded``, ``missing``, ``changed``."""
        lines = [f"not needed by the requirements: {c.name} {', '.join(c.old)}" for c in self.unneeded]
        lines += [f"needed but not locked: {c.name} {', '.join(c.new)}" for c in self.missing]
        lines += [f"locked version no longer fits: {c.name} {', '.join(c.old)} -> {', '.join(c.new)}"
                  for c in self.changed]
        return lines


def resolve_check(lock_path: Path, *, requirements: Sequence[Path] | None = None,
                  constraints: Sequence[Path] | None = None, target: ImageTarget | None = None,
                  cwd: Path | None = None, uv: Sequence[str] | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                  index_args: Sequence[str] | None = None) -> ResolveReport:
    """Re-resolve a lock's requirements with uv for the same target and say what no longer fits.

    ``requirements`` / ``constraints``: the files a step installs (host paths); default: what the
    lock's ``[tool.dockerlock]`` record lists, relative to the lock's folder. ``target``: default
    the recorded Python and platform. ``cwd``: where relative paths inside the requirements
    resolve (the build context root; default the lock's folder). The lock's pins are offered
    to uv, so versions differ only where the requirements force it. Never writes the lock.

    Raises ``ConfigError`` when neither the arguments nor the record say what to resolve,
    ``LockError`` when the lock is unreadable or uv fails.
    """
    lock_path = Path(lock_path)
    existing = load_lock(lock_path)
    origin = existing.origin
    if requirements is None:
        if origin is None or not origin.requirements:
            raise ConfigError("the lock does not record which requirements files it was made from",
                              path=str(lock_path), hint="pass the requirements files, or re-make the "
                                                        "lock with `dockerlock lock`")
        requirements = [lock_folder_path(lock_path, r) for r in origin.requirements]
        if constraints is None:
            constraints = [lock_folder_path(lock_path, c) for c in recorded_constraints(existing)]
    if target is None:
        if origin is None or (origin.python is None and origin.platform != "universal"):
            raise ConfigError("the lock does not record the Python it was compiled for",
                              path=str(lock_path), hint="pass the image's target")
        target = ImageTarget.from_origin(origin)
    files, constraint_files = tuple(Path(r) for r in requirements), tuple(Path(c) for c in constraints or ())
    result = _fresh_resolution(lock_path, files, target=target, constraints=constraint_files, origin=None,
                               extra_args=(), uv=uv, env=env, cwd=cwd if cwd is not None else lock_path.parent,
                               timeout=timeout, what="dockerlock check --resolve",
                               index_args=index_args if index_args is not None else
                               (origin.indexes or () if origin is not None else ()))
    comparison = compare_locks(existing, result.lock)
    return ResolveReport(lock_path, files, constraint_files, target, unneeded=comparison.removed,
                         missing=comparison.added, changed=comparison.changed, command=result.command,
                         duration=result.duration)
