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
from pathlib import Path, PurePosixPath
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


def repository_root(start: Path, known: dict[Path, Path | None] | None = None, *,
                    resolved: bool = False) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.git``; ``known`` remembers answers
    per folder, so a run over a thousand sibling folders looks at their parent once."""
    try:
        here = start if resolved else start.resolve()
    except (OSError, RuntimeError):  # symlink loops
        return None
    seen: list[Path] = []
    found: Path | None = None
    for folder in (here, *here.parents):
        if known is not None and folder in known:
            found = known[folder]
            break
        seen.append(folder)
        if os.path.exists(os.path.join(folder, ".git")):
            found = folder
            break
    if known is not None:
        known.update(dict.fromkeys(seen, found))
    return found


def infer_root(dockerfile: Path, sources: list[str], explicit: Path | None = None,
               known_repositories: dict[Path, Path | None] | None = None) -> tuple[Path, bool]:
    """The build context root for ``dockerfile`` given its context-relative COPY ``sources``."""
    if explicit is not None:
        return explicit.resolve(), False
    start = dockerfile.resolve().parent
    stop = repository_root(start, known_repositories, resolved=True)
    candidates = [start]
    if stop is None:
        candidates += start.parents[:3]  # outside a repository, do not wander far
    elif stop != start:
        for parent in start.parents:  # up to the repository root (an ancestor of start)
            candidates.append(parent)
            if parent == stop:
                break
    rels = [s.lstrip("/") for s in sources if s and "$" not in s and ".." not in PurePosixPath(s).parts]
    if not rels:
        return start, True
    best, best_count = start, 0
    for folder in candidates:
        count = sum(1 for s in rels if _exists_on_disk(folder, s))
        if count == len(rels):
            return folder, True
        if count > best_count:
            best, best_count = folder, count
    return best, True


def _exists_on_disk(folder: Path, rel: str) -> bool:
    try:
        if any(c in rel for c in "*?["):
            import glob

            return bool(glob.glob(str(folder / rel)))
        return os.path.exists(os.path.join(folder, rel))
    except (OSError, ValueError):  # a name too long, a NUL: no such source
        return False


def scan(root: Path, limit: int = MAX_INDEX_ENTRIES) -> FileIndex:
    """Index ``root``: every file and folder below it, and the symlinks that point outside.

    Folders are read with ``os.scandir`` in sorted depth-first order, so a walk cut at
    ``limit`` always covers the same entries; entries' types come from the directory listing.
    """
    files: set[str] = set()
    dirs: set[str] = {""}
    outside: dict[str, str] = {}
    try:
        real_root = root.resolve()
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
    _repositories: dict[Path, Path | None] = field(default_factory=dict)

    def load(self, dockerfile: Path, df, settings) -> BuildContext:
        """The build context of ``dockerfile`` (parsed as ``df``) with every file its rules read."""
        from dockerlock.facts.commands import mentions_python_tooling
        from dockerlock.facts.needs import copy_sources, files_needed

        if not any(ins.keyword == "RUN" and mentions_python_tooling(ins) for ins in df.instructions):
            # No RUN runs pip, uv or a venv: no rule reads the context, so it is not looked for.
            return BuildContext(dockerfile.parent, True, FileIndex(complete=False), shown=".")
        root, inferred = infer_root(dockerfile, copy_sources(df), self.explicit_root or settings.context,
                                    self._repositories)
        ctx = self.index(root, inferred)
        for _ in range(MAX_ROUNDS):
            wanted = {p for p in files_needed(df, ctx, settings)
                      if p not in ctx.texts and p not in ctx.locks and p not in ctx.unreadable}
            if not wanted:
                break
            ctx = self.read(ctx, wanted)
        return ctx

    def index(self, root: Path, inferred: bool = False) -> BuildContext:
        if root not in self._indexes:
            self._indexes[root] = scan(root)
        try:
            shown = os.path.relpath(root, self.cwd)
        except ValueError:  # another drive
            shown = str(root)
        if shown.startswith(".."):
            shown = str(root) if len(shown.split(os.sep)) > 3 else shown
        return BuildContext(root, inferred, self._indexes[root], shown=PurePosixPath(shown).as_posix()
                            if not os.path.isabs(shown) else shown)

    def read(self, ctx: BuildContext, paths: set[str]) -> BuildContext:
        """``ctx`` plus the contents of ``paths`` (locks parsed, other files as text)."""
        from dockerlock.lockfile import parse_lock

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
        from dockerlock.lockfile.pylock import MAX_LOCK_BYTES, _read_capped

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
                self._data[key] = _read_capped(host, MAX_LOCK_BYTES, what="lock file", error=LockError)
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
