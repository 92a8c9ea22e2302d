"""`dockerlock verify`: prove a migration installs the same environment.

The verify package returns typed results (``VenvsReport``, ``BuildsReport``); this module only
renders them: a table per stanza (or per image pair) on stdout, or their JSON. Progress goes to
stderr: a status line on a terminal, notes always, the full command plan with ``-v``.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional

import typer

from dockerlock.cli import options
from dockerlock.cli.options import Format


def register(app: typer.Typer) -> None:
    @app.command()
    def verify(
        path: Path = typer.Argument(..., help="The Dockerfile to verify (migrated or not)."),
        build: bool = typer.Option(False, "--build", help="Build both images and compare them (needs docker "
                                                          "or podman); default compares in host venvs."),
        builder: Optional[str] = typer.Option(None, "--builder", help="docker-buildx, docker or podman "
                                              "(default: the first that works)."),
        smoke: Optional[str] = typer.Option(None, "--smoke", help="Command to run in the migrated image "
                                            "instead of importing every top-level module."),
        health: Optional[str] = typer.Option(None, "--health", help="HTTP path to probe in both images, "
                                             "e.g. /v1/health."),
        port: int = typer.Option(8080, "--port", help="Container port for --health."),
        timeout: float = typer.Option(60.0, "--timeout", help="Seconds to wait for --health."),
        app_file: Optional[Path] = typer.Option(None, "--app-file", help="A context file copied after the "
                                                "dependency step, changed to time a rebuild (default: the "
                                                "first one the Dockerfile copies after the install)."),
        python: Optional[str] = typer.Option(None, "--python", help="Interpreter for the venvs (default: one "
                                             "of the image's Python version, found on PATH or by uv)."),
        repeat: int = typer.Option(3, "--repeat", min=1, help="Timed runs of each step; timings are their "
                                                              "median, with the spread."),
        keep_images: bool = typer.Option(False, "--keep-images", help="With --build: keep the images and "
                                         "containers it made (default: remove them)."),
        context: Optional[Path] = options.context_opt(),
        fmt: options.Format = options.format_opt("Output format: text or json."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Also print every command before it runs."),
        color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force or disable colour."),
    ) -> None:
        """Prove a migration installs the same environment: in venvs, or in real image builds (--build)."""
        request = VerifyRequest(path, build, builder, smoke, health, port, timeout, app_file, python, repeat,
                                keep_images, context, fmt, verbose, color)
        raise typer.Exit(run_verify(request))


class VerifyRequest(NamedTuple):
    """The command line of one `dockerlock verify` run."""

    path: Path
    build: bool = False
    builder: str | None = None
    smoke: str | None = None
    health: str | None = None
    port: int = 8080
    timeout: float = 60.0
    app_file: Path | None = None
    python: str | None = None
    repeat: int = 3
    keep_images: bool = False
    context: Path | None = None
    fmt: Format = Format.text
    verbose: bool = False
    color: bool | None = None


def run_verify(request: VerifyRequest) -> int:
    """Verify, render, and return the exit code (0 same, 1 differences, 2 could not verify)."""
    import json

    from dockerlock.diagnostics import DockerlockError
    from dockerlock.settings import find_pyproject, load_settings

    console, err = options.console(request.color), options.console(request.color, stderr=True)
    machine = request.fmt is not Format.text
    if request.fmt not in (Format.text, Format.json):
        err.print(f"error: verify prints text or json, not {request.fmt.value}", style="red", markup=False)
        return 2
    try:
        settings = load_settings(find_pyproject(request.path)).override(context=request.context)
        from dockerlock.verify.steps import load_inputs

        inputs = load_inputs(request.path, settings)
        animate = err.is_terminal and not machine
        with err.status("verifying...", spinner="dots") if animate else _Null() as status:
            progress = _progress(err, status, quiet=machine, verbose=request.verbose)
            report = _run(request, inputs, progress)
    except DockerlockError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False)
        return 2
    if request.fmt is Format.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        render(console, report)
    return 0 if report.ok else 1


def _run(request: VerifyRequest, inputs, progress):
    from dockerlock.verify.results import verify_images, verify_venvs

    if request.build:
        from dockerlock.verify.builds import detect_builder

        return verify_images(inputs, detect_builder(request.builder), smoke=request.smoke, health=request.health,
                             port=request.port, timeout=request.timeout, app_file=request.app_file,
                             repeat=request.repeat, keep_images=request.keep_images, progress=progress)
    return verify_venvs(inputs, python=request.python, repeat=request.repeat, progress=progress)


def _progress(err, status, *, quiet: bool, verbose: bool):
    """Where each progress message goes: the status line (a terminal); with ``-v`` the command
    plan (``will run:``) and notes to stderr; nothing for machine-readable output. The notes
    that matter for the result are part of the report itself."""

    def progress(message: str) -> None:
        if quiet:
            return
        if status is not None:
            status.update(message[:100])
        if verbose and message.startswith(("will run:", "note:")):
            err.print(message, style="dim", markup=False, highlight=False, soft_wrap=True)

    return progress


class _Null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def render(console, report) -> None:
    """The text form of a ``VenvsReport`` or ``BuildsReport``."""
    from dockerlock.verify.results import VenvsReport

    if isinstance(report, VenvsReport):
        for note in report.notes:
            console.print(f"note: {note}", style="dim", markup=False, highlight=False)
        for stanza in report.stanzas:
            _render_stanza(console, report, stanza)
    else:
        _render_builds(console, report)
    console.print("verify: OK" if report.ok else "verify: DIFFERENCES FOUND",
                  style="bold green" if report.ok else "bold red")


def _render_stanza(console, report, stanza) -> None:
    from rich.table import Table

    result = stanza.verification
    python = stanza.interpreter.version or stanza.interpreter.path
    title = (f"{report.file}:{stanza.pair.line} — pip vs uv {stanza.pair.uv.mode} on Python {python} "
             f"(pip {len(result.pip_packages)}, uv {len(result.uv_packages)} packages)")
    table = Table(title=title, caption=_caption(report.repeat))
    for column, justify in (("run", "left"), ("pip (s)", "right"), ("uv (s)", "right"), ("pip/uv", "right")):
        table.add_column(column, justify=justify)
    for run in ("cold", "warm"):
        pip, uv = result.samples.get(f"pip-{run}"), result.samples.get(f"uv-{run}")
        speedup = result.ratio_cold if run == "cold" else result.ratio_warm
        table.add_row(run, pip.describe() if pip else "-", uv.describe() if uv else "-",
                      f"{speedup:.1f}x" if speedup else "-")
    console.print(table)
    _render_differences(console, result.differences)
    for note in result.notes:
        console.print(f"note: {note}", style="dim", markup=False, highlight=False)


def _render_differences(console, differences) -> None:
    from rich.table import Table

    if not differences:
        console.print("same distributions installed by both steps", style="green")
        return
    diff = Table(title="installed distributions differ")
    for column in ("package", "kind", "pip", "uv"):
        diff.add_column(column)
    for d in differences:
        diff.add_row(d.name, d.kind, d.pip_side.version if d.pip_side else "-",
                     d.uv_side.version if d.uv_side else "-")
    console.print(diff)


def _caption(repeat: int) -> str:
    return f"median of {repeat} runs (min-max)" if repeat > 1 else "one run each"


def _render_builds(console, report) -> None:
    from rich.table import Table

    result = report.verification
    table = Table(title=f"{report.file} — image builds ({report.builder}; original {len(result.original_packages)}, "
                        f"migrated {len(result.migrated_packages)} packages)", caption=_caption(report.repeat))
    for column, justify in (("build", "left"), ("original (s)", "right"), ("migrated (s)", "right"),
                            ("original/migrated", "right")):
        table.add_column(column, justify=justify)
    for kind, speedup in (("cold", report.cold_ratio), ("rebuild", report.rebuild_ratio)):
        before, after = result.samples.get(f"original-{kind}"), result.samples.get(f"migrated-{kind}")
        if before is None and after is None:
            continue
        table.add_row(kind, before.describe(1) if before else "-", after.describe(1) if after else "-",
                      f"{speedup:.1f}x" if speedup else "-")
    console.print(table)
    if result.differences:
        console.print("installed distributions differ: " + ", ".join(
            f"{d.name} ({d.kind})" for d in result.differences), style="red")
    if result.smoke_regressions:
        console.print("imports failing only in the migrated image: " + ", ".join(result.smoke_regressions),
                      style="red")
    for side, h in result.health.items():
        console.print(f"health ({side}): HTTP {h.status} after {h.seconds:.1f} s", markup=False)
    for note in (*report.notes, *result.notes):
        console.print(f"note: {note}", style="dim", markup=False, highlight=False)
    if result.removed_images:
        console.print(f"removed {len(result.removed_images)} image(s) this run made (keep them with --keep-images)",
                      style="dim")
