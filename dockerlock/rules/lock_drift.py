"""DLK107: the lock does not satisfy the requirements files it would replace."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.facts.locks import drift, readable_lock, target_platform, target_python
from dockerlock.rules.base import Code, Decision, Phase, lock_mismatch

LOCK_DRIFT = Code(
    "DLK107", Level.ERROR, "lock does not cover the requirements: nothing written for the file",
    what="A requirement (or constraint) of the pip step is missing from the lock, pinned to another "
         "version, or taken from another URL or commit, for the image's Python and platform.",
    why="The migrated image would install a different set of packages than the pip step did.",
    fix="Re-lock with `dockerlock lock <Dockerfile>`; or convert anyway with --allow-drift (a warning).",
    decision=Decision.BLOCKED)
DRIFT_ALLOWED = Code(
    "DLK109", Level.WARNING, "converted although the lock does not cover the requirements (--allow-drift)",
    what="As DLK107, converted because --allow-drift (or allow-drift = true) was given.",
    why="The image will install what the lock says, not what the requirements file says.",
    fix="Re-lock with `dockerlock lock <Dockerfile>` to close the gap.")
CODES = (LOCK_DRIFT, DRIFT_ALLOWED)
PHASE = Phase.LOCK


def check(stanza, rc):
    found = readable_lock(rc.ctx, rc.settings, stanza)
    if found is None:
        return
    choice, lock = found
    python, _source = target_python(rc.ctx, stanza, rc.df, choice.context_path)
    files = [(f.context_path, f.option == "-c") for f in stanza.files if f.context_path]
    problems = [f for f in drift(rc.ctx, lock, files, python, target_platform(stanza)) if f.level == Level.ERROR]
    if not problems:
        return
    shown = rc.ctx.show(choice.context_path)
    names = ", ".join(f.message for f in problems[:4]) + (f" (and {len(problems) - 4} more)" if len(problems) > 4
                                                          else "")
    requirement_files = " ".join(rc.ctx.show(f.context_path) for f in stanza.requirements if f.context_path)
    if choice.fallback:
        lead = (f"{choice.how.split(';')[0]}, and the sibling {shown} does not cover {requirement_files}: {names}")
    else:
        lead = f"the lock {shown} does not cover {requirement_files}: {names}"
    yield lock_mismatch(rc, stanza, lead, blocked=LOCK_DRIFT, allowed=DRIFT_ALLOWED,
                        fix=f"make a matching lock with `dockerlock lock {rc.path}` (or pass --allow-drift)",
                        hint=f"dockerlock lock {rc.path}", installs="what the lock says")
