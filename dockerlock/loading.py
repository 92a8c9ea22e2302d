"""Build the ``BuildContext`` a Dockerfile's rules read: the one place they get their files.

Called by the runner (and the lock and verify commands) before any rule runs:

1. pick the build context root (``--context``, or inferred: start at the Dockerfile's folder
   and walk up until the COPY sources exist, stopping at the repository root);
2. index the context with one walk (cached per root for the whole run);
3. read what the rules will ask about — the requirements files each pip step installs (and
   what they include), the locks that could stand in for them, ``.python-version`` files —
   asking the facts layer which files those are, until nothing new is asked for.

Everything here is file-system I/O; everything it produces is plain data.
"""

from __future__ import annotations

import os
import posixpath
import stat
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from dockerlock.context import BuildContext, ContextEscape, FileIndex
from dockerlock.diagnostics import LockError

#: Stop indexing a context after this many entries (an unbounded walk of a huge monorepo or a
#: home folder would dominate the run); the index is then marked incomplete.
MAX_INDEX_ENTRIES = 200_000
#: Folders never worth indexing: tools' caches and virtual environments (a folder holding a
#: ``pyvenv.cfg`` is skipped too).
SKIPPED_FOLDERS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".mypy_cache",
                             ".pytest_cache", ".ruff_cache", ".tox", ".nox"})
#: The files rules read are small; anything larger is reported unreadable, not read.
MAX_TEXT_BYTES = 8 * 1024 * 1024
#: How many rounds of "read what was asked, ask again" (requirements include chains).
MAX_ROUNDS = 16


@dataclass
class DiskMemo:
    """What a run has learned about the disk while inferring context roots, kept for the rest of
    the run: a thousand sibling folders share their parents, so each parent is asked about once."""

    repositories: dict[str, str | None] = field(default_factory=dict)  # folder -> its repository root
    real_folders: dict[str, str] = field(default_factory=dict)  # folder -> its real path
    exists: dict[tuple[str, str], bool] = field(default_factory=dict)  # (folder, COPY source) -> on disk?


def repository_root(start: Path, memo: DiskMemo | None = None, *, resolved: bool = False) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.git``."""
    try:
        here = start if resolved else start.resolve()
    except (OSError, RuntimeError):  # symlink loops
        return None
    found = _repository_folder(str(here), memo or DiskMemo())
    return Path(found) if found is not None else None


def _repository_folder(here: str, memo: DiskMemo) -> str | None:
    known = memo.repositories
    seen: list[str] = []
    found: str | None = None
    folder = here
    while True:
        if folder in known:
            found = known[folder]
            break
        seen.append(folder)
        if os.path.exists(os.path.join(folder, ".git")):
            found = folder
            break
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    known.update(dict.fromkeys(seen, found))
    return found


def infer_root(dockerfile: Path, sources: list[str], explicit: Path | None = None,
               memo: DiskMemo | None = None) -> tuple[Path, bool]:
    """The build context root for ``dockerfile`` given its context-relative COPY ``sources``."""
    if explicit is not None:
        return explicit.resolve(), False
    memo = memo or DiskMemo()
    start = _real_folder_of(dockerfile, memo.real_folders)
    stop = _repository_folder(start, memo)
    candidates = [start]
    folder = start
    # up to the repository root (an ancestor of start); outside a repository, do not wander far
    while folder != stop and (stop is not None or len(candidates) < 4):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        candidates.append(parent)
        folder = parent
    rels = [s.lstrip("/") for s in sources if s and "$" not in s and ".." not in s.split("/")]
    if not rels:
        return Path(start), True
    best, best_count = start, 0
    for folder in candidates:
        count = 0
        for rel in rels:
            key = (folder, rel)
            found = memo.exists.get(key)
            if found is None:
                found = memo.exists[key] = _exists_on_disk(folder, rel)
            count += found
        if count == len(rels):
            return Path(folder), True
        if count > best_count:
            best, best_count = folder, count
    return Path(best), True


def _real_folder_of(file: Path, known: dict[str, str]) -> str:
    """The real path of the folder ``file`` is in: ``file.resolve().parent``, with the real paths
    of folders remembered in ``known``, so that sibling folders resolve their common parents once."""
    path = os.path.abspath(file)
    if ".." in os.fspath(file).replace(os.sep, "/").split("/") or os.path.islink(path):
        return os.path.dirname(os.path.realpath(path))  # what '..' means depends on the links before it
    return _real_folder(os.path.dirname(path), known)


def _real_folder(folder: str, known: dict[str, str]) -> str:
    real = known.get(folder)
    if real is None:
        parent, name = os.path.split(folder)
        if not name or parent == folder or os.path.islink(folder):
            real = os.path.realpath(folder)
        else:
            real = os.path.join(_real_folder(parent, known), name)
        known[folder] = real
    return real


def _exists_on_disk(folder: str, rel: str) -> bool:
    try:
        if any(c in rel for c in "*?["):
            import glob

            return bool(glob.glob(os.path.join(glob.escape(folder), rel)))
        return os.path.exists(os.path.join(folder, rel))
    except (OSError, ValueError):  # a name too long, a NUL: no such source
        return False


def scan(root: Path, limit: int = MAX_INDEX_ENTRIES, *, resolved: bool = False) -> FileIndex:
    """Index ``root``: every file and folder below it, and the symlinks that point outside.

    Folders are read with ``os.scandir`` in sorted depth-first order, so a walk cut at
    ``limit`` always covers the same entries; entries' types come from the directory listing.
    """
    files: set[str] = set()
    dirs: set[str] = {""}
    outside: dict[str, str] = {}
    try:
        real_root = root if resolved else root.resolve()
    except (OSError, RuntimeError):
        return FileIndex(complete=False)
    count = 0
    complete = True
    pending: list[tuple[str, str]] = [(str(root), "")]  # (host folder, context-relative folder)
    while pending:
        folder, rel_folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue  # unreadable folder: what os.walk would skip too
        subfolders = []
        for entry in entries:
            rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
            if entry.is_symlink():
                _record_symlink(Path(entry.path), rel, real_root, files, dirs, outside)
            elif entry.is_dir(follow_symlinks=False):
                if entry.name in SKIPPED_FOLDERS or os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                    continue
                dirs.add(rel)
                subfolders.append((entry.path, rel))
            else:
                files.add(rel)
        count += len(entries)
        if count > limit:
            complete = False
            break
        pending.extend(sorted(subfolders, reverse=True))
    return FileIndex(frozenset(files), frozenset(dirs), MappingProxyType(outside), complete)


def _record_symlink(host: Path, rel: str, real_root: Path, files: set[str], dirs: set[str],
                    outside: dict[str, str]) -> None:
    """A symlink counts as what it points to, inside the context; one pointing outside is
    remembered as such; a dangling one is nothing (BuildKit cannot copy it either)."""
    kind = _symlink_kind(host, real_root)
    if kind == "outside":
        outside[rel] = str(host.resolve())
    elif kind == "dir":
        dirs.add(rel)
    elif kind == "file":
        files.add(rel)


def _symlink_kind(host: Path, real_root: Path) -> str | None:
    """"file", "dir", "outside" (resolves outside the context) or None (dangling, loop)."""
    try:
        real = host.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if real != real_root and real_root not in real.parents:
        return "outside"
    return "dir" if real.is_dir() else "file"


def parse_lock_text(text: str, path: Path):
    """A ``Lock`` from a lock file's text, or the ``LockError`` that says why it is not one."""
    from dockerlock.lockfile import parse_lock

    try:
        return parse_lock(text.encode("utf-8"), path)
    except LockError as exc:
        return exc


@dataclass
class ContextLoader:
    """Loads contexts for a run; indexes and files are read once per root and shared."""

    explicit_root: Path | None = None
    cwd: Path = field(default_factory=Path.cwd)
    _indexes: dict[Path, FileIndex] = field(default_factory=dict)
    _data: dict[tuple[Path, str], bytes | None] = field(default_factory=dict)
    _locks: dict[tuple[Path, str], object] = field(default_factory=dict)
    _unreadable: dict[tuple[Path, str], str] = field(default_factory=dict)
    _disk: DiskMemo = field(default_factory=DiskMemo)

    def load(self, dockerfile: Path, df, settings) -> BuildContext:
        """The build context of ``dockerfile`` (parsed as ``df``) with every file its rules read."""
        from dockerlock.facts.commands import python_tooling_runs
        from dockerlock.facts.needs import copy_sources, files_needed

        if not python_tooling_runs(df):
            # No RUN runs pip, uv or a venv: no rule reads the context, so it is not looked for.
            return BuildContext(dockerfile.parent, True, FileIndex(complete=False), shown=".")
        root, inferred = infer_root(dockerfile, copy_sources(df), self.explicit_root or settings.context,
                                    self._disk)
        ctx = self.index(root, inferred, resolved=True)  # infer_root returns real paths
        for _ in range(MAX_ROUNDS):
            wanted = {p for p in files_needed(df, ctx, settings)
                      if p not in ctx.texts and p not in ctx.locks and p not in ctx.unreadable}
            if not wanted:
                break
            ctx = self.read(ctx, wanted)
        return ctx

    def index(self, root: Path, inferred: bool = False, *, resolved: bool = False) -> BuildContext:
        """The context at ``root`` (``resolved``: ``root`` is a real path already)."""
        if root not in self._indexes:
            self._indexes[root] = scan(root, resolved=resolved)
        try:
            shown = os.path.relpath(root, self.cwd)
        except ValueError:  # another drive
            shown = str(root)
        if shown.startswith(".."):
            shown = str(root) if len(shown.split(os.sep)) > 3 else shown
        return BuildContext(root, inferred, self._indexes[root], shown=shown)  # relpath's is normalised

    def read(self, ctx: BuildContext, paths: set[str]) -> BuildContext:
        """``ctx`` plus the contents of ``paths`` (locks parsed, other files as text)."""
        texts: dict[str, str] = {}
        locks: dict[str, object] = {}
        unreadable: dict[str, str] = {}
        for rel in sorted(paths):
            key = (ctx.root, rel)
            if key not in self._data and key not in self._unreadable:
                self._read_one(ctx, rel, key)
            data = self._data.get(key)
            if key in self._unreadable or data is None:
                unreadable[rel] = self._unreadable.get(key, "not found")
            elif posixpath.basename(rel).startswith("pylock") and rel.endswith(".toml"):
                if key not in self._locks:
                    from dockerlock.lockfile import parse_lock  # only runs that meet a lock load the parser

                    try:
                        self._locks[key] = parse_lock(data, ctx.root / rel)
                    except LockError as exc:
                        self._locks[key] = exc
                locks[rel] = self._locks[key]
            else:
                try:
                    texts[rel] = data.decode("utf-8-sig")
                except UnicodeDecodeError as exc:
                    unreadable[rel] = f"not UTF-8 text (byte {exc.start})"
        return ctx.with_contents(texts, locks, unreadable)

    def _read_one(self, ctx: BuildContext, rel: str, key: tuple[Path, str]) -> None:
        from dockerlock.lockfile.reading import MAX_LOCK_BYTES, read_capped

        try:
            host = ctx.path(rel)
        except ContextEscape as exc:
            self._unreadable[key] = str(exc)
            return
        if not ctx.index.is_file(rel) and ctx.index.complete:
            self._data[key] = None
            return
        if posixpath.basename(rel).startswith("pylock") and rel.endswith(".toml"):
            try:  # a lock's size and type problems are the lock's errors, worded as load_lock words them
                self._data[key] = read_capped(host, MAX_LOCK_BYTES, what="lock file", error=LockError)
            except LockError as exc:
                self._data[key] = b""
                self._locks[key] = exc
            return
        try:
            info = os.stat(host)
            if not stat.S_ISREG(info.st_mode):
                self._unreadable[key] = "not a regular file"
                return
            if info.st_size > MAX_TEXT_BYTES:
                self._unreadable[key] = f"too large ({info.st_size} bytes; the limit is {MAX_TEXT_BYTES})"
                return
            with open(host, "rb") as handle:
                self._data[key] = handle.read(MAX_TEXT_BYTES + 1)
        except FileNotFoundError:
            self._data[key] = None
        except OSError as exc:
            self._unreadable[key] = f"cannot read it: {exc.strerror or exc}"


def context_at(root: Path, df, settings) -> BuildContext:
    """The build context rooted at ``root`` for ``df`` (tests, tools that know the root)."""
    return ContextLoader(explicit_root=root).load(root / "Dockerfile", df, settings)
