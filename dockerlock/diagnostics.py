"""Findings and typed errors shared by every layer.

Errors are values until the edge: lower layers raise a ``DockerlockError`` (or
return ``Finding`` objects); only the CLI turns them into exit codes and text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Level(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Finding:
    """Something a rule or check wants the user to know, tied to a place."""

    code: str  # stable identifier, e.g. "DLK101"; used in docs, output and pragmas
    level: Level
    message: str
    path: str | None = None
    line: int | None = None
    hint: str | None = None
    #: The edits that act on this finding (``dockerlock.edits.Fix``), if the rule proposes any.
    fix: Any = field(default=None, compare=False, repr=False)

    def location(self) -> str:
        return format_location(self.path, self.line)


#: What a parser calls text that came without a file name; the runner names the file instead.
UNNAMED = "<input>"


def format_location(path: str | None, line: int | None) -> str:
    """``file:line`` when there is a line, else ``file``."""
    if path is None:
        path = UNNAMED
    return f"{path}:{line}" if line is not None else path


class DockerlockError(Exception):
    """A typed, user-facing error: file, line and reason; never a traceback."""

    kind = "error"

    def __init__(self, reason: str, path: str | None = None, line: int | None = None,
                 hint: str | None = None, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path
        self.line = line
        self.hint = hint
        self.code = code  # the rule's code when a rule's finding stopped the file (DLK104...)

    def with_path(self, path: str) -> "DockerlockError":
        """Name the file the error is about, unless it already names one."""
        if self.path in (None, UNNAMED):
            self.path = path
        return self

    def __str__(self) -> str:
        text = f"{format_location(self.path, self.line)}: {self.reason}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class DecodeError(DockerlockError):
    """The file is not UTF-8 text (binary, UTF-16, Latin-1...)."""

    kind = "decode"


class DockerfileSyntaxError(DockerlockError):
    """The Dockerfile cannot be parsed the way BuildKit would parse it."""

    kind = "syntax"


class LockError(DockerlockError):
    """pylock.toml is missing, invalid, or does not fit the image."""

    kind = "lock"


class ConfigError(DockerlockError):
    """Bad configuration or command-line usage."""

    kind = "config"


class InvariantViolation(DockerlockError):
    """A planned rewrite would change text outside its edits: a dockerlock bug; nothing is written."""

    kind = "invariant"
