"""DLK101: replace a pip requirements install with a locked uv step (DLK105: details; DLK119: cannot
be written exactly).

What it does
    For a pip step every earlier rule let through: bring the lock into the image where the
    requirements file went, make uv available once per stage lineage, and run
    ``uv pip sync <lock>`` (fresh venv) or ``uv pip install -r <lock>`` (an environment that
    may already hold packages) for the same environment, with the options uv shares.
Why
    ``pip install --upgrade -r requirements.txt`` resolves at build time, so the image
    installs what the index serves that day, not what CI tested against the lock.
Fix safety
    One fix per pip step: the pip command's own text, the requirements COPY or mount, and
    inserted lines. The engine re-parses the result and refuses to write if any other
    instruction moved or changed, or if revert would not restore the input.
"""

from __future__ import annotations

import posixpath

from dockerlock.diagnostics import Level
from dockerlock.edits import Edit, Fix
from dockerlock.facts.copies import absolute_in_image, split_copy, workdir_of
from dockerlock.facts.expansion import expand
from dockerlock.facts.images import lineage
from dockerlock.facts.locks import choose_lock, is_lock
from dockerlock.facts.stanzas import PipStanza
from dockerlock.rewrite.layer_order import moved_ahead, why_not_move
from dockerlock.rewrite.lock_placement import LockPlacement, place_lock
from dockerlock.rewrite.quoting import copy_arguments
from dockerlock.rewrite.uv_command import uv_command
from dockerlock.rewrite.uv_provision import (
    uv_provision_line,
    uv_stage,
    uv_stage_insertion,
    uv_stage_name,
)
from dockerlock.rules.base import Code, Decision, Phase

CONVERTED = Code(
    "DLK101", Level.NOTE, "pip requirements install converted to a locked uv step",
    what="The pip step becomes `uv pip sync|install` of the lock that stands in for its requirements.",
    why="The image then installs exactly what the lock (and so CI) says.",
    fix="Nothing to do; `dockerlock revert` restores the pip step exactly.",
    decision=Decision.CONVERTED)
DETAIL = Code("DLK105", Level.NOTE, "detail of a conversion (target, dropped option, kept COPY, layer order)",
              what="How a conversion was done, shown with -v.", why="So a reviewer can check each choice.",
              fix="Nothing to do.")
NOT_EXACT = Code(
    "DLK119", Level.WARNING, "the uv step cannot be written exactly: left as is",
    what="A path or argument of the rewrite cannot be written so that the shell reads exactly what is "
         "meant (quoting, exec form without a shell, a lock that would land elsewhere than the step reads).",
    why="A rewrite that reads another path than the lock was copied to would break the build or "
        "install something else.",
    fix="Simplify the path (no quotes or variables in its file name), or migrate this step by hand.",
    decision=Decision.REFUSED)
CODES = (CONVERTED, DETAIL, NOT_EXACT)
PHASE = Phase.CONVERT


def check(stanza: PipStanza, rc):
    choice = choose_lock(rc.ctx, rc.settings, stanza)
    if choice.context_path is None:
        yield NOT_EXACT.at(f"{stanza.described} left as is: {choice.problem}", rc.path, stanza.line)
        return
    arg = rc.settings.uv_version_arg
    if arg is not None and arg not in rc.df.meta_args and uv_stage(rc.df) is None:
        yield NOT_EXACT.at(f"{stanza.described} left as is: the uv version comes from ARG {arg}, which this file "
                           f"does not declare before its first FROM (only such ARGs reach a FROM line); add "
                           f"`ARG {arg}=<version>` at the top", rc.path, stanza.line)
        return
    lock = rc.ctx.lock(choice.context_path) if rc.settings.lock_check else None  # --no-lock-check: unread
    lock = lock if is_lock(lock) else None
    placement = place_lock(rc.df, rc.ctx, stanza, choice.context_path)
    if placement.problem:
        yield NOT_EXACT.at(f"{stanza.described} left as is: {placement.problem}", rc.path, stanza.line)
        return
    command = uv_command(rc.df, rc.settings, stanza, placement.step_word, lock)
    if command.problem:
        yield NOT_EXACT.at(f"{stanza.described} left as is: {command.problem}", rc.path, stanza.line)
        return
    notes = [f"target: {stanza.target.how}", *placement.notes, *command.notes]
    if choice.fallback:
        notes.append(f"lock: {choice.how}; it does")
    if stanza.conda:
        notes.append("conda image: installs into the environment's interpreter, never syncs it")
    run_edits = [Edit(stanza.command.source_span(), command.text)]
    run_edits += [e for e in (placement.mount_edit, command.mount_edit) if e is not None]
    edits = _edits(stanza, rc, placement, run_edits, lock, notes)
    verb = "uv pip sync" if stanza.mode == "sync" else "uv pip install -r"
    yield CONVERTED.at(f"{stanza.described} -> {verb} {placement.step_word} ({stanza.mode_reason})", rc.path,
                       stanza.line, fix=Fix(tuple(edits), isolation=command.isolation))
    for note in notes:
        yield DETAIL.at(note, rc.path, stanza.line)


def _edits(stanza: PipStanza, rc, placement: LockPlacement, run_edits: list[Edit], lock, notes: list[str]) -> list[Edit]:
    df = rc.df
    ins = stanza.instruction
    folder = placement.with_folder
    if folder is not None:
        why = why_not_move(df, stanza, folder, lock)
        if why is None:
            notes.append(f"moved the install ahead of the code COPY on line {folder.start_line} so the dependency "
                         "layer stays cached")
            line = _lock_copy_into_folder(df, rc.ctx, folder, placement)
            return _uv(stanza, rc, folder) + moved_ahead(df, stanza, folder, run_edits, line)
        notes.append(f"kept the install after the code COPY (line {folder.start_line}): {why}")
        return run_edits + _uv(stanza, rc, ins)
    if placement.replaces is not None:
        assert placement.copy_line is not None
        return ([Edit(placement.replaces.span, df.render_lines([placement.copy_line]))] + run_edits
                + _uv(stanza, rc, placement.replaces))
    if placement.copy_line is not None:
        return _uv(stanza, rc, ins) + [Edit.insert(ins.span.start, df.render_lines([placement.copy_line]))] + run_edits
    return run_edits + _uv(stanza, rc, ins)


def _uv(stanza: PipStanza, rc, before) -> list[Edit]:
    """The uv provisioning insertion, once per stage lineage, unless uv is there already; with
    an ARG pin, also the uv stage once per file."""
    provisioned: set[int] = rc.cache.setdefault("uv-provisioned-stages", set())
    family = {s.index for s in lineage(rc.df, stanza.stage)}
    if stanza.uv_ready or family & provisioned:
        return []
    provisioned.add(stanza.stage.index)
    if rc.settings.uv_version_arg is None or rc.settings.uv_source == "pip":
        return [Edit.insert(before.span.start, rc.df.render_lines([uv_provision_line(rc.settings)]))]
    edits = []
    name = uv_stage(rc.df)
    if name is None:
        name = rc.cache.get("uv-stage") or uv_stage_name(rc.df)
        if "uv-stage" not in rc.cache:
            rc.cache["uv-stage"] = name
            edits.append(uv_stage_insertion(rc.df, rc.settings, name))
    return edits + [Edit.insert(before.span.start, rc.df.render_lines([uv_provision_line(rc.settings, name)]))]


def _lock_copy_into_folder(df, ctx, folder_copy, placement: LockPlacement) -> str:
    """``COPY <lock> [.python-version] <dest>`` for a lock that moves ahead of its folder COPY:
    written relative to that COPY's destination, as the user wrote it (``COPY . .`` -> ``./``)."""
    sources, dest = split_copy(df, folder_copy) or ((), ".")
    dest_value = expand(df, folder_copy, dest) or dest
    dest_abs = absolute_in_image(dest_value, workdir_of(df, folder_copy))
    sub = posixpath.relpath(posixpath.dirname(placement.image_path), dest_abs)
    base = dest.rstrip("/") or "/"
    target = (base if sub == "." else posixpath.join(base, sub))
    target = "./" if target in (".", "") else target.rstrip("/") + "/"
    source_folder = posixpath.normpath((expand(df, folder_copy, sources[0]) or ".") if sources else ".")
    lock_rel = posixpath.basename(placement.image_path)
    lock_ctx = posixpath.normpath(posixpath.join(source_folder, sub, lock_rel))
    pyver = posixpath.normpath(posixpath.join(source_folder, sub, ".python-version"))
    args = [lock_ctx]
    if ctx.is_file(pyver):
        args.append(pyver)
    rendered = copy_arguments(args + [target])
    return f"COPY {rendered}"
