"""Rendering a run: terminal text (rich), JSON, GitHub annotations, SARIF, markdown.

The runner produces ``Run`` values; this module turns them into text and decides the
exit code. Nothing else prints.
"""

from __future__ import annotations

import json
import os
from collections import Counter
import re
from collections.abc import Callable
from urllib.parse import quote

from dockerlock import __version__
from dockerlock.diagnostics import Finding, Level
from dockerlock.runner import Mode, Outcome, Run

EXIT_OK, EXIT_CHANGES, EXIT_ERROR = 0, 1, 2
def _decision_codes() -> tuple[str, ...]:
    from dockerlock.rules import MIGRATE
    from dockerlock.rules.base import Decision

    return tuple(c.code for m in MIGRATE for c in m.CODES if c.decision in (Decision.REFUSED, Decision.DEFERRED))


SKIP_CODES = _decision_codes() + ("DLK304",)  # stanzas left untouched, with their reason
CHANGE_CODES = ("DLK101", "DLK301", "DLK302")  # stanzas converted or restored
DETAIL_CODE = "DLK105"  # a detail of the conversion above it
STATUSES = ("changed", "would change", "unchanged", "error")
#: Version of the ``--format json`` document (docs/json-schema.md); bumped on incompatible changes.
JSON_SCHEMA_VERSION = 1


def exit_code(run: Run, mode: Mode, command: str | None = None) -> int:
    """0 nothing to do / done, 1 would change (or, for ``check``, error-level findings), 2 error."""
    if any(o.status == "error" for o in run.outcomes):
        return EXIT_ERROR
    if command == "check":
        errors = any(f.level == Level.ERROR for o in run.outcomes for f in outcome_findings(o))
        return EXIT_CHANGES if errors else EXIT_OK
    if mode is not Mode.WRITE and any(o.status == "would change" for o in run.outcomes):
        return EXIT_CHANGES
    return EXIT_OK


def _status_line(o: Outcome, verb: str) -> tuple[str, str]:
    """(style, text) for one file."""
    r = o.result
    if o.status == "error":
        assert o.error is not None
        return "red", f"error: {o.error}"
    parts: list[str] = []
    if r is not None and r.converted:
        prefix = {"changed": verb, "would change": f"would {verb.rstrip('ed')}"}.get(o.status, verb)
        if verb == "migrated":
            prefix = "converted" if o.status == "changed" else "would convert"
        elif verb == "reverted":
            prefix = "reverted" if o.status == "changed" else "would revert"
        parts.append(f"{prefix} {r.converted} stanza{'s' if r.converted != 1 else ''}")
    skipped = [f for f in o.findings if f.code in SKIP_CODES]
    if skipped:
        reasons = "; ".join(f"line {f.line}: {f.message}" for f in skipped)
        parts.append(f"skipped {len(skipped)} ({reasons})")
    warnings = [f for f in o.findings if f.code in ("DLK302", "DLK303") and f.level != Level.ERROR]
    parts.extend(f"warning: {f.message}" for f in warnings)
    if not parts:
        parts.append("unchanged")
    style = {"changed": "green", "would change": "yellow"}.get(o.status, "dim" if not skipped else "yellow")
    return style, ", ".join(parts)


def render_text(run: Run, mode: Mode, verb: str, echo: Callable[[str, str | None], None],
                *, show_diff: bool, verbose: bool = False, quiet: bool = False) -> None:
    for o in run.outcomes:
        if show_diff and o.diff:
            echo(o.diff, "diff")
    if not quiet:
        for o in run.outcomes:
            style, text = _status_line(o, verb)
            echo(f"{o.path}: {text}", style)
            if verbose:
                for f in o.findings:
                    if f.code in ("DLK105", "DLK101"):
                        echo(f"  {f.location()}: {f.message}", "dim")
    counts = Counter(o.status for o in run.outcomes)
    stanzas = sum(o.result.converted for o in run.outcomes if o.result and o.status in ("changed", "would change"))
    skipped = sum(1 for o in run.outcomes for f in o.findings if f.code in SKIP_CODES)
    changed_word = {"migrated": "converted", "reverted": "reverted"}.get(verb, verb)
    if mode is Mode.WRITE:
        head = f"{counts['changed']} file{'s' if counts['changed'] != 1 else ''} {changed_word}"
    else:
        n = counts["would change"]
        head = f"{n} file{'s' if n != 1 else ''} would be {changed_word}"
    summary = (f"{head} ({stanzas} stanza{'s' if stanzas != 1 else ''}), {counts['unchanged']} unchanged, "
               f"{skipped} stanza{'s' if skipped != 1 else ''} skipped, {counts['error']} error"
               f"{'s' if counts['error'] != 1 else ''}")
    echo(summary, "bold red" if counts["error"] else "bold")


def finding_dict(f: Finding) -> dict:
    return {"code": f.code, "level": f.level.value, "message": f.message, "file": f.path, "line": f.line,
            "hint": f.hint}


def outcome_findings(o: Outcome) -> list[Finding]:
    found = list(o.findings)
    if o.error is not None and not any(f.level == Level.ERROR for f in found):
        found.append(Finding("DLK001", Level.ERROR, o.error.reason, o.error.path or o.path, o.error.line,
                             o.error.hint))
    return found


def ci_path(path: str) -> str:
    """A path as CI tools want it: relative to the current folder (the repository root in CI)
    when it lies inside it, with '/' separators. Lock and requirements findings can carry
    absolute host paths; GitHub and code scanning can only place relative ones."""
    if os.path.isabs(path):
        try:
            rel = os.path.relpath(path)
        except ValueError:  # another drive on Windows
            return path.replace(os.sep, "/")
        if not rel.startswith(os.pardir):
            path = rel
    return path.replace(os.sep, "/")


def summary_text(run: Run, mode: Mode, command: str) -> str:
    """The one-line summary the text output ends with, for every format."""
    if command == "check":
        findings = [f for o in run.outcomes for f in outcome_findings(o)]
        errors = sum(f.level == Level.ERROR for f in findings)
        warnings = sum(f.level == Level.WARNING for f in findings)
        return f"{len(run.outcomes)} file(s) checked: {errors} error(s), {warnings} warning(s)"
    lines: list[str] = []
    verb = {"migrate": "migrated", "revert": "reverted"}.get(command, command)
    render_text(run, mode, verb, lambda text, style: lines.append(text), show_diff=False, quiet=True)
    return lines[-1]


def render_json(run: Run, mode: Mode, command: str) -> str:
    """The ``--format json`` document; its schema is in docs/json-schema.md."""
    files = []
    for o in run.outcomes:
        r = o.result
        files.append({
            "file": o.path,
            "status": o.status,
            "converted": r.converted if r else 0,
            "refused": r.refused if r else 0,
            "deferred": r.deferred if r else 0,
            "findings": [finding_dict(f) for f in outcome_findings(o)],
            "diff": o.diff or None,
        })
    counts = Counter(o.status for o in run.outcomes)
    summary = {"files": len(run.outcomes), **{status: counts[status] for status in STATUSES}}
    return json.dumps({"schema_version": JSON_SCHEMA_VERSION, "tool": "dockerlock", "version": __version__,
                       "command": command, "mode": mode.value, "exit_code": exit_code(run, mode, command),
                       "summary": summary, "files": files}, indent=2)


def _gh_escape(text: str, prop: bool = False) -> str:
    """Workflow-command escaping, as GitHub's toolkit does it (data, and properties)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(run: Run, mode: Mode, command: str) -> str:
    """Workflow commands: one annotation per finding worth showing on the PR, then the summary.

    Errors and warnings become ``::error``/``::warning``; notes are left out except the
    conversions (DLK101, as ``::notice``). When ``$GITHUB_STEP_SUMMARY`` names a file, the
    markdown report is appended to it (the job's summary page).
    """
    lines = []
    for o in run.outcomes:
        for f in outcome_findings(o):
            if f.level == Level.NOTE and f.code != "DLK101":
                continue
            kind = {"error": "error", "warning": "warning", "note": "notice"}[f.level.value]
            loc = f"file={_gh_escape(ci_path(f.path or o.path), True)}"
            if f.line:
                loc += f",line={f.line}"
            lines.append(f"::{kind} {loc},title={_gh_escape(f.code, True)}::{_gh_escape(f.message)}")
    lines.append(summary_text(run, mode, command))
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(render_markdown(run, mode, command) + "\n")
    return "\n".join(lines)


# -- markdown ---------------------------------------------------------------------------------
def _md_text(text: str) -> str:
    """Message text for markdown: keep `code spans`; outside them, ``<`` cannot open an HTML tag."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: treat the whole text as plain
        parts = [text.replace("`", "\\`")]
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;")
    return "`".join(parts)


def _md_code(text: str) -> str:
    """An inline code span that survives backticks in ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _md_fence(body: str, info: str) -> list[str]:
    longest = max((len(m) for m in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", body.rstrip("\n"), fence]


def _md_item(f: Finding, with_level: bool = False, shown: str | None = None) -> str:
    where = f"line {f.line}" if f.line else "file"
    if f.path and shown is not None and ci_path(f.path) != ci_path(shown):
        where = f"{_md_code(ci_path(f.path))}" + (f" line {f.line}" if f.line else "")
    level = f"{f.level.value} " if with_level else ""
    return f"- {where} ({level}{f.code}): {_md_text(f.message)}"


def _md_sections(findings: list[Finding], command: str, shown: str) -> list[tuple[str, list[str]]]:
    if command == "check":
        by_level = [("Errors", Level.ERROR), ("Warnings", Level.WARNING), ("Notes", Level.NOTE)]
        return [(title, [_md_item(f, shown=shown) for f in findings if f.level == level]) for title, level in by_level]
    changed: list[str] = []
    skipped: list[str] = []
    errors: list[str] = []
    other: list[str] = []
    last_change: Finding | None = None
    for f in findings:
        if f.code == DETAIL_CODE and last_change is not None and last_change.line == f.line:
            changed.append(f"  - {_md_text(f.message)}")
            continue
        last_change = None
        if f.level == Level.ERROR:
            errors.append(_md_item(f, shown=shown))
        elif f.code in CHANGE_CODES:
            changed.append(_md_item(f, shown=shown))
            last_change = f
        elif f.code in SKIP_CODES or f.code == "DLK303":
            skipped.append(_md_item(f, shown=shown))
        else:
            other.append(_md_item(f, with_level=True, shown=shown))
    return [("Errors", errors), ("Changed", changed), ("Skipped", skipped), ("Other findings", other)]


def render_markdown(run: Run, mode: Mode, command: str) -> str:
    """A report ready to paste into a PR comment or a job summary.

    Per file: what changed, what was left alone and why, errors, and the diff (``--diff``)
    in a fenced block. Files with nothing to report are listed on one line at the end.
    """
    title = {"migrate": "migrate", "revert": "revert", "check": "check"}.get(command, command)
    mode_note = {Mode.DIFF: " (diff, nothing written)", Mode.CHECK: " (check, nothing written)",
                 Mode.WRITE: ""}[mode] if command != "check" else ""
    out = [f"## dockerlock {title}{mode_note}", "", summary_text(run, mode, command) + "."]
    quiet: list[str] = []
    for o in run.outcomes:
        findings = outcome_findings(o)
        if not findings and not o.diff and o.status == "unchanged":
            quiet.append(_md_code(o.path))
            continue
        status = "" if command == "check" and o.status != "error" else f": {o.status}"
        out += ["", f"### {_md_code(o.path)}{status}"]
        for heading, items in _md_sections(findings, command, o.path):
            if items:
                out += ["", f"**{heading}**", "", *items]
        if o.diff:
            out += ["", *_md_fence(o.diff, "diff")]
    if quiet:
        label = "Nothing to report" if command == "check" else "No pip requirements install found"
        out += ["", f"{label}: {', '.join(quiet)}."]
    return "\n".join(out)


# -- SARIF ------------------------------------------------------------------------------------
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _sarif_uri(path: str) -> str:
    """A relative (or absolute-path) URI reference for a file path: '/' separators, escaped."""
    return quote(ci_path(path), safe="/-._~!$&'()*+,;=:@")


def render_sarif(run: Run, mode: Mode, command: str, rules: dict[str, str]) -> str:
    """SARIF 2.1.0: one run, every finding code as a rule (stable ``ruleIndex``), one result per finding."""
    codes = sorted(rules)
    results = []
    for o in run.outcomes:
        for f in outcome_findings(o):
            if f.code not in rules:
                codes.append(f.code)
                rules = {**rules, f.code: f.code}
            location: dict = {"physicalLocation": {"artifactLocation": {"uri": _sarif_uri(f.path or o.path)}}}
            if f.line:
                location["physicalLocation"]["region"] = {"startLine": f.line}
            results.append({"ruleId": f.code, "ruleIndex": codes.index(f.code), "level": f.level.value,
                            "message": {"text": f.message}, "locations": [location]})
    driver = {"name": "dockerlock", "version": __version__, "semanticVersion": __version__,
              "rules": [{"id": code, "shortDescription": {"text": rules[code]}} for code in codes]}
    # executionSuccessful: dockerlock ran to the end; files it could not process are DLK001 results.
    invocation = {"executionSuccessful": True, "exitCode": exit_code(run, mode, command)}
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0",
                       "runs": [{"tool": {"driver": driver}, "invocations": [invocation], "results": results}]},
                      indent=2)
