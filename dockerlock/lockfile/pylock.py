"""Read and validate a PEP 751 ``pylock.toml`` into the small immutable ``Lock`` model.

Anything wrong with the file is a ``LockError`` naming the file, the TOML key path, the package and
(best effort) the line; hostile input (huge, deeply nested, wrong types) fails the same way, never
with a traceback or a hang.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging import pylock as _pylock
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import Version

from dockerlock.diagnostics import LockError
from dockerlock.lock_names import LockOrigin, origin_from_tool

from dockerlock.lockfile.reading import MAX_LOCK_BYTES, read_capped

SOURCE_KINDS = frozenset({"vcs", "directory", "archive", "sdist", "wheels", "sdist+wheels"})


# --------------------------------------------------------------------------------------------------
# Model


@dataclass(frozen=True)
class LockedPackage:
    """One ``[[packages]]`` entry, reduced to what the checks need."""

    name: str  # as written in the lock (PEP 751 requires it to be normalized already)
    normalized_name: NormalizedName
    version: Version | None
    marker: Marker | None
    requires_python: SpecifierSet | None
    source_kind: str  # one of SOURCE_KINDS
    vcs_url: str | None = None
    vcs_commit: str | None = None
    vcs_requested_revision: str | None = None
    directory_path: str | None = None
    editable: bool = False
    archive_url: str | None = None
    archive_path: str | None = None
    sdist_url: str | None = None
    wheel_urls: tuple[str, ...] = ()
    wheel_files: tuple[str, ...] = ()
    wheel_tags: tuple[frozenset[Tag], ...] = ()  # one set per wheel, same order as wheel_files
    has_sdist: bool = False
    local_paths: tuple[str, ...] = ()  # every `path` the installer may read, relative to the lock
    dependencies: tuple[NormalizedName, ...] | None = None  # None: the lock does not say
    index: int = 0  # position in `packages`
    line: int | None = None

    @property
    def key(self) -> str:
        """``packages[i]``: the TOML key path of this entry, for messages."""
        return f"packages[{self.index}]"

    def describe(self) -> str:
        version = f" {self.version}" if self.version is not None else ""
        return f"{self.name}{version}"


@dataclass(frozen=True)
class Lock:
    """A validated pylock file."""

    path: Path
    requires_python: SpecifierSet | None
    environments: tuple[Marker, ...]
    packages: tuple[LockedPackage, ...]
    created_by: str
    lock_version: str = "1.0"
    default_groups: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    requires_python_line: int | None = None
    #: What ``dockerlock lock`` recorded in ``[tool.dockerlock]``: the requirements files and the
    #: target the lock was compiled for (None for a lock made another way).
    origin: LockOrigin | None = None

    @property
    def has_vcs(self) -> bool:
        return any(p.source_kind == "vcs" for p in self.packages)

    @property
    def has_directory(self) -> bool:
        return any(p.source_kind == "directory" for p in self.packages)

    @property
    def local_paths(self) -> tuple[str, ...]:
        """Local paths (directory entries, and archives/sdists/wheels given by ``path``), as written.

        They are relative to the lock file's directory; the Dockerfile must COPY them into the image
        next to the lock before ``uv pip sync`` runs.
        """
        seen: dict[str, None] = {}
        for package in self.packages:
            for path in package.local_paths:
                seen.setdefault(path, None)
        return tuple(seen)

    def by_name(self, name: str) -> list[LockedPackage]:
        """All entries for a project (universal locks may hold several, split by marker)."""
        wanted = canonicalize_name(name)
        return [p for p in self.packages if p.normalized_name == wanted]


# --------------------------------------------------------------------------------------------------
# Loading


def load_lock(path: Path) -> Lock:
    """Read and validate a pylock file; raise ``LockError`` (file, key path, package, line) if invalid."""
    path = Path(path)
    _check_name(path)
    return parse_lock(read_capped(path, MAX_LOCK_BYTES, what="lock file", error=LockError), path)


def parse_lock(data: bytes, path: Path) -> Lock:
    """Validate the bytes of a pylock file read from ``path`` (pure; see ``load_lock``)."""
    path = Path(path)
    where = str(path)
    _check_name(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LockError(
            f"not UTF-8 text (byte {exc.start}); TOML files must be UTF-8",
            path=where, line=data.count(b"\n", 0, exc.start) + 1,
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LockError(f"not valid TOML: {exc}", path=where, line=_toml_error_line(exc)) from None
    except RecursionError:
        raise LockError("not readable: tables or arrays are nested too deeply", path=where) from None
    lines = _TomlLines(text)

    try:
        pylock = _pylock.Pylock.from_dict(raw)
        pylock.validate()
    except _pylock.PylockUnsupportedVersionError as exc:
        raise LockError(
            f"unsupported lock-version: {exc.message}; dockerlock reads PEP 751 lock-version 1.x",
            path=where, line=lines.locate(raw, "lock-version"),
        ) from None
    except _pylock.PylockValidationError as exc:
        raise _validation_error(exc.message, exc.context, raw, lines, where) from None
    except RecursionError:
        raise LockError("not a valid pylock: values are nested too deeply", path=where) from None
    except Exception as exc:  # packaging should only raise the two above; never leak a traceback
        raise LockError(f"not a valid pylock: {type(exc).__name__}: {exc}", path=where) from None

    package_lines = lines.package_lines(raw)
    packages = tuple(
        _locked_package(i, pkg, raw["packages"][i], package_lines[i])
        for i, pkg in enumerate(pylock.packages)
    )
    return Lock(
        path=path,
        requires_python=pylock.requires_python,
        environments=tuple(pylock.environments or ()),
        packages=packages,
        created_by=pylock.created_by,
        lock_version=str(pylock.lock_version),
        default_groups=tuple(pylock.default_groups or ()),
        raw=raw,
        requires_python_line=lines.locate(raw, "requires-python"),
        origin=origin_from_tool(raw.get("tool") if isinstance(raw.get("tool"), Mapping) else None),
    )


def _check_name(path: Path) -> None:
    if not _pylock.is_valid_pylock_path(path):
        raise LockError(
            f"{path.name!r} is not a pylock file name: PEP 751 requires 'pylock.toml' or "
            "'pylock.<name>.toml' with no dots in <name> (uv refuses other names)",
            path=str(path),
        )


_TOML_ERROR_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def _toml_error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    lineno = getattr(exc, "lineno", None)  # Python >= 3.14
    if isinstance(lineno, int):
        return lineno
    match = _TOML_ERROR_LINE.search(str(exc))
    return int(match.group(1)) if match else None


_CONTEXT_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def _parse_context(context: str) -> list[tuple[str, list[int]]]:
    """``packages[3].wheels[0].hashes`` -> [("packages", [3]), ("wheels", [0]), ("hashes", [])]."""
    segments = []
    for match in _CONTEXT_SEGMENT.finditer(context):
        indexes = [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
        segments.append((match.group(1), indexes))
    return segments


def _validation_error(message: str, context: str | None, raw: Mapping[str, Any],
                      lines: "_TomlLines", where: str) -> LockError:
    if not context:
        return LockError(f"not a valid pylock: {message}", path=where)
    segments = _parse_context(context)
    package_note = ""
    if segments and segments[0][0] == "packages" and segments[0][1]:
        index = segments[0][1][0]
        name = _raw_package_name(raw, index)
        package_note = f" (package {name!r})" if name else f" (package #{index + 1}, name unreadable)"
    # Location first: some messages (marker syntax) end in a multi-line caret diagram.
    return LockError(
        f"not a valid pylock: {context}{package_note}: {message}",
        path=where, line=lines.locate(raw, context),
    )


def _raw_package_name(raw: Mapping[str, Any], index: int) -> str | None:
    packages = raw.get("packages")
    if isinstance(packages, list) and 0 <= index < len(packages):
        entry = packages[index]
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            return entry["name"]
    return None


class _TomlLines:
    """Best-effort mapping from TOML key paths to line numbers.

    tomllib keeps no positions and tomlkit's positions are internal, so this scans the text for
    table headers and ``key =`` lines. It is right for the layouts uv and hand-written locks use
    (``[[packages]]`` blocks with inline tables); anything else yields ``None``, never a wrong crash.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]#]+?)\s*\]\]?\s*(?:#.*)?$")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[int, str, bool]] = []  # (0-based line, dotted name, is array)
        for number, line in enumerate(self.lines):
            if "[" not in line:
                continue
            match = self._HEADER.match(line)
            if match:
                name = re.sub(r"\s*\.\s*", ".", match.group(2)).replace('"', "")
                self.headers.append((number, name, match.group(1) == "[["))
        self._text = text
        self._line_starts = [0]
        for match in re.finditer("\n", text):
            self._line_starts.append(match.end())

    def _package_blocks(self) -> list[tuple[int, int]]:
        blocks: list[tuple[int, int]] = []
        for position, (number, name, is_array) in enumerate(self.headers):
            if name == "packages" and is_array:
                end = len(self.lines)
                for later_number, later_name, _ in self.headers[position + 1:]:
                    if not later_name.startswith("packages."):
                        end = later_number
                        break
                blocks.append((number, end))
        return blocks

    def package_lines(self, raw: Mapping[str, Any]) -> list[int | None]:
        """1-based line of each package entry (header line, or its ``name =`` line)."""
        packages = raw.get("packages") or []
        blocks = self._package_blocks()
        if len(blocks) == len(packages):
            return [start + 1 for start, _ in blocks]
        # Inline `packages = [{ name = ... }, ...]`: find each name in order.
        result: list[int | None] = []
        offset = 0
        for entry in packages:
            name = entry.get("name") if isinstance(entry, Mapping) else None
            found = None
            if isinstance(name, str):
                match = re.compile(r"\bname\s*=\s*[\"']" + re.escape(name) + r"[\"']").search(
                    self._text, offset)
                if match:
                    offset = match.end()
                    found = bisect.bisect_right(self._line_starts, match.start())
            result.append(found)
        return result

    def _key_line(self, key: str, start: int, end: int) -> int | None:
        pattern = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
        for number in range(start, min(end, len(self.lines))):
            if pattern.match(self.lines[number]):
                return number
        return None

    def locate(self, raw: Mapping[str, Any], context: str) -> int | None:
        segments = _parse_context(context)
        if not segments:
            return None
        first_key, first_indexes = segments[0]
        if first_key == "packages" and first_indexes:
            index = first_indexes[0]
            package_lines = self.package_lines(raw)
            if not 0 <= index < len(package_lines) or package_lines[index] is None:
                return None
            package_line = package_lines[index] - 1
            blocks = self._package_blocks()
            if len(blocks) != len(package_lines) or len(segments) < 2:
                return package_line + 1
            start, end = blocks[index]
            key, indexes = segments[1]
            sub_headers = [n for n, name, _ in self.headers
                           if start <= n < end and name == f"packages.{key}"]
            if sub_headers:
                position = indexes[0] if indexes else 0
                return sub_headers[min(position, len(sub_headers) - 1)] + 1
            key_line = self._key_line(key, start, end)
            if key_line is None:
                return package_line + 1
            # A multi-line array (`wheels = [` then one item per line): point at the item.
            if indexes and self.lines[key_line].rstrip().endswith("["):
                item_line = key_line + 1 + indexes[0]
                if item_line < end and self.lines[item_line].lstrip().startswith("{"):
                    return item_line + 1
            return key_line + 1
        # A top-level key: before the first table header, or a [key] / [[key]] table.
        first_header = self.headers[0][0] if self.headers else len(self.lines)
        key_line = self._key_line(first_key, 0, first_header)
        if key_line is not None:
            return key_line + 1
        for number, name, _ in self.headers:
            if name == first_key:
                return number + 1
        return None


def _locked_package(index: int, pkg: _pylock.Package, raw: Mapping[str, Any],
                    line: int | None) -> LockedPackage:
    local_paths: list[str] = []
    vcs_url = vcs_commit = vcs_revision = directory_path = archive_url = archive_path = None
    sdist_url = None
    editable = False
    if pkg.vcs is not None:
        kind = "vcs"
        vcs_url, vcs_commit, vcs_revision = pkg.vcs.url, pkg.vcs.commit_id, pkg.vcs.requested_revision
        if pkg.vcs.path:
            local_paths.append(pkg.vcs.path)
    elif pkg.directory is not None:
        kind = "directory"
        directory_path = pkg.directory.path
        editable = bool(pkg.directory.editable)
        local_paths.append(pkg.directory.path)
    elif pkg.archive is not None:
        kind = "archive"
        archive_url, archive_path = pkg.archive.url, pkg.archive.path
        if pkg.archive.path:
            local_paths.append(pkg.archive.path)
    elif pkg.sdist is not None and pkg.wheels:
        kind = "sdist+wheels"
    elif pkg.sdist is not None:
        kind = "sdist"
    else:
        kind = "wheels"
    if pkg.sdist is not None:
        sdist_url = pkg.sdist.url
        if pkg.sdist.path and not pkg.sdist.url:
            local_paths.append(pkg.sdist.path)
    wheel_files: list[str] = []
    wheel_tags: list[frozenset[Tag]] = []
    wheel_urls: list[str] = []
    for wheel in pkg.wheels or ():
        filename = wheel.filename  # the `name` key, else the URL's or path's last segment
        wheel_files.append(filename)
        wheel_tags.append(parse_wheel_filename(filename)[3])  # validated by packaging already
        if wheel.url:
            wheel_urls.append(wheel.url)
        elif wheel.path:
            local_paths.append(wheel.path)
    dependencies = None
    if pkg.dependencies is not None:
        dependencies = tuple(
            canonicalize_name(dep["name"]) for dep in pkg.dependencies
            if isinstance(dep.get("name"), str)
        )
    return LockedPackage(
        name=str(raw.get("name", pkg.name)),
        normalized_name=canonicalize_name(pkg.name),
        version=pkg.version,
        marker=pkg.marker,
        requires_python=pkg.requires_python,
        source_kind=kind,
        vcs_url=vcs_url,
        vcs_commit=vcs_commit,
        vcs_requested_revision=vcs_revision,
        directory_path=directory_path,
        editable=editable,
        archive_url=archive_url,
        archive_path=archive_path,
        sdist_url=sdist_url,
        wheel_urls=tuple(wheel_urls),
        wheel_files=tuple(wheel_files),
        wheel_tags=tuple(wheel_tags),
        has_sdist=pkg.sdist is not None,
        local_paths=tuple(local_paths),
        dependencies=dependencies,
        index=index,
        line=line,
    )
