"""The ``text`` format: for people at a terminal or reading a CI log.

``migrate``/``revert``: the diffs on standard output; one status line per file and the
summary on standard error. ``check``: one line per finding and the summary on standard
output (the findings are its report).
"""

from __future__ import annotations

from dockerlock.diagnostics import Finding, Level, format_location
from dockerlock.report.outcomes import Command, Mode, Outcome, Report, Status, user_path
from dockerlock.report.output import Chunk, Stream, View, err, out


def _decision_codes() -> tuple[str, ...]:
    from dockerlock.rules import MIGRATE
    from dockerlock.rules.base import Decision

    return tuple(c.code for m in MIGRATE for c in m.CODES if c.decision in (Decision.REFUSED, Decision.DEFERRED))


SKIP_CODES = _decision_codes() + ("DLK304",)  # stanzas left untouched, with their reason
CHANGE_CODES = ("DLK101", "DLK301", "DLK302")  # stanzas converted or restored
DETAIL_CODE = "DLK105"  # a detail of the conversion above it
_VERBS = {Command.MIGRATE: ("converted", "would convert", "converted"),
          Command.REVERT: ("reverted", "would revert", "reverted")}
_LEVEL_STYLE = {Level.ERROR: "red", Level.WARNING: "yellow", Level.NOTE: "dim"}


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def located(path: str | None, line: int | None, given: str, text: str) -> str:
    """``file:line: text``: one location prefix, the path as the user gave it."""
    return f"{format_location(user_path(path, given), line)}: {text}"


def finding_line(f: Finding, given: str) -> str:
    hint = f" (hint: {f.hint})" if f.hint and f.hint.split(": ")[-1] not in f.message else ""
    return located(f.path, f.line, given, f"{f.level.value} {f.code}: {f.message}{hint}")


def error_line(o: Outcome) -> str:
    assert o.error is not None
    code = getattr(o.error, "code", None)
    text = f"error {code}: {o.error.reason}" if code else f"error: {o.error.reason}"
    if o.error.hint:
        text += f" (hint: {o.error.hint})"
    return located(o.error.path, o.error.line, o.path, text)


def status_line(o: Outcome, findings: list[Finding], command: Command) -> tuple[str, str]:
    """(style, text) for one file of a ``migrate`` or ``revert`` run."""
    if o.status is Status.ERROR:
        return "red", error_line(o)
    done, would, _ = _VERBS[command]
    parts: list[str] = []
    if o.converted:
        parts.append(f"{done if o.status is Status.CHANGED else would} {plural(o.converted, 'stanza')}")
    skipped = [f for f in findings if f.code in SKIP_CODES]
    if skipped:
        reasons = "; ".join(f"line {f.line}: {f.message}" for f in skipped)
        parts.append(f"skipped {skipped_stanzas(o, skipped, command)} ({reasons})")
    parts.extend(f"warning: {f.message}" for f in findings
                 if f.code in ("DLK302", "DLK303") and f.level != Level.ERROR)
    if not parts:
        parts.append("unchanged")
    style = {Status.CHANGED: "green", Status.WOULD_CHANGE: "yellow"}.get(o.status, "yellow" if skipped else "dim")
    return style, f"{o.path}: {', '.join(parts)}"


def skipped_stanzas(o: Outcome, skips: list[Finding], command: Command) -> int:
    """How many stanzas of a file were left alone: one stanza may give several reasons
    (``pip wheel -r r.txt pkg`` builds files *and* names packages)."""
    if command is Command.MIGRATE and o.result is not None and o.status is not Status.ERROR:
        return o.result.refused + o.result.deferred
    return len(skips)


def _warning_of_its_own(f: Finding) -> bool:
    """A warning the status line does not already carry (a skipped stanza's reason, a revert
    warning): ``DLK109``, a stanza converted although its lock does not cover the requirements,
    must not pass in silence."""
    return f.level == Level.WARNING and f.code not in SKIP_CODES and f.code not in ("DLK302", "DLK303")


def summary(report: Report) -> str:
    """The one-line summary the text output ends with (also used by the other formats)."""
    if report.command is Command.CHECK:
        return (f"{len(report.outcomes)} file(s) checked: {report.level_count(Level.ERROR)} error(s), "
                f"{report.level_count(Level.WARNING)} warning(s)")
    _, _, noun = _VERBS[report.command]
    counts = report.counts
    stanzas = sum(o.converted for o in report.outcomes if o.status in (Status.CHANGED, Status.WOULD_CHANGE))
    skipped = sum(skipped_stanzas(o, [f for f in findings if f.code in SKIP_CODES], report.command)
                  for o, findings in report.files())
    if report.mode is Mode.WRITE:
        head = f"{plural(counts[Status.CHANGED], 'file')} {noun}"
    else:
        head = f"{plural(counts[Status.WOULD_CHANGE], 'file')} would be {noun}"
    return (f"{head} ({plural(stanzas, 'stanza')}), {counts[Status.UNCHANGED]} unchanged, "
            f"{plural(skipped, 'stanza')} skipped, {plural(counts[Status.ERROR], 'error')}")


def render(report: Report, view: View) -> list[Chunk]:
    if report.nothing_found:
        return [err(f"error: {report.nothing_found_message()}", "red")]
    if report.command is Command.CHECK:
        return _render_check(report, view)
    chunks: list[Chunk] = []
    if report.mode is Mode.DIFF:
        chunks += [Chunk(o.diff, Stream.OUT, diff=True) for o in report.outcomes if o.diff]
    if not view.quiet:
        for o, findings in report.files():
            style, text = status_line(o, findings, report.command)
            chunks.append(err(text, style))
            chunks += [err(finding_line(f, o.path), "yellow") for f in findings if _warning_of_its_own(f)]
            if view.verbose:
                chunks += [err(f"  {located(f.path, f.line, o.path, f.message)}", "dim")
                           for f in findings if f.code in (DETAIL_CODE, "DLK101")]
    if view.verbose:
        chunks += [err(note, "dim") for note in report.notes]
    chunks.append(err(summary(report), "bold red" if report.counts[Status.ERROR] else "bold"))
    return chunks


def _render_check(report: Report, view: View) -> list[Chunk]:
    chunks: list[Chunk] = []
    for o, findings in report.files():
        for f in findings:
            if view.quiet and not report.fails_check(f):
                continue
            chunks.append(out(finding_line(f, o.path), _LEVEL_STYLE[f.level]))
    if view.verbose:
        chunks += [err(note, "dim") for note in report.notes]
    failing = report.exit_code != 0
    chunks.append(out(summary(report), "bold red" if failing else "bold"))
    return chunks
