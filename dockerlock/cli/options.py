"""What the command modules share: output formats, option declarations, consoles.

Each option several commands accept is declared once here, so its flag names and help
text cannot drift apart between commands.
"""

from __future__ import annotations

import enum
import os
import sys

import typer


class Format(str, enum.Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"
    markdown = "markdown"


class UvSource(str, enum.Enum):
    image = "image"
    pip = "pip"


def paths_arg():
    return typer.Argument(None, help="Dockerfiles or folders to search (default: current folder).")


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


def console(color: bool | None, stderr: bool = False):
    from rich.console import Console

    # https://no-color.org: a NO_COLOR that is set and not empty disables colour
    no_color = color is False or (color is None and bool(os.environ.get("NO_COLOR")))
    return Console(stderr=stderr, force_terminal=True if color else None, no_color=no_color,
                   color_system=None if no_color else "auto", highlight=False, soft_wrap=True)


class LazyConsole:
    """The ``console()`` for a stream, made on first need.

    Output to a pipe or a file is written verbatim (``emit``, ``print_diff``) and never asks
    rich to render, so a run in CI or a pre-commit hook need not import rich (a tenth of the
    start-up). Whether the stream is a terminal is answered without rich only where rich's own
    answer is certain: colour not forced, no FORCE_COLOR or TTY_COMPATIBLE, and no tty.
    """

    def __init__(self, color: bool | None, stderr: bool = False) -> None:
        self._color, self._stderr = color, stderr
        self._real = None
        self.no_color = color is False or (color is None and bool(os.environ.get("NO_COLOR")))

    @property
    def file(self):
        return sys.stderr if self._stderr else sys.stdout

    @property
    def real(self):
        """The rich Console itself (for rich's own APIs: progress bars, tables)."""
        if self._real is None:
            self._real = console(self._color, self._stderr)
        return self._real

    @property
    def is_terminal(self) -> bool:
        if self._real is None and not self._color and not any(
                name in os.environ for name in ("FORCE_COLOR", "TTY_COMPATIBLE")) and not _isatty(self.file):
            return False
        return self.real.is_terminal

    def print(self, *args, **kwargs) -> None:
        self.real.print(*args, **kwargs)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream: what rich answers too
        return False


def print_error(err, text: str, style: str = "red") -> None:
    """A message about the run (not a file's report) on standard error."""
    err.print(text, style=style, markup=False, highlight=False, emoji=False, soft_wrap=True)


def error_text(exc, given: str) -> str:
    """``file:line: error: reason`` for an error that names a file (a configuration file, for
    example), with the path shown the way the user named things; ``error: reason`` otherwise."""
    from dockerlock.report.text import located

    text = f"error: {exc.reason}" + (f" (hint: {exc.hint})" if exc.hint else "")
    return located(exc.path, exc.line, given, text) if exc.path else text


def emit(chunks, console, err) -> None:
    """Print a renderer's output: each chunk on its stream, styled only where colour is on."""
    from dockerlock.report import Stream

    for chunk in chunks:
        target = console if chunk.stream is Stream.OUT else err
        if chunk.diff:
            print_diff(target, chunk.text)
        elif chunk.style and not target.no_color and target.is_terminal:
            target.print(chunk.text, style=chunk.style, markup=False, highlight=False, emoji=False, soft_wrap=True)
        else:  # verbatim: a JSON or SARIF document must reach the pipe byte for byte
            target.file.write(chunk.text + "\n")
            target.file.flush()


def print_diff(console, text: str) -> None:
    """A unified diff: as is when piped or without colour, coloured per line on a terminal."""
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
        console.print(line, style=style, markup=False, highlight=False, emoji=False, soft_wrap=True)
