"""Read requirements files the way pip does: continuations, comments, includes, options, hashes.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from pathlib import Path, PurePath, PurePosixPath
from typing import NamedTuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    NormalizedName,
    canonicalize_name,
)

from dockerlock.diagnostics import LockError
from dockerlock.lockfile.reading import MAX_INCLUDE_DEPTH, MAX_REQUIREMENTS_BYTES, read_capped

# --------------------------------------------------------------------------------------------------
# Requirements files


class RequirementLine(NamedTuple):
    """One logical line of a requirements or constraints file (continuations joined)."""

    file: Path
    line: int  # 1-based, first physical line
    requirement: Requirement | None  # None for options, bare local paths and unreadable lines
    is_constraint: bool = False
    text: str = ""  # the logical line without its comment
    editable: bool = False
    option: str | None = None  # a global option line, e.g. "--index-url https://..."
    path: str | None = None  # a bare local path requirement (".", "./pkg", "dist/x.whl")
    unresolved_vars: tuple[str, ...] = ()  # ${VAR} references pip/uv would expand at install time
    hashes: tuple[str, ...] = ()
    error: str | None = None  # why this line (or the file it includes) could not be read

    @property
    def name(self) -> NormalizedName | None:
        return canonicalize_name(self.requirement.name) if self.requirement else None


_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")  # pip expands exactly this form
_OPTION_START = re.compile(r"(?:^|\s)(--?[A-Za-z][\w-]*)")
# `-r file`, `-rfile`, `--requirement file`, `--requirement=file` (pip's optparse spellings).
_INCLUDE = re.compile(r"^(?:(-r|-c)\s*|(--requirement|--constraint)(?:\s*=\s*|\s+))(\S.*)$")
_EDITABLE = re.compile(r"^(?:-e\s*|--editable(?:\s*=\s*|\s+))(\S.*)$")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_HASH = re.compile(r"--hash(?:\s*=\s*|\s+)(\S+)")


#: Reads one requirements file's bytes; raises ``LockError`` when it cannot.
Reader = Callable[[PurePath], bytes]


def read_requirements(path: PurePath, *, reader: Reader | None = None,
                      constraint: bool = False) -> list[RequirementLine]:
    """Read a requirements file and everything it includes with -r/-c, relative to each file.

    Follows pip's file format: backslash continuations, ``#`` comments (at line start or after
    whitespace), per-requirement ``--hash`` options, ``-e``/``--editable``, global options kept as
    ``option`` lines, ``${VAR}`` left unexpanded and flagged. An include cycle is read once. A line
    that cannot be parsed, or an include that cannot be read, becomes a line with ``error`` set;
    only an unreadable top-level file raises ``LockError``. ``reader`` supplies file contents
    (default: the file system); paths are then compared as written, normalised. ``constraint``
    reads the file as a ``-c`` constraints file.
    """
    result: list[RequirementLine] = []
    _read_into(PurePath(path) if reader else Path(path), is_constraint=constraint, seen=set(), depth=0,
               out=result, reader=reader)
    return result


def _read_file(path: PurePath) -> bytes:
    return read_capped(Path(path), MAX_REQUIREMENTS_BYTES, what="requirements file", error=LockError)


def _read_into(path: PurePath, *, is_constraint: bool, seen: set[tuple[object, bool]], depth: int,
               out: list[RequirementLine], reader: Reader | None) -> None:
    key = (Path(path).resolve() if reader is None else PurePosixPath(posixpath.normpath(str(path))), is_constraint)
    if key in seen:
        return
    seen.add(key)
    data = (reader or _read_file)(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LockError(f"requirements file is not UTF-8 (byte {exc.start})", path=str(path),
                        line=data.count(b"\n", 0, exc.start) + 1) from None
    for number, logical in _logical_lines(text):
        line = _COMMENT.sub("", logical).strip()
        if not line:
            continue
        include = _INCLUDE.match(line)
        if include:
            flag, target = include.group(1) or include.group(2), include.group(3).strip()
            nested_constraint = flag in ("-c", "--constraint")
            if _ENV_VAR.search(target) or "://" in target:
                out.append(RequirementLine(path, number, None, is_constraint, text=line,
                                           unresolved_vars=tuple(_ENV_VAR.findall(target)),
                                           error=f"cannot follow include {target!r}"
                                                 " (only local files without ${VAR}s)"))
                continue
            included = type(path)(posixpath.normpath(str(path.parent / target))) if reader else path.parent / target
            if depth >= MAX_INCLUDE_DEPTH:
                out.append(RequirementLine(path, number, None, is_constraint, text=line,
                                           error=f"includes nested deeper than {MAX_INCLUDE_DEPTH}"))
                continue
            try:
                _read_into(included, is_constraint=nested_constraint, seen=seen, depth=depth + 1, out=out,
                           reader=reader)
            except LockError as exc:
                out.append(RequirementLine(path, number, None, is_constraint, text=line,
                                           error=f"cannot read included file {target!r}: {exc.reason}"))
            continue
        out.append(_parse_line(path, number, line, is_constraint))


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Join backslash-continued physical lines as pip does, keeping the first line's number.

    Like pip, a line that *starts* with a comment never continues, while ``foo  # note \\`` does
    (and the comment then swallows the joined text).
    """
    buffer: list[str] = []
    start = 1
    for number, physical in enumerate(text.splitlines(), start=1):
        if not buffer:
            start = number
        if physical.endswith("\\") and not _COMMENT.match(physical):
            buffer.append(physical[:-1])
            continue
        buffer.append(physical)
        yield start, "".join(buffer)
        buffer = []
    if buffer:
        yield start, "".join(buffer)


def _looks_like_path(text: str) -> bool:
    return (text.startswith((".", "/", "~", "file:")) or "/" in text or "\\" in text
            or text.endswith((".whl", ".tar.gz", ".zip")))


def _parse_line(path: Path, number: int, line: str, is_constraint: bool) -> RequirementLine:
    variables = tuple(dict.fromkeys(_ENV_VAR.findall(line)))
    editable = _EDITABLE.match(line)
    if editable:
        line_body = editable.group(1).strip()
        requirement = _vcs_or_named(line_body)
        if requirement is None:
            return RequirementLine(path, number, None, is_constraint, text=line, editable=True,
                                   path=line_body, unresolved_vars=variables)
        return RequirementLine(path, number, requirement, is_constraint, text=line, editable=True,
                               unresolved_vars=variables)
    if line.startswith("-"):
        return RequirementLine(path, number, None, is_constraint, text=line, option=line,
                               unresolved_vars=variables)
    # Per-requirement options (--hash, --config-settings...) start at the first " -x"/" --x" token.
    body, options = line, ""
    match = _OPTION_START.search(line)
    while match is not None:
        if match.start() > 0:
            body, options = line[:match.start()].strip(), line[match.start():]
            break
        match = _OPTION_START.search(line, match.end())
    hashes = tuple(_HASH.findall(options))
    requirement = None
    error = None
    try:
        requirement = Requirement(body)
    except InvalidRequirement as exc:
        requirement = _vcs_or_named(body)
        if requirement is None:
            if variables:
                error = f"contains {_format_vars(variables)}, which only pip/uv expand at install time"
            elif _looks_like_path(body):
                return RequirementLine(path, number, None, is_constraint, text=line, path=body,
                                       hashes=hashes)
            else:
                error = str(exc).splitlines()[0]
    return RequirementLine(path, number, requirement, is_constraint, text=line,
                           unresolved_vars=variables, hashes=hashes, error=error)


def _format_vars(names: Iterable[str]) -> str:
    return ", ".join("${" + name + "}" for name in names)


def _vcs_or_named(text: str) -> Requirement | None:
    """``git+https://...#egg=name`` (or ``name @ url``) -> a named requirement; else None."""
    try:
        return Requirement(text)
    except InvalidRequirement:
        pass
    egg = _EGG.search(text)
    if egg and "://" in text:
        url = text[:egg.start()] if text[egg.start()] == "#" else text
        try:
            return Requirement(f"{egg.group(1)} @ {url}")
        except InvalidRequirement:
            return None
    return None
