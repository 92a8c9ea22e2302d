"""The build context: where COPY sources, requirements files and locks live on disk.

Images like omi's build with the *repository root* as context (``COPY
backend/requirements.txt ...`` from ``backend/Dockerfile``), so paths in a Dockerfile
are relative to the context, not to the Dockerfile. When the user does not say
(``--context``), we infer it: start at the Dockerfile's folder and walk up until the
COPY sources exist, stopping at the repository root.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class ContextEscape(ValueError):
    """A path that leaves the build context (``../..``, absolute, or a symlink out)."""


@dataclass(frozen=True)
class BuildContext:
    root: Path
    inferred: bool = False

    def path(self, rel: str) -> Path:
        """Host path of a context-relative path; refuses paths that leave the context."""
        posix = PurePosixPath(rel)
        if posix.is_absolute():
            posix = PurePosixPath(*posix.parts[1:])  # COPY sources are context-relative even with '/'
        parts: list[str] = []
        for part in posix.parts:
            if part == "..":
                if not parts:
                    raise ContextEscape(f"'{rel}' leaves the build context {self.root}")
                parts.pop()
            elif part != ".":
                parts.append(part)
        host = self.root.joinpath(*parts)
        root = self.root.resolve()
        try:
            real = host.resolve()
        except OSError as exc:  # symlink loops and the like
            raise ContextEscape(f"'{rel}' cannot be resolved: {exc}") from None
        if real != root and root not in real.parents:
            raise ContextEscape(f"'{rel}' resolves to {real}, outside the build context {root}")
        return host

    def exists(self, rel: str) -> bool:
        try:
            host = self.path(rel)
        except ContextEscape:
            return False
        if glob.has_magic(str(host)):
            return bool(glob.glob(str(host)))
        return host.exists()

    def is_dir(self, rel: str) -> bool:
        try:
            return self.path(rel).is_dir()
        except ContextEscape:
            return False

    def relative(self, host: Path) -> str:
        return PurePosixPath(os.path.relpath(host, self.root)).as_posix()


def repository_root(start: Path) -> Path | None:
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def infer_context(dockerfile: Path, sources: list[str], explicit: Path | None = None) -> BuildContext:
    """Pick the build context for ``dockerfile`` given the context-relative COPY ``sources``."""
    if explicit is not None:
        return BuildContext(explicit.resolve(), inferred=False)
    start = dockerfile.resolve().parent
    stop = repository_root(start)
    candidates = [start]
    for parent in start.parents:
        if stop is None or stop == parent or stop in parent.parents:
            candidates.append(parent)
        if parent == stop:
            break
    if stop is None:
        candidates = candidates[:4]  # outside a repository, do not wander far
    sources = [s for s in sources if s and "$" not in s]
    if not sources:
        return BuildContext(start, inferred=True)
    best, best_count = start, 0
    rels = [s.lstrip("/") for s in sources if ".." not in PurePosixPath(s).parts]
    for folder in candidates:
        # a cheap existence test is enough to choose; paths are checked strictly when used
        count = sum(1 for s in rels if (glob.glob(str(folder / s)) if glob.has_magic(s) else (folder / s).exists()))
        if count == len(rels):
            return BuildContext(folder, inferred=True)
        if count > best_count:
            best, best_count = folder, count
    return BuildContext(best, inferred=True)
