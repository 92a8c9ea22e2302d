"""Make and re-check ``pylock.toml`` files with uv: the engine behind ``dockerlock lock``.

Why a wrapper and not "just run uv": the lock is committed and an image build depends on it, so

* a failed or interrupted run must leave the existing lock untouched: uv writes a temporary
  sibling (same directory, because uv records ``directory`` paths relative to the lock file), which
  is validated and only then renamed over the lock;
* an existing lock is handed to uv as its previous output, so uv keeps its pins (as it does when
  run by hand) and a re-lock changes only what the requirements changed;
* uv must never download an interpreter on the user's behalf (``UV_PYTHON_DOWNLOADS=never``;
  ``--python-version`` is enough for resolving);
* "is the lock stale?" is answered by comparing resolved packages (name, version, VCS commit), not
  bytes: the header, ``created-by`` and upload times can differ between uv versions.

This is the only module of the library that starts processes.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.pylock import is_valid_pylock_path

from .diagnostics import ConfigError, DockerlockError, LockError
from .lockfile import Lock, LockedPackage, load_lock, parse_python_version_file
from .lockfile.target import _python_parts

__all__ = [
    "LockResult",
    "PackageChange",
    "StaleResult",
    "compare_locks",
    "compile_lock",
    "find_uv",
    "lock_is_stale",
    "uv_environment",
]

UV_INSTALL_HINT = (
    "install it with `pip install uv` (or `pipx install uv`), or see "
    "https://docs.astral.sh/uv/getting-started/installation/"
)
#: How many trailing lines of uv's stderr go into an error message.
STDERR_TAIL_LINES = 15
DEFAULT_TIMEOUT = 600.0


def find_uv(*, env: Mapping[str, str] | None = None, allow_python_package: bool = True) -> list[str]:
    """The command that runs uv: ``uv`` on ``PATH`` (from ``env``, default ``os.environ``), else the
    binary shipped in the ``uv`` Python package; raise ``DockerlockError`` if neither exists."""
    search_path = (os.environ if env is None else env).get("PATH", os.defpath)
    found = shutil.which("uv", path=search_path)
    if found:
        return [found]
    if allow_python_package:
        try:
            from uv import find_uv_bin  # the `uv` distribution on PyPI ships the binary

            return [os.fspath(find_uv_bin())]
        except Exception:  # not installed, or installed without its binary
            pass
    raise DockerlockError(f"uv not found: {UV_INSTALL_HINT}")


def uv_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for uv child processes: ``base`` (default ``os.environ``) plus the settings
    dockerlock relies on (no interpreter downloads, pylock preview warnings off, no colour codes in
    the error text we quote)."""
    env = dict(os.environ if base is None else base)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    features = [f for f in env.get("UV_PREVIEW_FEATURES", "").split(",") if f.strip()]
    if "pylock" not in features:
        features.append("pylock")
    env["UV_PREVIEW_FEATURES"] = ",".join(features)
    env["NO_COLOR"] = "1"
    return env


@dataclass(frozen=True)
class LockResult:
    """What ``compile_lock`` did."""

    command: tuple[str, ...]  # the argv that ran (it names the temporary output file)
    display_command: str  # the equivalent command for humans; also written into the lock's header
    duration: float  # seconds uv ran
    output: Path
    lock: Lock
    python_version: str | None  # what was passed as --python-version (None: uv's default)
    stderr: str = ""  # uv's warnings, if any
    kept_pins_from: Path | None = None  # the existing lock uv was given as preferences


def compile_lock(requirements: Path, *, output: Path | None = None, python_version: str | None = None,
                 universal: bool = True, python_platform: str | None = None,
                 extra_args: Sequence[str] = (), uv: Sequence[str] | None = None,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None,
                 timeout: float = DEFAULT_TIMEOUT, custom_compile_command: str | None = None) -> LockResult:
    """Run ``uv pip compile <requirements> --format pylock.toml`` and atomically replace ``output``.

    ``output`` defaults to ``pylock.toml`` next to the requirements file; ``python_version`` to the
    sibling ``.python-version`` (none: uv's default interpreter decides). ``python_platform``
    (e.g. ``x86_64-manylinux_2_28``) makes a single-platform lock: uv refuses it together with
    ``--universal``, so ``universal`` is ignored then. Relative paths inside the requirements file
    resolve against ``cwd`` (default: the current directory), as with pip. An existing valid lock
    at ``output`` is given to uv as its previous output, so its pins are kept unless the requirements
    changed (pass ``extra_args=["--upgrade"]`` to drop them). On failure raise ``LockError`` with
    the tail of uv's stderr; the existing lock is left as it was.
    """
    requirements = Path(requirements)
    if not requirements.is_file():
        raise LockError("requirements file not found", path=str(requirements))
    output = Path(output) if output is not None else requirements.parent / "pylock.toml"
    if not is_valid_pylock_path(output):
        raise ConfigError(f"{output.name!r} is not a pylock file name: use 'pylock.toml' or "
                          "'pylock.<name>.toml' (no dots in <name>)", path=str(output))
    if python_version is None:
        python_version = parse_python_version_file(requirements.parent / ".python-version")
    elif not _valid_python_version(python_version):
        raise ConfigError(f"not a Python version: {python_version!r} (expected e.g. 3.11 or 3.11.9)")
    command_prefix = list(uv) if uv is not None else find_uv(env=env)

    options: list[str] = ["--format", "pylock.toml"]
    if python_platform:
        options += ["--python-platform", python_platform]
    elif universal:
        options.append("--universal")
    if python_version:
        options += ["--python-version", python_version]
    options += [str(arg) for arg in extra_args]
    display = custom_compile_command or shlex.join(
        ["uv", "pip", "compile", str(requirements), "-o", str(output), *options])

    directory = output.parent if str(output.parent) else Path(".")
    if not directory.is_dir():
        raise LockError("output directory does not exist", path=str(directory))
    previous = _usable_previous_lock(output)
    # mkstemp's random part is [a-z0-9_]: the name stays a valid `pylock.<name>.toml` for uv.
    handle, temporary_name = tempfile.mkstemp(prefix="pylock.dockerlock-", suffix=".toml", dir=directory)
    os.close(handle)
    temporary = Path(temporary_name)
    try:
        if previous is not None:
            shutil.copyfile(previous, temporary)
        else:
            temporary.unlink()  # uv rejects an empty previous output; let it create the file
        command = [*command_prefix, "pip", "compile", str(requirements), "-o", str(temporary), "--quiet",
                   *options, "--custom-compile-command", display]
        started = time.monotonic()
        completed = _run(command, env=env, cwd=cwd, timeout=timeout, what=str(requirements))
        duration = time.monotonic() - started
        if completed.returncode != 0:
            raise LockError(
                f"uv pip compile failed (exit {completed.returncode}): {_tail(completed.stderr)}",
                path=str(requirements),
            )
        try:
            lock = load_lock(temporary)
        except LockError as exc:
            raise LockError(f"uv wrote an invalid lock: {exc.reason}", path=str(requirements)) from None
        if output.exists():
            shutil.copymode(output, temporary)
        os.replace(temporary, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return LockResult(
        command=tuple(command),
        display_command=display,
        duration=duration,
        output=output,
        lock=replace(lock, path=output),
        python_version=python_version,
        stderr=completed.stderr,
        kept_pins_from=previous,
    )


def _valid_python_version(value: str) -> bool:
    try:
        _python_parts(value)
    except ConfigError:
        return False
    return True


def _usable_previous_lock(output: Path) -> Path | None:
    """The existing lock, if uv can read it as its previous output (uv aborts on an invalid one)."""
    if not output.is_file():
        return None
    try:
        load_lock(output)
    except LockError:
        return None
    return output


def _run(command: list[str], *, env: Mapping[str, str] | None, cwd: Path | None, timeout: float,
         what: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, env=uv_environment(env), cwd=cwd, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise LockError(f"uv pip compile did not finish within {timeout:g} s", path=what) from None
    except OSError as exc:
        raise DockerlockError(f"cannot run {command[0]!r}: {exc.strerror or exc}",
                              hint=UV_INSTALL_HINT) from None


def _tail(stderr: str) -> str:
    lines = [line.rstrip() for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return "(uv printed nothing on stderr)"
    shown = lines[-STDERR_TAIL_LINES:]
    prefix = "...\n" if len(lines) > len(shown) else ""
    return prefix + "\n".join(shown)


# --------------------------------------------------------------------------------------------------
# Staleness


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


@dataclass(frozen=True)
class StaleResult:
    """The difference between an existing lock and a fresh resolution of its requirements."""

    lock_path: Path
    added: tuple[PackageChange, ...] = ()
    removed: tuple[PackageChange, ...] = ()
    changed: tuple[PackageChange, ...] = ()
    requires_python: tuple[str | None, str | None] | None = None  # (old, new) when they differ
    command: tuple[str, ...] = field(default=(), compare=False)
    duration: float = field(default=0.0, compare=False)

    @property
    def stale(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.requires_python)

    def __bool__(self) -> bool:
        return self.stale

    def describe(self) -> list[str]:
        """One line per difference, for the CLI."""
        lines = []
        if self.requires_python:
            old, new = self.requires_python
            lines.append(f"~ requires-python {old or '(none)'} -> {new or '(none)'}")
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
    """Packages added, removed or changed from ``old`` to ``new`` (and a requires-python change)."""
    before, after = _resolved(old), _resolved(new)
    added = tuple(PackageChange(name, (), after[name]) for name in sorted(after.keys() - before.keys()))
    removed = tuple(PackageChange(name, before[name], ()) for name in sorted(before.keys() - after.keys()))
    changed = tuple(PackageChange(name, before[name], after[name])
                    for name in sorted(before.keys() & after.keys()) if before[name] != after[name])
    old_python = str(old.requires_python) if old.requires_python is not None else None
    new_python = str(new.requires_python) if new.requires_python is not None else None
    return StaleResult(
        lock_path=old.path, added=added, removed=removed, changed=changed,
        requires_python=(old_python, new_python) if old_python != new_python else None,
    )


def lock_is_stale(requirements: Path, lock_path: Path, *, python_version: str | None = None,
                  universal: bool = True, python_platform: str | None = None,
                  extra_args: Sequence[str] = (), uv: Sequence[str] | None = None,
                  env: Mapping[str, str] | None = None, cwd: Path | None = None,
                  timeout: float = DEFAULT_TIMEOUT) -> StaleResult:
    """Resolve ``requirements`` again (into a temporary directory) and compare with ``lock_path``.

    The existing lock is given to uv as its previous output, exactly as ``compile_lock`` does, so
    a newer upstream release of an unpinned requirement does not count as staleness; a requirement
    edit that the lock no longer satisfies does. Same options as ``compile_lock``; they must match
    how the lock was made (``python_version`` again defaults to the sibling ``.python-version``).
    The lock at ``lock_path`` is never written. Raises ``LockError`` if it is missing or invalid.
    """
    existing = load_lock(Path(lock_path))
    if python_version is None:
        python_version = parse_python_version_file(Path(requirements).parent / ".python-version")
    with tempfile.TemporaryDirectory(prefix="dockerlock-stale-") as scratch:
        fresh_path = Path(scratch) / Path(lock_path).name
        shutil.copyfile(lock_path, fresh_path)
        result = compile_lock(
            Path(requirements), output=fresh_path, python_version=python_version, universal=universal,
            python_platform=python_platform, extra_args=extra_args, uv=uv, env=env, cwd=cwd,
            timeout=timeout, custom_compile_command="dockerlock staleness check",
        )
    comparison = compare_locks(existing, result.lock)
    return replace(comparison, command=result.command, duration=result.duration)
