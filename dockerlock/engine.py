"""Per-file pipeline: model -> rule plans edits -> record -> apply -> verify.

Pure: the caller hands in the parsed Dockerfile, the build context and a lock loader;
the result is a ``FileResult`` value (new text or an error), never a write.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from dockerlock.context import BuildContext
from dockerlock.diagnostics import DockerlockError, Finding, InvariantViolation
from dockerlock.edits import Edit, apply_edits, verify_untouched
from dockerlock.model import Dockerfile
from dockerlock.record import make_record_line
from dockerlock.settings import Settings
from dockerlock.source import Source, Span


@dataclass
class FileResult:
    path: str
    new_text: str | None = None  # None: nothing to change
    findings: list[Finding] = field(default_factory=list)
    error: DockerlockError | None = None
    converted: int = 0
    refused: int = 0
    deferred: int = 0

    @property
    def changed(self) -> bool:
        return self.new_text is not None and self.error is None


def migrate_dockerfile(df: Dockerfile, context: BuildContext, settings: Settings, load_lock) -> FileResult:
    from dockerlock.rules.pip_to_uv import CONVERTED, DEFERRED, FAILED, plan_migration

    plan = plan_migration(df, context, settings, load_lock)
    result = FileResult(df.source.path, findings=plan.findings)
    result.converted = sum(st.status == CONVERTED for st in plan.stanzas)
    result.deferred = sum(st.status == DEFERRED for st in plan.stanzas)
    result.refused = sum(st.status not in (CONVERTED, DEFERRED) for st in plan.stanzas)
    failed = [st for st in plan.stanzas if st.status == FAILED]
    if failed:
        st = failed[0]
        result.error = DockerlockError("; ".join(st.reasons), df.source.path, st.line)
        return result
    if not plan.edits:
        return result
    groups = [st.edits for st in plan.stanzas if st.status == CONVERTED and st.edits]
    try:
        result.new_text = finish(df, groups, record=settings.record,
                                 replan=lambda new_df: plan_migration(new_df, context, settings, load_lock).edits)
    except DockerlockError as exc:
        result.error = exc
        result.new_text = None
    return result


def finish(df: Dockerfile, groups: list[list[Edit]], *, record: bool, replan=None) -> str:
    """Apply edit groups (one per stanza), add records, verify, and return the new text.

    Raises ``InvariantViolation`` when the result would change anything outside the
    edits, does not parse, or is not stable (a second run would change it again).
    """
    edits = [e for g in groups for e in g]
    if record:
        edits = _records(df, groups) + edits
    text = apply_edits(df.source.text, edits)
    try:
        after = Dockerfile.parse(Source.from_text(text, df.source.path, bom=df.source.bom))
    except DockerlockError as exc:
        raise InvariantViolation(f"refusing to write: the rewritten file would not parse ({exc.reason}). "
                                 "This is a dockerlock bug; please report it.", df.source.path) from None
    verify_untouched(df, after, edits)
    if replan is not None and replan(after):
        raise InvariantViolation("refusing to write: the rewrite is not stable (a second run would change "
                                 "it again). This is a dockerlock bug; please report it.", df.source.path)
    return text


def _region(df: Dockerfile, edits: list[Edit]) -> Span:
    src = df.source
    start = min(e.span.start for e in edits)
    end = max(e.span.end for e in edits)
    start = src.line_starts[bisect.bisect_right(src.line_starts, start) - 1]
    if end > start and end not in src.line_starts and end != len(src.text):
        end = src.line_span(src.line_of(end - 1)).end
    return Span(start, end)


def _records(df: Dockerfile, groups: list[list[Edit]]) -> list[Edit]:
    """One record comment per migrated region; overlapping regions are merged."""
    regions: list[tuple[Span, list[Edit]]] = []
    for group in sorted(groups, key=lambda g: min(e.span.start for e in g)):
        span = _region(df, group)
        if regions and span.start <= regions[-1][0].end:
            _, prev_edits = regions.pop()
            merged = prev_edits + group
            regions.append((_region(df, merged), merged))
        else:
            regions.append((span, list(group)))
    out: list[Edit] = []
    text = df.source.text
    for span, group in regions:
        local = [Edit(Span(e.span.start - span.start, e.span.end - span.start), e.text) for e in group]
        original = text[span.start:span.end]
        migrated = apply_edits(original, local)
        out.append(Edit.insert(span.start, make_record_line(original, migrated, df.source.eol)))
    return out
