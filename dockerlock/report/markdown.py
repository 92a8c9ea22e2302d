"""The ``markdown`` format: a report to paste into a pull-request comment or a job summary.

Per file: what changed, what was left alone and why, errors, and the diff (``--diff``)
in a fenced block. Files with nothing to report are listed on one line at the end.
"""

from __future__ import annotations

import re

from dockerlock.diagnostics import Finding, Level
from dockerlock.report.outcomes import Command, Mode, Report, Status, ci_path
from dockerlock.report.output import Chunk, View, out
from dockerlock.report.text import CHANGE_CODES, DETAIL_CODE, SKIP_CODES, summary


def _text(text: str) -> str:
    """Message text for markdown: keep `code spans`; outside them, ``<`` cannot open an HTML tag."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: treat the whole text as plain
        parts = [text.replace("`", "\\`")]
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;")
    return "`".join(parts)


def _code(text: str) -> str:
    """An inline code span that survives backticks in ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _fence(body: str, info: str) -> list[str]:
    longest = max((len(m) for m in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", body.rstrip("\n"), fence]


def _item(f: Finding, shown: str, with_level: bool = False) -> str:
    where = f"line {f.line}" if f.line else "file"
    if f.path and ci_path(f.path) != ci_path(shown):
        where = _code(ci_path(f.path)) + (f" line {f.line}" if f.line else "")
    level = f"{f.level.value} " if with_level else ""
    return f"- {where} ({level}{f.code}): {_text(f.message)}"


def _sections(findings: list[Finding], command: Command, shown: str) -> list[tuple[str, list[str]]]:
    if command is Command.CHECK:
        by_level = [("Errors", Level.ERROR), ("Warnings", Level.WARNING), ("Notes", Level.NOTE)]
        return [(title, [_item(f, shown) for f in findings if f.level == level]) for title, level in by_level]
    changed: list[str] = []
    skipped: list[str] = []
    errors: list[str] = []
    other: list[str] = []
    last_change: Finding | None = None
    for f in findings:
        if f.code == DETAIL_CODE and last_change is not None and last_change.line == f.line:
            changed.append(f"  - {_text(f.message)}")
            continue
        last_change = None
        if f.level == Level.ERROR:
            errors.append(_item(f, shown))
        elif f.code in CHANGE_CODES:
            changed.append(_item(f, shown))
            last_change = f
        elif f.code in SKIP_CODES or f.code == "DLK303":
            skipped.append(_item(f, shown))
        else:
            other.append(_item(f, shown, with_level=True))
    return [("Errors", errors), ("Changed", changed), ("Skipped", skipped), ("Other findings", other)]


def markdown(report: Report) -> str:
    command = report.command
    mode_note = {Mode.DIFF: " (diff, nothing written)", Mode.CHECK: " (check, nothing written)",
                 Mode.WRITE: ""}[report.mode] if command is not Command.CHECK else ""
    lines = [f"## dockerlock {command.value}{mode_note}", "", summary(report) + "."]
    if report.nothing_found:
        lines += ["", f"**Error:** {_text(report.nothing_found_message())}."]
    quiet: list[str] = []
    for o, findings in report.files():
        if not findings and not o.diff and o.status is Status.UNCHANGED:
            quiet.append(_code(o.path))
            continue
        status = "" if command is Command.CHECK and o.status is not Status.ERROR else f": {o.status.value}"
        lines += ["", f"### {_code(o.path)}{status}"]
        for heading, items in _sections(findings, command, o.path):
            if items:
                lines += ["", f"**{heading}**", "", *items]
        if o.diff:
            lines += ["", *_fence(o.diff, "diff")]
    if quiet:
        label = "Nothing to report" if command is Command.CHECK else "No pip requirements install found"
        lines += ["", f"{label}: {', '.join(quiet)}."]
    return "\n".join(lines)


def render(report: Report, view: View) -> list[Chunk]:
    return [out(markdown(report))]
