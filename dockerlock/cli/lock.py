"""`dockerlock lock`: make (or re-check) the pylock files migrate reads.

Streams: one result line per lock on stdout; skipped installs, errors and the progress display
(only when stderr is a terminal) on stderr. ``-q`` leaves errors only.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, Optional

import typer

from dockerlock.cli import options


def register(app: typer.Typer) -> None:
    @app.command()
    def lock(
        paths: Optional[list[Path]] = typer.Argument(
            None, help="Requirements files (locked together, into one lock), or Dockerfiles and folders "
                       "(one lock per pip requirements install, where migrate looks). Default: "
                       "./requirements.txt."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Lock path for requirements files "
                                              "(default: the name migrate looks for, beside them)."),
        check_only: bool = typer.Option(False, "--check", help="Resolve again and compare with the existing "
                                        "lock; write nothing. Exit 1 if stale."),
        python_version: Optional[str] = typer.Option(None, "--python-version", help="Python X.Y to lock for "
                                                     "(default: the image's, or the nearest .python-version)."),
        python_platform: Optional[str] = typer.Option(None, "--python-platform", help="Platform to lock for: "
                                                      "linux/amd64, linux/arm64 or a uv Linux value (default: "
                                                      "the image's FROM --platform, else linux/amd64)."),
        universal: bool = typer.Option(False, "--universal", help="Resolve for every platform and every Python "
                                       "from the target's up, instead of the image alone."),
        upgrade: bool = typer.Option(False, "--upgrade", "-U", help="Ignore the existing lock's pins."),
        context: Optional[Path] = options.context_opt(),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only errors."),
        color: Optional[bool] = options.color_opt(),
        config: Optional[Path] = options.config_opt(),
    ) -> None:
        """Write the pylock.toml files migrate looks for, with uv, for the image's Python and platform."""
        request = LockRequest(paths or [Path("requirements.txt")], output, check_only, python_version,
                              python_platform, universal, upgrade, context, quiet, color, config)
        raise typer.Exit(run_lock(request))


class LockRequest(NamedTuple):
    """The command line of one `dockerlock lock` run."""

    paths: list[Path]
    output: Path | None = None
    check: bool = False
    python: str | None = None
    platform: str | None = None
    universal: bool = False
    upgrade: bool = False
    context: Path | None = None
    quiet: bool = False
    color: bool | None = None
    config: Path | None = None

    @property
    def extra_args(self) -> list[str]:
        return ["--upgrade"] if self.upgrade else []


def run_lock(request: LockRequest) -> int:
    """Plan, then lock (or check) each lock once; the exit code (0, 1 stale, 2 error)."""
    from dockerlock.diagnostics import DockerlockError

    out = options.console(request.color)
    err = options.console(request.color, stderr=True)
    show = Shown(request.paths)
    try:
        jobs, skipped, errors = _plan(request)
    except DockerlockError as exc:
        _error(err, exc)
        return 2
    if not request.quiet:
        for item in skipped:
            err.print(f"{show.where(item.where)}: skipped: {item.reason}", markup=False, highlight=False)
    for exc in errors:
        _error(err, exc)
    code = 2 if errors else 0
    animate = not request.quiet and sys.stderr.isatty()
    for job in jobs:
        try:
            code = max(code, _one(job, request, out, err, show, animate))
        except DockerlockError as exc:
            _error(err, exc)
            code = 2
    return code


def _plan(request: LockRequest):
    from dockerlock.diagnostics import ConfigError
    from dockerlock.locking import (
        PlatformChoice,
        plan_dockerfile_locks,
        plan_requirements_lock,
    )
    from dockerlock.runner import is_dockerfile_name
    from dockerlock.settings import find_pyproject, load_settings

    if request.universal and request.platform:
        raise ConfigError("--universal resolves for every platform; leave out --python-platform")
    choice = PlatformChoice(request.platform, request.universal)
    dockerfiles = [p.is_dir() or is_dockerfile_name(p.name) for p in request.paths]
    if not any(dockerfiles):
        if request.context is not None:
            raise ConfigError("--context applies to Dockerfiles; requirements files are locked where they are")
        job = plan_requirements_lock(request.paths, output=request.output, python=request.python, choice=choice,
                                     extra_flags=request.extra_args)
        return [job], [], []
    if not all(dockerfiles):
        raise ConfigError("pass requirements files, or Dockerfiles and folders, not both",
                          hint="lock a Dockerfile's requirements with `dockerlock lock <Dockerfile>`")
    if request.output is not None:
        raise ConfigError("--output names one lock; Dockerfiles get the locks migrate looks for",
                          hint="map a lock path in [tool.dockerlock] locks instead")
    settings = load_settings(request.config or find_pyproject(request.paths[0])).override(context=request.context)
    plan = plan_dockerfile_locks(request.paths, settings, python=request.python, choice=choice,
                                 extra_flags=request.extra_args)
    return plan.jobs, plan.skipped, plan.errors


def _one(job, request: LockRequest, out, err, show: "Shown", animate: bool) -> int:
    from dockerlock.locking import compile_lock, lock_is_stale

    target = job.target.describe()
    lock = show.path(job.output)
    where = f" ({', '.join(show.where(s) for s in job.sources)})" if job.cwd is not None else ""
    common = dict(target=job.target, constraints=job.constraints, extra_args=request.extra_args, cwd=job.cwd,
                  index_args=job.index_args)
    if request.check:
        if not job.output.is_file():
            _say(out, request, f"{lock} does not exist yet: run the same command without --check to write it")
            return 1
        with progress(err, animate, f"checking {lock} for {target}{where}"):
            stale = lock_is_stale(job.requirements, job.output, **common)
        if not stale.stale:
            _say(out, request, f"{lock} is up to date for {target}")
            return 0
        _say(out, request, f"{lock} is stale for {target} (re-lock: the same command without --check):")
        for line in stale.describe():
            _say(out, request, f"  {line}")
        return 1
    with progress(err, animate, f"locking {lock} for {target}{where}"):
        result = compile_lock(job.requirements, output=job.output, custom_compile_command=job.header, **common)
    count = f"{result.packages} package{'' if result.packages == 1 else 's'}"
    _say(out, request, f"wrote {lock} for {target} ({count}, {result.duration:.1f} s)")
    return 0


@contextlib.contextmanager
def progress(console, enabled: bool, description: str) -> Iterator[None]:
    """A spinner with the elapsed time on ``console`` while uv runs (``enabled``: stderr is a
    terminal and not ``-q``); it disappears when done, leaving the result line alone."""
    if not enabled:
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        bar.add_task(description, total=None)
        yield


class Shown:
    """Paths as the user gave them: relative to where they stand, absolute if they typed absolute."""

    def __init__(self, given: Sequence[Path]) -> None:
        self.absolute = any(Path(p).is_absolute() for p in given)

    def path(self, path: Path) -> str:
        if self.absolute:
            return str(Path(path).absolute())
        relative = os.path.relpath(Path(path).absolute())
        return relative if not relative.startswith(os.path.join(os.pardir, os.pardir, os.pardir)) else str(path)

    def where(self, where: str) -> str:
        """``Dockerfile:7`` with the path part shown like any other path."""
        path, _, line = where.rpartition(":")
        return f"{self.path(Path(path))}:{line}" if path and line.isdigit() else where


def _say(console, request: LockRequest, text: str) -> None:
    if not request.quiet:
        console.print(text, markup=False, highlight=False)


def _error(err, exc) -> None:
    text = str(exc) if exc.path is not None else exc.reason + (f" (hint: {exc.hint})" if exc.hint else "")
    err.print(f"error: {text}", style="red", markup=False, highlight=False)
