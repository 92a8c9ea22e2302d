"""Which locks ``dockerlock lock`` writes: from requirements files, or from Dockerfiles.

* Requirements files given together make *one* lock covering them together, named by the rule
  migrate uses (``lock_name``): ``requirements.txt`` + ``requirements-dev.txt`` ->
  ``pylock.dev+requirements.toml``. Python: ``--python-version``, else the nearest
  ``.python-version`` from the lock's folder up to the repository root.
* Dockerfiles (or folders of them) make one lock per pip requirements install, exactly the one
  migrate will look for (``lock_targets``): same files, same path, the image's Python and
  platform, run from the build context root so relative includes resolve as pip's would.
  Installs that share a lock path with the same inputs are locked once; different inputs for
  one path are an error naming both places, and that lock is not written.

Planning reads Dockerfiles and ``.python-version`` files but runs nothing; ``LockJob`` values
go to ``compile_lock`` / ``lock_is_stale``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from dockerlock.context import ContextEscape
from dockerlock.diagnostics import ConfigError, DockerlockError, LockError
from dockerlock.loading import ContextLoader, repository_root
from dockerlock.lockfile import parse_python_version_file
from dockerlock.locking.compile import default_output, relative_to_lock
from dockerlock.locking.image import GLIBC, ImageTarget, libc_of, parse_platform
from dockerlock.settings import Settings

PYTHON_HINT = "pass --python-version X.Y (the image's Python), or add a .python-version file"


@dataclass(frozen=True)
class PlatformChoice:
    """What the command line says about the target: ``--python-platform``, ``--universal``."""

    platform: str | None = None  # Docker's spelling or a uv Linux value; None: the image's / linux/amd64
    universal: bool = False

    def target(self, python: str | None, image_platform: str = "linux/amd64", image_libc: str = GLIBC) -> ImageTarget:
        if self.universal:
            return ImageTarget(python, universal=True)
        if self.platform is None:
            return ImageTarget(python, image_platform, libc=image_libc)
        docker, uv = parse_platform(self.platform)
        if "/" in self.platform:  # Docker's spelling names no C library: the image's still applies
            return ImageTarget(python, docker, libc=image_libc)
        return ImageTarget(python, docker, uv_platform=uv, libc=libc_of(uv))

    def flags(self) -> list[str]:
        if self.universal:
            return ["--universal"]
        return ["--python-platform", self.platform] if self.platform else []


@dataclass(frozen=True)
class LockJob:
    """One lock to write: the files installed together, the target, where it goes."""

    output: Path
    requirements: tuple[Path, ...]
    target: ImageTarget
    constraints: tuple[Path, ...] = ()
    cwd: Path | None = None  # where uv runs: the build context root for a Dockerfile's install
    sources: tuple[str, ...] = ()  # where it comes from (``backend/Dockerfile:7``), for messages
    header: str | None = None  # the dockerlock command written into the lock's header
    label: str = ""  # the lock as messages name it (context-relative for a Dockerfile's install)
    index_args: tuple[str, ...] = ()  # the pip step's package sources (``--extra-index-url URL``...)

    def same_inputs(self, other: "LockJob") -> bool:
        return self.difference(other) is None

    def difference(self, other: "LockJob") -> str | None:
        """How ``other`` would make a different lock at the same path; None when it would not."""
        if self.target != other.target:
            return f"{self.target.describe()} vs {other.target.describe()}"
        if set(self.requirements) != set(other.requirements):
            return f"requirements {_names(self.requirements)} vs {_names(other.requirements)}"
        if self.index_args != other.index_args:
            return f"sources {' '.join(self.index_args) or 'PyPI'} vs {' '.join(other.index_args) or 'PyPI'}"
        if set(self.constraints) != set(other.constraints):
            return f"constraints {_names(self.constraints) or '(none)'} vs {_names(other.constraints) or '(none)'}"
        if self.cwd != other.cwd:
            return f"build context {self.cwd} vs {other.cwd}"
        return None


def _names(paths: Iterable[Path]) -> str:
    return ", ".join(sorted(p.name for p in paths))


@dataclass(frozen=True)
class Skipped:
    """An install left alone, and why (the refusal migrate would give)."""

    where: str
    reason: str


@dataclass
class LockPlan:
    jobs: list[LockJob] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[DockerlockError] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# Python versions


def nearest_python_version(folder: Path) -> tuple[str | None, Path | None]:
    """The version in the nearest ``.python-version`` from ``folder`` up to the repository root
    (outside a repository: ``folder`` only), and the file it came from."""
    start = Path(folder).absolute()
    stop = repository_root(start)
    for here in (start, *start.parents):
        candidate = here / ".python-version"
        if candidate.is_file():
            return parse_python_version_file(candidate), candidate
        if stop is None or here == stop:
            break
    return None, None


def _combine_python(image: str | None, flag: str | None) -> str | None:
    """The image's Python, made precise by ``--python-version`` when the image says less
    (``python:3`` + ``3.12``); a flag that contradicts the image is an error."""
    if flag is None or image is None:
        return flag or image
    if flag == image or flag.startswith(image + "."):
        return flag
    if image.startswith(flag + "."):
        return image
    raise ConfigError(f"--python-version {flag} contradicts the image's Python {image}",
                      hint="leave --python-version out; the image decides")


# --------------------------------------------------------------------------------------------------
# Requirements files


def plan_requirements_lock(paths: Sequence[Path], *, output: Path | None = None, python: str | None = None,
                           choice: PlatformChoice = PlatformChoice(), extra_flags: Sequence[str] = ()) -> LockJob:
    """One lock for requirements files installed together. Raises ``DockerlockError`` when a
    file is missing, they live in different folders without ``output``, or no Python is known."""
    files = list(dict.fromkeys(Path(p) for p in paths))
    if any(p.is_absolute() for p in files):
        files = list(dict.fromkeys(p.absolute() for p in files))
    for path in files:
        if not path.is_file():
            raise LockError("requirements file not found", path=str(path))
    lock = Path(output) if output is not None else default_output(files)
    source = None
    if python is None:
        python, source = nearest_python_version(lock.parent)
    if python is None and not choice.universal:
        where = f" ({source} names no CPython X.Y)" if source else ""
        raise ConfigError(f"no Python version to lock for{where}", hint=PYTHON_HINT)
    target = choice.target(python)
    header = ["dockerlock", "lock", *(relative_to_lock(lock, f) for f in files)]
    if output is not None:
        header += ["-o", lock.name]
    if python and source is None:
        header += ["--python-version", python]
    return LockJob(lock, tuple(files), target, header=shlex.join([*header, *choice.flags(), *extra_flags]),
                   sources=tuple(str(f) for f in files))


# --------------------------------------------------------------------------------------------------
# Dockerfiles


def plan_dockerfile_locks(paths: Sequence[Path], settings: Settings, *, python: str | None = None,
                          choice: PlatformChoice = PlatformChoice(),
                          extra_flags: Sequence[str] = ()) -> LockPlan:
    """The locks migrate will look for, for every pip requirements install in ``paths``."""
    from dockerlock.lock_targets import lock_targets
    from dockerlock.model import Dockerfile
    from dockerlock.runner import discover, read_dockerfile

    plan = LockPlan()
    candidates: list[LockJob] = []
    found = discover(paths, settings)
    files = found.files
    loader = ContextLoader()
    plan.errors.extend(o.error for o in found.unsearchable if o.error is not None)
    if not files:
        plan.errors.append(ConfigError("no Dockerfiles found under " + ", ".join(str(p) for p in paths)))
        return plan
    for path in files:
        try:
            df = Dockerfile.from_bytes(read_dockerfile(path), str(path))
            context = loader.load(path, df, settings)
            targets = lock_targets(df, context, settings)
        except DockerlockError as exc:
            plan.errors.append(exc.with_path(str(path)))
            continue
        for target in targets:
            where = f"{target.dockerfile}:{target.line}"
            if target.refusal is not None:
                plan.skipped.append(Skipped(where, target.refusal))
                continue
            if target.lock is None or not target.requirements:
                plan.skipped.append(Skipped(where, "no lock path is known for this install"))
                continue
            try:
                version = _combine_python(target.python, python)
                if version is None and not choice.universal:
                    raise ConfigError(f"no Python version for this image: its FROM names none and no "
                                      f".python-version sits beside {target.lock} or above it in the "
                                      "build context", hint=PYTHON_HINT)
                output = context.path(target.lock)
                job = LockJob(
                    output=output,
                    requirements=tuple(context.path(r) for r in target.requirements),
                    constraints=tuple(context.path(c) for c in target.constraints),
                    target=choice.target(version, target.platform, target.libc), cwd=context.root, sources=(where,),
                    label=target.lock, index_args=target.indexes,
                    header=_dockerfile_header(output, path, settings, python, choice, extra_flags))
            except ContextEscape as exc:
                plan.errors.append(ConfigError(str(exc), path=target.dockerfile, line=target.line))
                continue
            except DockerlockError as exc:
                if exc.path is None:
                    exc.path, exc.line = target.dockerfile, target.line
                plan.errors.append(exc)
                continue
            candidates.append(job)
    jobs, conflicts = merge_jobs(candidates)
    plan.jobs, plan.errors = jobs, plan.errors + conflicts
    if not plan.jobs and not plan.skipped and not plan.errors:
        plan.errors.append(ConfigError("no pip requirements install found in "
                                       + ", ".join(str(p) for p in files)))
    return plan


def _dockerfile_header(output: Path, dockerfile: Path, settings: Settings, python: str | None,
                       choice: PlatformChoice, extra_flags: Sequence[str]) -> str:
    words = ["dockerlock", "lock", relative_to_lock(output, dockerfile)]
    if settings.context is not None:
        words += ["--context", relative_to_lock(output, Path(settings.context))]
    if python:
        words += ["--python-version", python]
    return shlex.join([*words, *choice.flags(), *extra_flags])


def merge_jobs(candidates: Sequence[LockJob]) -> tuple[list[LockJob], list[DockerlockError]]:
    """One job per lock path: same inputs are locked once (their sources merged); different
    inputs for one path are an error naming both places, and neither is locked."""
    groups: dict[Path, list[LockJob]] = {}
    for job in candidates:
        groups.setdefault(Path(os.path.realpath(job.output)), []).append(job)
    jobs: list[LockJob] = []
    errors: list[DockerlockError] = []
    for group in groups.values():
        first = group[0]
        conflict = next((job for job in group[1:] if not first.same_inputs(job)), None)
        if conflict is not None:
            errors.append(ConfigError(
                f"{first.sources[0]} and {conflict.sources[0]} need different locks at one path, "
                f"{first.label or first.output} ({first.difference(conflict)}); neither was locked",
                hint="give one of them its own lock in [tool.dockerlock] locks"))
            continue
        sources = tuple(dict.fromkeys(s for job in group for s in job.sources))
        jobs.append(replace(first, sources=sources))
    return jobs, errors
