"""Files in, results out: discovery, reading, per-file pipeline, atomic writes.

The only module (with ``locking`` and ``verify``) that touches the file system. The
mode (write / diff / check) is decided once by the CLI; this module branches on it in
one place, ``process``.
"""

from __future__ import annotations

import contextlib
import difflib
import enum
import errno
import fnmatch
import os
import signal
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dockerlock.context import BuildContext
from dockerlock.loading import ContextLoader
from dockerlock.diagnostics import DecodeError, DockerlockError, Finding
from dockerlock.engine import FileResult
from dockerlock.settings import DEFAULT_EXCLUDE, Settings

DOCKERFILE_PATTERNS = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile",
                       "Containerfile.*", "*.Containerfile")
#: Refuse larger files before reading them: real Dockerfiles are a few KiB, and parsing
#: cost grows with size (a 10 MB file would take seconds to minutes).
MAX_DOCKERFILE_BYTES = 1024 * 1024
#: Suffix of the temporary file ``write_atomic`` writes beside the target.
TEMP_SUFFIX = ".dockerlock.tmp"


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
    """Read a target file, turning every OS-level problem into a typed error.

    Only regular files are read: a FIFO would block forever and a device such as
    ``/dev/zero`` never ends. At most ``MAX_DOCKERFILE_BYTES`` are read, even if the
    file grows after its size was checked.
    """
    shown = str(path)
    if path.is_symlink() and not path.exists():
        raise DockerlockError("dangling symlink: the file it points to does not exist", shown)
    if path.is_dir():
        raise DockerlockError("is a directory, not a Dockerfile", shown)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DockerlockError("no such file", shown) from None
    except PermissionError:
        raise DockerlockError("permission denied reading the file", shown) from None
    except OSError as exc:
        raise DockerlockError(f"cannot read the file: {exc.strerror or exc}", shown) from None
    if not stat.S_ISREG(info.st_mode):
        raise DockerlockError("not a regular file (a FIFO, socket or device); refusing to read it", shown)
    _check_size(info.st_size, shown)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except PermissionError:
        raise DockerlockError("permission denied reading the file", shown) from None
    except OSError as exc:
        raise DockerlockError(f"cannot read the file: {exc.strerror or exc}", shown) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped for something else since the stat above
            raise DockerlockError("not a regular file (a FIFO, socket or device); refusing to read it", shown)
        _check_size(info.st_size, shown)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_DOCKERFILE_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_DOCKERFILE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        _check_size(size, shown)
        return b"".join(chunks)
    except OSError as exc:
        if isinstance(exc, PermissionError):
            raise DockerlockError("permission denied reading the file", shown) from None
        raise DockerlockError(f"cannot read the file: {exc.strerror or exc}", shown) from None
    finally:
        os.close(fd)


def _check_size(size: int, shown: str) -> None:
    if size > MAX_DOCKERFILE_BYTES:
        raise DecodeError(f"file is {'over ' if size == MAX_DOCKERFILE_BYTES + 1 else ''}{size} bytes; "
                          f"refusing anything over {MAX_DOCKERFILE_BYTES} (Dockerfiles are a few KiB: "
                          "is this really one?)", shown)


def _read_only(mode: int, target: Path) -> bool:
    """No write permission bit at all, or no write access for this user.

    ``os.access`` says yes to root for any file; a file whose mode has no write bit
    was made read-only on purpose, so dockerlock leaves it alone even then.
    """
    return not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(target, os.W_OK)


def write_atomic(path: Path, data: bytes, expected: bytes) -> None:
    """Replace ``path`` with ``data`` if it still holds ``expected``; atomic, mode kept.

    Two runs over the same tree serialise on an advisory lock of the file and compare
    its content right before the rename, so a file changed on disk since it was read
    is never overwritten (a file that already holds ``data``, written by a concurrent
    run, is left as it is). The new content goes to a temporary file beside the
    target, is flushed to disk and renamed over it; on any failure the temporary file
    is removed and the original is untouched.
    """
    shown = str(path)
    target = path.resolve()  # write through a symlink to the real file
    fd = _open_locked(target, shown)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DockerlockError("not a regular file (a FIFO, socket or device); nothing was written", shown)
        current = _read_fd(fd, max(len(data), len(expected)) + 1)
        if current == data:
            return  # a concurrent run already wrote exactly this
        if current != expected:
            raise DockerlockError("the file changed on disk while dockerlock was working on it; "
                                  "nothing was written (run again)", shown)
        mode = info.st_mode & 0o7777
        if _read_only(mode, target):
            raise DockerlockError("the file is read-only; nothing was written", shown)
        with _signals_deferred():
            _replace(target, data, mode, info, shown)
    finally:
        os.close(fd)


def _replace(target: Path, data: bytes, mode: int, info: os.stat_result, shown: str) -> None:
    """Write ``data`` to a temporary file beside ``target`` and rename it over it."""
    tmp_fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(tmp_fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        if hasattr(os, "chown") and (info.st_uid, info.st_gid) != _owner(tmp_name):
            try:
                os.chown(tmp_name, info.st_uid, info.st_gid)  # root rewriting a user's file
            except OSError:
                pass
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


_DEFERRED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
                          if hasattr(signal, name))


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C / SIGTERM / SIGHUP / SIGQUIT while one file is written and renamed.

    A signal in the middle would leave the temporary file behind (SIGTERM kills the
    process without running any cleanup). While the file is written, a handler only
    notes the signal; afterwards the previous handlers come back and each noted signal
    is acted on as it would have been: Ctrl-C raises ``KeyboardInterrupt``, SIGTERM
    ends the process. The file is then either the original or the complete new
    version. Python runs signal handlers in the main thread only, so this works
    whichever thread the signal reached; elsewhere it is a no-op.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous: dict[int, object] = {}
    for signum in _DEFERRED_SIGNALS:
        try:
            old = signal.getsignal(signum)
            if old is signal.SIG_IGN or old is None:
                continue  # ignored (or set outside Python): nothing to defer
            previous[signum] = old
            signal.signal(signum, lambda n, _frame: pending.append(n))
        except (OSError, ValueError):
            pass
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        for signum in dict.fromkeys(pending):
            old = previous[signum]
            if callable(old):
                old(signum, None)  # e.g. the default SIGINT handler raises KeyboardInterrupt
            elif old == signal.SIG_DFL:
                os.kill(os.getpid(), signum)  # now with the default action: the process ends


def _open_locked(target: Path, shown: str) -> int:
    """Open ``target`` and take its advisory lock, retrying if another run renamed a new
    file into place while we waited (the lock would then guard a stale inode)."""
    for _ in range(20):
        try:
            fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        except OSError as exc:
            raise DockerlockError(f"cannot open the file for writing: {exc.strerror or exc}", shown) from None
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            return fd
        try:
            now = os.stat(target)
        except OSError:
            now = None
        mine = os.fstat(fd)
        if now is not None and (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
            return fd
        os.close(fd)
    raise DockerlockError("the file keeps being replaced by another process; nothing was written", shown)


def _read_fd(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes of the open file, from its start."""
    chunks: list[bytes] = []
    size = 0
    if not hasattr(os, "pread"):  # Windows
        os.lseek(fd, 0, os.SEEK_SET)
    while size < limit:
        want = min(1 << 20, limit - size)
        chunk = os.pread(fd, want, size) if hasattr(os, "pread") else os.read(fd, want)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _owner(name: str) -> tuple[int, int]:
    info = os.stat(name)
    return info.st_uid, info.st_gid


FileJob = Callable[[object, BuildContext, Settings], FileResult]


def process_one(path: Path, settings: Settings, mode: Mode, job: FileJob, loader: ContextLoader) -> Outcome:
    """Read, run ``job`` on, and (in write mode) write one file; every failure is an Outcome."""
    from dockerlock.model import Dockerfile

    shown = str(path)
    try:
        data = read_dockerfile(path)
        df = Dockerfile.from_bytes(data, shown)
        context = loader.load(path, df, settings)
        result = job(df, context, settings)
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
    loader = ContextLoader()
    return [process_one(p, settings, mode, job, loader) for p in chunk]


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

            pool = ProcessPoolExecutor(max_workers=count, mp_context=pool_ctx, initializer=_worker_init,
                                       initargs=(os.getpid(),))
            try:
                for chunk, outcomes in zip(chunks, pool.map(_work_chunk, chunks)):
                    run.outcomes.extend(outcomes)
                    if progress:
                        for p in chunk:
                            progress(p)
            except BaseException:
                _stop_workers(pool)  # Ctrl-C (or any failure): no worker may outlive the run
                raise
            pool.shutdown(wait=True)
        finally:
            _WORK = None
        return run
    loader = ContextLoader()
    for path in paths:
        run.outcomes.append(process_one(path, settings, mode, job, loader))
        if progress:
            progress(path)
    return run


def _worker_init(parent: int) -> None:
    """In each worker: leave Ctrl-C to the parent, and never outlive it.

    A terminal's Ctrl-C reaches the whole process group; the parent stops the workers
    itself (``_stop_workers``). If the parent dies (SIGTERM, SIGKILL), the idle
    workers would otherwise wait for work forever, holding the parent's stdout and
    stderr open: a watchdog thread sends the worker SIGTERM, which ``write_atomic``
    holds back until the file it may be writing is complete.
    """
    import threading
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="dockerlock-parent-watch", daemon=True).start()


def _stop_workers(pool) -> None:
    """Cancel queued chunks and end the workers; wait until they are gone.

    A worker in the middle of writing a file finishes that file first (SIGTERM is
    deferred during the write), so every file is left whole.
    """
    handles = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in handles:
        if proc.is_alive():
            proc.terminate()
    for proc in handles:
        proc.join(timeout=30)


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
