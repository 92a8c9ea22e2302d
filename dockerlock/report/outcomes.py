"""What a run produced, counted once: file outcomes, findings, and the exit code.

The runner turns each file into an ``Outcome`` (a ``Status`` and the rule results);
``Report`` gathers them, removes repeated findings and decides the exit code. Every
renderer reads the same ``Report``, so the text, JSON, SARIF, GitHub and markdown
outputs cannot disagree about counts or the exit code.
"""

from __future__ import annotations

import enum
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from dockerlock.diagnostics import UNNAMED, DockerlockError, Finding, Level
from dockerlock.engine import FileResult

EXIT_OK, EXIT_CHANGES, EXIT_ERROR = 0, 1, 2


class Mode(enum.Enum):
    """What to do with a file that would change: decided once, from the flags."""

    WRITE = "write"
    DIFF = "diff"
    CHECK = "check"


class Command(enum.Enum):
    MIGRATE = "migrate"
    REVERT = "revert"
    CHECK = "check"


class Status(enum.Enum):
    """The outcome of one file."""

    CHANGED = "changed"  # written
    WOULD_CHANGE = "would change"  # --diff / --check: nothing written
    UNCHANGED = "unchanged"
    ERROR = "error"  # could not be processed; nothing written


@dataclass
class Outcome:
    """What happened to one file, for the report."""

    path: str  # as the user gave it, or as found under a folder they gave
    status: Status
    result: FileResult | None = None
    diff: str = ""
    error: DockerlockError | None = None

    @property
    def converted(self) -> int:
        return self.result.converted if self.result else 0


@dataclass
class Report:
    """Outcomes of one ``migrate``, ``revert`` or ``check`` run, and what follows from them."""

    command: Command
    mode: Mode
    outcomes: list[Outcome] = field(default_factory=list)
    strict: bool = False  # check: warnings fail the run too
    searched: tuple[str, ...] = ()  # the paths given (for "no Dockerfiles found under ...")
    notes: list[str] = field(default_factory=list)  # about the run itself (shown with -v)

    # -- counts -------------------------------------------------------------------------------
    @cached_property
    def counts(self) -> Counter[Status]:
        return Counter(o.status for o in self.outcomes)

    @property
    def nothing_found(self) -> bool:
        """No file to process at all: a gate pointed at the wrong folder must not pass."""
        return not self.outcomes

    @cached_property
    def findings(self) -> dict[int, list[Finding]]:
        """Findings per outcome (by index), each said once.

        A file that could not be processed gets a ``DLK001`` error finding unless it already
        has an error-level one. A finding repeated word for word (same code, file, line and
        message) is kept only where it first appeared: two Dockerfiles sharing one lock
        report the lock's problems once.
        """
        seen: set[tuple] = set()
        out: dict[int, list[Finding]] = {}
        for index, o in enumerate(self.outcomes):
            kept: list[Finding] = []
            for f in _with_error(o):
                if f.path in (None, UNNAMED):
                    f = Finding(f.code, f.level, f.message, o.path, f.line, f.hint)
                key = (f.code, os.path.normpath(f.path), f.line, f.message)
                if key not in seen:
                    seen.add(key)
                    kept.append(f)
            out[index] = kept
        return out

    def files(self) -> list[tuple[Outcome, list[Finding]]]:
        """Each outcome with its findings (repeats removed), in processing order."""
        return [(o, self.findings[index]) for index, o in enumerate(self.outcomes)]

    def all_findings(self) -> list[Finding]:
        return [f for index in range(len(self.outcomes)) for f in self.findings[index]]

    def level_count(self, level: Level) -> int:
        return sum(f.level == level for f in self.all_findings())

    def fails_check(self, f: Finding) -> bool:
        """Does this finding make ``check`` exit 1?"""
        return f.level == Level.ERROR or (self.strict and f.level == Level.WARNING)

    # -- the exit code ------------------------------------------------------------------------
    @property
    def exit_code(self) -> int:
        """0 nothing to do / done; 1 would change (``--diff``/``--check``) or, for ``check``,
        failing findings; 2 a file could not be processed, or there was no file at all."""
        if self.nothing_found or self.counts[Status.ERROR]:
            return EXIT_ERROR
        if self.command is Command.CHECK:
            return EXIT_CHANGES if any(self.fails_check(f) for f in self.all_findings()) else EXIT_OK
        if self.mode is not Mode.WRITE and self.counts[Status.WOULD_CHANGE]:
            return EXIT_CHANGES
        return EXIT_OK

    def nothing_found_message(self) -> str:
        return "no Dockerfiles found under " + ", ".join(self.searched or (".",))


def _with_error(o: Outcome) -> list[Finding]:
    found = list(o.result.findings) if o.result else []
    if o.error is not None and not any(f.level == Level.ERROR for f in found):
        found.append(Finding("DLK001", Level.ERROR, o.error.reason, o.error.path or o.path, o.error.line,
                             o.error.hint))
    return found


# -- paths as the user sees them ----------------------------------------------------------------
def user_path(path: str, given: str) -> str:
    """``path`` the way the user named the file it came with (``given``).

    Lock and requirements findings carry host paths, often absolute; when the user gave a
    relative path, show them relative to the current folder too, so every message names
    files the same way and a copied path works where the user stands.
    """
    if path in (None, UNNAMED):
        return given
    if not os.path.isabs(path) or os.path.isabs(given):
        return path
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path


def ci_path(path: str) -> str:
    """A path as CI tools want it: relative to the current folder (the repository root in CI)
    when it lies inside it, with '/' separators. GitHub and code scanning can only place
    relative paths."""
    if os.path.isabs(path):
        try:
            rel = os.path.relpath(path)
        except ValueError:  # another drive on Windows
            return path.replace(os.sep, "/")
        if not rel.startswith(os.pardir):
            path = rel
    return path.replace(os.sep, "/")
