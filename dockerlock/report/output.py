"""What a renderer hands the CLI: pieces of text, each for one stream.

Standard output carries the report itself — the diff (``--diff``), ``check``'s findings,
or a machine-readable document — so it can be piped (``| git apply``, ``> report.json``);
everything about the run (status lines, summaries of ``migrate``/``revert``, notes) goes
to standard error, as black does.
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class Stream(enum.Enum):
    OUT = "stdout"
    ERR = "stderr"


class Chunk(NamedTuple):
    """One line (or, for a diff or a document, one block) of output."""

    text: str
    stream: Stream = Stream.OUT
    style: str | None = None  # a rich style; ignored without colour
    diff: bool = False  # a unified diff, printed as is (coloured per line on a terminal)


class View(NamedTuple):
    """How much the text output says; the machine formats ignore it."""

    quiet: bool = False
    verbose: bool = False


def out(text: str, style: str | None = None) -> Chunk:
    return Chunk(text, Stream.OUT, style)


def err(text: str, style: str | None = None) -> Chunk:
    return Chunk(text, Stream.ERR, style)
