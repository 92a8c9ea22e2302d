"""Fixes are applied together unless they clash (ruff's model); the fast selection must agree with
the plain pairwise definition."""

from __future__ import annotations

import random

from dockerlock.edits import Edit, Fix, apply_edits, overlapping, select_fixes
from dockerlock.source import Span


def _pairwise(fixes):
    taken, skipped = [], []
    for fix in fixes:
        (skipped if any(overlapping(fix, t) for t in taken) else taken).append(fix)
    return taken, skipped


def _fix(rnd: random.Random) -> Fix:
    """A fix whose own edits do not overlap (as every real fix: apply_edits would refuse it)."""
    while True:
        edits = []
        for _ in range(rnd.randint(1, 3)):
            start = rnd.randint(0, 30)
            edits.append(Edit(Span(start, start + rnd.choice([0, 0, 1, 2, 5])), "x"))
        try:
            apply_edits("y" * 40, edits)
        except Exception:
            continue
        return Fix(tuple(edits))


def test_selection_agrees_with_the_pairwise_definition():
    rnd = random.Random(20261130)
    for _ in range(3000):
        fixes = [_fix(rnd) for _ in range(rnd.randint(1, 10))]
        assert select_fixes(fixes) == _pairwise(fixes), fixes


def test_insertions_at_one_point_both_land_but_not_inside_a_replacement():
    a = Fix((Edit(Span(5, 5), "a"),))
    b = Fix((Edit(Span(5, 5), "b"),))
    c = Fix((Edit(Span(3, 8), "c"),))
    taken, skipped = select_fixes([a, b, c])
    assert taken == [a, b] and skipped == [c]
