"""Command line: flags -> Mode and Settings once, then the runner, then the report.

One module per group of commands (``files``: migrate, revert, check, init; ``lock``;
``verify``), each registering its commands on the app. ``dockerlock --version`` answers
before typer/rich are imported so it stays fast.
"""

from __future__ import annotations

import sys

from dockerlock import __version__


def run() -> None:
    """The ``dockerlock`` command itself (console script, ``python -m dockerlock``): ``main``, then
    the process ends."""
    import gc

    try:
        main()
    finally:
        # Every object left is about to go: in the collector's permanent generation, the
        # interpreter's last collection at exit has nothing to walk (15 ms of every run).
        gc.freeze()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        print(f"dockerlock {__version__}")
        raise SystemExit(0)
    import gc

    # The cycle collector would spend a tenth of the start-up walking what importing makes (classes,
    # functions, patterns: all kept), and a run's own objects are freed by reference counting: it
    # finds next to nothing. Worker processes still collect once per chunk of files (runner).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        app = build_app()
        app(args=args, prog_name="dockerlock")
    finally:
        if was_enabled:
            gc.enable()


def build_app():
    import typer

    from dockerlock.cli import files, lock, verify

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

    files.register(app)
    lock.register(app)
    files.register_init(app)
    verify.register(app)
    return app
