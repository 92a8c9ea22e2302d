"""Writing a Dockerfile back: atomically, only over the bytes that were read, never half.

The new text goes to a temporary file beside the target, is flushed to disk and renamed
over it, under an advisory lock that serialises concurrent runs, with signals held
until the rename is done. What a killed run leaves behind (a temporary file) is removed
by the next writing run in that folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from dockerlock.diagnostics import DockerlockError

#: Suffix of the temporary file ``write_atomic`` writes beside the target.
TEMP_SUFFIX = ".dockerlock.tmp"
#: ``.<target name>.<8 random characters from tempfile>.dockerlock.tmp``: our temporary files only.
_TEMP_NAME = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX) + r"\Z")
#: A temporary file this old, whose target nobody holds locked, belongs to a killed run.
STALE_TEMP_SECONDS = 60


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

    A file with several hard links is refused: the rename would give this name a new
    file and leave the other names on the old content, splitting what the user made one
    file. Writing in place instead would give up atomicity (a kill mid-write would leave
    a truncated Dockerfile), so dockerlock asks the user to break the link.
    """
    shown = str(path)
    try:
        target = path.resolve()  # write through a symlink to the real file
    except (OSError, RuntimeError) as exc:
        raise DockerlockError(f"cannot resolve the path for writing ({exc}); nothing was written", shown) from None
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
        if info.st_nlink > 1:
            raise DockerlockError(
                f"the file has {info.st_nlink} hard links: replacing it would split them (the other names would "
                "keep the old text); nothing was written. Make it a file of its own first "
                f"(cp {path.name} {path.name}.new && mv {path.name}.new {path.name}) and run again", shown)
        mode = info.st_mode & 0o7777
        if _read_only(mode, target):
            raise DockerlockError("the file is read-only; nothing was written", shown)
        with _signals_deferred():
            _replace(target, data, mode, info, shown)
    finally:
        os.close(fd)


def os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


def _replace(target: Path, data: bytes, mode: int, info: os.stat_result, shown: str) -> None:
    """Write ``data`` to a temporary file beside ``target`` and rename it over it."""
    try:
        tmp_fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    except OSError as exc:  # a read-only folder, no free inodes, no space
        raise DockerlockError(f"cannot create a temporary file in the file's folder ({os_reason(exc)}); "
                              "nothing was written", shown) from None
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
            raise DockerlockError(f"write failed ({os_reason(exc)}); the original file is intact", shown) from None
        raise


def remove_stale_temp_files(folder: Path, *, now: float | None = None) -> list[Path]:
    """Remove temporary files a killed run left in ``folder``; return what was removed.

    Only our own names (``.<name>.<random>.dockerlock.tmp``, regular files), and only when
    provably abandoned: older than ``STALE_TEMP_SECONDS`` and the file they were meant to
    replace is not locked (a live run holds that lock for as long as its temporary file
    exists; see ``write_atomic``).
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed  # reported when a file in it is read, if it matters
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < STALE_TEMP_SECONDS:
            continue
        if _locked_by_another_run(folder / match["target"]):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _locked_by_another_run(target: Path) -> bool:
    try:
        import fcntl
    except ImportError:  # no advisory locks here: the age alone decides
        return False
    try:
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return False  # the target is gone: nobody is replacing it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also releases the lock
    return False


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
