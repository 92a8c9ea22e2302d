"""migrate, revert, check and init: the commands that read Dockerfiles and write them back."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dockerlock.cli import options
from dockerlock.cli.options import Format


def register(app: typer.Typer) -> None:
    @app.command()
    def migrate(
        paths: Optional[list[Path]] = options.paths_arg(),
        diff: bool = options.diff_opt(),
        check: bool = options.check_opt(),
        context: Optional[Path] = options.context_opt(),
        lock: Optional[str] = typer.Option(None, "--lock", help="Lock file path relative to the build context "
                                           "(default: pylock.toml beside the requirements file)."),
        no_lock_check: bool = typer.Option(False, "--no-lock-check", help="Convert without reading the lock "
                                           "(preview before the lock exists)."),
        allow_drift: Optional[bool] = typer.Option(None, "--allow-drift/--no-allow-drift", help="Convert even "
                                                   "where the lock does not cover the requirements (a warning "
                                                   "instead of an error; overrides allow-drift in the config)."),
        include_gpu: Optional[bool] = typer.Option(None, "--include-gpu/--no-include-gpu",
                                                   help="Also convert GPU/specialised images (deferred by "
                                                        "default; overrides include-gpu in the config)."),
        uv_version: Optional[str] = typer.Option(None, "--uv-version", help="uv version to pin in the "
                                                 "generated uv install."),
        uv_digest: Optional[str] = typer.Option(None, "--uv-digest", help="sha256 digest to pin the uv image."),
        uv_source: Optional[options.UvSource] = typer.Option(None, "--uv-source", help="How uv gets into the image: "
                                                     "'image' (COPY --from the uv image) or 'pip'."),
        record: Optional[bool] = typer.Option(None, "--record/--no-record", help="Write (default) or not the "
                                              "revert record comment; overrides record in the config."),
        fmt: options.Format = options.format_opt(),
        color: Optional[bool] = options.color_opt(),
        quiet: bool = options.quiet_opt(),
        verbose: bool = options.verbose_opt(),
        config: Optional[Path] = options.config_opt(),
    ) -> None:
        """Replace pip requirements installs with a locked uv step (in place by default)."""
        from dockerlock.engine import migrate_dockerfile

        overrides = dict(context=context, lock=lock, include_gpu=include_gpu,
                         uv_version=uv_version, uv_digest=uv_digest,
                         uv_source=uv_source.value if uv_source else None,
                         record=record, lock_check=False if no_lock_check else None, allow_drift=allow_drift)
        code = _run("migrate", paths, _mode(diff, check), fmt, color, quiet, verbose, config, overrides,
                    migrate_dockerfile)
        raise typer.Exit(code)

    @app.command()
    def revert(
        paths: Optional[list[Path]] = options.paths_arg(),
        diff: bool = options.diff_opt(),
        check: bool = options.check_opt(),
        force: bool = typer.Option(False, "--force", help="Restore recorded stanzas even where the migrated "
                                                          "region was edited since."),
        context: Optional[Path] = options.context_opt(),
        fmt: options.Format = options.format_opt(),
        color: Optional[bool] = options.color_opt(),
        quiet: bool = options.quiet_opt(),
        verbose: bool = options.verbose_opt(),
        config: Optional[Path] = options.config_opt(),
    ) -> None:
        """Undo migrate: restore the pip stanza exactly (from the record), or synthesise it."""
        from dockerlock.rules.revert import revert_dockerfile

        code = _run("revert", paths, _mode(diff, check), fmt, color, quiet, verbose, config, dict(context=context),
                    lambda df, ctx, s: revert_dockerfile(df, ctx, s, force=force))
        raise typer.Exit(code)

    @app.command()
    def check(
        paths: Optional[list[Path]] = options.paths_arg(),
        strict: Optional[bool] = typer.Option(None, "--strict/--no-strict", help="Fail (exit 1) on warnings too, "
                                              "not only on errors; overrides strict in the config."),
        context: Optional[Path] = options.context_opt(),
        fmt: options.Format = options.format_opt(),
        color: Optional[bool] = options.color_opt(),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the findings that fail the run, and "
                                                                "the summary."),
        config: Optional[Path] = options.config_opt(),
        resolve: bool = typer.Option(False, "--resolve", help="Also re-resolve each lock's requirements with uv "
                                     "for the image and report packages the lock holds that they no longer pull "
                                     "in, or lacks (needs uv and the package index)."),
    ) -> None:
        """Check locks and stanzas without changing anything; exit 1 on error-level findings."""
        from dockerlock.cli.resolve import resolving
        from dockerlock.engine import check_dockerfile

        job = resolving(check_dockerfile) if resolve else check_dockerfile
        code = _run("check", paths, "check", fmt, color, quiet, False, config, dict(context=context, strict=strict),
                    job)
        raise typer.Exit(code)


def _mode(diff: bool, check: bool) -> str:
    """The one decision on what to do with a changed file; both flags at once is a usage error."""
    if diff and check:
        return "conflict"
    return "diff" if diff else "check" if check else "write"


def register_init(app: typer.Typer) -> None:
    @app.command()
    def init(
        path: Optional[Path] = typer.Argument(None, help="pyproject.toml to extend, or its folder (default: "
                                              "./pyproject.toml, created if absent)."),
    ) -> None:
        """Add a commented [tool.dockerlock] table to pyproject.toml, keeping the rest of the file as is."""
        from dockerlock.init import run_init

        raise typer.Exit(run_init(path or Path(".")))


def _run(command: str, paths, mode_name: str, fmt, color, quiet, verbose, config, overrides, job) -> int:
    """Flags -> settings, files -> runner, outcomes -> report -> one renderer; returns the exit code."""
    from dockerlock.diagnostics import DockerlockError
    from dockerlock.report import RENDERERS, Command, Mode, Report, View
    from dockerlock.runner import discover, process
    from dockerlock.settings import find_pyproject, load_settings

    console, err = options.LazyConsole(color), options.LazyConsole(color, stderr=True)
    if mode_name == "conflict":
        options.print_error(err, "error: --diff and --check cannot be combined")
        return 2
    mode = Mode(mode_name)
    targets = list(paths) if paths else [Path(".")]
    try:
        settings = load_settings(config or find_pyproject(targets[0])).override(**overrides)
    except DockerlockError as exc:
        options.print_error(err, options.error_text(exc, str(targets[0])))
        return 2
    found = discover(targets, settings)
    progress_cb, finish = _progress(err, len(found.files), quiet or fmt is not Format.text)
    try:
        # a diff is shown by --diff, and kept in JSON and markdown reports; otherwise not made
        diffs = mode is Mode.DIFF or fmt in (Format.json, Format.markdown)
        run = process(found.files, settings, mode, job, progress=progress_cb, diffs=diffs)
    except KeyboardInterrupt:
        finish()
        options.print_error(err, "interrupted: files already written are complete; the rest are untouched")
        return 130
    finish()
    report = Report(Command(command), mode, outcomes=run.outcomes + found.unsearchable,
                    strict=settings.strict and command == "check", searched=tuple(map(str, targets)),
                    notes=run.notes)
    options.emit(RENDERERS[fmt.value](report, View(quiet=quiet, verbose=verbose)), console, err)
    if fmt is Format.github:
        _append_step_summary(report, err)
    return report.exit_code


def _append_step_summary(report, err) -> None:
    """In GitHub Actions, add the markdown report to the job's summary page (appended: other
    steps write there too)."""
    import os

    from dockerlock.report.markdown import markdown

    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary_file:
        return
    try:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(markdown(report) + "\n")
    except OSError as exc:
        options.print_error(err, f"{summary_file}: warning: cannot append the job summary "
                                 f"({(exc.strerror or str(exc)).lower()})", style="yellow")


def _progress(console, total: int, silent: bool):
    """A progress bar on a terminal for runs over many files; nothing when piped."""
    # ask the stream itself: --color forces colour codes, not a progress bar into a pipe
    if silent or total < 20 or not console.file.isatty():
        return None, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        console=console.real, transient=True)
    task = progress.add_task("dockerlock", total=total)
    progress.start()

    def advance(path: Path) -> None:
        progress.update(task, advance=1, description=path.name[:30])

    return advance, progress.stop
