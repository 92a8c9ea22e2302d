"""The image as a target: its Python and platform, and whether a lock fits them.

``python_from_image`` / ``parse_python_version_file`` say which Python the image runs;
``check_python`` / ``check_platform`` compare a lock with it (marker environments, wheel tags).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from packaging.markers import Marker
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import (
    InvalidWheelFilename,
    parse_wheel_filename,
)
from packaging.version import Version

from dockerlock.diagnostics import ConfigError, Finding, Level
from dockerlock.lockfile.reading import read_capped

if TYPE_CHECKING:  # the lock parser is loaded only by runs that read a lock
    from dockerlock.lockfile.pylock import Lock, LockedPackage

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
    data = read_capped(path, 64 * 1024, what=".python-version", error=ConfigError)
    return python_version_from_text(data.decode("utf-8", errors="replace"))


def python_version_from_text(text: str) -> str | None:
    """The version a ``.python-version`` file's text pins (see ``parse_python_version_file``)."""
    for line in text.lstrip("\ufeff").splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        match = _VERSION_FILE_ENTRY.fullmatch(entry.split()[0].lower())
        return match.group(1) if match else None
    return None


_OFFICIAL_TAG = re.compile(r"([23](?:\.\d+){0,2})((?:a|b|rc)\d+)?(?:-.*)?")
_EMBEDDED_TAG = re.compile(r"(?:^|[-_])python-?(\d+\.\d+(?:\.\d+)?)(?=$|[-_])")


def python_from_image(image: str) -> str | None:
    """The CPython version a FROM image reference implies, or ``None`` when it does not say.

    * repositories named ``python`` (Docker Hub's official image under any registry or mirror):
      the tag's leading version: ``python:3.11-slim`` -> ``3.11``, ``python:3.11.9-bookworm`` ->
      ``3.11.9``; a pre-release gives its series: ``python:3.15.0a8-slim`` -> ``3.15``. ``python:3`` gives ``"3"``: the tag floats across minor releases, and
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
        if match and match.group(2):  # a pre-release (3.15.0a8): its series is what a lock targets
            return ".".join(match.group(1).split(".")[:2])
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
            f"{label} has no wheel for {target}{available}: it is built from its sdist at image build "
            "time (the lock cannot tell whether that needs a compiler; one with C extensions does)",
            path=where, line=package.line, hint=hint,
        )
    return Finding(
        "DLK211", Level.ERROR,
        f"{label} cannot be installed on {target}: no compatible wheel and no sdist{available}",
        path=where, line=package.line,
        hint=hint or "was the lock made without --universal, or for another platform?",
    )
