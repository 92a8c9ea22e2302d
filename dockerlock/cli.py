"""Command line: flags -> Mode and Settings once, then the runner, then the report.

``dockerlock --version`` answers before typer/rich are imported so it stays fast.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Optional

from dockerlock import __version__


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        print(f"dockerlock {__version__}")
        raise SystemExit(0)
    app = build_app()
    app(args=args, prog_name="dockerlock")


class Format(str, enum.Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"
    markdown = "markdown"


class UvSource(str, enum.Enum):
    image = "image"
    pip = "pip"


def build_app():
    import typer

    app = typer.Typer(
        name="dockerlock",
        help="Rewrite pip requirements installs in Dockerfiles into locked uv installs from "
             "pylock.toml, safely and reversibly.",
        no_args_is_help=True,
        add_completion=True,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    def version_callback(value: bool) -> None:
        if value:
            typer.echo(f"dockerlock {__version__}")
            raise typer.Exit()

    @app.callback()
    def _root(version: bool = typer.Option(False, "--version", "-V", callback=version_callback,
                                           is_eager=True, help="Show the version and exit.")) -> None:
        """dockerlock: pip requirements installs -> locked uv installs."""

    paths_arg = typer.Argument(None, help="Dockerfiles or folders to search (default: current folder).")

    # Options several commands share, declared once.
    def diff_opt():
        return typer.Option(False, "--diff", help="Write nothing; print a unified diff. Exit 1 if anything "
                                                  "would change.")

    def check_opt():
        return typer.Option(False, "--check", help="Write nothing; print a summary. Exit 1 if anything would "
                                                   "change.")

    def context_opt():
        return typer.Option(None, "--context", help="Build context folder (default: inferred per Dockerfile).")

    def format_opt(help_text: str = "Output format (text, json, github, sarif, markdown)."):
        return typer.Option(Format.text, "--format", help=help_text)

    def color_opt():
        return typer.Option(None, "--color/--no-color", help="Force or disable colour (default: on for a "
                                                             "terminal; a non-empty NO_COLOR disables).")

    def quiet_opt():
        return typer.Option(False, "--quiet", "-q", help="Print only the summary and errors.")

    def verbose_opt():
        return typer.Option(False, "--verbose", "-v", help="Print every decision (targets, dropped options, "
                                                           "layer order).")

    def config_opt():
        return typer.Option(None, "--config", help="pyproject.toml to read [tool.dockerlock] from (default: "
                                                   "the nearest one).")

    @app.command()
    def migrate(
        paths: Optional[list[Path]] = paths_arg,
        diff: bool = diff_opt(),
        check: bool = check_opt(),
        context: Optional[Path] = context_opt(),
        lock: Optional[str] = typer.Option(None, "--lock", help="Lock file path relative to the build context "
                                           "(default: pylock.toml beside the requirements file)."),
        no_lock_check: bool = typer.Option(False, "--no-lock-check", help="Convert without reading the lock "
                                           "(preview before the lock exists)."),
        include_gpu: Optional[bool] = typer.Option(None, "--include-gpu/--no-include-gpu",
                                                   help="Also convert GPU/specialised images (deferred by "
                                                        "default; overrides include-gpu in the config)."),
        uv_version: Optional[str] = typer.Option(None, "--uv-version", help="uv version to pin in the "
                                                 "generated uv install."),
        uv_digest: Optional[str] = typer.Option(None, "--uv-digest", help="sha256 digest to pin the uv image."),
        uv_source: Optional[UvSource] = typer.Option(None, "--uv-source", help="How uv gets into the image: "
                                                     "'image' (COPY --from the uv image) or 'pip'."),
        record: Optional[bool] = typer.Option(None, "--record/--no-record", help="Write (default) or not the "
                                              "revert record comment; overrides record in the config."),
        fmt: Format = format_opt(),
        color: Optional[bool] = color_opt(),
        quiet: bool = quiet_opt(),
        verbose: bool = verbose_opt(),
        config: Optional[Path] = config_opt(),
    ) -> None:
        """Replace pip requirements installs with a locked uv step (in place by default)."""
        from dockerlock.engine import migrate_dockerfile

        overrides = dict(context=context, lock=lock, include_gpu=include_gpu,
                         uv_version=uv_version, uv_digest=uv_digest,
                         uv_source=uv_source.value if uv_source else None,
                         record=record, lock_check=False if no_lock_check else None)
        code = _run(paths, diff, check, fmt, color, quiet, verbose, config, overrides,
                    lambda df, ctx, s, locks: migrate_dockerfile(df, ctx, s, locks), "migrate", "migrated")
        raise typer.Exit(code)

    @app.command()
    def revert(
        paths: Optional[list[Path]] = paths_arg,
        diff: bool = diff_opt(),
        check: bool = check_opt(),
        force: bool = typer.Option(False, "--force", help="Restore recorded stanzas even where the migrated "
                                                          "region was edited since."),
        context: Optional[Path] = context_opt(),
        fmt: Format = format_opt(),
        color: Optional[bool] = color_opt(),
        quiet: bool = quiet_opt(),
        verbose: bool = verbose_opt(),
        config: Optional[Path] = config_opt(),
    ) -> None:
        """Undo migrate: restore the pip stanza exactly (from the record), or synthesise it."""
        from dockerlock.rules.revert import revert_dockerfile

        code = _run(paths, diff, check, fmt, color, quiet, verbose, config, dict(context=context),
                    lambda df, ctx, s, locks: revert_dockerfile(df, ctx, s, force=force), "revert", "reverted")
        raise typer.Exit(code)

    @app.command()
    def check(
        paths: Optional[list[Path]] = paths_arg,
        context: Optional[Path] = context_opt(),
        fmt: Format = format_opt(),
        color: Optional[bool] = color_opt(),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only errors and the summary."),
        config: Optional[Path] = config_opt(),
    ) -> None:
        """Check locks and stanzas without changing anything; exit 1 on error-level findings."""
        code = _check(paths, context, fmt, color, quiet, config)
        raise typer.Exit(code)

    @app.command()
    def lock(
        requirements: Optional[list[Path]] = typer.Argument(None, help="requirements files (default: "
                                                            "./requirements.txt)."),
        check_only: bool = typer.Option(False, "--check", help="Report whether the lock is stale; write nothing. "
                                        "Exit 1 if stale."),
        python_version: Optional[str] = typer.Option(None, "--python-version", help="Python to lock for "
                                                     "(default: .python-version beside the requirements)."),
        python_platform: Optional[str] = typer.Option(None, "--python-platform", help="Lock for one platform "
                                                      "only (default: universal)."),
        no_universal: bool = typer.Option(False, "--no-universal", help="Resolve for this machine only."),
    ) -> None:
        """Write the sibling pylock.toml with `uv pip compile --format pylock.toml`."""
        code = _lock(requirements or [Path("requirements.txt")], check_only, python_version, python_platform,
                     not no_universal)
        raise typer.Exit(code)

    @app.command()
    def init(
        path: Optional[Path] = typer.Argument(None, help="pyproject.toml to extend, or its folder (default: "
                                              "./pyproject.toml, created if absent)."),
    ) -> None:
        """Add a commented [tool.dockerlock] table to pyproject.toml, keeping the rest of the file as is."""
        from dockerlock.init import run_init

        raise typer.Exit(run_init(path or Path(".")))

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
        python: Optional[str] = typer.Option(None, "--python", help="Interpreter for the venvs (default: "
                                             "this one)."),
        context: Optional[Path] = context_opt(),
        fmt: Format = format_opt("Output format: text or json."),
        color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force or disable colour."),
    ) -> None:
        """Prove a migration installs the same environment: in venvs, or in real image builds (--build)."""
        code = _verify(path, build, builder, smoke, health, port, timeout, app_file, python, context, fmt, color)
        raise typer.Exit(code)

    return app


def _verify(path, build, builder, smoke, health, port, timeout, app_file, python, context, fmt, color) -> int:
    import json

    from dockerlock.diagnostics import DockerlockError
    from dockerlock.settings import find_pyproject, load_settings

    console, err = _console(color), _console(color, stderr=True)
    quiet = fmt is not Format.text
    try:
        settings = load_settings(find_pyproject(path)).override(context=context)
        from dockerlock.verify.steps import load_inputs

        inputs = load_inputs(path, settings)
        with console.status("verifying...", spinner="dots") if console.is_terminal and not quiet else _Null() as status:
            def progress(message: str) -> None:
                if quiet:
                    return
                if status is not None and hasattr(status, "update"):
                    status.update(message[:100])
                if message.startswith(("will run:", "note:")):
                    err.print(message, style="dim", markup=False, highlight=False, soft_wrap=True)

            if build:
                report = _verify_build(inputs, builder, smoke, health, port, timeout, app_file, progress)
            else:
                report = _verify_venvs(inputs, python, progress)
    except DockerlockError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False)
        return 2
    if fmt is Format.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print_verify(console, report)
    return 0 if report["ok"] else 1


class _Null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _dist_dict(d) -> dict:
    return {"name": d.name, "version": d.version, "vcs_commit": d.vcs_commit}


def _verify_venvs(inputs, python, progress) -> dict:
    from dockerlock.verify.venvs import verify_in_venvs

    stanzas = []
    ok = True
    for pair in inputs.pairs:
        result = verify_in_venvs(pair.pip, pair.uv, python=python, progress=progress, cwd=inputs.context.root)
        ok = ok and not result.differences
        stanzas.append({
            "line": pair.line, "lock": str(pair.uv.lock), "mode": pair.uv.mode,
            "requirements": [str(p) for p in pair.pip.requirements],
            "differences": [{"name": d.name, "kind": d.kind, "pip": d.pip_side and _dist_dict(d.pip_side),
                             "uv": d.uv_side and _dist_dict(d.uv_side)} for d in result.differences],
            "packages": len(result.uv_packages), "timings": result.timings,
            "ratio_cold": result.ratio_cold, "ratio_warm": result.ratio_warm,
        })
    return {"file": str(inputs.path), "mode": "venvs", "ok": ok, "stanzas": stanzas}


def _verify_build(inputs, builder, smoke, health, port, timeout, app_file, progress) -> dict:
    import tempfile

    from dockerlock.verify.builds import detect_builder, verify_builds

    from dockerlock.verify.steps import guess_app_file

    chosen = detect_builder(builder)
    if app_file is None:
        app_file = guess_app_file(inputs)
        if app_file is not None:
            progress(f"note: timing a rebuild after changing {inputs.context.relative(app_file)} "
                     "(choose another with --app-file)")
    with tempfile.TemporaryDirectory(prefix="dockerlock-verify-") as tmp:
        original = Path(tmp) / "Dockerfile.original"
        original.write_text(inputs.original_text, encoding="utf-8", newline="")
        result = verify_builds(original, inputs.migrated_text, inputs.context.root, builder=chosen,
                               smoke_command=smoke, health_path=health, port=port, timeout=timeout,
                               progress=progress, app_file=app_file)
    times = {"original-cold": result.original_build.seconds, "migrated-cold": result.migrated_build.seconds}
    if result.original_rebuild and result.migrated_rebuild:
        times["original-rebuild"] = result.original_rebuild.seconds
        times["migrated-rebuild"] = result.migrated_rebuild.seconds
    return {"file": str(inputs.path), "mode": "build", "ok": result.ok, "builder": chosen.kind,
            "differences": [{"name": d.name, "kind": d.kind} for d in result.differences],
            "packages": len(result.migrated_packages), "timings": times,
            "smoke_failures": dict(result.smoke_regressions),
            "health": {k: str(v) for k, v in result.health.items()}, "notes": list(result.notes)}


def _print_verify(console, report: dict) -> None:
    from rich.table import Table

    if report["mode"] == "venvs":
        for st in report["stanzas"]:
            table = Table(title=f"{report['file']}:{st['line']} — pip vs uv {st['mode']} ({st['packages']} packages)")
            table.add_column("run")
            table.add_column("pip (s)", justify="right")
            table.add_column("uv (s)", justify="right")
            table.add_column("pip/uv", justify="right")
            for run in ("cold", "warm"):
                p, u = st["timings"].get(f"pip-{run}"), st["timings"].get(f"uv-{run}")
                ratio = st.get(f"ratio_{run}")
                table.add_row(run, f"{p:.2f}" if p else "-", f"{u:.2f}" if u else "-",
                              f"{ratio:.1f}x" if ratio else "-")
            console.print(table)
            if st["differences"]:
                diff = Table(title="installed distributions differ")
                for col in ("package", "kind", "pip", "uv"):
                    diff.add_column(col)
                for d in st["differences"]:
                    diff.add_row(d["name"], d["kind"], (d["pip"] or {}).get("version") or "-",
                                 (d["uv"] or {}).get("version") or "-")
                console.print(diff)
            else:
                console.print("same distributions installed by both steps", style="green")
    else:
        table = Table(title=f"{report['file']} — image builds ({report['builder']})")
        table.add_column("build")
        table.add_column("seconds", justify="right")
        for k, v in report["timings"].items():
            table.add_row(k, f"{v:.1f}")
        console.print(table)
        if report["differences"]:
            console.print("installed distributions differ: " + ", ".join(
                f"{d['name']} ({d['kind']})" for d in report["differences"]), style="red")
        if report["smoke_failures"]:
            console.print("imports failing only in the migrated image: " + ", ".join(report["smoke_failures"]),
                          style="red")
        for side, h in report["health"].items():
            console.print(f"health ({side}): {h}")
    console.print("verify: OK" if report["ok"] else "verify: DIFFERENCES FOUND",
                  style="bold green" if report["ok"] else "bold red")


def _check(paths, context, fmt, color, quiet, config) -> int:
    from dockerlock.checks import check_dockerfile
    from dockerlock.diagnostics import DockerlockError, Level
    from dockerlock.report import outcome_findings, render_github, render_json, render_markdown, render_sarif
    from dockerlock.runner import Mode, discover, process
    from dockerlock.settings import find_pyproject, load_settings

    console, err = _console(color), _console(color, stderr=True)
    targets = list(paths) if paths else [Path(".")]
    try:
        settings = load_settings(config or find_pyproject(targets[0])).override(context=context)
    except DockerlockError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False)
        return 2
    files = list(discover(targets, settings))
    run = process(files, settings, Mode.CHECK, lambda df, ctx, s, locks: check_dockerfile(df, ctx, s))
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


def _lock(requirements, check_only, python_version, python_platform, universal) -> int:
    from dockerlock.diagnostics import DockerlockError
    from dockerlock.locking import compile_lock, lock_is_stale

    err = _console(None, stderr=True)
    code = 0
    for req in requirements:
        try:
            lock_path = req.parent / "pylock.toml"
            if check_only:
                stale = lock_is_stale(req, lock_path, python_version=python_version, universal=universal,
                                      python_platform=python_platform)
                if stale.stale:
                    code = max(code, 1)
                    print(f"{lock_path}: stale against {req}")
                    for line in stale.describe():
                        print(f"  {line}")
                else:
                    print(f"{lock_path}: up to date with {req}")
            else:
                result = compile_lock(req, python_version=python_version, universal=universal,
                                      python_platform=python_platform)
                print(f"wrote {result.output} ({result.duration:.1f} s)")
        except DockerlockError as exc:
            err.print(f"error: {exc}", style="red", markup=False, highlight=False)
            code = 2
    return code


def _run(paths, diff, check, fmt, color, quiet, verbose, config, overrides, job, command: str, verb: str) -> int:
    from dockerlock.diagnostics import DockerlockError
    from dockerlock.report import exit_code, render_github, render_json, render_markdown, render_sarif, render_text
    from dockerlock.runner import Mode, discover, process
    from dockerlock.settings import find_pyproject, load_settings

    console = _console(color)
    err = _console(color, stderr=True)
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


def _console(color: bool | None, stderr: bool = False):
    import os

    from rich.console import Console

    # https://no-color.org: a NO_COLOR that is set and not empty disables colour
    no_color = color is False or (color is None and bool(os.environ.get("NO_COLOR")))
    return Console(stderr=stderr, force_terminal=True if color else None, no_color=no_color,
                   color_system=None if no_color else "auto", highlight=False, soft_wrap=True)


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
