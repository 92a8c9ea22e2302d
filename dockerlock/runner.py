"""Files in, results out: discovery, reading, per-file pipeline, atomic writes.

The only module (with ``locking`` and ``verify``) that touches the file system. The
mode (write / diff / check) is decided once by the CLI; this module branches on it in
one place, ``process``.
"""

from __future__ import annotations

import difflib
import enum
import errno
import fnmatch
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dockerlock.context import BuildContext, ContextEscape, infer_context
from dockerlock.diagnostics import DecodeError, DockerlockError, Finding, Level
from dockerlock.engine import FileResult
from dockerlock.settings import DEFAULT_EXCLUDE, Settings

DOCKERFILE_PATTERNS = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile",
                       "Containerfile.*", "*.Containerfile")
MAX_DOCKERFILE_BYTES = 16 * 1024 * 1024


class Mode(enum.Enum):
    WRITE = "write"
    DIFF = "diff"
    CHECK = "check"


@dataclass
class Outcome:
    """What happened to one file, for the report."""

    path: str
    status: str  # "changed" / "would change" / "unchanged" / "error"
    result: FileResult | None = None
    diff: str = ""
    error: DockerlockError | None = None

    @property
    def findings(self) -> list[Finding]:
        return self.result.findings if self.result else []


@dataclass
class Run:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)


def is_dockerfile_name(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in DOCKERFILE_PATTERNS) and not name.endswith(
        (".dockerignore", ".md", ".orig", ".rej", ".swp", "~"))


def discover(paths: Iterable[Path], settings: Settings) -> Iterator[Path]:
    """Files named on the command line, and Dockerfiles found under named folders."""
    exclude = DEFAULT_EXCLUDE + tuple(settings.exclude)
    seen: set[Path] = set()
    for given in paths:
        if given.is_dir() and not given.name.startswith("Dockerfile"):
            for root, dirs, files in os.walk(given):
                dirs[:] = sorted(d for d in dirs if d not in exclude and not _excluded(Path(root, d), settings)
                                 and not Path(root, d, "pyvenv.cfg").exists())
                for name in sorted(files):
                    p = Path(root, name)
                    if is_dockerfile_name(name) and not _excluded(p, settings) and _included(p, settings):
                        if p not in seen:
                            seen.add(p)
                            yield p
        else:
            if given not in seen:
                seen.add(given)
                yield given


def _rel(p: Path, settings: Settings) -> str:
    base = settings.config_path.parent if settings.config_path else Path.cwd()
    try:
        return p.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def _excluded(p: Path, settings: Settings) -> bool:
    if not settings.exclude:
        return False
    rel = _rel(p, settings)
    return any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(p.name, pat) for pat in settings.exclude)


def _included(p: Path, settings: Settings) -> bool:
    if not settings.include:
        return True
    rel = _rel(p, settings)
    return any(fnmatch.fnmatch(rel, pat) for pat in settings.include)


def read_dockerfile(path: Path) -> bytes:
    """Read a target file, turning every OS-level problem into a typed error."""
    shown = str(path)
    if path.is_symlink() and not path.exists():
        raise DockerlockError("dangling symlink: the file it points to does not exist", shown)
    if path.is_dir():
        raise DockerlockError("is a directory, not a Dockerfile", shown)
    if not path.exists():
        raise DockerlockError("no such file", shown)
    try:
        size = path.stat().st_size
        if size > MAX_DOCKERFILE_BYTES:
            raise DecodeError(f"file is {size} bytes; refusing anything over {MAX_DOCKERFILE_BYTES}", shown)
        return path.read_bytes()
    except PermissionError:
        raise DockerlockError("permission denied reading the file", shown) from None
    except OSError as exc:
        raise DockerlockError(f"cannot read the file: {exc.strerror or exc}", shown) from None


def write_atomic(path: Path, data: bytes, expected: bytes) -> None:
    """Replace ``path`` with ``data`` if it still holds ``expected``; atomic, mode kept.

    Two runs over the same tree serialise on an advisory lock of the file and compare
    its content right before the rename, so a file changed on disk since it was read
    is never overwritten.
    """
    shown = str(path)
    target = path.resolve()  # write through a symlink to the real file
    try:
        fd = os.open(target, os.O_RDONLY)
    except OSError as exc:
        raise DockerlockError(f"cannot open the file for writing: {exc.strerror}", shown) from None
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            pass
        current = target.read_bytes()
        if current != expected:
            raise DockerlockError("the file changed on disk while dockerlock was working on it; "
                                  "nothing was written (run again)", shown)
        mode = os.stat(fd).st_mode & 0o7777
        if not os.access(target, os.W_OK):
            raise DockerlockError("the file is read-only; nothing was written", shown)
        tmp_fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".dockerlock.tmp",
                                            dir=target.parent)
        try:
            with os.fdopen(tmp_fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, mode)
            os.replace(tmp_name, target)
        except BaseException as exc:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
            if isinstance(exc, OSError):
                reason = exc.strerror or str(exc)
                if exc.errno == errno.ENOSPC:
                    reason = "no space left on device"
                raise DockerlockError(f"write failed ({reason}); the original file is intact", shown) from None
            raise
    finally:
        os.close(fd)


class LockCache:
    """Loads and checks each lock once per run (many Dockerfiles share one lock)."""

    def __init__(self, context: BuildContext) -> None:
        self.context = context
        self._cache: dict[tuple[str, str | None], object] = {}

    def __call__(self, lock_path: str, python: str | None):
        key = (lock_path, python)
        if key not in self._cache:
            self._cache[key] = self._load(lock_path, python)
        return self._cache[key]

    def _load(self, lock_path: str, python: str | None):
        from dockerlock.lockfile import check_python, load_lock
        from dockerlock.rules.pip_to_uv import LockFacts

        try:
            host = self.context.path(lock_path)
        except ContextEscape as exc:
            return LockFacts(exists=False, error=str(exc))
        if not host.is_file():
            return LockFacts(exists=False)
        try:
            lock = load_lock(host)
        except DockerlockError as exc:
            where = f" (line {exc.line})" if exc.line else ""
            return LockFacts(exists=True, error=exc.reason + where, line=exc.line)
        python_error = None
        if python:
            problems = [f for f in check_python(lock, python, source=f"image Python {python}")
                        if f.level == Level.ERROR]
            if problems:
                python_error = problems[0].message
        return LockFacts(exists=True, requires_python=lock.requires_python, has_vcs=lock.has_vcs,
                         has_local=lock.has_directory or bool(lock.local_paths), python_error=python_error)


def copy_sources(df) -> list[str]:
    from dockerlock.facts import split_copy

    sources: list[str] = []
    for ins in df.instructions:
        if ins.keyword in ("COPY", "ADD") and ins.flag("from") is None:
            parts = split_copy(df, ins)
            if parts:
                sources.extend(s for s in parts[0] if "://" not in s)
    return sources


FileJob = Callable[[object, BuildContext, Settings, LockCache], FileResult]


def process_one(path: Path, settings: Settings, mode: Mode, job: FileJob,
                contexts: dict[Path, LockCache]) -> Outcome:
    """Read, run ``job`` on, and (in write mode) write one file; every failure is an Outcome."""
    from dockerlock.model import Dockerfile

    shown = str(path)
    try:
        data = read_dockerfile(path)
        df = Dockerfile.from_bytes(data, shown)
        context = infer_context(path, copy_sources(df), settings.context)
        cache = contexts.setdefault(context.root, LockCache(context))
        result = job(df, context, settings, cache)
    except DockerlockError as exc:
        exc.with_path(shown)
        return Outcome(shown, "error", error=exc)
    if result.error is not None:
        result.error.with_path(shown)
        return Outcome(shown, "error", result=result, error=result.error)
    if not result.changed:
        return Outcome(shown, "unchanged", result=result)
    new = df.source.encode(result.new_text)
    if mode is not Mode.WRITE:
        return Outcome(shown, "would change", result=result, diff=unified_diff(shown, data, new))
    try:
        write_atomic(path, new, data)
    except DockerlockError as exc:
        return Outcome(shown, "error", result=result, error=exc)
    return Outcome(shown, "changed", result=result)


#: Below this many files, worker processes cost more than they save.
PARALLEL_THRESHOLD = 64
_WORK: tuple | None = None  # (settings, mode, job) handed to forked workers


def _work_chunk(chunk: list[Path]) -> list[Outcome]:
    assert _WORK is not None
    settings, mode, job = _WORK
    contexts: dict[Path, LockCache] = {}
    return [process_one(p, settings, mode, job, contexts) for p in chunk]


def process(paths: list[Path], settings: Settings, mode: Mode, job: FileJob,
            progress: Callable[[Path], None] | None = None, *, workers: int | None = None) -> Run:
    """Run ``job`` (migrate, revert, check) over every file; write, diff or check per ``mode``.

    Large runs use worker processes (forked, so they share the loaded code and ``job``);
    results come back in input order either way. Each file is written atomically by the
    process that planned it, so an interrupted run leaves every file whole.
    """
    run = Run()
    count = workers if workers is not None else (os.cpu_count() or 1)
    pool_ctx = _fork_context()
    if count > 1 and len(paths) >= PARALLEL_THRESHOLD and pool_ctx is not None:
        global _WORK
        _WORK = (settings, mode, job)
        size = max(8, len(paths) // (count * 8))
        chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
        try:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=count, mp_context=pool_ctx) as pool:
                for chunk, outcomes in zip(chunks, pool.map(_work_chunk, chunks)):
                    run.outcomes.extend(outcomes)
                    if progress:
                        for p in chunk:
                            progress(p)
        finally:
            _WORK = None
        return run
    contexts: dict[Path, LockCache] = {}
    for path in paths:
        run.outcomes.append(process_one(path, settings, mode, job, contexts))
        if progress:
            progress(path)
    return run


def _fork_context():
    import multiprocessing

    try:
        return multiprocessing.get_context("fork")
    except ValueError:  # no fork on this platform: stay sequential
        return None


def unified_diff(path: str, old: bytes, new: bytes) -> str:
    a = old.decode("utf-8", "replace").splitlines(keepends=True)
    b = new.decode("utf-8", "replace").splitlines(keepends=True)
    lines = difflib.unified_diff(a, b, fromfile=f"a/{path}", tofile=f"b/{path}")
    out = []
    for line in lines:
        if line.endswith("\r\n"):
            line = line[:-2] + "\n"  # show CRLF files readably; the write keeps CRLF
        elif not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)
