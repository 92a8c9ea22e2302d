"""`dockerlock lock`: make or re-check the pylock.toml files migrate reads."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dockerlock.cli import options


def register(app: typer.Typer) -> None:
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


def _lock(requirements, check_only, python_version, python_platform, universal) -> int:
    from dockerlock.diagnostics import DockerlockError
    from dockerlock.locking import compile_lock, lock_is_stale

    err = options.console(None, stderr=True)
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


