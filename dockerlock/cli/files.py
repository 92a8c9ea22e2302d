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
        code = _run(paths, diff, check, fmt, color, quiet, verbose, config, overrides,
                    migrate_dockerfile, "migrate", "migrated")
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

        code = _run(paths, diff, check, fmt, color, quiet, verbose, config, dict(context=context),
                    lambda df, ctx, s: revert_dockerfile(df, ctx, s, force=force), "revert", "reverted")
        raise typer.Exit(code)

    @app.command()
    def check(
        paths: Optional[list[Path]] = options.paths_arg(),
        context: Optional[Path] = options.context_opt(),
        fmt: options.Format = options.format_opt(),
        color: Optional[bool] = options.color_opt(),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only errors and the summary."),
        config: Optional[Path] = options.config_opt(),
    ) -> None:
        """Check locks and stanzas without changing anything; exit 1 on error-level findings."""
        code = _check(paths, context, fmt, color, quiet, config)
        raise typer.Exit(code)


def register_init(app: typer.Typer) -> None:
    @app.command()
    def init(
        path: Optional[Path] = typer.Argument(None, help="pyproject.toml to extend, or its folder (default: "
                                              "./pyproject.toml, created if absent)."),
    ) -> None:
        """Add a commented [tool.dockerlock] table to pyproject.toml, keeping the rest of the file as is."""
        from dockerlock.init import run_init

        raise typer.Exit(run_init(path or Path(".")))


def _check(paths, context, fmt, color, quiet, config) -> int:
    from dockerlock.engine import check_dockerfile
    from dockerlock.diagnostics import DockerlockError, Level
    from dockerlock.report import outcome_findings, render_github, render_json, render_markdown, render_sarif
    from dockerlock.runner import Mode, discover, process
    from dockerlock.settings import find_pyproject, load_settings

    console, err = options.console(color), options.console(color, stderr=True)
    targets = list(paths) if paths else [Path(".")]
    try:
        settings = load_settings(config or find_pyproject(targets[0])).override(context=context)
    except DockerlockError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False)
        return 2
    files = list(discover(targets, settings))
    run = process(files, settings, Mode.CHECK, check_dockerfile)
    findings = [f for o in run.outcomes for f in outcome_findings(o)]
    errors = sum(f.level == Level.ERROR for f in findings)
    code = 2 if any(o.status == "error" for o in run.outcomes) else (1 if errors else 0)
    if fmt is Format.json:
        print(render_json(run, Mode.CHECK, "check"))
    elif fmt is Format.github:
        out = render_github(run, Mode.CHECK, "check")
        if out:
            print(out)
    elif fmt is Format.markdown:
        print(render_markdown(run, Mode.CHECK, "check"))
    elif fmt is Format.sarif:
        from dockerlock.rules import all_codes

        print(render_sarif(run, Mode.CHECK, "check", all_codes()))
    else:
        for f in findings:
            if quiet and f.level != Level.ERROR:
                continue
            style = {"error": "red", "warning": "yellow", "note": "dim"}[f.level.value]
            console.print(f"{f.location()}: {f.level.value} {f.code}: {f.message}", style=style, markup=False,
                          highlight=False, soft_wrap=True)
        warnings = sum(f.level == Level.WARNING for f in findings)
        console.print(f"{len(files)} file(s) checked: {errors} error(s), {warnings} warning(s)",
                      style="bold red" if errors else "bold", markup=False, highlight=False)
    return code


def _run(paths, diff, check, fmt, color, quiet, verbose, config, overrides, job, command: str, verb: str) -> int:
    from dockerlock.diagnostics import DockerlockError
    from dockerlock.report import exit_code, render_github, render_json, render_markdown, render_sarif, render_text
    from dockerlock.runner import Mode, discover, process
    from dockerlock.settings import find_pyproject, load_settings

    console = options.console(color)
    err = options.console(color, stderr=True)
    if diff and check:
        err.print("error: --diff and --check cannot be combined", style="red", markup=False, highlight=False)
        return 2
    mode = Mode.DIFF if diff else Mode.CHECK if check else Mode.WRITE
    targets = list(paths) if paths else [Path(".")]
    try:
        pyproject = config or find_pyproject(targets[0])
        settings = load_settings(pyproject).override(**overrides)
    except DockerlockError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False)
        return 2
    files = list(discover(targets, settings))
    missing = [p for p in targets if not p.exists() and not p.is_symlink()]
    if not files and not missing and fmt is Format.text:
        err.print("no Dockerfiles found under " + ", ".join(map(str, targets)), style="yellow",
                  markup=False, highlight=False)
        return 0
    progress_cb, finish = _progress(err, len(files), quiet or fmt is not Format.text)
    try:
        run = process(files, settings, mode, job, progress=progress_cb)
    except KeyboardInterrupt:
        finish()
        err.print("interrupted: files already written are complete; the rest are untouched",
                  style="red", markup=False, highlight=False)
        return 130
    finish()
    if fmt is Format.text:
        def echo(text: str, style: str | None) -> None:
            if style == "diff":
                _print_diff(console, text)
            else:
                console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)
        render_text(run, mode, verb, echo, show_diff=mode is Mode.DIFF, verbose=verbose, quiet=quiet)
    elif fmt is Format.json:
        print(render_json(run, mode, command))
    elif fmt is Format.github:
        out = render_github(run, mode, command)
        if out:
            print(out)
    elif fmt is Format.markdown:
        print(render_markdown(run, mode, command))
    elif fmt is Format.sarif:
        from dockerlock.rules import all_codes

        print(render_sarif(run, mode, command, all_codes()))
    return exit_code(run, mode)


def _print_diff(console, text: str) -> None:
    if not console.is_terminal or console.no_color:
        console.file.write(text)
        console.file.flush()
        return
    for line in text.splitlines():
        style = None
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)


def _progress(console, total: int, silent: bool):
    """A progress bar on a terminal for runs over many files; nothing when piped."""
    # ask the stream itself: --color forces colour codes, not a progress bar into a pipe
    if silent or total < 20 or not console.file.isatty():
        return None, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        console=console, transient=True)
    task = progress.add_task("dockerlock", total=total)
    progress.start()

    def advance(path: Path) -> None:
        progress.update(task, advance=1, description=path.name[:30])

    return advance, progress.stop
