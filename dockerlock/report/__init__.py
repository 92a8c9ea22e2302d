"""Reporting a run: outcomes, counts and the exit code (``outcomes``), and one renderer
per output format (``RENDERERS``), each returning text for standard output or error.

The runner produces ``Outcome`` values; ``Report`` counts them and owns the exit code;
the CLI picks a renderer from ``RENDERERS`` once and prints what it returns. Nothing in
this package prints or writes files.
"""

from __future__ import annotations

from collections.abc import Callable

from dockerlock.report import github, machine, markdown, text
from dockerlock.report.outcomes import (
                                        EXIT_CHANGES,
                                        EXIT_ERROR,
                                        EXIT_OK,
                                        Command,
                                        Mode,
                                        Outcome,
                                        Report,
                                        Status,
                                        ci_path,
                                        user_path,
)
from dockerlock.report.output import Chunk, Stream, View

Renderer = Callable[[Report, View], list[Chunk]]

#: ``--format`` name -> renderer; the one place an output format is chosen.
RENDERERS: dict[str, Renderer] = {
    "text": text.render,
    "json": machine.render_json,
    "github": github.render,
    "sarif": machine.render_sarif,
    "markdown": markdown.render,
}

__all__ = ["EXIT_CHANGES", "EXIT_ERROR", "EXIT_OK", "RENDERERS", "Chunk", "Command", "Mode", "Outcome", "Renderer",
           "Report", "Status", "Stream", "View", "ci_path", "user_path"]
