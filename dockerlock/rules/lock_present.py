"""DLK104: the lock that stands in for the requirements is missing or not a valid PEP 751 lock."""

from __future__ import annotations

from dockerlock.diagnostics import Level, LockError
from dockerlock.facts.locks import choose_lock
from dockerlock.rules.base import Code, Decision, Phase

LOCK_MISSING = Code(
    "DLK104", Level.ERROR, "lock missing or invalid: nothing written for the file",
    what="The pylock.toml that would replace the requirements file does not exist, cannot be read, "
         "or is not a valid PEP 751 lock.",
    why="Without a lock there is nothing to install; writing the uv step would break the build.",
    fix="Create it with `dockerlock lock <Dockerfile>` (the message gives the exact command), or "
        "preview the rewrite with --no-lock-check.",
    decision=Decision.BLOCKED)
CODES = (LOCK_MISSING,)
PHASE = Phase.LOCK


def check(stanza, rc):
    if not rc.settings.lock_check:
        return
    choice = choose_lock(rc.ctx, rc.settings, stanza)
    if choice.context_path is None:
        yield LOCK_MISSING.at(choice.problem or "no lock can be named for these requirements files", rc.path,
                              stanza.line)
        return
    shown = rc.ctx.show(choice.context_path)
    lock = rc.ctx.lock(choice.context_path)
    how = f"`dockerlock lock {rc.path}`"
    if lock is None:
        why = rc.ctx.unreadable.get(choice.context_path)
        if why and why != "not found":
            yield LOCK_MISSING.at(f"lock file {shown} cannot be read ({why})", rc.path, stanza.line,
                                  hint=f"dockerlock lock {rc.path}")
            return
        yield LOCK_MISSING.at(f"lock file {shown} does not exist; create it with {how} or pass --no-lock-check "
                              "to preview", rc.path, stanza.line, hint=f"dockerlock lock {rc.path}")
    elif isinstance(lock, LockError):
        where = f" (line {lock.line})" if lock.line else ""
        yield LOCK_MISSING.at(f"lock file {shown} is not a valid PEP 751 lock: {lock.reason}{where}; regenerate "
                              f"it with {how}", rc.path, stanza.line, hint=f"dockerlock lock {rc.path}")
