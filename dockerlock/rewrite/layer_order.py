"""Layer caching: install dependencies before the application code is copied.

When the requirements arrive with ``COPY . .`` and the install follows it, every code change
re-runs the install. With a lock that needs nothing from the code (no local-path entries),
the lock COPY and the install can move ahead of the code COPY — but only when nothing between
them could depend on the order.
"""

from __future__ import annotations

from dockerlock.edits import Edit, apply_edits
from dockerlock.facts.commands import run_commands
from dockerlock.facts.stanzas import PipStanza
from dockerlock.model import Dockerfile, Instruction
from dockerlock.source import Span

_HARMLESS_BETWEEN = ("COPY", "ADD", "LABEL", "EXPOSE")


def why_not_move(df: Dockerfile, stanza: PipStanza, folder_copy: Instruction, lock) -> str | None:
    """Why the install must stay after the folder COPY (None: it may move ahead)."""
    commands, _ = run_commands(df, stanza.instruction)
    if len(commands) != 1:
        return "the RUN does more than the install"
    if lock is None or not hasattr(lock, "has_directory"):
        return "the lock was not read (--no-lock-check), so local-path packages cannot be ruled out"
    if lock.has_directory or lock.local_paths:
        return "the lock has directory/local-path packages that need the application code"
    between = [x for x in stanza.stage.instructions if folder_copy.index < x.index < stanza.instruction.index]
    blocker = next((x for x in between if x.keyword not in _HARMLESS_BETWEEN), None)
    if blocker is not None:
        return f"{blocker.keyword} on line {blocker.start_line} sits between the code COPY and the install"
    if any(x.keyword in ("COPY", "ADD") and x.flag("from") is None for x in between):
        return "other files are copied between the code COPY and the install"
    return None


def moved_ahead(df: Dockerfile, stanza: PipStanza, folder_copy: Instruction, run_edits: list[Edit],
                lock_copy_line: str) -> list[Edit]:
    """Edits that put ``lock COPY`` + the rewritten RUN (and the comments above it) before ``folder_copy``."""
    ins = stanza.instruction
    start = ins.span.start
    local = [Edit(Span(e.span.start - start, e.span.end - start), e.text) for e in run_edits]
    moved_run = apply_edits(df.source.text[ins.span.start:ins.span.end], local)
    if not moved_run.endswith("\n"):
        moved_run += df.source.eol
    lead = leading_comments(df, ins)
    insert = df.render_lines([lock_copy_line]) + df.source.text[lead.start:ins.span.start] + moved_run
    return [Edit.insert(folder_copy.span.start, insert), Edit(Span(lead.start, ins.span.end), "")]


def leading_comments(df: Dockerfile, ins: Instruction) -> Span:
    """Comment lines directly above ``ins`` travel with it when it moves."""
    line = ins.start_line
    while line > 1 and df.source.line_text(line - 1).lstrip().startswith("#") and \
            not any(d.line == line - 1 for d in df.directives):
        line -= 1
    return Span(df.source.line_span(line).start, ins.span.start)
