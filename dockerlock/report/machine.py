"""The formats scripts and code-scanning dashboards read: ``json`` and ``sarif``.

Each is one document on standard output and nothing else; its exit code is the report's.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from dockerlock import __version__
from dockerlock.diagnostics import Finding
from dockerlock.report.outcomes import Report, Status, ci_path
from dockerlock.report.output import Chunk, View, err, out

#: Version of the ``--format json`` document (docs/json-schema.md); bumped on incompatible changes.
JSON_SCHEMA_VERSION = 1
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def finding_dict(f: Finding) -> dict:
    return {"code": f.code, "level": f.level.value, "message": f.message, "file": f.path, "line": f.line,
            "hint": f.hint}


def _nothing_found(report: Report) -> list[Chunk]:
    return [err(f"error: {report.nothing_found_message()}", "red")] if report.nothing_found else []


def render_json(report: Report, view: View) -> list[Chunk]:
    """The ``--format json`` document; its schema is in docs/json-schema.md."""
    files = []
    for o, findings in report.files():
        r = o.result
        files.append({
            "file": o.path,
            "status": o.status.value,
            "converted": r.converted if r else 0,
            "refused": r.refused if r else 0,
            "deferred": r.deferred if r else 0,
            "findings": [finding_dict(f) for f in findings],
            "diff": o.diff or None,
        })
    summary = {"files": len(report.outcomes), **{s.value: report.counts[s] for s in Status}}
    document = {"schema_version": JSON_SCHEMA_VERSION, "tool": "dockerlock", "version": __version__,
                "command": report.command.value, "mode": report.mode.value, "exit_code": report.exit_code,
                "summary": summary, "files": files}
    return [out(json.dumps(document, indent=2)), *_nothing_found(report)]


def _sarif_uri(path: str) -> str:
    """A relative (or absolute-path) URI reference for a file path: '/' separators, escaped."""
    return quote(ci_path(path), safe="/-._~!$&'()*+,;=:@")


def rule_descriptions() -> dict[str, str]:
    from dockerlock.rules import all_codes

    return all_codes()


def render_sarif(report: Report, view: View) -> list[Chunk]:
    """SARIF 2.1.0: one run, every finding code as a rule (stable ``ruleIndex``), one result per finding."""
    rules = rule_descriptions()
    codes = sorted(rules)
    results = []
    for o, findings in report.files():
        for f in findings:
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
    # executionSuccessful: dockerlock ran to the end over at least one file; files it could
    # not process are DLK001 results.
    invocation = {"executionSuccessful": not report.nothing_found, "exitCode": report.exit_code}
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0",
                "runs": [{"tool": {"driver": driver}, "invocations": [invocation], "results": results}]}
    return [out(json.dumps(document, indent=2)), *_nothing_found(report)]
