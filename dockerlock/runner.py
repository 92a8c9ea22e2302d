"""Files in, results out: discovery, reading, the per-file pipeline, parallel workers.

With ``writing`` (atomic writes), ``locking`` and ``verify``, the only code that touches
the file system. The
mode (write / diff / check) is decided once by the CLI; this module branches on it in
one place, ``process_one``. Every failure while handling one file becomes that file's
``Outcome`` (status ``ERROR``, a reason naming the file): one bad file never stops the
run, and nothing is written to it.
"""

from __future__ import annotations

import difflib
import errno
import fnmatch
import gc
import os
import re
import signal
import stat
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from dockerlock.context import BuildContext
from dockerlock.diagnostics import DockerlockError
from dockerlock.engine import FileResult
from dockerlock.loading import ContextLoader
from dockerlock.report.outcomes import Mode, Outcome, Status, user_path
from dockerlock.settings import DEFAULT_EXCLUDE, Settings
from dockerlock.source import MAX_BYTES, size_error
from dockerlock.writing import (
    TEMP_SUFFIX,
    os_reason,
    remove_stale_temp_files,
    write_atomic,
)

DOCKERFILE_PATTERNS = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile",
                       "Containerfile.*", "*.Containerfile")

__all__ = ["TEMP_SUFFIX", "Mode", "Outcome", "Status", "Run", "discover", "process", "read_dockerfile",
           "remove_stale_temp_files", "write_atomic"]


@dataclass
class Run:
    """The outcomes of a run over many files, in input order."""

    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the run itself, for -v


@dataclass
class Found:
    """What ``discover`` found: files to process, and folders it could not search."""

    files: list[Path] = field(default_factory=list)
    unsearchable: list[Outcome] = field(default_factory=list)


_DOCKERFILE_NAME = re.compile("|".join(fnmatch.translate(p) for p in DOCKERFILE_PATTERNS))  # one match per name


def is_dockerfile_name(name: str) -> bool:
    return _DOCKERFILE_NAME.match(name) is not None and not name.endswith(
        (".dockerignore", ".md", ".orig", ".rej", ".swp", "~"))


def _is_dir(p: Path) -> bool:
    """``Path.is_dir`` that answers False instead of raising (no permission to look, a name
    too long...): the file is then reported by ``read_dockerfile`` with the reason."""
    try:
        return p.is_dir()
    except OSError:
        return False


def discover(paths: Iterable[Path], settings: Settings) -> Found:
    """Files named on the command line, and Dockerfiles found under named folders.

    A folder that cannot be listed is reported (its Dockerfiles would otherwise be skipped
    without a word), not silently passed over.
    """
    exclude = DEFAULT_EXCLUDE + tuple(settings.exclude)
    found = Found()
    seen: set[Path] = set()
    for given in paths:
        if _is_dir(given) and not given.name.startswith("Dockerfile"):
            def unlistable(exc: OSError) -> None:
                folder = exc.filename or str(given)
                reason = exc.strerror or str(exc)
                found.unsearchable.append(Outcome(folder, Status.ERROR, error=DockerlockError(
                    f"cannot search this folder ({reason.lower()}); Dockerfiles in it were not processed",
                    folder)))

            def pruned(root: str, name: str) -> bool:
                return name in exclude or bool(settings.exclude) and _excluded(Path(root, name), settings)

            # Paths are made only for the names that matter: a tree of thousands of folders is
            # walked at every run's start, before any work can begin.
            for root, files in _folders(os.fspath(given), pruned, unlistable):
                for name in files:
                    if not is_dockerfile_name(name):
                        continue
                    p = Path(root, name)
                    if not _excluded(p, settings) and _included(p, settings) and p not in seen:
                        seen.add(p)
                        found.files.append(p)
        elif given not in seen:
            seen.add(given)
            found.files.append(given)
    return found


def _folders(top: str, pruned: Callable[[str, str], bool],
             onerror: Callable[[OSError], None]) -> Iterator[tuple[str, list[str]]]:
    """(folder, its file names, sorted) for ``top`` and every folder below it, depth first in
    name order, as ``os.walk`` visits them, with three differences that make it cheaper on a
    tree of thousands of folders: folders ``pruned(parent, name)`` are not entered, nor are
    symbolic links to folders (``os.walk`` lists them and never enters them either), and a
    folder holding a ``pyvenv.cfg`` (a virtual environment) is passed over with all it holds.
    The entry types come from the listing, so a folder costs one system call, not three."""
    pending = [top]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            onerror(exc)
            continue
        if folder != top and any(e.name == "pyvenv.cfg" and os.path.exists(e.path) for e in entries):
            continue
        files: list[str] = []
        subfolders: list[str] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:  # what os.walk does: not a folder, then
                is_dir = False
            if not is_dir:
                files.append(entry.name)
            elif not entry.is_symlink() and not pruned(folder, entry.name):
                subfolders.append(entry.name)
        files.sort()
        yield folder, files
        pending.extend(os.path.join(folder, name) for name in sorted(subfolders, reverse=True))


def _resolved(p: Path) -> Path:
    """``p.resolve()``, or its absolute form where it cannot be resolved (a symlink loop)."""
    try:
        return p.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(p))


def _rel(p: Path, settings: Settings) -> str:
    base = settings.config_path.parent if settings.config_path else Path.cwd()
    try:
        return _resolved(p).relative_to(_resolved(base)).as_posix()
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
    ``/dev/zero`` never ends. At most ``MAX_BYTES`` are read, even if the file grows
    after its size was checked.
    """
    shown = str(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise DockerlockError(_stat_failure(exc, path), shown) from None
    if stat.S_ISDIR(info.st_mode):
        raise DockerlockError("is a directory, not a Dockerfile", shown)
    if not stat.S_ISREG(info.st_mode):
        raise DockerlockError("not a regular file (a FIFO, socket or device); refusing to read it", shown)
    _check_size(info.st_size, shown)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise DockerlockError(_read_failure(exc), shown) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped for something else since the stat above
            raise DockerlockError("not a regular file (a FIFO, socket or device); refusing to read it", shown)
        _check_size(info.st_size, shown)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        _check_size(size, shown, read=True)
        return b"".join(chunks)
    except OSError as exc:
        raise DockerlockError(_read_failure(exc), shown) from None
    finally:
        os.close(fd)


def _stat_failure(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop: the link leads back to itself, there is no file to read"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return "dangling symlink: the file it points to does not exist"
    if exc.errno == errno.ENOENT:
        return "no such file"
    return _read_failure(exc)


def _read_failure(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied reading the file"
    return f"cannot read the file: {(exc.strerror or str(exc)).lower()}"


def _check_size(size: int, shown: str, *, read: bool = False) -> None:
    """Refuse a file over the limit; ``read``: ``size`` is what was read, which stops one byte
    past the limit (the file grew after its size was checked), so the file is at least that."""
    if size > MAX_BYTES:
        raise size_error(size, shown, at_least=read)


FileJob = Callable[[object, BuildContext, Settings], FileResult]


def process_one(path: Path, settings: Settings, mode: Mode, job: FileJob, loader: ContextLoader, *,
                diffs: bool = True) -> Outcome:
    """Read, run ``job`` on, and (in write mode) write one file; every failure is an Outcome.
    ``diffs``: make the unified diff of a file that would change (what --diff, JSON and markdown show)."""
    from dockerlock.model import Dockerfile

    shown = str(path)
    result: FileResult | None = None
    try:
        data = read_dockerfile(path)
        df = Dockerfile.from_bytes(data, shown)
        context = loader.load(path, df, settings)
        result = job(df, context, settings)
        if result.error is not None:
            return Outcome(shown, Status.ERROR, result=result, error=result.error.with_path(shown))
        if not result.changed:
            return Outcome(shown, Status.UNCHANGED, result=result)
        new = df.source.encode(result.new_text)
        if mode is not Mode.WRITE:
            return Outcome(shown, Status.WOULD_CHANGE, result=result,
                           diff=unified_diff(shown, data, new) if diffs else "")
        write_atomic(path, new, data)
        return Outcome(shown, Status.CHANGED, result=result)
    except DockerlockError as exc:
        return Outcome(shown, Status.ERROR, result=result, error=exc.with_path(shown))
    except Exception as exc:  # noqa: BLE001 - one file must never stop the run
        return Outcome(shown, Status.ERROR, error=_unexpected(exc, shown))


def _unexpected(exc: Exception, shown: str) -> DockerlockError:
    """A failure no layer turned into a ``DockerlockError``, as a message naming the file."""
    if isinstance(exc, OSError):
        where = f" {user_path(exc.filename, shown)}" if isinstance(exc.filename, str) else ""
        return DockerlockError(f"cannot access{where} ({os_reason(exc)}); nothing was written", shown)
    if isinstance(exc, RuntimeError) and "symlink loop" in str(exc).lower():  # pathlib before 3.13
        return DockerlockError(f"a path leads into a symlink loop ({exc}); nothing was written", shown)
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    return DockerlockError(f"internal error{at}: {type(exc).__name__}: {exc}; nothing was written. This is a "
                           "dockerlock bug; please report it with the file", shown)


#: Below this many files, worker processes cost more than they save.
PARALLEL_THRESHOLD = 64
_WORK: tuple | None = None  # (settings, mode, job, diffs, loader) handed to forked workers
#: The cycle collector's threshold in workers (Python's default is 700; see ``_worker_init``).
WORKER_GC_THRESHOLD = 200_000


def _work_chunk(chunk: list[Path]) -> list[Outcome]:
    assert _WORK is not None
    # One loader for all the chunks a process takes: a context shared by many Dockerfiles (a
    # monorepo's root) is indexed once per process, not once per chunk. Each process has its own.
    settings, mode, job, diffs, loader = _WORK
    return [_for_the_parent(process_one(p, settings, mode, job, loader, diffs=diffs)) for p in chunk]


def _for_the_parent(outcome: Outcome) -> Outcome:
    """What the report needs of an outcome, without what only the worker used: the rewritten text
    (already written or diffed here) and the findings' fixes (edits into a model the parent never
    sees). Both would otherwise be pickled back for nothing: two thirds of the bytes a tree's
    outcomes take, and of the parent's time unpickling them while the workers run."""
    result = outcome.result
    if result is not None:
        result.new_text = None
        result.findings = [replace(f, fix=None) if f.fix is not None else f for f in result.findings]
    return outcome


def process(paths: list[Path], settings: Settings, mode: Mode, job: FileJob,
            progress: Callable[[Path], None] | None = None, *, workers: int | None = None,
            diffs: bool = True) -> Run:
    """Run ``job`` (migrate, revert, check) over every file; write, diff or check per ``mode``
    (``diffs``: whether the report shows diffs of files that would change).

    Large runs use worker processes (forked, so they share the loaded code and ``job``), one
    fewer than ``workers``: this process works beside them. Results come back in input order
    either way. Each file is written atomically by the process that planned it, so an
    interrupted run leaves every file whole. A writing run first removes the temporary files
    killed runs left in the folders it writes to.
    """
    run = Run()
    if mode is Mode.WRITE:
        run.notes += _clean_folders(paths)
    count = workers if workers is not None else (os.cpu_count() or 1)
    pool_ctx = _fork_context()
    if count > 1 and len(paths) >= PARALLEL_THRESHOLD and pool_ctx is not None:
        global _WORK
        _WORK = (settings, mode, job, diffs, ContextLoader())
        chunks = _chunks(paths, count)
        try:
            from concurrent.futures import ProcessPoolExecutor

            gc.freeze()  # the loaded code and settings: shared with the workers, never garbage
            pool = ProcessPoolExecutor(max_workers=count - 1, mp_context=pool_ctx, initializer=_worker_init,
                                       initargs=(os.getpid(),))
            try:
                run.outcomes = _share_with_workers(pool, chunks, progress)
            except BaseException:
                _stop_workers(pool)  # Ctrl-C (or any failure): no worker may outlive the run
                raise
            pool.shutdown(wait=True)
        finally:
            _WORK = None
            gc.unfreeze()
        return run
    loader = ContextLoader()
    for path in paths:
        run.outcomes.append(process_one(path, settings, mode, job, loader, diffs=diffs))
        if progress:
            progress(path)
    return run


def _chunks(paths: list[Path], processes: int) -> list[list[Path]]:
    """The files in chunks for ``processes`` processes: the workers work from the front, this
    process from the back, and they meet near ``1/processes`` of the files from the end.
    Chunks shrink toward that point: whoever finishes first then waits for at most a small
    chunk in hand (and one queued) on the other side; far from it they are larger, for fewer
    round trips."""
    meet = len(paths) * (processes - 1) // processes
    chunks = []
    start = 0
    while start < len(paths):
        size = max(4, min(32, abs(meet - start) // 4))
        if start < meet:
            size = min(size, meet - start)  # a chunk ends at the meeting point, not across it
        chunks.append(paths[start:start + size])
        start += size
    return chunks


def _share_with_workers(pool, chunks: list[list[Path]],
                        progress: Callable[[Path], None] | None) -> list[Outcome]:
    """Every chunk's outcomes, in input order. The workers take chunks from the first on; this
    process works from the last one back, on each chunk no worker has started, until they meet:
    it would otherwise wait idle, and its share needs no pickling and copies no memory."""
    futures = [pool.submit(_work_chunk, chunk) for chunk in chunks]
    results: list[list[Outcome] | None] = [None] * len(chunks)
    shown = 0  # the workers' chunks finish in order: progress has been shown for those before this

    def show(chunk: list[Path]) -> None:
        for path in chunk if progress else ():
            progress(path)

    for i in reversed(range(len(chunks))):
        if not futures[i].cancel():
            break  # the workers have reached this chunk: every earlier one is theirs too
        results[i] = _work_chunk(chunks[i])
        show(chunks[i])
        while shown < i and futures[shown].done():
            show(chunks[shown])
            shown += 1
    outcomes: list[Outcome] = []
    for i, future in enumerate(futures):
        if results[i] is None:
            results[i] = future.result()
            if i >= shown:
                show(chunks[i])
        outcomes.extend(results[i])
    return outcomes


def _clean_folders(paths: list[Path]) -> list[str]:
    """Remove stale temporary files beside the files about to be processed; say what went."""
    folders: dict[Path, str] = {}
    for path in paths:
        folders.setdefault(path.parent, str(path))
        if os.path.islink(path):  # the temporary file goes beside the real file
            folders.setdefault(_resolved(path).parent, str(path))
    notes = []
    for folder, given in folders.items():
        for removed in remove_stale_temp_files(folder):
            shown = user_path(str(removed), given) if removed.is_absolute() else str(removed)
            notes.append(f"removed {shown}: a temporary file left by an interrupted dockerlock run")
    return notes


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
    # A file's model is garbage once its outcome is made, and reference counting frees it: the
    # cycle collector finds next to nothing (35 objects over 200 files) while walking every live
    # object. It runs only when WORKER_GC_THRESHOLD more objects are alive than at its last run,
    # which a run never reaches; a pathological file's cycles still cannot exhaust memory.
    gc.set_threshold(WORKER_GC_THRESHOLD)
    gc.enable()

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
    # The pool's manager thread closes its wake-up pipe as it ends; the interpreter's exit hook
    # writes to that pipe, and on Python 3.11 a close racing that write prints a traceback
    # ("Bad file descriptor") after our clean exit message. Let it end first.
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None:
        manager.join(timeout=30)


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
