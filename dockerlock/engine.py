"""Per-file pipeline: rules review each pip stanza, fixes are applied, the result is verified.

Pure: the caller hands in the parsed Dockerfile, the frozen build context and the settings;
the result is a ``FileResult`` value (new text or an error), never a write.

migrate, step by step:

1. every pip stanza is reviewed by the ``MIGRATE`` rules, phase by phase; the first phase
   that decides (refused, deferred, blocked) ends its review; a stanza that passes every
   gate gets the conversion's finding, carrying a ``Fix``;
2. fixes are applied together unless they overlap or share an isolation group (ruff's
   model): such a fix is skipped, never fatal, and waits for the next pass, which reviews
   the rewritten text again; each pass converts at least one stanza, so the passes end;
3. the record comments are made from the line diff between the input and the result, one
   per changed region, so revert restores each region exactly;
4. before anything is returned: the result parses, every instruction outside the changed
   regions is byte-identical and in order, a further review proposes nothing (the rewrite
   is stable), every uv step has uv available, and reverting the result gives the input.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from dockerlock.context import BuildContext
from dockerlock.diagnostics import DockerlockError, Finding, InvariantViolation, Level
from dockerlock.edits import Edit, apply_edits, select_fixes, verify_untouched
from dockerlock.facts.stanzas import PipStanza
from dockerlock.model import Dockerfile
from dockerlock.record import make_record_line
from dockerlock.rules.base import Decision, Phase, RuleContext
from dockerlock.settings import Settings
from dockerlock.source import Source, Span



@dataclass
class FileResult:
    """What a job (migrate, revert, check) made of one file: its new text, findings and counts."""

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


class StanzaReview(NamedTuple):
    """What the rules said about one pip stanza, and what that decides."""

    stanza: PipStanza
    findings: tuple[Finding, ...]
    decision: Decision | None

    @property
    def decisive(self) -> Finding | None:
        from dockerlock.rules import decision_of

        return next((f for f in self.findings if decision_of(f.code) is self.decision), None)


def review(rc: RuleContext, rules=None) -> list[StanzaReview]:
    """Ask the rules about every pip stanza, phase by phase."""
    from dockerlock.rules import MIGRATE, decision_of

    rules = MIGRATE if rules is None else rules
    phases = sorted({r.PHASE for r in rules})
    reviews = []
    for stanza in rc.stanzas:
        findings: list[Finding] = []
        decision = None
        for phase in phases:
            found = [f for r in rules if r.PHASE == phase for f in r.check(stanza, rc)]
            findings += found
            decisions = [decision_of(f.code) for f in found if decision_of(f.code) is not None]
            if phase is not Phase.CONVERT and decisions:
                decision = decisions[0]
                break
            if phase is Phase.CONVERT:
                decision = decisions[0] if decisions else None
        reviews.append(StanzaReview(stanza, tuple(findings), decision))
    return reviews


def migrate_dockerfile(df: Dockerfile, context: BuildContext, settings: Settings) -> FileResult:
    reviews = review(RuleContext(df, context, settings))
    blocked = _blocked(reviews)
    if blocked is None and any(f.fix is not None for r in reviews for f in r.findings):
        try:
            new_text, reviews = _converge(df, context, settings, reviews)
        except DockerlockError as exc:
            return _counted(df, reviews, error=exc)
        blocked = _blocked(reviews)
        if blocked is None:
            return _counted(df, reviews, new_text=new_text)
    if blocked is not None:
        decisive = blocked.decisive
        assert decisive is not None
        hint = decisive.hint if decisive.hint and decisive.hint not in decisive.message else None
        return _counted(df, reviews, error=DockerlockError(decisive.message, df.source.path, decisive.line, hint,
                                                           code=decisive.code))
    return _counted(df, reviews)


def _blocked(reviews: list[StanzaReview]) -> StanzaReview | None:
    return next((r for r in reviews if r.decision is Decision.BLOCKED), None)


def _counted(df: Dockerfile, reviews: list[StanzaReview], *, new_text: str | None = None,
             error: DockerlockError | None = None) -> FileResult:
    result = FileResult(df.source.path, new_text=new_text, error=error,
                        findings=[f for r in reviews for f in r.findings])
    result.converted = sum(r.decision is Decision.CONVERTED for r in reviews)
    result.deferred = sum(r.decision is Decision.DEFERRED for r in reviews)
    result.refused = sum(r.decision in (Decision.REFUSED, Decision.BLOCKED) for r in reviews)
    return result


def _converge(df: Dockerfile, context: BuildContext, settings: Settings,
              reviews: list[StanzaReview]) -> tuple[str, list[StanzaReview]]:
    """Apply fixes pass after pass until a review of the result proposes none (ruff's loop), and
    return the text to write (records added, verified) with each input stanza's latest review.

    A fix that overlaps another waits for the next pass; a stanza refused in one pass may be
    convertible in the next (once a sibling no longer reads the same requirements COPY). The
    review that ends the loop is made on the very text that will be written, so the one parse
    of it serves the stability check and the write checks alike.
    """
    final = list(reviews)
    slots = list(range(len(reviews)))  # which stanza of the input each pending review is about
    pending = reviews
    current = df
    # Every pass applies at least the first fix and so converts a stanza: one pass per stanza,
    # and one to see nothing is left, always suffice; the guard below only catches a bug.
    for _ in range(len(reviews) + 1):
        fixes = [f.fix for r in pending for f in r.findings if f.fix is not None]
        taken, _waiting = select_fixes(fixes)
        text = apply_edits(current.source.text, [e for fix in taken for e in fix.edits])
        written, edits = _with_records(df, text, settings.record)
        after = _reparse(df, written)
        applied = {id(fix) for fix in taken}
        left = [slot for slot, r in zip(slots, pending)
                if not any(id(f.fix) in applied for f in r.findings if f.fix is not None)]
        pending = review(RuleContext(after, context, settings))
        if len(pending) != len(left):
            raise InvariantViolation("refusing to write: a rewrite changed which pip steps the file has. This is "
                                     "a dockerlock bug; please report it with the file.", df.source.path)
        for slot, again in zip(left, pending):
            if _same_verdict(final[slot], again):
                continue  # keep the words of the review of the input: its line numbers are the user's
            line = final[slot].stanza.line
            final[slot] = StanzaReview(final[slot].stanza, tuple(replace(f, line=line) for f in again.findings),
                                       again.decision)
        slots = left
        if not any(f.fix is not None for r in pending for f in r.findings):
            _verify(df, after, edits, record=settings.record)
            return written, final
        current = _reparse(df, text)  # more to do: go on from the text without records
        pending = review(RuleContext(current, context, settings))
    raise InvariantViolation("refusing to write: the rewrites of this file do not settle. This is a "
                             "dockerlock bug; please report it with the file.", df.source.path)


def _same_verdict(before: StanzaReview, after: StanzaReview) -> bool:
    """Does a later pass say what the first said (same decision, same codes)? Then the first review's
    findings stand: a later pass reads the rewritten text, where lines have moved."""
    return before.decision is after.decision and \
        [f.code for f in before.findings] == [f.code for f in after.findings]


def _reparse(df: Dockerfile, text: str) -> Dockerfile:
    try:
        return Dockerfile.parse(Source.from_text(text, df.source.path, bom=df.source.bom))
    except DockerlockError as exc:
        raise InvariantViolation(f"refusing to write: the rewritten file would not parse ({exc.reason}). "
                                 "This is a dockerlock bug; please report it.", df.source.path) from None


def changed_regions(df: Dockerfile, after: str) -> list[tuple[Span, str]]:
    """The regions of ``df`` that differ in ``after``, widened to whole instructions and merged
    where they touch, as (span of the original, new text): one region per migrated stanza, so
    a record never sits inside an instruction's continuation."""
    a = df.source.text.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    owner = _instruction_lines(df, len(a))
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    opcodes = matcher.get_opcodes()
    ranges: list[list[int]] = []
    for op, a1, a2, _b1, _b2 in opcodes:
        if op == "equal":
            continue
        start, end = a1, a2
        if start < len(a) and owner[start] is not None and (end > start or _inside(owner, start)):
            start = owner[start][0]
        if end > start and owner[end - 1] is not None:
            end = max(end, owner[end - 1][1])
        if ranges and start <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], end)
        else:
            ranges.append([start, end])
    offsets = [0]
    for line in a:
        offsets.append(offsets[-1] + len(line))
    to_after = _line_map(opcodes)
    return [(Span(offsets[s], offsets[e]), "".join(b[to_after(s, True):to_after(e, False)])) for s, e in ranges]


def _instruction_lines(df: Dockerfile, count: int) -> list[tuple[int, int] | None]:
    """For each 0-based line: the (first, end) 0-based line range of the instruction it belongs to."""
    owner: list[tuple[int, int] | None] = [None] * count
    for ins in df.instructions:
        for n in range(ins.start_line - 1, min(ins.end_line, count)):
            owner[n] = (ins.start_line - 1, ins.end_line)
    return owner


def _inside(owner, line: int) -> bool:
    """Is 0-based ``line`` a continuation line (not the first) of an instruction?"""
    return owner[line] is not None and owner[line][0] < line


def _line_map(opcodes):
    """Map a region boundary of the original to the edited text. A region starts where a change
    starts (its first new line) and ends where a change ends (after its last new line), so an
    insertion at the boundary belongs to the region on that side."""
    changes = [o for o in opcodes if o[0] != "equal"]

    def to_after(i: int, start: bool) -> int:
        if start:
            hit = next((o for o in changes if o[1] == i), None)
            if hit is not None:
                return hit[3]
        else:
            hit = next((o for o in reversed(changes) if o[2] == i), None)
            if hit is not None:
                return hit[4]
        for op, a1, a2, b1, _b2 in opcodes:
            if op == "equal" and a1 <= i <= a2:
                return b1 + (i - a1)
        raise AssertionError(f"line {i} is inside a change")
    return to_after


def _with_records(df: Dockerfile, new_text: str, record: bool) -> tuple[str, list[Edit]]:
    """The text to write for a rewrite of ``df`` (one record per changed region, if ``record``),
    and the edits of ``df`` that make it."""
    edits = [Edit(span, text) for span, text in changed_regions(df, new_text)]
    if apply_edits(df.source.text, edits) != new_text:
        raise InvariantViolation("refusing to write: the changed regions do not reproduce the planned rewrite. "
                                 "This is a dockerlock bug; please report it with the file.", df.source.path)
    if record:
        edits = _records(df, [[e] for e in edits]) + edits
    return apply_edits(df.source.text, edits), edits


def finish(df: Dockerfile, groups: list[list[Edit]], *, record: bool, replan=None) -> str:
    """Apply edit groups (and records), verify, and return the new text (revert's way in).

    Raises ``InvariantViolation`` when the result would change anything outside the
    edits, does not parse, is not stable (a second run would change it again), or (with
    records) would not revert to the input.
    """
    edits = [e for g in groups for e in g]
    if record:
        edits = _records(df, groups) + edits
    text = apply_edits(df.source.text, edits)
    after = _reparse(df, text)
    if replan is not None and replan(after):
        raise InvariantViolation("refusing to write: the rewrite is not stable (a second run would change "
                                 "it again). This is a dockerlock bug; please report it.", df.source.path)
    _verify(df, after, edits, record=record)
    return text


def _verify(df: Dockerfile, after: Dockerfile, edits: list[Edit], *, record: bool) -> None:
    """What must hold before anything is written: instructions outside the edits are intact and in
    order, and (with records) revert restores the input exactly."""
    verify_untouched(df, after, edits)
    if record:
        from dockerlock.rules.revert import revert_failure  # late: the revert rule imports this module

        if (problem := revert_failure(df, after)) is not None:
            raise InvariantViolation(f"refusing to write: `dockerlock revert` would not restore the original "
                                     f"({problem}). This is a dockerlock bug; please report it with the file.",
                                     df.source.path)


def _region(df: Dockerfile, edits: list[Edit]) -> Span:
    src = df.source
    start = min(e.span.start for e in edits)
    end = max(e.span.end for e in edits)
    start = src.line_starts[src.line_of(start) - 1] if start < len(src.text) else start
    if end > start and end not in src.line_starts and end != len(src.text):
        end = src.line_span(src.line_of(end - 1)).end
    return Span(start, end)


def _records(df: Dockerfile, groups: list[list[Edit]]) -> list[Edit]:
    """One record comment per changed region; overlapping regions are merged."""
    regions: list[tuple[Span, list[Edit]]] = []
    for group in sorted((g for g in groups if g), key=lambda g: min(e.span.start for e in g)):
        span = _region(df, group)
        if regions and span.start <= regions[-1][0].end and not (span.start == regions[-1][0].end
                                                                 and _is_pure_insert(group)):
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
        out.append(Edit.insert(span.start, make_record_line(original, migrated, df.source.eol, text[span.end:])))
    return out


def _is_pure_insert(group: list[Edit]) -> bool:
    return all(e.span.start == e.span.end for e in group)


def error_count(findings: list[Finding]) -> int:
    return sum(f.level == Level.ERROR for f in findings)


def check_dockerfile(df: Dockerfile, context: BuildContext, settings: Settings) -> FileResult:
    """``dockerlock check``: the CHECK rules' findings for one file (nothing is rewritten)."""
    from dockerlock.rules import check_rules

    rc = RuleContext(df, context, settings)
    rc.cache["reviews"] = review(rc)
    findings = [f for rule in check_rules() for f in rule.check(rc)]
    result = FileResult(df.source.path, findings=findings)
    result.refused = error_count(findings)
    return result
