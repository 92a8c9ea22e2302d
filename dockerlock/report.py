"""Rendering a run: terminal text (rich), JSON, GitHub annotations, SARIF, markdown.

The runner produces ``Run`` values; this module turns them into text and decides the
exit code. Nothing else prints.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable

from dockerlock import __version__
from dockerlock.diagnostics import Finding, Level
from dockerlock.runner import Mode, Outcome, Run

EXIT_OK, EXIT_CHANGES, EXIT_ERROR = 0, 1, 2
SKIP_CODES = ("DLK102", "DLK103", "DLK304")  # stanzas left untouched, with their reason


def exit_code(run: Run, mode: Mode) -> int:
    if any(o.status == "error" for o in run.outcomes):
        return EXIT_ERROR
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


def render_json(run: Run, mode: Mode, command: str) -> str:
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
    return json.dumps({"tool": "dockerlock", "version": __version__, "command": command, "mode": mode.value,
                       "exit_code": exit_code(run, mode), "summary": dict(counts), "files": files}, indent=2)


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(run: Run, mode: Mode, command: str) -> str:
    """Workflow commands: one annotation per finding worth showing on the PR."""
    lines = []
    for o in run.outcomes:
        for f in outcome_findings(o):
            if f.level == Level.NOTE and f.code != "DLK101":
                continue
            kind = {"error": "error", "warning": "warning", "note": "notice"}[f.level.value]
            loc = f"file={_gh_escape(f.path or o.path, True)}"
            if f.line:
                loc += f",line={f.line}"
            lines.append(f"::{kind} {loc},title={f.code}::{_gh_escape(f.message)}")
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(render_markdown(run, mode, command) + "\n")
    return "\n".join(lines)


def render_markdown(run: Run, mode: Mode, command: str) -> str:
    counts = Counter(o.status for o in run.outcomes)
    out = [f"## dockerlock {command}", ""]
    changed = counts["changed"] + counts["would change"]
    out.append(f"**{changed}** file(s) {'would change' if mode is not Mode.WRITE else 'changed'}, "
               f"**{counts['unchanged']}** unchanged, **{counts['error']}** error(s).")
    for o in run.outcomes:
        out += ["", f"### `{o.path}`", ""]
        fs = outcome_findings(o)
        if not fs:
            out.append("No pip requirements install found.")
        for f in fs:
            icon = {"error": "❌", "warning": "⚠️", "note": "✅" if f.code in ("DLK101", "DLK301") else "ℹ️"}[f.level.value]
            line = f" (line {f.line})" if f.line else ""
            out.append(f"- {icon} **{f.code}**{line}: {f.message}")
        if o.diff:
            out += ["", "<details><summary>Diff</summary>", "", "```diff", o.diff.rstrip("\n"), "```", "",
                    "</details>"]
    return "\n".join(out)


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render_sarif(run: Run, mode: Mode, command: str, rules: dict[str, str]) -> str:
    results = []
    used: dict[str, str] = {}
    for o in run.outcomes:
        for f in outcome_findings(o):
            used[f.code] = rules.get(f.code, f.code)
            region = {"startLine": f.line} if f.line else None
            location = {"physicalLocation": {"artifactLocation": {"uri": (f.path or o.path).replace(os.sep, "/")}}}
            if region:
                location["physicalLocation"]["region"] = region
            results.append({"ruleId": f.code, "level": f.level.value, "message": {"text": f.message},
                            "locations": [location]})
    driver = {"name": "dockerlock", "version": __version__, "informationUri": "https://github.com/dockerlock/dockerlock",
              "rules": [{"id": code, "shortDescription": {"text": text}} for code, text in sorted(used.items())]}
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0",
                       "runs": [{"tool": {"driver": driver}, "results": results}]}, indent=2)
