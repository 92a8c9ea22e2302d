"""``uv pip compile --format pylock.toml``, run so that a committed lock is never left half-made.

* a failed or interrupted run leaves the existing lock untouched: uv writes a temporary sibling
  (same directory, because uv records ``directory`` paths relative to the lock file), which is
  completed, validated and only then renamed over the lock;
* an existing lock is handed to uv as its previous output, so uv keeps its pins (as it does when
  run by hand) and a re-lock changes only what the requirements changed;
* uv never downloads an interpreter (``UV_PYTHON_DOWNLOADS=never``; ``--python-version`` is
  enough for resolving);
* uv drops tables it does not write itself, so after each compile the lock gets back what
  dockerlock adds: ``requires-python`` for exactly the image's series and the
  ``[tool.dockerlock]`` record of the requirements and target (``LockOrigin``). tomlkit edits
  those two keys and keeps every other byte uv wrote.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shlex
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import tomlkit
from packaging.pylock import is_valid_pylock_path

from dockerlock.diagnostics import ConfigError, LockError
from dockerlock.lock_names import LockOrigin, lock_name
from dockerlock.lockfile import Lock, load_lock
from dockerlock.locking.image import ImageTarget
from dockerlock.locking.uv import DEFAULT_TIMEOUT, find_uv, run_uv, stderr_tail

#: Key of ``[tool.dockerlock]`` listing ``-c`` constraint files (relative to the lock's folder);
#: ``LockOrigin`` does not carry it yet, so it is written and read here.
CONSTRAINTS_KEY = "constraints"
#: pip looks for every package on every index it is given and takes the best version; uv by
#: default takes the first index that has the package. A lock that stands in for pip resolves
#: the way pip does.
PIP_INDEX_STRATEGY = ("--index-strategy", "unsafe-best-match")


@dataclass(frozen=True)
class LockResult:
    """What ``compile_lock`` did."""

    command: tuple[str, ...]  # the argv that ran (it names the temporary output file)
    display_command: str  # the command written into the lock's header
    duration: float  # seconds uv ran
    output: Path
    lock: Lock
    target: ImageTarget
    requirements: tuple[Path, ...] = ()
    constraints: tuple[Path, ...] = ()
    stderr: str = ""  # uv's warnings, if any
    kept_pins_from: Path | None = None  # the existing lock uv was given as preferences

    @property
    def packages(self) -> int:
        """Distinct projects in the lock (a universal lock may hold several entries for one)."""
        return len({p.normalized_name for p in self.lock.packages})


def default_output(requirements: Sequence[Path]) -> Path:
    """The lock migrate looks for: ``lock_name`` of the files, in their folder.

    Raises ``ConfigError`` when they live in different folders (no single default).
    """
    name = lock_name([Path(r).as_posix() for r in requirements])
    if name is None:
        shown = ", ".join(str(r) for r in requirements)
        raise ConfigError(f"the requirements files live in different folders ({shown}), so no single "
                          "lock sits beside them", hint="pass --output to say where the lock goes")
    return Path(name)


def origin_for(output: Path, requirements: Sequence[Path], target: ImageTarget,
               index_args: Sequence[str] = ()) -> LockOrigin:
    """The ``[tool.dockerlock]`` record of a lock at ``output``: requirements relative to its folder,
    the digest of every requirements file read (the includes too), and the sources resolved from."""
    return LockOrigin(tuple(relative_to_lock(output, r) for r in requirements),
                      target.origin_python, target.origin_platform, _input_digests(output, requirements),
                      target.origin_libc, tuple(index_args))


def _input_digests(output: Path, requirements: Sequence[Path]) -> tuple[tuple[str, str], ...]:
    from dockerlock.lock_names import content_digest
    from dockerlock.lockfile import read_requirements

    files: dict[Path, None] = {Path(r): None for r in requirements}
    for path in requirements:
        try:
            for line in read_requirements(Path(path)):
                files.setdefault(Path(line.file), None)
        except LockError:
            continue  # uv reports an unreadable file itself
    digests = []
    for path in files:
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue
        digests.append((relative_to_lock(output, path), content_digest(text)))
    return tuple(digests)


def relative_to_lock(output: Path, path: Path) -> str:
    """``path`` relative to the lock's folder, posix (how ``[tool.dockerlock]`` records files)."""
    folder = Path(output).absolute().parent
    return Path(os.path.relpath(Path(path).absolute(), folder)).as_posix()


def compile_lock(requirements: Sequence[Path] | Path, *, target: ImageTarget, output: Path | None = None,
                 constraints: Sequence[Path] = (), origin: LockOrigin | None = None,
                 extra_args: Sequence[str] = (), uv: Sequence[str] | None = None,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None,
                 timeout: float = DEFAULT_TIMEOUT, custom_compile_command: str | None = None,
                 index_args: Sequence[str] = ()) -> LockResult:
    """Lock ``requirements`` (installed together) for ``target`` into ``output``, atomically.

    Runs ``uv pip compile <requirements...> [-c <constraints>...] --format pylock.toml`` with the
    target's options, then sets ``requires-python`` to the target's series and records
    ``origin`` (default: computed from the files and the target) in ``[tool.dockerlock]``.
    ``output`` defaults to ``lock_name`` of the files in their folder. Relative paths inside
    the requirements resolve against ``cwd`` (default: the current directory), as with pip.
    An existing valid lock at ``output`` is given to uv as its previous output, so its pins are
    kept unless the requirements changed (``extra_args=["--upgrade"]`` drops them). ``index_args``:
    the pip step's source options (``--extra-index-url URL``...), passed to uv and recorded. On failure
    raise ``LockError`` with the tail of uv's stderr; the existing lock is left as it was.
    """
    files = _as_paths(requirements)
    constraint_files = _as_paths(constraints)
    if not files:
        raise ConfigError("no requirements file to lock")
    for path in (*files, *constraint_files):
        if not path.is_file():
            raise LockError("requirements file not found" if path in files else "constraints file not found",
                            path=str(path))
    output = Path(output) if output is not None else default_output(files)
    if not is_valid_pylock_path(output):
        raise ConfigError(f"{output.name!r} is not a pylock file name: use 'pylock.toml' or "
                          "'pylock.<name>.toml' (no dots in <name>)", path=str(output))
    command_prefix = list(uv) if uv is not None else find_uv(env=env)
    origin = origin or origin_for(output, files, target, index_args)
    options = ["--format", "pylock.toml", *target.compile_options(), *index_args, *PIP_INDEX_STRATEGY,
               *(str(a) for a in extra_args)]
    shown = [str(f) for f in files]
    inputs = [str(f.absolute()) for f in files]  # uv runs in `cwd`: relative paths would move
    for constraint in constraint_files:
        shown += ["-c", str(constraint)]
        inputs += ["-c", str(constraint.absolute())]
    display = custom_compile_command or shlex.join(["uv", "pip", "compile", *shown, "-o", str(output), *options])

    directory = output.absolute().parent
    if not directory.is_dir():
        raise LockError("output directory does not exist", path=str(directory))
    previous = _usable_previous_lock(output)
    # mkstemp's random part is [a-z0-9_]: the name stays a valid `pylock.<name>.toml` for uv.
    handle, temporary_name = tempfile.mkstemp(prefix="pylock.dockerlock-", suffix=".toml", dir=directory)
    os.close(handle)
    temporary = Path(temporary_name)
    what = str(files[0]) if len(files) == 1 else ", ".join(str(f) for f in files)
    try:
        if previous is not None:
            shutil.copyfile(previous, temporary)
        else:
            temporary.unlink()  # uv rejects an empty previous output; let it create the file
        command = [*command_prefix, "pip", "compile", *inputs, "-o", str(temporary), "--quiet",
                   *options, "--custom-compile-command", display]
        started = time.monotonic()
        completed = run_uv(command, env=env, cwd=cwd, timeout=timeout, what=what)
        duration = time.monotonic() - started
        if completed.returncode != 0:
            raise LockError(f"uv pip compile failed (exit {completed.returncode}): {stderr_tail(completed.stderr)}",
                            path=what)
        _complete(temporary, target, origin, constraints=[relative_to_lock(output, c) for c in constraint_files],
                  what=what)
        try:
            lock = load_lock(temporary)
        except LockError as exc:
            raise LockError(f"uv wrote an invalid lock: {exc.reason}", path=what) from None
        if output.exists():
            shutil.copymode(output, temporary)
        os.replace(temporary, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return LockResult(
        command=tuple(command), display_command=display, duration=duration, output=output,
        lock=replace(lock, path=output), target=target, requirements=tuple(files),
        constraints=tuple(constraint_files), stderr=completed.stderr, kept_pins_from=previous,
    )


def _as_paths(paths: Sequence[Path] | Path) -> tuple[Path, ...]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return tuple(dict.fromkeys(Path(p) for p in paths))


def _complete(path: Path, target: ImageTarget, origin: LockOrigin, *, constraints: Sequence[str],
              what: str) -> None:
    """Set ``requires-python`` and ``[tool.dockerlock]`` in the lock uv just wrote, keeping the rest."""
    try:
        text = path.read_text(encoding="utf-8")
        document = tomlkit.parse(text)
    except FileNotFoundError:
        raise LockError("uv exited 0 but wrote no lock", path=what) from None
    except (UnicodeDecodeError, tomlkit.exceptions.TOMLKitError) as exc:
        raise LockError(f"uv wrote an invalid lock: {exc}", path=what) from None
    requires_python = target.requires_python()
    if requires_python is not None:
        document["requires-python"] = requires_python
    record = tomlkit.table()
    for key, value in origin.as_table().items():
        record[key] = value
    if constraints:
        record[CONSTRAINTS_KEY] = list(constraints)
    tool = document.get("tool")
    if not isinstance(tool, Mapping):
        tool = tomlkit.table(is_super_table=True)
        document["tool"] = tool
    tool["dockerlock"] = record
    path.write_text(tomlkit.dumps(document), encoding="utf-8")


def _usable_previous_lock(output: Path) -> Path | None:
    """The existing lock, if uv can read it as its previous output (uv aborts on an invalid one)."""
    if not output.is_file():
        return None
    try:
        load_lock(output)
    except LockError:
        return None
    return output


def recorded_constraints(lock: Lock) -> tuple[str, ...]:
    """The ``-c`` files ``[tool.dockerlock]`` lists (relative to the lock's folder)."""
    return lock.origin.constraints if lock.origin is not None else ()


def lock_folder_path(lock_path: Path, recorded: str) -> Path:
    """A path recorded in ``[tool.dockerlock]`` (relative to the lock's folder) as a host path."""
    return Path(lock_path).parent / Path(posixpath.normpath(recorded))
