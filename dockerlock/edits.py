"""Edits as data, applied in one pass, with the untouched-text invariant enforced.

An ``Edit`` replaces a span of ``Source.text`` with new text (an insertion is an empty
span, a deletion empty text). ``apply_edits`` copies everything between edits verbatim
from the original, so bytes outside the edited spans cannot change; overlapping edits
are rejected rather than guessed at. ``verify_untouched`` re-parses the result and
checks that every instruction the edits did not touch is still there, byte for byte
and in order: an edit that, say, ends with a stray escape character and swallows the
next instruction is caught here, before anything is written.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Sequence
from typing import NamedTuple

from dockerlock.diagnostics import DockerlockError, InvariantViolation
from dockerlock.source import Span


class Edit(NamedTuple):
    """Replace ``span`` of the source with ``text`` (an insertion when the span is empty)."""

    span: Span
    text: str

    @classmethod
    def insert(cls, offset: int, text: str) -> "Edit":
        return cls(Span(offset, offset), text)

    @classmethod
    def delete(cls, span: Span) -> "Edit":
        return cls(span, "")


class Applicability(enum.Enum):
    """How sure a fix is (ruff's model): SAFE fixes are applied by ``migrate``; UNSAFE ones only
    when asked; DISPLAY ones are shown, never applied."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY = "display"


class Fix(NamedTuple):
    """An all-or-nothing group of edits. Two fixes whose edits overlap are never applied in the
    same pass; fixes sharing an ``isolation`` group are applied one per pass (they rewrite the
    same thing, e.g. the stage that gets uv)."""

    edits: tuple[Edit, ...]
    applicability: Applicability = Applicability.SAFE
    isolation: str | None = None

    @property
    def span(self) -> Span:
        return Span(min(e.span.start for e in self.edits), max(e.span.end for e in self.edits))


def overlapping(a: Fix, b: Fix) -> bool:
    """Do two fixes touch the same text (an insertion strictly inside another's range counts)?"""
    return any(spans_clash(x.span, y.span) for x in a.edits for y in b.edits)


def spans_clash(x: Span, y: Span) -> bool:
    if x.start == x.end and y.start == y.end:
        return False  # two insertions (at one point or not): both land, in plan order
    if x.start == x.end:
        return y.start < x.start < y.end
    if y.start == y.end:
        return x.start < y.start < x.end
    return x.start < y.end and y.start < x.end


def select_fixes(fixes: Sequence[Fix]) -> tuple[list[Fix], list[Fix]]:
    """(applied, skipped): each fix in order unless one of its edits clashes with an edit already
    taken, or it shares an isolation group with a taken fix; skipped fixes wait for the next pass.

    Taken edits never clash with each other, so for each new edit only its neighbours in start
    order need a look (bisect): a file with a thousand stanzas stays fast.
    """
    taken: list[Fix] = []
    skipped: list[Fix] = []
    groups: set[str] = set()
    starts: list[int] = []
    spans: list[Span] = []
    for fix in fixes:
        if (fix.isolation is not None and fix.isolation in groups) or any(
                _clashes_with_taken(edit.span, starts, spans) for edit in fix.edits):
            skipped.append(fix)
            continue
        taken.append(fix)
        for edit in fix.edits:
            at = bisect.bisect_right(starts, edit.span.start)
            starts.insert(at, edit.span.start)
            spans.insert(at, edit.span)
        if fix.isolation is not None:
            groups.add(fix.isolation)
    return taken, skipped


def _clashes_with_taken(span: Span, starts: list[int], spans: list[Span]) -> bool:
    # Before: the taken edits that start earlier; only the nearest non-empty one can reach this far
    # (taken non-empty edits are disjoint), insertions in between are checked on the way.
    k = bisect.bisect_left(starts, span.start) - 1
    while k >= 0:
        if spans_clash(span, spans[k]):
            return True
        if spans[k].start < spans[k].end:
            break
        k -= 1
    # From here on: every taken edit starting inside this one's range.
    j = bisect.bisect_left(starts, span.start)
    while j < len(spans) and spans[j].start <= span.end:
        if spans_clash(span, spans[j]):
            return True
        j += 1
    return False


class OverlappingEdits(DockerlockError):
    kind = "overlap"


def _ordered(edits: Sequence[Edit]) -> list[Edit]:
    # Stable: insertions at the same offset keep the order they were planned in.
    ordered = sorted(edits, key=lambda e: (e.span.start, e.span.end > e.span.start))
    for prev, cur in zip(ordered, ordered[1:]):
        if prev.span.end > cur.span.start or (
                prev.span.start == cur.span.start and prev.span.end > prev.span.start
                and cur.span.end > cur.span.start):
            raise OverlappingEdits(f"edits overlap: {prev.span.start}-{prev.span.end} and "
                                   f"{cur.span.start}-{cur.span.end}")
    return ordered


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply non-overlapping edits; text outside them is copied unchanged."""
    out: list[str] = []
    pos = 0
    for edit in _ordered(edits):
        if edit.span.end > len(text):
            raise OverlappingEdits(f"edit {edit.span.start}-{edit.span.end} is past the end of the text")
        out.append(text[pos:edit.span.start])
        out.append(edit.text)
        pos = edit.span.end
    out.append(text[pos:])
    return "".join(out)


def new_spans(edits: Sequence[Edit]) -> list[Span]:
    """Where each edit's text lands in the edited text (same order as ``_ordered``)."""
    spans: list[Span] = []
    delta = 0
    for edit in _ordered(edits):
        start = edit.span.start + delta
        spans.append(Span(start, start + len(edit.text)))
        delta += len(edit.text) - (edit.span.end - edit.span.start)
    return spans


def _touched(span: Span, edit_spans: Sequence[Span]) -> bool:
    for e in edit_spans:
        if e.start == e.end:
            # an insertion touches an instruction only when it lands strictly inside it
            if span.start < e.start < span.end:
                return True
        elif span.start < e.end and e.start < span.end:
            return True
    return False


def verify_untouched(before, after, edits: Sequence[Edit]) -> None:
    """Raise ``InvariantViolation`` unless every instruction outside the edits survived.

    ``before`` and ``after`` are ``Dockerfile`` models of the original and edited text.
    """
    old_spans = [e.span for e in _ordered(edits)]
    fresh = new_spans(edits)
    kept_before = [ins.text(before.source) for ins in before.instructions
                   if not _touched(ins.span, old_spans)]
    kept_after = [ins.text(after.source) for ins in after.instructions
                  if not _touched(ins.span, fresh)]
    if kept_before != kept_after:
        missing = next((t for t in kept_before if t not in kept_after), None)
        detail = f": no longer intact: {missing.strip()[:80]!r}" if missing else ""
        raise InvariantViolation(
            "refusing to write: the rewrite would change instructions outside the edited "
            f"stanza{detail}. This is a dockerlock bug; please report it with the file.",
            before.source.path)
    from dockerlock.model import KEYWORDS

    inputs_own = {ins.text(before.source): ins for ins in before.instructions if ins.keyword not in KEYWORDS}
    for ins in after.instructions:
        if _touched(ins.span, fresh) and ins.keyword not in KEYWORDS:
            own = inputs_own.get(ins.text(after.source))
            if own is not None:  # the input's own line, beside the edit: its error, not the rewrite's
                raise DockerlockError(
                    f"'{own.text(before.source).strip()[:60]}' is not an instruction Docker knows, and BuildKit "
                    "stops there (is a continuation backslash missing on the line before?); nothing was written",
                    before.source.path, own.start_line)
            raise InvariantViolation(
                f"refusing to write: the rewrite would create a line Docker cannot read as an "
                f"instruction ({ins.text(after.source).strip()[:60]!r}). This is a dockerlock bug; "
                "please report it with the file.", before.source.path, ins.start_line)
    if before.escape != after.escape or before.directives != after.directives:
        raise InvariantViolation("refusing to write: the rewrite would change parser directives",
                                 before.source.path, 1)
