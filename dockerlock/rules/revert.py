"""DLK3xx: undo a migration.

What it does
    With a record comment (written by ``migrate``): replaces the record line and the
    migrated region after it with the original text stored in the record, byte for
    byte. Without one (a hand migration, or ``migrate --no-record``): synthesises the
    canonical pip stanza from each ``uv pip sync|install`` step: a COPY of the
    ``requirements.txt`` beside the lock to the same folder, and ``pip install
    --no-cache-dir --upgrade -r`` run by the same interpreter; the uv install lines
    that provably served only that step go too.
Why
    Teams migrate image by image and must be able to roll one back in one command.
Fix safety
    A recorded region edited by hand since migration is refused (exit 2) unless
    ``--force``; a synthesised revert is reported as such (DLK302) so it gets a review.
"""

from __future__ import annotations

import difflib
import posixpath
import shlex
from collections import Counter
from typing import NamedTuple

from dockerlock import shell
from dockerlock.context import BuildContext
from dockerlock.diagnostics import DockerlockError, Finding, Level
from dockerlock.edits import Edit, OverlappingEdits, apply_edits, spans_clash, verify_untouched
from dockerlock.engine import FileResult, finish
from dockerlock.facts.commands import Command, run_commands
from dockerlock.facts.uv_steps import UvStep, uv_steps
from dockerlock.facts.copies import copy_provides, split_copy, workdir_of
from dockerlock.model import Dockerfile, Instruction
from dockerlock.record import (
    Record,
    restores_a_stanza,
    Region,
    Unlocatable,
    locate,
    parse_record,
    record_like_lines,
    records_in,
    restored_text,
    split_lines,
)
from dockerlock.settings import UV_IMAGE, Settings
from dockerlock.source import Source, Span

CODES = {
    "DLK301": "migrated stanza restored from its record",
    "DLK302": "pip stanza synthesised (no record): review the result",
    "DLK303": "migrated region edited since migration: not reverted without --force",
    "DLK304": "uv step cannot be reverted (reason given)",
}


def revert_dockerfile(df: Dockerfile, context: BuildContext, settings: Settings, *,
                      force: bool = False) -> FileResult:
    result = FileResult(df.source.path)
    try:
        records = records_in(df.source, df.source.path)
        groups = _recorded(df, records, result, force) if records else _synthesised(df, context, result)
    except DockerlockError as exc:
        result.error = exc.with_path(df.source.path)
        return result
    if result.error is not None or not groups:
        return result
    try:
        result.new_text = finish(df, groups, record=False, replan=_has_records)
    except OverlappingEdits:
        first = min(e.span.start for g in groups for e in g)
        result.error = DockerlockError("two of the restores would rewrite the same lines; nothing was reverted. "
                                       "This is a dockerlock bug; please report it with the file",
                                       df.source.path, df.source.line_of(first))
    except DockerlockError as exc:
        result.error = exc
    return result


def revert_failure(before: Dockerfile, after: Dockerfile) -> str | None:
    """Why ``dockerlock revert`` would not turn ``after`` back into ``before`` (None: it would).

    For migrate, before it writes. Only the records ``after`` has and ``before`` lacks are
    reverted: a file migrated in two steps keeps the records of the first.
    """
    older = Counter(record_like_lines(before.source))
    lines = after.source.line_texts()
    try:
        records = []
        for n, text in enumerate(lines, 1):
            if older[text] > 0:
                older[text] -= 1
            elif (rec := parse_record(text, n, after.source.path)) is not None:
                records.append(rec)
        restores = planned_restores(after.source, records)
        stuck = next((r for r in restores if r.region is None or not r.region.intact), None)
        if stuck is not None:
            return f"the record on line {stuck.record.line} would not find its region ({stuck.why or 'edited'})"
        edits = [e for r in restores for e in _edits(after.source, r)]
        if apply_edits(after.source.text, edits) != before.source.text:
            return "the reverted text would differ from the original"
        # what revert's finish() would check, on the text it would parse: ``before`` itself
        verify_untouched(after, before, edits)
    except DockerlockError as exc:
        return exc.reason
    return None


def _has_records(df: Dockerfile) -> bool:
    return bool(record_like_lines(df.source))


# -- with a record ---------------------------------------------------------------------------
class _Restore(NamedTuple):
    """One record's restore: where its region is now and the text that goes back."""

    record: Record
    region: Region | None  # None: edited, and where it ends cannot be proven
    why: str | None  # why not (``Unlocatable``)
    current: tuple[str, ...]  # the record line and the region's lines now (or the n lines after it)
    text: str | None  # what replaces them


def _ending(line: str) -> str:
    return "\r\n" if line.endswith("\r\n") else "\n" if line.endswith("\n") else ""


def planned_restores(src: Source, records: list[Record]) -> list[_Restore]:
    """Where each record's region is and what replaces it, from the bottom up: a region's
    "next" anchor was taken from the original text, so the regions below it are restored
    (in a working copy) before it is looked for."""
    lines = split_lines(src.text)
    work = list(lines)
    below = len(lines)  # index of the next record line further down
    plans: list[_Restore] = []
    for rec in reversed(records):
        at = rec.line - 1
        eol = _ending(lines[at]) or src.eol
        after = work[at + 1:]
        try:
            region: Region | None = locate(rec, after, eol)
            why = None
        except Unlocatable as exc:
            region, why = None, str(exc)
        if region is not None and at + 1 + region.count > below:
            region, why = None, f"its region would run into the record on line {below + 1}"
        span = region.count if region is not None else min(rec.lines, below - at - 1)
        text = None
        if region is not None:
            text = restored_text(rec, region, eol, followed=region.count < len(after))
            work[at:at + 1 + region.count] = split_lines(text)
        plans.append(_Restore(rec, region, why, tuple(lines[at:at + 1 + span]), text))
        below = at
    plans.reverse()
    return plans


def _edits(src: Source, plan: _Restore) -> list[Edit]:
    """The smallest line edits that turn the record and its region into the original:
    lines the migration left alone inside the region (an unknown instruction, a comment)
    are not touched, so the engine's checks see only what really changes."""
    assert plan.text is not None
    start = src.line_starts[plan.record.line - 1]
    offsets = [start]
    for line in plan.current:
        offsets.append(offsets[-1] + len(line))
    new = split_lines(plan.text)
    matcher = difflib.SequenceMatcher(None, plan.current, new, autojunk=False)
    return [Edit(Span(offsets[i1], offsets[i2]), "".join(new[j1:j2]))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _recorded(df: Dockerfile, records: list[Record], result: FileResult, force: bool) -> list[list[Edit]]:
    src = df.source
    plans = planned_restores(src, records)
    for plan in plans:
        if plan.region is not None and plan.region.intact:
            continue
        rec = plan.record
        first, last = rec.line + 1, rec.line + len(plan.current) - 1
        where = f"lines {first}-{last}" if last > first else f"line {first}" if last == first else "the lines"
        detail = _describe(plan.current[1:])
        if plan.region is None:
            finding = (f"{where} after the record were edited after migration, and which lines are the "
                       f"migrated region cannot be proven: {plan.why}. Refusing to revert"
                       f"{'' if force else ' (--force cannot either)'}. Current lines:\n{detail}")
            result.findings.append(Finding("DLK303", Level.ERROR, finding, src.path, rec.line))
            result.error = DockerlockError(f"the migrated region below the record was edited and its extent "
                                           f"cannot be proven ({plan.why}); nothing was reverted", src.path,
                                           rec.line, hint="undo the edits inside the region (compare it with "
                                           "version control), or replace the record and region by hand")
            return []
        if not force:
            result.findings.append(Finding("DLK303", Level.ERROR,
                                           f"{where} were edited after migration; refusing to revert them "
                                           f"(--force restores the original over {where}). Current region:\n"
                                           f"{detail}", src.path, rec.line))
            result.error = DockerlockError(f"migrated region ({where}) was edited after migration; not "
                                           "reverted (use --force)", src.path, rec.line)
            return []
        result.findings.append(Finding("DLK303", Level.WARNING,
                                       f"{where} were edited after migration; --force restores the original "
                                       "and drops those edits:\n" + detail, src.path, rec.line))
    groups: list[list[Edit]] = []
    for plan in plans:
        groups.append(_edits(src, plan))
        if restores_a_stanza(plan.record):
            result.converted += 1
            note = "restored the original pip stanza from the record"
        else:  # the uv binary's COPY, a requirements COPY the lock's replaced: not a stanza of its own
            note = "restored the lines migrate added or removed around a stanza"
        result.findings.append(Finding("DLK301", Level.NOTE, note, src.path, plan.record.line))
    return groups


def _describe(lines: tuple[str, ...]) -> str:
    return "".join(f"    | {line}" for line in lines).rstrip("\n") or "    (no lines)"


# -- without a record ---------------------------------------------------------------------------
def _synthesised(df: Dockerfile, context: BuildContext, result: FileResult) -> list[list[Edit]]:

    groups: list[list[Edit]] = []
    removed_uv: set[int] = set()
    planned: dict[tuple[int, int], str] = {}  # the edits already planned, by span
    for stage in df.stages:
        steps = uv_steps(df, stage)
        before = len(groups)
        for step in steps:
            edits = _revert_step(df, context, stage, step, result)
            if edits:
                edits = _not_yet_planned(edits, planned, df, step, result)
            if edits:
                groups.append(edits)
        if len(groups) > before and all(_uv_only_for(df, stage, steps)):
            for ins in _uv_provisioning(df, stage):
                if ins.index not in removed_uv:
                    removed_uv.add(ins.index)
                    groups[-1].append(Edit(ins.span, ""))
    if groups:
        result.findings.append(Finding("DLK302", Level.WARNING,
                                       "no dockerlock record: synthesised the canonical pip stanza; review it",
                                       df.source.path, None))
    return groups


def _not_yet_planned(edits: list[Edit], planned: dict[tuple[int, int], str], df: Dockerfile, step: UvStep,
                     result: FileResult) -> list[Edit] | None:
    """``edits`` without those an earlier step's revert already makes (two uv steps reading the
    lock one COPY brings both turn it back into the one requirements COPY); None, with the
    step refused, when an edit would change what an earlier one changes differently."""
    fresh = [e for e in edits if planned.get((e.span.start, e.span.end)) != e.text]
    for edit in fresh:
        if any((start, end) == (edit.span.start, edit.span.end) or spans_clash(Span(start, end), edit.span)
               for start, end in planned):
            _refuse(result, df.source.path, step.command.instruction.start_line,
                    "another uv step's revert rewrites the same lines differently; revert this one by hand")
            return None
    for edit in fresh:
        planned[(edit.span.start, edit.span.end)] = edit.text
    return fresh


def _revert_step(df: Dockerfile, context: BuildContext, stage, step: UvStep,
                 result: FileResult) -> list[Edit] | None:
    ins = step.command.instruction
    path = df.source.path
    workdir = workdir_of(df, ins)
    lock_image = step.lock_word if step.lock_word.startswith("/") else \
        posixpath.normpath(posixpath.join(workdir or "/?", step.lock_word))
    provider: Instruction | None = None
    lock_ctx = None
    for cand in reversed([x for x in stage.instructions if x.index < ins.index and x.keyword in ("COPY", "ADD")]):
        hit = copy_provides(df, context, cand, lock_image)
        if hit is not None and cand.flag("from") is None:
            provider, lock_ctx = cand, hit[0]
            break
    if provider is None or lock_ctx is None:
        _refuse(result, path, ins.start_line, f"cannot find the COPY that brings {step.lock_word} into the image")
        return None
    req_ctx = posixpath.join(posixpath.dirname(lock_ctx), "requirements.txt")
    if not context.is_file(req_ctx):
        _refuse(result, path, ins.start_line,
                f"no requirements.txt beside the lock {lock_ctx} (looked for {req_ctx} in {context.root})")
        return None
    req_word = posixpath.join(posixpath.dirname(step.lock_word), "requirements.txt") \
        if posixpath.dirname(step.lock_word) else "requirements.txt"
    # the pip command, run by the same interpreter
    if step.python:
        folder = posixpath.dirname(step.python)
        launcher = [posixpath.join(folder, "pip")] if folder.endswith("/bin") else [step.python, "-m", "pip"]
    else:
        launcher = ["pip"]
    argv = launcher + ["install", "--no-cache-dir", "--upgrade", "-r", req_word] + list(step.carried)
    if step.command.kind == "exec":
        import json

        text = json.dumps(argv)
    else:
        text = " ".join(a if a.replace("$", "").replace("/", "").replace("-", "").replace(".", "")
                        .replace("_", "").replace("{", "").replace("}", "").replace("=", "").isalnum()
                        else shlex.quote(a) for a in argv)
    edits = [Edit(step.command.source_span(), text)]
    # the COPY: requirements instead of the lock, same destination folder
    parts = split_copy(df, provider)
    assert parts is not None
    sources, dest = parts
    lock_like = [s for s in sources if posixpath.basename(s).startswith("pylock") or
                 posixpath.basename(s) == ".python-version"]
    flags = " ".join(f.raw for f in provider.flags if f.name in ("chown", "chmod", "link"))
    prefix = f"COPY {flags + ' ' if flags else ''}"
    if len(lock_like) == len(sources):
        new_dest = dest if dest.endswith("/") or dest in (".", "..") else \
            posixpath.join(posixpath.dirname(dest), "requirements.txt")
        edits.append(Edit(provider.span, df.render_lines([f"{prefix}{req_ctx} {new_dest}"])))
    else:
        edits.append(Edit.insert(provider.span.start, df.render_lines([f"{prefix}{req_ctx} {dest}"])))
    result.converted += 1
    return edits


def _refuse(result: FileResult, path: str, line: int, reason: str) -> None:
    result.findings.append(Finding("DLK304", Level.WARNING, reason, path, line))


def _uv_commands(df: Dockerfile, stage) -> list[Command]:
    out = []
    for ins in stage.instructions:
        if ins.keyword == "RUN":
            commands, _ = run_commands(df, ins)
            out += [c for c in commands if c.argv and posixpath.basename(c.argv[0].value or c.argv[0].raw) == "uv"]
    return out


def _uv_only_for(df: Dockerfile, stage, steps: list[UvStep]):
    reverted = {(s.command.instruction.index, s.command.position) for s in steps}
    for c in _uv_commands(df, stage):
        yield (c.instruction.index, c.position) in reverted


def _uv_provisioning(df: Dockerfile, stage) -> list[Instruction]:
    """Instructions whose only job is to put uv into this stage."""
    found = []
    for ins in stage.instructions:
        if ins.keyword == "COPY":
            frm = ins.flag("from")
            if frm is not None and (frm.value or "").startswith((UV_IMAGE, "astral-sh/uv")):
                found.append(ins)
        elif ins.keyword == "RUN":
            commands, _ = run_commands(df, ins)
            if len(commands) == 1:
                pip = shell.parse_pip_argv(commands[0].argv) if commands[0].kind == "exec" else \
                    shell.find_pip_invocation(commands[0].command)
                if pip is not None and pip.subcommand == "install" and len(pip.packages) == 1 and not pip.requirements:
                    spec = (pip.packages[0].value or pip.packages[0].raw).strip("'\"")
                    if spec == "uv" or spec.startswith(("uv==", "uv>=", "uv~=", "uv<")):
                        found.append(ins)
    return found
