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

import posixpath
import shlex
from dataclasses import dataclass, field

from dockerlock import shell
from dockerlock.context import BuildContext
from dockerlock.diagnostics import DockerlockError, Finding, Level
from dockerlock.edits import Edit, apply_edits
from dockerlock.engine import FileResult, finish
from dockerlock.facts.commands import Command, run_commands
from dockerlock.facts.copies import copy_provides, split_copy, workdir_of
from dockerlock.model import Dockerfile, Instruction
from dockerlock.record import digest, parse_record
from dockerlock.settings import UV_IMAGE, Settings
from dockerlock.source import Span

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
        groups = _recorded(df, result, force)
        if groups is None:
            groups = _synthesised(df, context, result)
    except DockerlockError as exc:
        result.error = exc.with_path(df.source.path)
        return result
    if result.error is not None or not groups:
        return result
    try:
        result.new_text = finish(df, groups, record=False,
                                 replan=lambda after: _has_recorded(after))
    except DockerlockError as exc:
        result.error = exc
    return result


def restore_from_records(df: Dockerfile) -> str:
    """The text with every recorded region restored (pure); ``DockerlockError`` if a record does not verify."""
    result = FileResult(df.source.path)
    groups = _recorded(df, result, force=False)
    if result.error is not None:
        raise result.error
    return apply_edits(df.source.text, [e for g in groups or [] for e in g])


def _has_recorded(df: Dockerfile) -> bool:
    return any(_record_at(df, n) for n in range(1, df.source.line_count + 1))


def _record_at(df: Dockerfile, line: int):
    text = df.source.line_text(line)
    if not text.startswith("# dockerlock: "):
        return None
    return parse_record(text, line, df.source.path)


# -- with a record ---------------------------------------------------------------------------
def _recorded(df: Dockerfile, result: FileResult, force: bool) -> list[list[Edit]] | None:
    src = df.source
    records = [r for n in range(1, src.line_count + 1) if (r := _record_at(df, n))]
    if not records:
        return None
    groups: list[list[Edit]] = []
    for rec in records:
        last = rec.line + rec.lines
        if last > src.line_count:
            result.error = DockerlockError(f"the record says {rec.lines} migrated lines follow, but the file "
                                           "ends first", src.path, rec.line)
            return []
        region = Span(src.line_span(rec.line + 1).start, src.line_span(last).end) if rec.lines else \
            Span(src.line_span(rec.line).end, src.line_span(rec.line).end)
        current = src.text[region.start:region.end]
        if digest(current) != rec.digest:
            detail = _describe(current)
            if not force:
                result.findings.append(Finding("DLK303", Level.ERROR,
                                               f"lines {rec.line + 1}-{last} were edited after migration; "
                                               f"refusing to revert them (use --force to restore the "
                                               f"original anyway). Current region:\n{detail}", src.path,
                                               rec.line))
                result.error = DockerlockError(f"migrated region (lines {rec.line + 1}-{last}) was edited "
                                               "after migration; not reverted (use --force)", src.path, rec.line)
                return []
            result.findings.append(Finding("DLK303", Level.WARNING,
                                           f"lines {rec.line + 1}-{last} were edited after migration; --force "
                                           "restores the original and drops those edits:\n" + detail,
                                           src.path, rec.line))
        whole = Span(src.line_span(rec.line).start, region.end)
        groups.append([Edit(whole, rec.original)])
        result.converted += 1
        result.findings.append(Finding("DLK301", Level.NOTE, "restored the original pip stanza from the record",
                                       src.path, rec.line))
    return groups


def _describe(region: str) -> str:
    return "".join(f"    | {line}" for line in region.splitlines(keepends=True)).rstrip("\n")


# -- without a record ---------------------------------------------------------------------------
@dataclass
class _UvStep:
    command: Command
    sync: bool
    lock_word: str
    python: str | None
    system: bool
    carried: list[str] = field(default_factory=list)


def _parse_uv_step(cmd: Command) -> _UvStep | None:
    vals = [w.value if w.value is not None else w.raw for w in cmd.argv]
    if len(vals) < 4 or posixpath.basename(vals[0]) != "uv" or vals[1] != "pip" or vals[2] not in ("sync", "install"):
        return None
    sync = vals[2] == "sync"
    lock = None
    python = None
    system = False
    carried: list[str] = []
    i = 3
    while i < len(vals):
        v = vals[i]
        if v in ("-r", "--requirement", "--requirements") and i + 1 < len(vals):
            lock = vals[i + 1]
            i += 2
            continue
        if v.startswith("--python="):
            python = v.split("=", 1)[1]
        elif v in ("--python", "-p") and i + 1 < len(vals):
            python = vals[i + 1]
            i += 2
            continue
        elif v == "--system":
            system = True
        elif v in ("--index-url", "--extra-index-url", "--find-links", "-i", "-f") and i + 1 < len(vals):
            carried += [v, vals[i + 1]]
            i += 2
            continue
        elif v in ("--no-index", "--break-system-packages"):
            carried.append(v)
        elif not v.startswith("-") and sync and lock is None:
            lock = v
        i += 1
    if lock is None or not posixpath.basename(lock).startswith("pylock"):
        return None
    return _UvStep(cmd, sync, lock, python, system, carried)


def uv_steps(df: Dockerfile, stage) -> list[_UvStep]:
    """Every ``uv pip sync|install <pylock>`` command in the stage's RUN instructions."""
    steps: list[_UvStep] = []
    for ins in stage.instructions:
        if ins.keyword == "RUN":
            commands, _ = run_commands(df, ins)
            steps.extend(step for c in commands if (step := _parse_uv_step(c)) is not None)
    return steps


def _synthesised(df: Dockerfile, context: BuildContext, result: FileResult) -> list[list[Edit]]:

    groups: list[list[Edit]] = []
    removed_uv: set[int] = set()
    for stage in df.stages:
        steps = uv_steps(df, stage)
        before = len(groups)
        for step in steps:
            edits = _revert_step(df, context, stage, step, result)
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


def _revert_step(df: Dockerfile, context: BuildContext, stage, step: _UvStep,
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
    argv = launcher + ["install", "--no-cache-dir", "--upgrade", "-r", req_word] + step.carried
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


def _uv_only_for(df: Dockerfile, stage, steps: list[_UvStep]):
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
