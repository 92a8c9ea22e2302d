"""The ``github`` format: workflow commands GitHub Actions turns into annotations.

One ``::error``/``::warning`` per finding worth showing on the pull request (notes are
left out except conversions, as ``::notice``) on standard output; the summary line goes
to the log on standard error. The job summary (``$GITHUB_STEP_SUMMARY``) is written by
the CLI, from the markdown renderer.
"""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.report.outcomes import Report, ci_path
from dockerlock.report.output import Chunk, View, err, out
from dockerlock.report.text import summary


def escape(text: str, prop: bool = False) -> str:
    """Workflow-command escaping, as GitHub's toolkit does it (data, and properties)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render(report: Report, view: View) -> list[Chunk]:
    chunks: list[Chunk] = []
    if report.nothing_found:
        chunks.append(out(f"::error title=dockerlock::{escape(report.nothing_found_message())}"))
    for o, findings in report.files():
        for f in findings:
            if f.level == Level.NOTE and f.code != "DLK101":
                continue
            kind = {"error": "error", "warning": "warning", "note": "notice"}[f.level.value]
            loc = f"file={escape(ci_path(f.path or o.path), True)}"
            if f.line:
                loc += f",line={f.line}"
            chunks.append(out(f"::{kind} {loc},title={escape(f.code, True)}::{escape(f.message)}"))
    chunks.append(err(summary(report)))
    return chunks
