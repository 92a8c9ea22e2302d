"""Requirements files as the build context holds them: read through the loaded contents, includes
followed relative to the including file, as pip does. Pure."""

from __future__ import annotations

from pathlib import PurePath, PurePosixPath

from dockerlock.context import BuildContext, ContextEscape, context_relative
from dockerlock.diagnostics import LockError
from dockerlock.lockfile import RequirementLine, read_requirements


def context_requirements(ctx: BuildContext, path: str, *, constraint: bool = False
                         ) -> tuple[list[RequirementLine], set[str]]:
    """(lines, files that were needed but not loaded). Lines of an unreadable top-level file are
    empty; an unreadable include becomes a line with ``error`` set (``read_requirements``)."""
    missing: set[str] = set()

    def reader(file: PurePath) -> bytes:
        try:
            rel = context_relative(str(file))
        except ContextEscape as exc:
            raise LockError(str(exc), path=str(file)) from None
        text = ctx.text(rel)
        if text is None:
            if rel not in ctx.unreadable:
                missing.add(rel)
            raise LockError(f"requirements file {ctx.unreadable.get(rel, 'not found')}", path=ctx.show(rel))
        return text.encode("utf-8")

    try:
        lines = read_requirements(PurePosixPath(path), reader=reader, constraint=constraint)
    except LockError:
        return [], missing
    return lines, missing
