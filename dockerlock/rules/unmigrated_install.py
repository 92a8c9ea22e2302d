"""DLK240 / DLK245 / DLK246: pip requirements installs that are not locked yet, each with its reason.

``check`` lists every pip requirements install that migrate has not turned into a locked step:
convertible ones as errors (run migrate; the lock it would use is validated the same way),
refused and deferred ones as warnings with migrate's reason (``--strict`` fails on those too).
"""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.facts.locks import (
    choose_lock,
    is_lock,
    lock_fit,
    target_libc,
    target_platform,
    target_python,
)
from dockerlock.rules.base import Code, Decision

NOT_MIGRATED = Code(
    "DLK240", Level.ERROR, "pip requirements install not migrated to the lock yet",
    what="migrate would convert this pip step (or would, once its lock exists and fits).",
    why="Until then the image installs whatever the index serves on build day.",
    fix="Run `dockerlock migrate <Dockerfile>` (after `dockerlock lock <Dockerfile>` if the lock is missing).")
NOT_LOCKED = Code(
    "DLK245", Level.WARNING, "pip requirements install that migrate leaves as is (not locked)",
    what="migrate refuses this pip step; the message gives its reason and code.",
    why="The image installs this step unlocked; a CI gate should see it.",
    fix="Change what the reason names, or accept it; `check --strict` makes this an error.")
DEFERRED = Code(
    "DLK246", Level.WARNING, "pip requirements install deferred (GPU image), not locked",
    what="migrate defers this pip step until --include-gpu.",
    why="The image installs this step unlocked.",
    fix="Migrate it with `dockerlock migrate --include-gpu` when ready; `check --strict` makes this an error.")
CODES = (NOT_MIGRATED, NOT_LOCKED, DEFERRED)


def check(rc):
    from dockerlock.engine import review

    seen: set[tuple[str, str | None]] = set()
    for stanza_review in rc.cache.get("reviews") or review(rc):
        stanza = stanza_review.stanza
        decisive = stanza_review.decisive
        what = stanza.described
        if stanza_review.decision is Decision.CONVERTED:
            yield NOT_MIGRATED.at(f"{what} is not migrated to the lock yet (run `dockerlock migrate {rc.path}`)",
                                  rc.path, stanza.line, hint=f"dockerlock migrate {rc.path}")
            yield from _lock_it_would_use(rc, stanza, seen)
        elif stanza_review.decision is Decision.BLOCKED and decisive is not None:
            yield NOT_MIGRATED.at(f"{what} is not migrated to the lock yet, and migrate would stop here: "
                                  f"{decisive.message}", rc.path, stanza.line, hint=decisive.hint)
        elif stanza_review.decision is Decision.DEFERRED and decisive is not None:
            yield DEFERRED.at(f"{what} is not locked: {decisive.code}: {decisive.message}", rc.path, stanza.line)
        elif decisive is not None:
            reason = decisive.message.split(" left as is: ", 1)[-1]
            yield NOT_LOCKED.at(f"{what} is not locked: migrate leaves it as is ({decisive.code}): {reason}",
                                rc.path, stanza.line)


def _lock_it_would_use(rc, stanza, seen: set):
    """Python and platform findings for the lock migrate would use (drift already decided: it
    would have stopped the conversion), once per lock and Python."""
    choice = choose_lock(rc.ctx, rc.settings, stanza)
    lock = rc.ctx.lock(choice.context_path) if choice.context_path else None
    if not is_lock(lock):
        return
    python, _source = target_python(rc.ctx, stanza, rc.df, choice.context_path)
    if (choice.context_path, python) in seen:
        return
    seen.add((choice.context_path, python))
    for finding in lock_fit(rc.ctx, lock, python, target_platform(stanza),
                            f"{rc.path}:{stanza.line} image Python {python}", target_libc(rc.df, stanza)):
        if finding.level is not Level.NOTE:
            yield finding
