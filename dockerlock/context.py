"""The build context as data: which paths exist, and the file contents the rules need.

Images like omi's build with the *repository root* as context (``COPY
backend/requirements.txt ...`` from ``backend/Dockerfile``), so paths in a Dockerfile are
relative to the context, not to the Dockerfile. ``dockerlock.loading`` walks the context
once, reads the requirements files, locks and ``.python-version`` files the rules will ask
about, and hands the rules this frozen ``BuildContext``. Rules and facts never touch the
file system: a test can build a context from a dict (``BuildContext.from_files``).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any


class ContextEscape(ValueError):
    """A path that leaves the build context (``../..``, or a symlink out)."""


def context_relative(rel: str) -> str:
    """Normalise a context path as BuildKit reads COPY sources: ``/a/./b/../c`` -> ``a/c``, root -> ``""``.

    Raises ``ContextEscape`` when ``..`` climbs above the root.
    """
    parts: list[str] = []
    for part in rel.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ContextEscape(f"'{rel}' leaves the build context")
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class FileIndex:
    """Every file and folder of a build context (context-relative posix paths), from one walk.

    ``outside``: symlinks whose target lies outside the context (BuildKit would not copy
    what they point to; dockerlock refuses to reason about them). ``complete`` is False when
    the walk stopped at its size limit: an absent path then means "unknown", not "missing".
    """

    files: frozenset[str] = frozenset()
    dirs: frozenset[str] = frozenset({""})
    outside: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # symlink -> where it resolves
    complete: bool = True

    def _check(self, rel: str) -> str:
        path = context_relative(rel)
        if self.outside:
            probe = path
            while probe:
                if probe in self.outside:
                    raise ContextEscape(f"'{rel}' resolves to {self.outside[probe]}, outside the build context")
                probe = posixpath.dirname(probe)
        return path

    def is_file(self, rel: str) -> bool:
        try:
            return self._check(rel) in self.files
        except ContextEscape:
            return False

    def is_dir(self, rel: str) -> bool:
        try:
            return self._check(rel) in self.dirs
        except ContextEscape:
            return False

    def exists(self, rel: str) -> bool:
        """Is there a file or folder at ``rel`` (a glob pattern matches when anything matches)?"""
        try:
            path = self._check(rel)
        except ContextEscape:
            return False
        if any(c in path for c in "*?["):
            return bool(self.glob(path))
        return path in self.files or path in self.dirs

    def glob(self, pattern: str) -> list[str]:
        """Paths matching a COPY-style pattern, segment by segment (``*`` never crosses ``/``)."""
        wanted = context_relative(pattern).split("/")
        return sorted(p for p in self.files | self.dirs
                      if p and len(p.split("/")) == len(wanted)
                      and all(fnmatch.fnmatchcase(a, b) for a, b in zip(p.split("/"), wanted)))


@dataclass(frozen=True)
class BuildContext:
    """One build context: where it is, what it holds, and the contents read for the rules.

    ``texts`` maps context paths of the text files read (requirements, ``.python-version``)
    to their content; ``locks`` maps lock paths to a parsed ``Lock`` or the ``LockError``
    reading it raised; ``unreadable`` maps paths that exist but could not be read to why.
    ``shown`` is the root as the user would type it from where they ran dockerlock
    (``services/api``, ``.``), so hints paste and run.
    """

    root: Path
    inferred: bool = False
    index: FileIndex = field(default_factory=FileIndex)
    texts: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    locks: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    unreadable: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    shown: str = "."

    @classmethod
    def from_files(cls, files: Mapping[str, str], root: Path | str = "/context", **kwargs: Any) -> "BuildContext":
        """A context holding ``files`` (path -> text), for tests and pure callers; every
        ``pylock*.toml`` among them is parsed as the loader would."""
        from dockerlock.loading import parse_lock_text

        paths = {context_relative(p) for p in files}
        dirs = {""}
        for path in paths:
            parent = posixpath.dirname(path)
            while parent and parent not in dirs:
                dirs.add(parent)
                parent = posixpath.dirname(parent)
        locks = {context_relative(p): parse_lock_text(text, Path(root) / context_relative(p))
                 for p, text in files.items() if posixpath.basename(p).startswith("pylock")}
        texts = {context_relative(p): text for p, text in files.items()}
        return cls(Path(root), index=FileIndex(frozenset(paths), frozenset(dirs)),
                   texts=MappingProxyType(texts), locks=MappingProxyType(locks), **kwargs)

    # -- questions the rules ask (pure) -----------------------------------------------
    def exists(self, rel: str) -> bool:
        return self.index.exists(rel)

    def is_dir(self, rel: str) -> bool:
        return self.index.is_dir(rel)

    def is_file(self, rel: str) -> bool:
        return self.index.is_file(rel)

    def check_inside(self, rel: str) -> str:
        """The normalised context path, or ``ContextEscape`` if it leaves the context."""
        return self.index._check(rel)

    def text(self, rel: str) -> str | None:
        """Content of a file the loader read, None when absent or not read."""
        try:
            return self.texts.get(context_relative(rel))
        except ContextEscape:
            return None

    def lock(self, rel: str):
        """The parsed lock at ``rel`` (``Lock``), the ``LockError`` reading it gave, or None if absent."""
        try:
            return self.locks.get(context_relative(rel))
        except ContextEscape:
            return None

    def show(self, rel: str) -> str:
        """A context path as the user would type it from where they ran dockerlock."""
        rel = rel.lstrip("/")
        if self.shown in ("", "."):
            return rel or "."
        return posixpath.join(self.shown, rel) if rel else self.shown

    # -- host paths (for the I/O edges: runner, lock, verify) --------------------------
    def path(self, rel: str) -> Path:
        """Host path of a context path; ``ContextEscape`` for paths that leave the context."""
        path = self.check_inside(rel)
        return self.root.joinpath(*path.split("/")) if path else self.root

    def relative(self, host: Path) -> str:
        return PurePosixPath(os.path.relpath(host, self.root)).as_posix()

    def with_contents(self, texts: Mapping[str, str], locks: Mapping[str, Any],
                      unreadable: Mapping[str, str]) -> "BuildContext":
        return replace(self, texts=MappingProxyType({**self.texts, **texts}),
                       locks=MappingProxyType({**self.locks, **locks}),
                       unreadable=MappingProxyType({**self.unreadable, **unreadable}))


def common_folder(paths: Iterable[str]) -> str:
    """The deepest folder holding every context path (``""`` for the root)."""
    folders = [posixpath.dirname(p).split("/") for p in paths]
    if not folders:
        return ""
    common = []
    for parts in zip(*folders):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/".join(p for p in common if p)
