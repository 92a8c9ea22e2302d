"""`dockerlock verify`: prove a migration installs the same environment."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

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
        python: Optional[str] = typer.Option(None, "--python", help="Interpreter for the venvs (default: "
                                             "this one)."),
        context: Optional[Path] = options.context_opt(),
        fmt: options.Format = options.format_opt("Output format: text or json."),
        color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force or disable colour."),
    ) -> None:
        """Prove a migration installs the same environment: in venvs, or in real image builds (--build)."""
        code = _verify(path, build, builder, smoke, health, port, timeout, app_file, python, context, fmt, color)
        raise typer.Exit(code)


def _verify(path, build, builder, smoke, health, port, timeout, app_file, python, context, fmt, color) -> int:
    import json

    from dockerlock.diagnostics import DockerlockError
    from dockerlock.settings import find_pyproject, load_settings

    console, err = options.console(color), options.console(color, stderr=True)
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


