"""Read a PEP 751 ``pylock.toml`` and check that it fits the image that will install it.

Why this module exists: a Dockerfile migrated from ``pip install -r requirements.txt`` to
``uv pip sync pylock.toml`` moves the failure point. pip resolved inside the image, so a wheel that
did not exist for the image's platform or Python was found at build time, on the right machine. A lock
is resolved *elsewhere* (a laptop, CI) and can silently be wrong for the image: made for another Python
(``requires-python``), resolved for the host platform only (no ``--universal``: marker-gated packages
dropped, x86_64-only wheels on an arm64 build), or simply older than the requirements file it claims to
replace. Each of those is cheap to detect from the lock alone, before any image is built.

Layout, top to bottom:

* ``load_lock`` reads and validates (``tomllib`` + ``packaging.pylock``) into the small immutable
  ``Lock``/``LockedPackage`` model. Anything wrong with the file is a ``LockError`` naming the file,
  the TOML key path, the package and (best effort) the line; hostile input (huge, deeply nested,
  wrong types) fails the same way, never with a traceback or a hang.
* ``check_python`` / ``check_platform`` compare the lock with the image's Python and platform.
* ``read_requirements`` / ``check_drift`` compare the lock with the requirements files it was made from.

Every check returns ``Finding`` values with a stable ``DLK2xx`` code listed in ``CHECKS``; none raises
for a problem in the user's files (bad *arguments*, such as an unknown platform, raise ``ConfigError``).
"""

from __future__ import annotations

import bisect
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging import pylock as _pylock
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .diagnostics import ConfigError, DockerlockError, Finding, Level, LockError

__all__ = [
    "CHECKS",
    "MAX_LOCK_BYTES",
    "Lock",
    "LockedPackage",
    "RequirementLine",
    "check_drift",
    "check_platform",
    "check_python",
    "load_lock",
    "marker_environment",
    "parse_python_version_file",
    "python_from_image",
    "read_requirements",
    "stale_packages",
    "target_tags",
]

#: Every finding code this module emits, with the one-line description used in docs and ``--explain``.
CHECKS: dict[str, str] = {
    "DLK201": "The image's Python is outside the lock's requires-python.",
    "DLK202": "Only some patch (or minor) releases of the image's Python tag satisfy the lock's "
              "requires-python; pin the image tag more precisely.",
    "DLK203": "A locked package's requires-python excludes the image's Python.",
    "DLK204": "A locked package's requires-python excludes some releases of the image's Python tag.",
    "DLK210": "The lock's environments markers exclude the target platform/Python.",
    "DLK211": "A locked package has no wheel for the target platform and Python, and no sdist.",
    "DLK212": "A locked package has no wheel for the target; it would build from source "
              "(needs a compiler and headers in the image).",
    "DLK213": "A locked package installs from a VCS checkout; the build stage needs git.",
    "DLK214": "A locked package installs from a local directory; it must be in the build context.",
    "DLK215": "Wheel compatibility not checked: the image's Python version has no minor component.",
    "DLK220": "A requirement is missing from the lock.",
    "DLK221": "The locked version does not satisfy the requirement's specifier.",
    "DLK222": "The locked VCS source (URL, revision or commit) differs from the requirement.",
    "DLK223": "The locked direct-URL source differs from the requirement's URL.",
    "DLK224": "A constraint (-c) pins a version the lock does not have.",
    "DLK225": "A requirement asks for extras; the lock cannot show that their dependencies were locked.",
    "DLK226": "A requirement line uses an unresolved ${VAR}; it was checked only partially.",
    "DLK227": "A pre-release is locked although the requirement's specifier names none.",
    "DLK228": "A requirements line or included file cannot be read.",
    "DLK229": "A local-path or editable requirement was not compared with the lock.",
    "DLK230": "A locked package is needed by no requirement (only when the lock records dependencies).",
}

#: Refuse lock files larger than this before reading them (uv's locks for big apps are < 2 MB).
MAX_LOCK_BYTES = 50 * 1024 * 1024
#: Requirements files are read with the same cap; include chains deeper than this are refused.
MAX_REQUIREMENTS_BYTES = MAX_LOCK_BYTES
MAX_INCLUDE_DEPTH = 64

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
    where = str(path)
    if not _pylock.is_valid_pylock_path(path):
        raise LockError(
            f"{path.name!r} is not a pylock file name: PEP 751 requires 'pylock.toml' or "
            "'pylock.<name>.toml' with no dots in <name> (uv refuses other names)",
            path=where,
        )
    data = _read_capped(path, MAX_LOCK_BYTES, what="lock file", error=LockError)
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
    )


def _read_capped(path: Path, limit: int, *, what: str, error: type[DockerlockError]) -> bytes:
    """Read a regular file of at most ``limit`` bytes; refuse others before reading anything."""
    where = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"{what} not found", path=where) from None
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", path=where) from None
    # A FIFO or device would block or never end; a directory is a plain mistake.
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{what} is not a regular file", path=where)
    if info.st_size > limit:
        raise error(
            f"{what} is too large ({info.st_size / 2**20:.1f} MiB; the limit is "
            f"{limit / 2**20:.0f} MiB); refusing to parse it",
            path=where,
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", path=where) from None
    if len(data) > limit:
        raise error(f"{what} is larger than {limit / 2**20:.0f} MiB; refusing to parse it", path=where)
    return data


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


# --------------------------------------------------------------------------------------------------
# Target environment: Python version, platform, marker environments, wheel tags

_PYTHON_VERSION = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?")
# Samples used when the image names only a minor (3.11) or major (3) series: patch releases 0..30
# and minor releases 0..20 cover every CPython series released so far and the next few years.
_PATCH_SAMPLES = range(31)
_MINOR_SAMPLES = range(21)


def _python_parts(python_version: str) -> tuple[int, ...]:
    match = _PYTHON_VERSION.fullmatch(python_version.strip())
    if not match:
        raise ConfigError(f"not a Python version: {python_version!r} (expected e.g. 3.11 or 3.11.9)")
    return tuple(int(part) for part in match.groups() if part is not None)


def _python_series(parts: tuple[int, ...]) -> list[Version]:
    """The concrete CPython versions an image tag of this precision may contain."""
    if len(parts) == 3:
        return [Version(".".join(map(str, parts)))]
    if len(parts) == 2:
        return [Version(f"{parts[0]}.{parts[1]}.{patch}") for patch in _PATCH_SAMPLES]
    return [Version(f"{parts[0]}.{minor}.{patch}") for minor in _MINOR_SAMPLES for patch in _PATCH_SAMPLES]


_ARCHITECTURES = {
    "amd64": "x86_64", "x86_64": "x86_64",
    "arm64": "aarch64", "aarch64": "aarch64", "arm64/v8": "aarch64",
    "386": "i686", "i386": "i686", "i686": "i686",
    "arm/v7": "armv7l", "arm": "armv7l", "armv7l": "armv7l", "arm/v6": "armv6l",
    "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
}


def _architecture(platform: str) -> str:
    """``linux/amd64`` (Docker's spelling) -> ``x86_64`` (the wheel tag's and platform_machine's)."""
    os_name, _, arch = platform.strip().lower().partition("/")
    if os_name != "linux" or arch not in _ARCHITECTURES:
        raise ConfigError(
            f"unsupported platform {platform!r}: expected linux/<arch> with arch one of "
            "amd64, arm64, 386, arm/v7, ppc64le, s390x, riscv64"
        )
    return _ARCHITECTURES[arch]


def marker_environment(platform: str = "linux/amd64", python_version: str = "3.11") -> dict[str, str]:
    """The PEP 508 marker environment of a CPython Linux image (not of the host running dockerlock).

    With a two-part ``python_version`` the full version is taken as ``X.Y.0``; the checks below
    evaluate version-sensitive markers over the whole series instead of trusting that.
    """
    parts = _python_parts(python_version)
    if len(parts) < 2:
        raise ConfigError(f"a marker environment needs at least major.minor, got {python_version!r}")
    full = ".".join(map(str, parts + (0,) * (3 - len(parts))))
    return _environment(_architecture(platform), Version(full))


def _environment(machine: str, version: Version) -> dict[str, str]:
    full = str(version)
    return {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": "posix",
        "platform_machine": machine,
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": full,
        "platform_python_implementation": "CPython",
        "python_version": f"{version.major}.{version.minor}",
        "sys_platform": "linux",
    }


class _Target:
    """Marker environments for every Python version an image tag may contain, on one platform."""

    def __init__(self, platform: str, python_version: str) -> None:
        self.parts = _python_parts(python_version)
        self.machine = _architecture(platform)
        self.versions = _python_series(self.parts)
        self.full_envs = [_environment(self.machine, v) for v in self.versions]
        by_minor: dict[str, dict[str, str]] = {}
        for env in self.full_envs:
            by_minor.setdefault(env["python_version"], env)
        self.minor_envs = list(by_minor.values())

    def envs_for(self, marker: Marker) -> list[dict[str, str]]:
        # Only markers that look at the full version need every patch release evaluated.
        text = str(marker)
        if "python_full_version" in text or "implementation_version" in text:
            return self.full_envs
        return self.minor_envs

    def applies(self, marker: Marker | None, *, context: str = "lock_file") -> bool:
        """True if the marker holds for at least one Python the image tag may contain."""
        if marker is None:
            return True
        return any(_evaluate(marker, env, context) for env in self.envs_for(marker))

    def versions_where(self, marker: Marker | None) -> list[Version]:
        if marker is None:
            return self.versions
        envs = self.envs_for(marker)
        if envs is self.full_envs:
            return [v for v, env in zip(self.versions, self.full_envs) if _evaluate(marker, env, "lock_file")]
        minors = {env["python_version"] for env in envs if _evaluate(marker, env, "lock_file")}
        return [v for v in self.versions if f"{v.major}.{v.minor}" in minors]


def _evaluate(marker: Marker, env: Mapping[str, str], context: str) -> bool:
    environment: dict[str, Any] = dict(env)
    if context == "lock_file":
        environment.setdefault("extras", frozenset())
        environment.setdefault("dependency_groups", frozenset())
    elif context == "requirement":
        environment.setdefault("extra", "")
    try:
        return marker.evaluate(environment, context=context)  # type: ignore[arg-type]
    except Exception:
        # An undefined comparison (e.g. a non-version string) cannot be decided: assume the
        # package is installed, so the checks look at it rather than silently skip it.
        return True


def target_tags(platform: str = "linux/amd64", python_version: str = "3.11", libc: str = "glibc", *,
                glibc_version: tuple[int, int] = (2, 40),
                musl_version: tuple[int, int] = (1, 2)) -> frozenset[Tag]:
    """Wheel tags a CPython ``python_version`` image on ``platform`` accepts (not the host's tags).

    ``glibc`` targets take manylinux_2_x up to ``glibc_version`` (and the manylinux1/2010/2014
    aliases); ``musl`` targets (Alpine) take musllinux_1_x up to ``musl_version``. The bare
    ``linux_<arch>`` tag is deliberately excluded: it marks a wheel built on one machine for itself.
    """
    parts = _python_parts(python_version)
    if len(parts) < 2:
        raise ConfigError(f"wheel tags need at least major.minor, got {python_version!r}")
    machine = _architecture(platform)
    platforms: list[str] = []
    if libc == "glibc":
        oldest = 5 if machine in ("x86_64", "i686") else 17
        for minor in range(glibc_version[1], oldest - 1, -1):
            platforms.append(f"manylinux_2_{minor}_{machine}")
            alias = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}.get(minor)
            if alias == "manylinux2014" or (alias and machine in ("x86_64", "i686")):
                platforms.append(f"{alias}_{machine}")
    elif libc == "musl":
        for minor in range(musl_version[1], -1, -1):
            platforms.append(f"musllinux_{musl_version[0]}_{minor}_{machine}")
    else:
        raise ConfigError(f"unsupported libc {libc!r}: expected 'glibc' or 'musl'")
    python = (parts[0], parts[1])
    interpreter = f"cp{parts[0]}{parts[1]}"
    tags = set(cpython_tags(python_version=python, abis=[interpreter], platforms=platforms))
    tags.update(compatible_tags(python_version=python, interpreter=interpreter, platforms=platforms))
    return frozenset(tags)


# --------------------------------------------------------------------------------------------------
# Python version sources


_VERSION_FILE_ENTRY = re.compile(r"(?:cpython[-@]?)?(\d+(?:\.\d+){0,2})(?:-[A-Za-z0-9_.-]*)?")


def parse_python_version_file(path: Path) -> str | None:
    """The Python version a ``.python-version`` file pins (``3.11``, ``3.11.9``), or ``None``.

    Reads the first non-comment line, as pyenv and uv do; accepts uv's ``cpython-3.11`` and
    ``cpython-3.11.9-linux-x86_64-gnu`` spellings; ``pypy3.10``, ``system`` or a free-threaded
    ``3.13t`` yield ``None`` (they are not a CPython X.Y[.Z] dockerlock can check wheels for).
    A missing file also yields ``None``; an unreadable one raises ``ConfigError``.
    """
    path = Path(path)
    if not path.exists():
        return None
    data = _read_capped(path, 64 * 1024, what=".python-version", error=ConfigError)
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        match = _VERSION_FILE_ENTRY.fullmatch(entry.split()[0].lower())
        return match.group(1) if match else None
    return None


_OFFICIAL_TAG = re.compile(r"([23](?:\.\d+){0,2})(?:-.*)?")
_EMBEDDED_TAG = re.compile(r"(?:^|[-_])python-?(\d+\.\d+(?:\.\d+)?)(?=$|[-_])")


def python_from_image(image: str) -> str | None:
    """The CPython version a FROM image reference implies, or ``None`` when it does not say.

    * repositories named ``python`` (Docker Hub's official image under any registry or mirror):
      the tag's leading version: ``python:3.11-slim`` -> ``3.11``, ``python:3.11.9-bookworm`` ->
      ``3.11.9``. ``python:3`` gives ``"3"``: the tag floats across minor releases, and
      ``check_python`` treats it as the whole 3.x series (a warning when only some satisfy).
      ``python:latest``, ``python:slim`` or no tag give ``None`` (no version in the reference).
    * other images that embed it in the tag: ``tiangolo/uvicorn-gunicorn-fastapi:python3.11``,
      ``ghcr.io/astral-sh/uv:python3.12-bookworm-slim``.
    * anything else (``pytorch/pytorch:...``, references with unexpanded ``$ARG``s) -> ``None``.
    """
    reference = image.strip()
    if not reference or "$" in reference:
        return None
    reference = reference.split("@", 1)[0]  # digest
    last_slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon <= last_slash:
        return None  # no tag (the registry's port is before the last slash)
    repository, tag = reference[:colon], reference[colon + 1:]
    if repository.rsplit("/", 1)[-1].lower() == "python":
        match = _OFFICIAL_TAG.fullmatch(tag)
        return match.group(1) if match else None
    match = _EMBEDDED_TAG.search(tag.lower())
    return match.group(1) if match else None


# --------------------------------------------------------------------------------------------------
# Python checks


def _describe_subset(matching: list[Version], series: list[Version]) -> str:
    """Say which part of a floating series satisfies, in the series' own precision."""
    if len({(v.major, v.minor) for v in series}) > 1:  # a major-only tag: talk in minor versions
        # ...unless the boundary falls inside a minor series (">=3.11.5" -> "3.11.5", not "3.11").
        first = str(matching[0]) if matching[0].micro != series[0].micro else f"{matching[0].major}.{matching[0].minor}"
        last = str(matching[-1]) if matching[-1].micro != series[-1].micro else f"{matching[-1].major}.{matching[-1].minor}"
    else:
        first, last = str(matching[0]), str(matching[-1])
    if first == last:
        return f"only {first} satisfies it"
    if matching[-1] == series[-1]:
        return f"only {first} and later satisfy it"
    if matching[0] == series[0]:
        return f"only up to {last} satisfy it"
    return f"only {first} to {last} satisfy it"


def _series_name(parts: tuple[int, ...]) -> str:
    return ".".join(map(str, parts)) + ".x"


def check_python(lock: Lock, python_version: str, *, source: str,
                 platform: str = "linux/amd64") -> list[Finding]:
    """Compare the lock's and each installed package's ``requires-python`` with the image's Python.

    ``python_version`` may be ``3.11.9`` (exact), ``3.11`` (the image tag floats over patch releases:
    a specifier only some of them satisfy, such as ``>=3.11.5``, is a warning, not an error) or
    ``3`` (floats over minor releases). ``source`` says where the version came from, for messages.
    ``platform`` decides which marker-gated packages are installed and so checked.
    """
    target = _Target(platform, python_version)
    findings: list[Finding] = []
    where = str(lock.path)
    floating = len(target.parts) < 3
    if lock.requires_python is not None:
        matching = [v for v in target.versions if lock.requires_python.contains(v, prereleases=True)]
        if not matching:
            findings.append(Finding(
                "DLK201", Level.ERROR,
                f"{source} uses Python {python_version}, but the lock's requires-python is "
                f"{lock.requires_python!s}",
                path=where, line=lock.requires_python_line,
                hint="regenerate the lock with --python-version matching the image, or change the image",
            ))
        elif len(matching) < len(target.versions):
            findings.append(Finding(
                "DLK202", Level.WARNING,
                f"{source} uses Python {python_version}, which floats over {_series_name(target.parts)}; "
                f"the lock's requires-python is {lock.requires_python!s} and "
                f"{_describe_subset(matching, target.versions)}",
                path=where, line=lock.requires_python_line,
                hint="pin the Python version in the image tag precisely enough (e.g. python:3.11.9-slim)",
            ))
    if findings and findings[0].code == "DLK201":
        return findings  # every package check would only repeat it
    for package in lock.packages:
        if package.requires_python is None:
            continue
        installed_on = target.versions_where(package.marker)
        if not installed_on:
            continue  # the marker excludes this Python: the package is not installed at all
        matching = [v for v in installed_on if package.requires_python.contains(v, prereleases=True)]
        if not matching:
            findings.append(Finding(
                "DLK203", Level.ERROR,
                f"{package.describe()} ({package.key}) requires Python {package.requires_python!s}, "
                f"but {source} uses Python {python_version}",
                path=where, line=package.line,
            ))
        elif len(matching) < len(installed_on):
            findings.append(Finding(
                "DLK204", Level.WARNING,
                f"{package.describe()} ({package.key}) requires Python {package.requires_python!s}; "
                f"{source} uses Python {python_version} and {_describe_subset(matching, installed_on)}",
                path=where, line=package.line,
                hint="pin the full Python version in the image tag" if floating else None,
            ))
    return findings


# --------------------------------------------------------------------------------------------------
# Platform checks


def _url_filename(url: str | None) -> str | None:
    if not url:
        return None
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or None


def _summarise_tags(tag_sets: Iterable[frozenset[Tag]], limit: int = 6) -> str:
    platforms: dict[str, None] = {}
    interpreters: dict[str, None] = {}
    for tags in tag_sets:
        for tag in tags:
            platforms.setdefault(tag.platform, None)
            interpreters.setdefault(tag.interpreter, None)
    shown = list(platforms)[:limit]
    more = f" and {len(platforms) - limit} more" if len(platforms) > limit else ""
    return f"{', '.join(shown)}{more} (for {', '.join(sorted(interpreters))})"


def _wheel_gap_hint(tag_sets: Sequence[frozenset[Tag]], libc: str, target_python: str) -> str | None:
    platforms = {tag.platform for tags in tag_sets for tag in tags}
    interpreters = {tag.interpreter for tags in tag_sets for tag in tags}
    if libc == "glibc" and platforms and all(p.startswith("musllinux") for p in platforms):
        return "only musllinux (Alpine) wheels exist; this image uses glibc"
    if platforms and all(p.startswith("linux_") for p in platforms):
        return "a bare linux_<arch> wheel was built for one machine; lock a manylinux wheel or the sdist"
    if libc == "musl" and any(p.startswith("manylinux") for p in platforms):
        return "manylinux wheels need glibc; an Alpine (musl) image cannot use them"
    if interpreters and all(i.startswith("cp") for i in interpreters) and f"cp{target_python}" not in interpreters:
        return f"no wheel for CPython {target_python[0]}.{target_python[1:]}"
    return None


def check_platform(lock: Lock, platform: str = "linux/amd64", *, python_version: str,
                   libc: str = "glibc", glibc_version: tuple[int, int] = (2, 40),
                   musl_version: tuple[int, int] = (1, 2)) -> list[Finding]:
    """Check that every package the image installs can be installed there.

    For each package whose marker applies to ``platform`` and the image's Python: a compatible
    wheel must exist (error when there is neither one nor an sdist; warning when it would build from
    the sdist); VCS and directory entries get a note about what the build stage needs. A lock whose
    ``environments`` exclude the target is an error. ``python_version`` needs major.minor; with only
    a major version (``python:3``) the wheel check is skipped with a note.
    """
    target = _Target(platform, python_version)
    where = str(lock.path)
    findings: list[Finding] = []
    if lock.environments and not any(
        target.applies(marker, context="requirement") for marker in lock.environments
    ):
        findings.append(Finding(
            "DLK210", Level.ERROR,
            f"the lock is only for environments {' or '.join(repr(str(m)) for m in lock.environments)}, "
            f"which exclude {platform} with Python {python_version}",
            path=where, line=None,
            hint="regenerate it with `uv pip compile --universal` or for this platform",
        ))
    if len(target.parts) < 2:
        findings.append(Finding(
            "DLK215", Level.NOTE,
            f"wheel compatibility not checked: Python {python_version} names no minor version",
            path=where, hint="pin the image tag to a minor version (e.g. python:3.11-slim)",
        ))
        tags: frozenset[Tag] = frozenset()
    else:
        tags = target_tags(platform, python_version, libc,
                           glibc_version=glibc_version, musl_version=musl_version)
    python_nodot = f"{target.parts[0]}{target.parts[1]}" if len(target.parts) >= 2 else ""
    for package in lock.packages:
        if not target.applies(package.marker):
            continue
        label = f"{package.describe()} ({package.key})"
        if package.source_kind == "vcs":
            findings.append(Finding(
                "DLK213", Level.NOTE,
                f"{label} installs from {package.vcs_url or 'a VCS checkout'}: the build stage needs git",
                path=where, line=package.line,
                hint="install git in the stage that runs `uv pip sync`, or lock a built wheel instead",
            ))
            continue
        if package.source_kind == "directory":
            findings.append(Finding(
                "DLK214", Level.NOTE,
                f"{label} installs from the local directory {package.directory_path!r}"
                f"{' (editable)' if package.editable else ''}: it must be copied into the image before "
                "the lock is installed",
                path=where, line=package.line,
            ))
            continue
        if not tags:
            continue
        if package.source_kind == "archive":
            filename = package.archive_path or _url_filename(package.archive_url) or ""
            filename = filename.replace("\\", "/").rsplit("/", 1)[-1]
            try:
                archive_tags = [parse_wheel_filename(filename)[3]] if filename.endswith(".whl") else []
            except InvalidWheelFilename:
                archive_tags = []
            if archive_tags:
                if not archive_tags[0] & tags:
                    findings.append(_no_wheel(label, package, archive_tags, platform, python_version,
                                              libc, python_nodot, where, sdist=False))
            else:
                findings.append(_no_wheel(label, package, [], platform, python_version, libc,
                                          python_nodot, where, sdist=True))
            continue
        if any(wheel & tags for wheel in package.wheel_tags):
            continue
        findings.append(_no_wheel(label, package, list(package.wheel_tags), platform, python_version,
                                  libc, python_nodot, where, sdist=package.has_sdist))
    return findings


def _no_wheel(label: str, package: LockedPackage, tag_sets: list[frozenset[Tag]], platform: str,
              python_version: str, libc: str, python_nodot: str, where: str, *, sdist: bool) -> Finding:
    target = f"{platform} (CPython {python_version}, {libc})"
    available = f"; wheels exist for {_summarise_tags(tag_sets)}" if tag_sets else ""
    hint = _wheel_gap_hint(tag_sets, libc, python_nodot)
    if sdist:
        return Finding(
            "DLK212", Level.WARNING,
            f"{label} has no wheel for {target}{available}: it would build from source, which needs "
            "a compiler (and the library headers it links) in the image",
            path=where, line=package.line, hint=hint,
        )
    return Finding(
        "DLK211", Level.ERROR,
        f"{label} cannot be installed on {target}: no compatible wheel and no sdist{available}",
        path=where, line=package.line,
        hint=hint or "was the lock made without --universal, or for another platform?",
    )


# --------------------------------------------------------------------------------------------------
# Requirements files


@dataclass(frozen=True)
class RequirementLine:
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


def read_requirements(path: Path) -> list[RequirementLine]:
    """Read a requirements file and everything it includes with -r/-c, relative to each file.

    Follows pip's file format: backslash continuations, ``#`` comments (at line start or after
    whitespace), per-requirement ``--hash`` options, ``-e``/``--editable``, global options kept as
    ``option`` lines, ``${VAR}`` left unexpanded and flagged. An include cycle is read once. A line
    that cannot be parsed, or an include that cannot be read, becomes a line with ``error`` set;
    only an unreadable top-level file raises ``LockError``.
    """
    result: list[RequirementLine] = []
    _read_into(Path(path), is_constraint=False, seen=set(), depth=0, out=result)
    return result


def _read_into(path: Path, *, is_constraint: bool, seen: set[tuple[Path, bool]], depth: int,
               out: list[RequirementLine]) -> None:
    key = (path.resolve(), is_constraint)
    if key in seen:
        return
    seen.add(key)
    data = _read_capped(path, MAX_REQUIREMENTS_BYTES, what="requirements file", error=LockError)
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
            included = path.parent / target
            if depth >= MAX_INCLUDE_DEPTH:
                out.append(RequirementLine(path, number, None, is_constraint, text=line,
                                           error=f"includes nested deeper than {MAX_INCLUDE_DEPTH}"))
                continue
            try:
                _read_into(included, is_constraint=nested_constraint, seen=seen, depth=depth + 1, out=out)
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


# --------------------------------------------------------------------------------------------------
# Drift


def _names_prerelease(specifier: SpecifierSet) -> bool:
    for spec in specifier:
        try:
            if Version(spec.version.rstrip(".*")).is_prerelease:
                return True
        except InvalidVersion:
            continue
    return False


def _normal_url(url: str) -> str:
    """Compare URLs by what they fetch: no fragment, no credentials, no trailing / or .git, host lower."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/")
    if path.endswith(".git"):
        path = path[:-4]
    return f"{parts.scheme.lower()}://{host.lower()}{path}"


_VCS_PREFIX = re.compile(r"^(git|hg|svn|bzr)\+")


def _split_vcs(url: str) -> tuple[str, str | None]:
    """``git+https://host/x.git@rev#egg=x`` -> (normalised repository URL, revision or None).

    Lock entries spell the URL without the ``git+`` prefix (and the revision separately), so both
    sides go through here before comparing.
    """
    rest = _VCS_PREFIX.sub("", url.split("#", 1)[0])
    parts = urlsplit(rest)
    path = parts.path
    revision = None
    if "@" in path:
        path, revision = path.rsplit("@", 1)
    return _normal_url(parts._replace(path=path).geturl()), revision or None


def _is_vcs_url(url: str) -> bool:
    return bool(_VCS_PREFIX.match(url))


_COMMIT = re.compile(r"[0-9a-fA-F]{7,64}")


def _entry_applies(package: LockedPackage, environment: Mapping[str, str] | None) -> bool:
    return environment is None or package.marker is None or _evaluate(package.marker, environment, "lock_file")


def check_drift(requirements: list[RequirementLine], lock: Lock, *,
                environment: Mapping[str, str] | None = None) -> list[Finding]:
    """Check that the lock still satisfies the requirements files it stands in for.

    With ``environment`` (a full marker environment, see ``marker_environment``) requirements whose
    marker is false are skipped and only lock entries installed there count, and every such entry
    must satisfy the requirement. Without it the lock is taken as universal: every requirement must
    be locked, and it is enough that one of a name's entries satisfies it (uv splits a package by
    marker when different environments resolve differently, which this check cannot see through).
    The other direction (lock entries no requirement explains) needs the lock's dependency graph:
    see ``stale_packages``.
    """
    findings: list[Finding] = []
    for item in requirements:
        where, line = str(item.file), item.line
        if item.error is not None:
            if item.unresolved_vars:
                findings.append(Finding(
                    "DLK226", Level.WARNING,
                    f"{item.text!r} {item.error}; it was not compared with the lock",
                    path=where, line=line,
                ))
            else:
                findings.append(Finding("DLK228", Level.ERROR,
                                        f"cannot read requirement {item.text!r}: {item.error}",
                                        path=where, line=line))
            continue
        if item.option is not None:
            continue
        if item.requirement is None:
            if not item.is_constraint:
                findings.append(Finding(
                    "DLK229", Level.NOTE,
                    f"{'editable ' if item.editable else ''}local path requirement {item.path!r} was not "
                    "compared with the lock",
                    path=where, line=line,
                ))
            continue
        requirement = item.requirement
        if item.unresolved_vars:
            findings.append(Finding(
                "DLK226", Level.WARNING,
                f"{requirement.name} uses {_format_vars(item.unresolved_vars)}, expanded only at "
                "install time; its URL was not compared with the lock",
                path=where, line=line,
            ))
        if environment is not None and requirement.marker is not None and not _evaluate(
                requirement.marker, environment, "requirement"):
            continue
        entries = [p for p in lock.by_name(requirement.name) if _entry_applies(p, environment)]
        if item.is_constraint:
            findings.extend(_check_constraint(item, requirement, entries))
            continue
        if not entries:
            elsewhere = lock.by_name(requirement.name)
            detail = (f"; it is locked only for other environments ({', '.join(str(p.marker) for p in elsewhere)})"
                      if elsewhere else "")
            findings.append(Finding(
                "DLK220", Level.ERROR,
                f"{requirement} is required but {requirement.name} is not in {lock.path.name}{detail}",
                path=where, line=line, hint="regenerate the lock (dockerlock lock)",
            ))
            continue
        if requirement.extras:
            findings.append(Finding(
                "DLK225", Level.NOTE,
                f"{requirement.name} is required with extras [{', '.join(sorted(requirement.extras))}]; "
                "the lock does not record which extras its dependencies came from",
                path=where, line=line,
            ))
        findings.extend(_check_version(item, requirement, entries, universal=environment is None))
        if requirement.url and not item.unresolved_vars:
            findings.extend(_check_url(item, requirement, entries, universal=environment is None))
    return findings


def _check_version(item: RequirementLine, requirement: Requirement, entries: list[LockedPackage], *,
                   universal: bool) -> list[Finding]:
    specifier = requirement.specifier
    versioned = [p for p in entries if p.version is not None]
    if not str(specifier) or not versioned:
        return []
    inside = [p for p in versioned if specifier.contains(p.version, prereleases=True)]
    outside = [p for p in versioned if p not in inside]
    # Universal: one satisfying entry is enough (see check_drift); one environment: all must satisfy.
    bad = outside if not universal or not inside else []
    findings = [
        Finding(
            "DLK221", Level.ERROR,
            f"{requirement.name}{specifier} is required but the lock has {package.version} "
            f"({_lock_place(package)})",
            path=str(item.file), line=item.line, hint="regenerate the lock (dockerlock lock)",
        )
        for package in bad
    ]
    if not _names_prerelease(specifier):
        # pip and uv take a pre-release only when the specifier names one (or nothing else exists).
        prereleases = [p for p in inside if p.version is not None and p.version.is_prerelease]
        finals = [p for p in inside if p not in prereleases]
        for package in prereleases if not universal or not finals else []:
            findings.append(Finding(
                "DLK227", Level.WARNING,
                f"{requirement.name} {package.version} ({_lock_place(package)}) is a pre-release, but "
                f"{requirement.name}{specifier} names none",
                path=str(item.file), line=item.line,
                hint="pin the pre-release explicitly if it is intended",
            ))
    return findings


def _lock_place(package: LockedPackage) -> str:
    return f"{package.key}, line {package.line}" if package.line else package.key


def _check_url(item: RequirementLine, requirement: Requirement, entries: list[LockedPackage], *,
               universal: bool) -> list[Finding]:
    assert requirement.url is not None
    where, line = str(item.file), item.line
    problems: list[str] = []
    if _is_vcs_url(requirement.url):
        wanted_url, wanted_revision = _split_vcs(requirement.url)
        for package in entries:
            if package.source_kind != "vcs" or not package.vcs_url:
                origin = package.source_kind if package.source_kind in ("directory", "archive") else "an index"
                problems.append(f"{package.key} installs {package.describe()} from {origin}, not from git")
                continue
            locked_url, _ = _split_vcs(package.vcs_url)
            if locked_url != wanted_url:
                problems.append(f"{package.key} locks {package.vcs_url}, not {wanted_url}")
                continue
            if wanted_revision is None:
                continue
            commit = (package.vcs_commit or "").lower()
            if _COMMIT.fullmatch(wanted_revision):
                if not commit.startswith(wanted_revision.lower()):
                    problems.append(f"{package.key} locks commit {package.vcs_commit}, the requirement "
                                    f"pins {wanted_revision}")
            elif package.vcs_requested_revision not in (None, wanted_revision):
                problems.append(f"{package.key} was locked from revision {package.vcs_requested_revision!r}, "
                                f"the requirement asks for {wanted_revision!r}")
        code = "DLK222"
    else:
        wanted = _normal_url(requirement.url)
        wanted_name = _url_filename(requirement.url)
        for package in entries:
            locked = [u for u in (package.archive_url, package.sdist_url, *package.wheel_urls) if u]
            local = [p for p in (package.archive_path, package.directory_path) if p]
            if any(_normal_url(u) == wanted for u in locked):
                continue
            if requirement.url.startswith("file:") and any(
                    p.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] == (wanted_name or "") for p in local):
                continue
            source = locked[0] if locked else (local[0] if local else package.source_kind)
            problems.append(f"{package.key} locks {source}")
        code = "DLK223"
    matched = len(entries) - len(problems)
    if problems and (not universal or matched == 0):
        return [Finding(code, Level.ERROR,
                        f"{requirement.name} @ {requirement.url} is required but " + "; ".join(problems),
                        path=where, line=line, hint="regenerate the lock (dockerlock lock)")]
    return []


def _check_constraint(item: RequirementLine, requirement: Requirement,
                      entries: list[LockedPackage]) -> list[Finding]:
    # A constraint never adds a package: only entries that exist are checked.
    findings = []
    for package in entries:
        if package.version is None or not str(requirement.specifier):
            continue
        if not requirement.specifier.contains(package.version, prereleases=True):
            findings.append(Finding(
                "DLK224", Level.ERROR,
                f"constraint {requirement.name}{requirement.specifier} is violated: the lock has "
                f"{package.version} ({package.key})",
                path=str(item.file), line=item.line, hint="regenerate the lock (dockerlock lock)",
            ))
    return findings


def stale_packages(requirements: list[RequirementLine], lock: Lock) -> list[Finding] | None:
    """Lock entries that no requirement explains, or ``None`` when the lock cannot tell.

    Only decidable when every entry records ``dependencies`` (PEP 751 allows it; uv's
    ``pip compile`` output does not write it, so for uv locks this returns ``None``). Roots are the
    names in non-constraint requirement lines; local-path requirements have no name, so directory
    entries count as roots too.
    """
    if not lock.packages or any(p.dependencies is None for p in lock.packages):
        return None
    roots = {item.name for item in requirements
             if item.name is not None and not item.is_constraint and item.error is None}
    reachable: set[str] = set()
    pending = [p for p in lock.packages if p.normalized_name in roots or p.source_kind == "directory"]
    while pending:
        package = pending.pop()
        if package.normalized_name in reachable:
            continue
        reachable.add(package.normalized_name)
        for dependency in package.dependencies or ():
            if dependency not in reachable:
                pending.extend(lock.by_name(dependency))
    return [
        Finding("DLK230", Level.WARNING,
                f"{package.describe()} ({package.key}) is in the lock but no requirement needs it",
                path=str(lock.path), line=package.line,
                hint="regenerate the lock; stale entries are installed by `uv pip sync`")
        for package in lock.packages if package.normalized_name not in reachable
    ]
