"""Every pip requirements install of a Dockerfile, with the facts the migrate rules decide on.

A ``PipStanza`` is one pip command that installs from ``-r`` files: which environment it
fills (and whether that environment is provably fresh), the working directory it runs in,
where each requirements and constraints file comes from (a COPY, a bind mount, a folder
copy — or why that cannot be known), and which lock stands in for them. Facts carry no
verdicts: the rules in ``dockerlock.rules`` read them and decide. Pure.
"""

from __future__ import annotations

import posixpath
import re
from typing import NamedTuple

from dockerlock import shell
from dockerlock.context import BuildContext, ContextEscape
from dockerlock.facts.commands import (
    Command,
    python_tooling_runs,
    pip_invocation,
    run_commands,
)
from dockerlock.facts.copies import (
    CopySource,
    MountSource,
    absolute_in_image,
    bind_mount_provides,
    copy_provides,
    split_copy,
    workdir_of,
)
from dockerlock.facts.environments import (
    HARMLESS_PROGRAMS,
    EnvState,
    Target,
    activated_venv,
    target_of,
    upgrades_only_tools,
    venv_created_by,
    venv_of,
)
from dockerlock.facts.expansion import expand
from dockerlock.facts.images import is_conda_image, root_image, uv_image_stage
from dockerlock.model import Dockerfile, Instruction, Stage
from dockerlock.settings import UV_IMAGE, Settings

_DOWNLOADERS = re.compile(r"\b(git\s+clone|wget|curl|svn\s+(?:co|checkout)|aws\s+s3\s+cp|gsutil)\b")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


class Problem(NamedTuple):
    """Why a fact could not be established: ``kind`` for the rule that reports it, ``reason`` for people."""

    kind: str
    reason: str


class Provider(NamedTuple):
    """The instruction that puts a requirements file into the image: a COPY/ADD or a bind mount."""

    instruction: Instruction
    copy: CopySource | None = None
    mount: MountSource | None = None


class RequirementsFile(NamedTuple):
    """One ``-r`` or ``-c`` argument of the pip command and where its file comes from."""

    word: shell.Word
    option: str  # "-r" or "-c"
    value: str | None  # the shell's value of the word (ARG/ENV defaults applied); None if unknown
    image_path: str | None  # absolute in the image ("/?/..." when the working directory is unknown)
    provider: Provider | None = None
    context_path: str | None = None
    problem: Problem | None = None


class PipStanza(NamedTuple):
    """One pip command that installs (or, for wheel/download, fetches) from requirements files."""

    instruction: Instruction
    command: Command
    pip: shell.PipInvocation
    stage: Stage
    target: Target
    mode: str  # "sync" or "install"
    mode_reason: str
    uv_ready: bool  # uv is already available in the stage at this point
    cwd: str | None
    files: tuple[RequirementsFile, ...]
    conda: bool = False

    @property
    def line(self) -> int:
        return self.instruction.start_line

    @property
    def requirements(self) -> tuple[RequirementsFile, ...]:
        return tuple(f for f in self.files if f.option == "-r")

    @property
    def constraints(self) -> tuple[RequirementsFile, ...]:
        return tuple(f for f in self.files if f.option == "-c")

    @property
    def problems(self) -> tuple[Problem, ...]:
        return tuple(f.problem for f in self.files if f.problem is not None)

    @property
    def described(self) -> str:
        """``pip install -r a.txt -r b.txt`` as written, for messages."""
        return f"pip {self.pip.subcommand or ''} " + " ".join(f"{f.option} {f.word.raw}" for f in self.files)


def pip_stanzas(df: Dockerfile, ctx: BuildContext, settings: Settings) -> tuple[PipStanza, ...]:
    """Every pip requirements install (and pip wheel/download -r) in ``df``, in file order (cached)."""
    # Stanza facts read only the context's index (which paths exist), not the contents the loader
    # adds round after round, so the loader's walk is reused by the review.
    key = ("pip-stanzas", id(ctx.index))
    hit = df.cache.get(key)
    if hit is not None and hit[0] is ctx.index:  # type: ignore[index]
        return hit[1]  # type: ignore[index]
    found = tuple(_walk(df, ctx))
    df.cache[key] = (ctx.index, found)
    return found


# -- walking the stages -------------------------------------------------------------------
def _walk(df: Dockerfile, ctx: BuildContext):
    finals: list[EnvState] = []
    tooling = python_tooling_runs(df)
    for stage in df.stages:
        state = finals[stage.parent].inherit() if stage.parent is not None else EnvState()
        if stage.parent is None and uv_image_stage(df, stage):
            state.uv = True
        conda = is_conda_image(df, stage)
        for ins in stage.instructions:
            if ins.keyword in ("COPY", "ADD"):
                _track_copy(df, ins, state)
            elif ins.keyword == "RUN" and (ins.index in tooling or _venv_is_fresh_so_far(state, stage)):
                yield from _scan_run(df, ctx, stage, ins, state, conda)
        finals.append(state)


def _venv_is_fresh_so_far(state: EnvState, stage: Stage) -> bool:
    """Only while a venv of this stage could still be synced does an unrelated RUN need reading."""
    return any(origin == "created" and state.created_in.get(v) == stage.index and f"venv:{v}" not in state.received
               for v, origin in state.venvs.items())


def _track_copy(df: Dockerfile, ins: Instruction, state: EnvState) -> None:
    frm = ins.flag("from")
    if frm is None and not state.venvs:
        return  # a COPY from the context into an image with no venv yet: nothing to track
    parts = split_copy(df, ins)
    if parts is None:
        return
    sources, dest = parts
    if frm is not None and (UV_IMAGE in (frm.value or "") or (frm.value or "").startswith("astral-sh/uv")):
        state.uv = True
        return
    if frm is not None and any(posixpath.basename(s.rstrip("/")) in ("uv", "uvx") for s in sources):
        state.uv = True
        return
    dest_value = (expand(df, ins, dest) or dest).rstrip("/") or "/"
    workdir = workdir_of(df, ins)
    dest_abs = absolute_in_image(dest_value, workdir)
    # Files copied into a venv (COPY --from=builder /opt/venv /opt/venv, or wheels into its
    # site-packages) are packages sync would remove.
    for venv in list(state.venvs):
        if dest_abs == venv or dest_abs.startswith(venv.rstrip("/") + "/"):
            state.receive(f"venv:{venv}", f"COPY into it on line {ins.start_line}")
    if frm is not None and any(s.rstrip("/").endswith(("venv", ".venv", "env")) or s.rstrip("/") == dest_value
                               for s in sources):
        state.copied_into(dest_abs, ins.start_line)


def _scan_run(df: Dockerfile, ctx: BuildContext, stage: Stage, ins: Instruction, state: EnvState, conda: bool):
    commands, problem = run_commands(df, ins)
    if problem is not None:
        state.unknown.append((ins.start_line, "a shell script dockerlock cannot parse"))
        return
    activated: str | None = None
    for cmd in commands:
        argv = cmd.argv
        created = venv_created_by(argv)
        if created:
            path, system_site = created
            state.created((expand(df, ins, path) or path), stage.index, ins.start_line, system_site)
            continue
        act = activated_venv(argv)
        if act:
            activated = expand(df, ins, act) or act
            continue
        pip = pip_invocation(df, cmd)
        if pip is None:
            _note_other_command(df, ins, cmd, state, activated)
            continue
        target = install_target(df, ins, pip, activated, conda)
        if pip.subcommand in ("install", "wheel", "download") and pip.requirements:
            mode, why = state.sync_or_install(target, stage.index, ins.start_line)
            cwd = _cwd_at(df, ins, cmd, stage)
            files = _files(df, ctx, ins, cmd, pip, stage, cwd)
            yield PipStanza(ins, cmd, pip, stage, target, mode, why, state.uv, cwd, files, conda)
        if pip.subcommand == "install":
            if not upgrades_only_tools(pip) and (pip.requirements or pip.editables or pip.packages):
                state.receive(target.key, f"pip install on line {ins.start_line}")
                for venv in _venvs_under(df, ins, target, state):
                    state.receive(f"venv:{venv}", f"pip install on line {ins.start_line}")
            if any((w.value or "").lower().split("=")[0].split("<")[0].split(">")[0] == "uv" for w in pip.packages):
                state.uv = True


def _venvs_under(df: Dockerfile, ins: Instruction, target: Target, state: EnvState) -> list[str]:
    """The venvs a ``--target``/``--prefix`` directory lies in (``--prefix /opt/venv`` fills its
    site-packages as surely as ``/opt/venv/bin/pip`` does)."""
    if target.kind not in ("target", "prefix") or not target.directory:
        return []
    directory = absolute_in_image(df.expand_at(ins, target.directory) or target.directory, workdir_of(df, ins))
    return [v for v in state.venvs if directory == v or directory.startswith(v.rstrip("/") + "/")]


def install_target(df: Dockerfile, ins: Instruction, pip: shell.PipInvocation, activated: str | None,
                    conda: bool) -> Target:
    """The environment, with ``--target DIR`` / ``--prefix DIR`` / ``--user`` applied."""
    base = target_of(df, ins, pip, activated, conda)
    for option in pip.all_options:
        if option.name in ("--target", "--prefix") and option.value is not None:
            return Target(option.name[2:], base.python, f"{option.name} {option.value.raw}",
                          directory=option.value.raw, venv=base.venv, venv_value=base.venv_value)
        if option.name == "--user":
            return Target("user", base.python, "--user: the user scheme", venv=base.venv, venv_value=base.venv_value)
    return base


def _note_other_command(df: Dockerfile, ins: Instruction, cmd: Command, state: EnvState,
                        activated: str | None) -> None:
    """Record what a non-pip command may have installed: uv steps, and programs dockerlock cannot read."""
    values = [w.value if w.value is not None else None for w in cmd.argv]
    if not values:
        return
    program = values[0]
    if program is not None and posixpath.basename(program) == "uv" and values[1:3] == ["pip", "install"] or \
            program is not None and posixpath.basename(program) == "uv" and values[1:3] == ["pip", "sync"]:
        key = _uv_target_key(df, ins, values, activated)
        if key is None:
            # uv chooses the environment itself (VIRTUAL_ENV, CONDA_PREFIX, a .venv above the working
            # directory, UV_SYSTEM_PYTHON): any venv may have received these packages
            state.unknown.append((ins.start_line, f"uv pip {values[2]}"))
        else:
            state.receive(key, f"uv pip on line {ins.start_line}")
        return
    if program is not None and posixpath.basename(program) == "uv":
        return
    name = posixpath.basename(program) if program is not None else None
    if name in HARMLESS_PROGRAMS:
        return
    if name is not None and re.fullmatch(r"python[0-9.]*", name) and values[1:2] in (["--version"], ["-V"]):
        return
    state.unknown.append((ins.start_line, program if program is not None else cmd.argv[0].raw))


def _uv_target_key(df: Dockerfile, ins: Instruction, values: list[str | None], activated: str | None) -> str | None:
    """The environment a ``uv pip install|sync`` fills, or None when uv decides it at build time."""
    if "--system" in values:
        return "system"  # uv skips interpreters inside virtual environments for --system
    for i, v in enumerate(values):
        python = None
        if v == "--python" and i + 1 < len(values):
            python = values[i + 1]
        elif v is not None and v.startswith("--python="):
            python = v.split("=", 1)[1]
        if python:
            venv = venv_of(expand(df, ins, python) or python)
            return f"venv:{venv}" if venv else "system"
    if activated:
        return f"venv:{activated.rstrip('/')}"
    return None


# -- where the pip command runs ------------------------------------------------------------
def _cwd_at(df: Dockerfile, ins: Instruction, cmd: Command, stage: Stage) -> str | None:
    """Working directory of the pip command: WORKDIR (or the base image's ``/``), then any
    ``cd`` earlier in the same RUN. None when unknown."""
    cwd = workdir_of(df, ins)
    if cmd.kind == "exec" or cmd.command is None:
        return cwd
    commands, _ = run_commands(df, ins)
    for c in commands:
        if c.position >= cmd.position:
            break
        if c.kind != cmd.kind or not c.argv or c.argv[0].value != "cd" or c.command is None or c.command.in_compound:
            continue
        if len(c.argv) < 2:
            return None
        target = c.argv[1].value if c.argv[1].value is not None else expand(df, ins, c.argv[1].raw)
        if target is None:
            return None
        if target.startswith("/"):
            cwd = posixpath.normpath(target)
        elif cwd is not None:
            cwd = posixpath.normpath(posixpath.join(cwd, target))
        else:
            # below the base image's unknown folder ("/?", as absolute_in_image writes it): None
            # would stand for that folder itself, where `COPY requirements.txt .` put the file
            cwd = "/?/?" if ".." in target.split("/") else posixpath.normpath(posixpath.join("/?", target))
    return cwd


# -- where each requirements file comes from -----------------------------------------------
def _files(df: Dockerfile, ctx: BuildContext, ins: Instruction, cmd: Command, pip: shell.PipInvocation,
           stage: Stage, cwd: str | None) -> tuple[RequirementsFile, ...]:
    out: list[RequirementsFile] = []
    words = [("-r", w) for w in pip.requirements] + [("-c", w) for w in pip.constraints]
    for option, word in words:
        out.append(_locate(df, ctx, ins, cmd, stage, cwd, option, word))
    return tuple(out)


def _locate(df: Dockerfile, ctx: BuildContext, ins: Instruction, cmd: Command, stage: Stage, cwd: str | None,
            option: str, word: shell.Word) -> RequirementsFile:
    if word.has_substitution or "`" in word.raw or "<(" in word.raw:
        return RequirementsFile(word, option, None, None,
                                problem=Problem("computed", f"the path '{word.raw}' is computed at build time"))
    value = word.value
    if value is None and word.has_variables:
        if cmd.kind == "exec":
            return RequirementsFile(word, option, None, None, problem=Problem(
                "exec-variables", f"'{word.raw}' is in an exec-form RUN, where no shell expands variables"))
        value = expand(df, ins, word.raw)
        if value is None:
            return RequirementsFile(word, option, None, None, problem=Problem(
                "unresolved", f"cannot resolve '{word.raw}': give the ARG/ENV a default value"))
    if value is None:
        return RequirementsFile(word, option, None, None, problem=Problem(
            "computed", f"the path '{word.raw}' is a pattern or expansion dockerlock cannot resolve"))
    if _URL.match(value):
        return RequirementsFile(word, option, value, None, problem=Problem(
            "downloaded", f"'{value}' is downloaded at build time"))
    image_path = absolute_in_image(value, cwd)
    found = RequirementsFile(word, option, value, image_path)
    return _find_provider(df, ctx, ins, stage, found, cwd)


def _find_provider(df: Dockerfile, ctx: BuildContext, ins: Instruction, stage: Stage, req: RequirementsFile,
                   cwd: str | None) -> RequirementsFile:
    """The bind mount, COPY or ADD that puts the file there, searching back through the stages."""
    assert req.image_path is not None
    mount = bind_mount_provides(df, ins, req.image_path)
    if mount is not None:
        if mount.context_path is None:
            return _with_problem(req, "other-stage", f"{req.word.raw} is bind-mounted from {mount.from_} "
                                                     "(another stage or image): it is produced during the build")
        if not mount.whole_file and _mounted_folder_lacks(ctx, mount.context_path):
            # the mount hides whatever the image had there, and brings no such file
            return _with_problem(req, "not-found", f"the bind mount on {req.image_path} brings no such file: the "
                                                   f"build context has no {mount.context_path}")
        return _inside_context(ctx, RequirementsFile(req.word, req.option, req.value, req.image_path,
                                                     Provider(ins, mount=mount), mount.context_path))
    current: Stage | None = stage
    before = ins.index
    lacking: tuple[Instruction, str] | None = None  # the latest folder COPY whose context lacks the file
    while current is not None:
        # a stage's instructions are consecutive in the file: start just before ``before``
        first = current.instructions[0].index
        upto = min(max(before - first, 0), len(current.instructions))
        for cand in reversed(current.instructions[:upto]):
            if cand.keyword in ("COPY", "ADD"):
                hit = copy_provides(df, ctx, cand, req.image_path)
                if hit is None:
                    continue
                if _folder_copy_lacks(ctx, cand, hit):
                    lacking = lacking or (cand, hit.context_path or "")
                    continue
                return _provided_by_copy(ctx, req, cand, hit)
            if cand.keyword == "RUN":
                base = posixpath.basename(req.image_path)
                if _DOWNLOADERS.search(cand.body) and (base in cand.body or posixpath.dirname(req.image_path)
                                                       in cand.body):
                    return _with_problem(req, "produced", f"{req.word.raw} is produced during the build "
                                                          f"(RUN on line {cand.start_line})")
        before = 10 ** 9
        current = df.stages[current.parent] if current.parent is not None else None
    downloader = next((x for x in stage.instructions if x.keyword == "RUN" and x.index <= ins.index
                       and _DOWNLOADERS.search(x.body)), None)
    if downloader is not None:
        return _with_problem(req, "produced", f"{req.word.raw} is not copied from the build context; it is "
                                              "probably produced during the build (RUN on line "
                                              f"{downloader.start_line} downloads files)")
    if cwd is None and not (req.value or "").startswith("/"):
        image = root_image(df, stage)
        return _with_problem(req, "workdir", f"the working directory is unknown: {image} sets it and this "
                                             f"file sets no WORKDIR, so dockerlock cannot tell where "
                                             f"'{req.word.raw}' is (add a WORKDIR)")
    if lacking is not None:
        copy, wanted = lacking
        return _with_problem(req, "not-found", f"the build context ({ctx.shown}) has no {wanted}, which "
                                               f"{copy.keyword} on line {copy.start_line} would put at "
                                               f"{req.image_path} (is the context another folder? pass --context)")
    return _with_problem(req, "not-found", f"cannot find the COPY/ADD or bind mount that puts {req.word.raw} "
                                           f"into the image (looked for {req.image_path})")


def _mounted_folder_lacks(ctx: BuildContext, context_path: str) -> bool:
    if not ctx.index.complete:
        return False
    try:
        return not ctx.is_file(ctx.check_inside(context_path))
    except ContextEscape:
        return False  # reported as escaping the context by _inside_context


def _folder_copy_lacks(ctx: BuildContext, cand: Instruction, hit: CopySource) -> bool:
    """A folder COPY from the context only writes the files the context has: when the
    (completely indexed) context has no file at that path, the path keeps what an earlier
    instruction put there."""
    if not hit.dir_copy or hit.context_path is None or cand.flag("from") is not None or not ctx.index.complete:
        return False
    try:
        return not ctx.is_file(ctx.check_inside(hit.context_path))
    except ContextEscape:
        return False  # reported as escaping the context by _inside_context


def _provided_by_copy(ctx: BuildContext, req: RequirementsFile, cand: Instruction, hit: CopySource) -> RequirementsFile:
    frm = cand.flag("from")
    if frm is not None:
        return _with_problem(req, "other-stage", f"{req.word.raw} comes from another stage or image "
                                                 f"(COPY --from={frm.value}, line {cand.start_line}): it is "
                                                 "produced during the build")
    if hit.context_path is None:
        return _with_problem(req, "not-found", f"cannot tell which file COPY on line {cand.start_line} puts at "
                                               f"{req.image_path}")
    if cand.keyword == "ADD" and _URL.match(hit.context_path):
        return _with_problem(req, "downloaded", f"{req.word.raw} is downloaded by ADD (line {cand.start_line})")
    return _inside_context(ctx, RequirementsFile(req.word, req.option, req.value, req.image_path,
                                                 Provider(cand, copy=hit), hit.context_path))


def _inside_context(ctx: BuildContext, req: RequirementsFile) -> RequirementsFile:
    assert req.context_path is not None
    try:
        normal = ctx.check_inside(req.context_path)
    except ContextEscape as exc:
        return _with_problem(req, "escapes", f"requirements path escapes the build context: {exc}")
    return RequirementsFile(req.word, req.option, req.value, req.image_path, req.provider, normal or ".")


def _with_problem(req: RequirementsFile, kind: str, reason: str) -> RequirementsFile:
    return RequirementsFile(req.word, req.option, req.value, req.image_path, req.provider, req.context_path,
                            Problem(kind, reason))
