"""``check --resolve``: re-resolve each lock a Dockerfile uses with uv, for the same image.

This is the edge that runs uv (through ``dockerlock.locking.resolve_check``); what the answer
means is ``dockerlock.rules.lock_resolution``. One resolution per lock and target per run.
"""

from __future__ import annotations

from collections.abc import Callable

from dockerlock.diagnostics import DockerlockError, Finding, Level


def resolving(job: Callable) -> Callable:
    """``job`` (the check job) plus the findings of re-resolving every lock in use."""
    answers: dict[tuple, object] = {}

    def run(df, context, settings):
        from dockerlock.facts.locks import locks_in_use
        from dockerlock.rules import lock_resolution

        result = job(df, context, settings)
        for use in locks_in_use(df, context, settings):
            key = (str(context.root), use.lock, use.requirements, use.constraints, use.python, use.platform, use.libc)
            if key not in answers:
                answers[key] = _resolve(context, use)
            answer = answers[key]
            shown = context.show(use.lock)
            if isinstance(answer, DockerlockError):
                result.findings.append(Finding("DLK001", Level.ERROR, f"check --resolve could not re-resolve "
                                               f"{shown}: {answer.reason}", df.source.path, use.line))
                continue
            result.findings.extend(lock_resolution.findings(answer, df.source.path, use.line, shown))
        result.refused = sum(f.level is Level.ERROR for f in result.findings)
        return result

    return run


def _resolve(context, use):
    from dockerlock.locking import resolve_check
    from dockerlock.locking.image import ImageTarget

    try:
        target = ImageTarget(use.python, use.platform, libc=use.libc) if use.python else None
        return resolve_check(context.path(use.lock), requirements=[context.path(r) for r in use.requirements]
                             or None, constraints=[context.path(c) for c in use.constraints] or None,
                             target=target, cwd=context.root)
    except DockerlockError as exc:
        return exc
