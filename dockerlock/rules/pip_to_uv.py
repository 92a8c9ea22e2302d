"""DLK1xx: replace a ``pip install -r requirements.txt`` stanza with a locked uv step.

What it does
    Finds every pip command that installs from a requirements file (any launcher:
    ``pip``, ``pip3``, ``python -m pip``, venv paths; in ``&&`` chains, exec form and
    heredocs), classifies it as convertible or not (with a reason the user can act on),
    and for convertible ones plans edits: make uv available in the stage, COPY the lock
    (and ``.python-version``) instead of the requirements file, and run
    ``uv pip sync <lock> --python <venv>`` (fresh venv) or ``uv pip install -r <lock>``
    (an environment that already holds other packages).
Why
    ``pip install --upgrade -r requirements.txt`` resolves at build time, so the image
    installs what the index serves that day, not what CI tested against the lock.
Fix safety
    Only the pip command's own text, the requirements COPY and inserted lines change;
    the engine re-parses the result and refuses to write if any other instruction moved
    or changed.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from dockerlock import shell
from dockerlock.context import BuildContext, ContextEscape
from dockerlock.diagnostics import Finding, Level
from dockerlock.edits import Edit
from dockerlock.facts import (Command, activated_venv, copy_provides, absolute_in_image, lineage,
                              mentions_python_tooling, root_image, venv_of, path_venv_dir, run_commands, split_copy,
                              venv_created_by)
from dockerlock.model import Dockerfile, Instruction, Stage
from dockerlock.shell.pip_options import rule_for
from dockerlock.settings import UV_IMAGE, Settings
from dockerlock.source import Span

CONVERTED, REFUSED, DEFERRED, FAILED = "converted", "refused", "deferred", "error"

_GPU_IMAGE = re.compile(r"cuda|nvidia|cudnn|pytorch/pytorch|tensorflow/tensorflow|rocm|gpu|"
                        r"huggingface/transformers-pytorch|paddlepaddle", re.I)
_GPU_APT = re.compile(r"\b(cuda-[\w.-]+|nvidia-[\w.-]+|libcudnn[\w.-]*|libnccl[\w.-]*|"
                      r"cuda-toolkit[\w.-]*|libcublas[\w.-]*)\b")
_WINDOWS_IMAGE = re.compile(r"windows|servercore|nanoserver|ltsc20\d\d", re.I)
_CONDA_IMAGE = re.compile(r"conda|mamba|jupyter/|micromamba", re.I)
_SAFE_WORD = re.compile(r"^[A-Za-z0-9_@%+=:,./{}$-]+$")
_DOWNLOADERS = re.compile(r"\b(git\s+clone|wget|curl|svn\s+(?:co|checkout)|aws\s+s3\s+cp|gsutil)\b")


@dataclass(frozen=True)
class LockFacts:
    """What migrate needs to know about a lock (loaded by the runner, cached)."""

    exists: bool
    error: str | None = None
    line: int | None = None
    requires_python: object | None = None  # SpecifierSet
    has_vcs: bool = False
    has_local: bool = False  # directory or local-path entries
    python_error: str | None = None  # filled by the checker for a given image Python


LockLoader = Callable[[str, "str | None"], LockFacts]  # (context-relative lock path, image python)


@dataclass
class Requirement:
    word: shell.Word
    image_path: str  # absolute (or workdir-relative when the workdir is unknown)
    raw_path: str  # as written in the command
    copy: Instruction | None = None  # the COPY/ADD that brings it in
    context_path: str | None = None  # where it lives in the build context
    dir_copy: bool = False  # arrived inside a directory COPY
    sole_source: bool = False  # the COPY copies just this file
    dest_is_dir: bool = False  # the COPY destination is a folder


@dataclass
class Stanza:
    """One pip requirements install and what dockerlock decided about it."""

    instruction: Instruction
    command: Command
    pip: shell.PipInvocation
    stage: Stage
    status: str = CONVERTED
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    requirements: list[Requirement] = field(default_factory=list)
    lock_context_path: str | None = None
    lock_image_path: str | None = None
    target_kind: str = "system"
    target_python: str | None = None
    mode: str = "install"  # "sync" or "install"
    mode_reason: str = ""
    edits: list[Edit] = field(default_factory=list)
    uv_ready: bool = False  # uv is already available in the stage at this point

    @property
    def line(self) -> int:
        return self.instruction.start_line

    def refuse(self, reason: str, status: str = REFUSED) -> "Stanza":
        if self.status == CONVERTED:
            self.status = status
        self.reasons.append(reason)
        return self


@dataclass
class _EnvState:
    """What has happened to interpreters in a stage so far."""

    venvs: dict[str, str] = field(default_factory=dict)  # path -> "created" | "copied" | "inherited"
    created_in: dict[str, int] = field(default_factory=dict)  # venv -> stage index
    dirty: set[str] = field(default_factory=set)  # target keys that received packages
    uv: bool = False

    def copy(self) -> "_EnvState":
        return _EnvState(dict(self.venvs), dict(self.created_in), set(self.dirty), self.uv)


@dataclass
class MigrationPlan:
    stanzas: list[Stanza]
    edits: list[Edit]
    findings: list[Finding]


def plan_migration(df: Dockerfile, context: BuildContext, settings: Settings,
                   load_lock: LockLoader | None) -> MigrationPlan:
    """Find, classify and (for convertible stanzas) plan the rewrite of every pip -r install."""
    path = df.source.path
    stanzas = _find_stanzas(df)
    findings: list[Finding] = []
    for st in stanzas:
        if st.status != CONVERTED:
            continue
        _classify(df, context, settings, st)
        if st.status == CONVERTED:
            _check_lock(df, context, settings, st, load_lock)
        if st.status == CONVERTED:
            _plan_edits(df, context, settings, st, load_lock)
    _share_uv_provision(df, stanzas)
    edits: list[Edit] = [e for st in stanzas if st.status == CONVERTED for e in st.edits]
    for st in stanzas:
        findings.extend(_findings_for(st, path))
    return MigrationPlan(stanzas, edits, findings)


# -- finding ------------------------------------------------------------------------------
def _find_stanzas(df: Dockerfile) -> list[Stanza]:
    """Walk each stage once, tracking venvs and installs, and collect pip -r commands."""
    stanzas: list[Stanza] = []
    finals: list[_EnvState] = []
    for stage in df.stages:
        state = finals[stage.parent].copy() if stage.parent is not None else _EnvState()
        for venv in list(state.venvs):
            state.venvs[venv] = "inherited"
        if stage.parent is None and "astral-sh/uv" in (stage.image_expanded or stage.image):
            state.uv = True
        for ins in stage.instructions:
            if ins.keyword in ("COPY", "ADD"):
                _track_copy(df, ins, state)
            elif ins.keyword == "RUN" and mentions_python_tooling(ins):
                stanzas.extend(_scan_run(df, stage, ins, state))
        finals.append(state)
    return stanzas


def _track_copy(df: Dockerfile, ins: Instruction, state: _EnvState) -> None:
    frm = ins.flag("from")
    parts = split_copy(df, ins)
    if frm is None or parts is None:
        return
    sources, dest = parts
    if UV_IMAGE in (frm.value or "") or (frm.value or "").startswith("astral-sh/uv"):
        state.uv = True
        return
    dest_value = df.expand_at(ins, dest) or dest
    for src in sources:
        if posixpath.basename(src.rstrip("/")) in ("uv", "uvx"):
            state.uv = True
    # COPY --from=builder /opt/venv /opt/venv: a venv that already holds packages
    dest_dir = dest_value.rstrip("/") or "/"
    if any(s.rstrip("/").endswith(("venv", ".venv", "env")) or s.rstrip("/") == dest_dir for s in sources):
        state.venvs[dest_dir] = "copied"
        state.dirty.add(f"venv:{dest_dir}")


def _scan_run(df: Dockerfile, stage: Stage, ins: Instruction, state: _EnvState) -> list[Stanza]:
    commands, _problem = run_commands(df, ins)
    found: list[Stanza] = []
    activated: str | None = None
    for cmd in commands:
        argv = cmd.argv
        created = venv_created_by(cmd.command, argv)
        if created:
            path = df.expand_at(ins, created) or created
            state.venvs[path.rstrip("/")] = "created"
            state.created_in[path.rstrip("/")] = stage.index
            state.dirty.discard(f"venv:{path.rstrip('/')}")
            continue
        act = activated_venv(argv)
        if act:
            activated = df.expand_at(ins, act) or act
            continue
        pip = shell.parse_pip_argv(argv) if cmd.kind == "exec" else shell.find_pip_invocation(cmd.command)
        if pip is None:
            if _is_uv_install(argv):
                key = _uv_target_key(df, ins, argv, state, activated)
                if key:
                    state.dirty.add(key)
            continue
        if pip.subcommand == "install" and pip.requirements:
            st = Stanza(instruction=ins, command=cmd, pip=pip, stage=stage, uv_ready=state.uv)
            _resolve_target(df, ins, st, state, activated)
            found.append(st)
        elif pip.subcommand in ("wheel", "download") and pip.requirements:
            st = Stanza(instruction=ins, command=cmd, pip=pip, stage=stage, uv_ready=state.uv)
            st.refuse(f"pip {pip.subcommand} -r builds or fetches files for a later install, it installs "
                      "nothing: migrate the install that consumes them by hand (e.g. uv pip sync the lock "
                      "in that stage)")
            found.append(st)
        key = _target_key(df, ins, pip, state, activated)
        if pip.subcommand == "install":
            names = {(w.value or "").lower().split("=")[0].split("[")[0] for w in pip.packages}
            if pip.requirements or pip.editables or (names - {"pip", "setuptools", "wheel", ""}):
                state.dirty.add(key)
            if "uv" in names or any((w.value or "").lower().startswith("uv==") for w in pip.packages):
                state.uv = True
    return found


def _is_uv_install(argv) -> bool:
    vals = [w.value or w.raw for w in argv]
    return len(vals) >= 3 and posixpath.basename(vals[0]) == "uv" and vals[1] == "pip" and vals[2] in ("install", "sync")


def _uv_target_key(df, ins, argv, state, activated) -> str | None:
    vals = [w.value or w.raw for w in argv]
    if "--system" in vals:
        return "system"
    for i, v in enumerate(vals):
        if v == "--python" and i + 1 < len(vals):
            return _key_for_python(df.expand_at(ins, vals[i + 1]) or vals[i + 1])
        if v.startswith("--python="):
            return _key_for_python(v.split("=", 1)[1])
    if activated:
        return f"venv:{activated.rstrip('/')}"
    return None


def _key_for_python(python: str) -> str:
    venv = venv_of(python)
    return f"venv:{venv}" if venv else "system"


def _program_path(pip: shell.PipInvocation) -> tuple[str, str]:
    """(path as written, which) of the interpreter or pip executable the command runs."""
    w = pip.interpreter if pip.interpreter is not None else pip.program
    return (w.value if w.value is not None else w.raw), ("python" if pip.interpreter is not None else "pip")


def _target_key(df: Dockerfile, ins: Instruction, pip: shell.PipInvocation, state: _EnvState,
                activated: str | None) -> str:
    kind, venv, _python, _how = _target_of(df, ins, pip, state, activated)
    return f"venv:{venv}" if kind == "venv" else "system"


def _target_of(df: Dockerfile, ins: Instruction, pip: shell.PipInvocation, state: _EnvState,
               activated: str | None) -> tuple[str, str | None, str | None, str]:
    """("venv", venv path as written, python, how) or ("system", None, None, how)."""
    path, which = _program_path(pip)
    if "/" in path:
        venv = venv_of(path)
        if venv:
            return "venv", venv, f"{venv}/bin/python", f"runs {path}"
        return "system", None, None, f"runs {path}"
    if activated:
        return "venv", activated, f"{activated}/bin/python", f"the RUN activates {activated}"
    scope = df.scope_at(ins)
    path_var = scope.get("PATH")
    if path_var is not None:
        venv = path_venv_dir(path_var.value, path_var.raw)
        if venv:
            return "venv", venv, f"{venv}/bin/python", f"ENV PATH puts {venv}/bin first (line {path_var.line})"
    venv_var = scope.get("VIRTUAL_ENV")
    if venv_var is not None and venv_var.value and path_var is not None and "VIRTUAL_ENV" in (path_var.raw or ""):
        return "venv", venv_var.value, f"{venv_var.value}/bin/python", "ENV VIRTUAL_ENV is on PATH"
    return "system", None, None, "no virtual environment is active: the image's interpreter"


def _resolve_target(df: Dockerfile, ins: Instruction, st: Stanza, state: _EnvState,
                    activated: str | None) -> None:
    kind, venv, python, how = _target_of(df, ins, st.pip, state, activated)
    st.target_kind = kind
    st.target_python = python
    if kind == "system":
        st.mode, st.mode_reason = "install", "the target is the image's system interpreter, which " \
                                             "already holds packages"
        return
    key_path = (df.expand_at(ins, venv) or venv).rstrip("/")
    status = state.venvs.get(key_path)
    if status == "created" and state.created_in.get(key_path) == st.stage.index \
            and f"venv:{key_path}" not in state.dirty:
        st.mode, st.mode_reason = "sync", f"{venv} is a fresh venv created in this stage"
    elif status == "created" and f"venv:{key_path}" in state.dirty:
        st.mode, st.mode_reason = "install", f"{venv} already received other packages earlier in this stage"
    elif status in ("copied", "inherited"):
        st.mode, st.mode_reason = "install", f"{venv} comes from another stage and may hold other packages"
    else:
        st.mode, st.mode_reason = "install", f"{venv} was not created in this stage; it may hold other packages"
    st.notes.append(f"target: {how}")


# -- classification -----------------------------------------------------------------------
def _classify(df: Dockerfile, context: BuildContext, settings: Settings, st: Stanza) -> None:
    pip, stage = st.pip, st.stage
    image = root_image(df, stage)
    windows_shell = any(x.keyword == "SHELL" and re.search(r"powershell|pwsh|cmd(\.exe)?\b", x.body, re.I)
                        for x in stage.instructions)
    if _WINDOWS_IMAGE.search(image) or windows_shell:
        st.refuse("Windows image: the Linux uv binaries cannot run there; keep pip or migrate by hand")
        return
    if not settings.include_gpu:
        gpu = _gpu_reason(df, stage, image)
        if gpu:
            st.refuse(f"GPU/specialised image ({gpu}); deferred by default, convert with --include-gpu",
                      DEFERRED)
            return
    if _CONDA_IMAGE.search(image):
        st.refuse(f"conda-based image ({image}): pip installs into a conda environment; "
                  "dockerlock does not migrate those")
        return
    cmd = st.command
    if cmd.command is not None and cmd.command.in_compound:
        st.refuse("the pip command sits inside a subshell, block or loop; its effect depends on "
                  "control flow dockerlock does not rewrite")
    if getattr(pip, "wrapper", None):
        st.refuse(f"pip runs under '{pip.wrapper}'; remove the wrapper or migrate by hand")
    if not pip.launcher_known:
        st.refuse(f"the pip launcher '{pip.program.raw}' is a variable dockerlock cannot resolve; "
                  "give its ARG/ENV a default value")
    for problem in pip.errors:
        st.refuse(f"pip would reject this command line: {problem}")
    for opt in pip.global_options + pip.options:
        rule = rule_for(opt.name) if opt.known else None
        if rule is None:
            st.refuse(f"unknown pip option '{opt.name}': dockerlock will not guess what it means")
        elif rule.action in ("refuse", "handled"):  # --target/--prefix/--user: not converted yet
            st.refuse(f"{opt.name}: {rule.why}")
        elif rule.action == "drop":
            st.notes.append(f"dropped {opt.name}: {rule.why}")
    for name in getattr(pip, "unknown_options", ()) or ():
        if not any(o.name == name for o in pip.options):
            st.refuse(f"unknown pip option '{name}': dockerlock will not guess what it means")
    if pip.editables:
        st.refuse("editable installs (-e) are not part of a lock")
    if pip.packages:
        names = " ".join(w.raw for w in pip.packages)
        st.refuse(f"installs packages besides the requirements file ({names}); the lock would not "
                  "cover them: split them into their own step or add them to requirements")
    for word in list(pip.requirements) + list(pip.constraints):
        if word.has_substitution or "`" in word.raw or "<(" in word.raw:
            st.refuse(f"requirements path '{word.raw}' is computed at build time")
    if cmd.kind == "exec" and any(w.has_variables for w in pip.requirements):
        st.refuse("exec-form RUN with variables in the requirements path (no shell expands them)")
    if cmd.command is not None and cmd.command.assignments:
        for a in cmd.command.assignments:
            if not a.raw.startswith("PIP_"):
                continue
            st.notes.append(f"dropped {a.raw.split('=')[0]}: pip configuration")
    if st.status != CONVERTED:
        return
    _resolve_requirements(df, context, settings, st)


def _gpu_reason(df: Dockerfile, stage: Stage, image: str) -> str | None:
    """Why this file builds a GPU/specialised image, or None.

    Judged over the whole file, not just the stanza's stage: omi's diarizer installs its
    requirements in a plain builder stage and copies the venv into a stage that installs
    the CUDA runtime, so the image that ships is a GPU image all the same.
    """
    if _GPU_IMAGE.search(image):
        return f"base image {image}"
    key = ("gpu-reason",)
    if key not in df.cache:
        df.cache[key] = _file_gpu_reason(df)
    return df.cache[key]


def _file_gpu_reason(df: Dockerfile) -> str | None:
    for other in df.stages:
        other_image = other.image_expanded or other.image
        if _GPU_IMAGE.search(other_image):
            return f"stage on line {other.start_line} builds FROM {other_image}"
    for ins in df.instructions:
        if ins.keyword == "RUN":
            m = _GPU_APT.search(ins.body)
            if m and re.search(r"\b(apt-get|apt|yum|dnf|microdnf|apk|conda|mamba)\b", ins.body):
                return f"installs {m.group(1)} (line {ins.start_line})"
        if ins.keyword == "ENV" and re.search(r"\b(CUDA_HOME|NVIDIA_VISIBLE_DEVICES|NVIDIA_DRIVER_CAPABILITIES|"
                                              r"CUDA_VERSION)\b|/usr/local/cuda|/usr/local/nvidia", ins.body):
            return f"sets up CUDA (line {ins.start_line})"
    return None


def _cwd_at(df: Dockerfile, st: Stanza) -> str | None:
    """Working directory the pip command runs in, following ``cd`` earlier in the chain."""
    cwd = df.workdir_at(st.instruction)
    if st.command.kind == "exec" or st.command.command is None:
        return cwd
    commands, _ = run_commands(df, st.instruction)
    for c in commands:
        if c.position >= st.command.position or c.kind != st.command.kind:
            if c.position >= st.command.position:
                break
            continue
        if c.argv and c.argv[0].value == "cd" and c.command is not None and not c.command.in_compound:
            if len(c.argv) < 2:
                return None
            target = c.argv[1].value if c.argv[1].value is not None else df.expand_at(st.instruction, c.argv[1].raw)
            if target is None:
                return None
            if target.startswith("/"):
                cwd = posixpath.normpath(target)
            elif cwd is not None:
                cwd = posixpath.normpath(posixpath.join(cwd, target))
            else:
                return None
    return cwd


def _resolve_requirements(df: Dockerfile, context: BuildContext, settings: Settings, st: Stanza) -> None:
    ins = st.instruction
    cwd = _cwd_at(df, st)
    for word in st.pip.requirements:
        expanded = word.value if not word.has_variables else df.expand_at(ins, word.raw)
        if expanded is None:
            st.refuse(f"cannot resolve '{word.raw}': give the ARG/ENV a default value or pass --lock")
            return
        if expanded.startswith(("http://", "https://")):
            st.refuse(f"requirements file '{expanded}' is downloaded at build time")
            return
        req = Requirement(word=word, image_path=absolute_in_image(expanded, cwd), raw_path=word.raw)
        _find_provider(df, context, st, req)
        if st.status != CONVERTED:
            return
        st.requirements.append(req)


def _find_provider(df: Dockerfile, context: BuildContext, st: Stanza, req: Requirement) -> None:
    """The COPY/ADD that puts ``req.image_path`` into the image, searching back through stages."""
    stage: Stage | None = st.stage
    before = st.instruction.index
    while stage is not None:
        for ins in reversed(stage.instructions):
            if ins.index >= before:
                continue
            if ins.keyword in ("COPY", "ADD"):
                hit = copy_provides(df, context, ins, req.image_path)
                if hit is None:
                    continue
                ctx_path, dir_copy, sole, dest_is_dir = hit
                frm = ins.flag("from")
                if frm is not None:
                    st.refuse(f"{req.raw_path} comes from another stage or image (COPY --from={frm.value}, "
                              f"line {ins.start_line}): it is produced during the build")
                    return
                if ctx_path is None:
                    st.refuse(f"cannot tell which file COPY on line {ins.start_line} puts at {req.image_path}")
                    return
                if ins.keyword == "ADD" and re.match(r"^[a-z]+://", ctx_path):
                    st.refuse(f"{req.raw_path} is downloaded by ADD (line {ins.start_line})")
                    return
                try:
                    context.path(ctx_path)  # refuses ../ and symlinks that leave the context
                except ContextEscape as exc:
                    st.refuse(f"requirements path escapes the build context: {exc}")
                    return
                req.copy, req.context_path, req.dir_copy, req.sole_source = ins, ctx_path, dir_copy, sole
                req.dest_is_dir = dest_is_dir
                return
            if ins.keyword == "RUN":
                base = posixpath.basename(req.image_path)
                if _DOWNLOADERS.search(ins.body) and (base in ins.body or posixpath.dirname(req.image_path) in ins.body):
                    st.refuse(f"{req.raw_path} is produced during the build (RUN on line {ins.start_line})")
                    return
        if stage.parent is None:
            break
        before = 10 ** 9
        stage = df.stages[stage.parent]
    downloader = next((x for x in st.stage.instructions if x.keyword == "RUN" and x.index < st.instruction.index
                       and _DOWNLOADERS.search(x.body)), None)
    if downloader is not None:
        st.refuse(f"{req.raw_path} is not copied from the build context; it is probably produced during the "
                  f"build (RUN on line {downloader.start_line} downloads files)")
        return
    st.refuse(f"cannot find the COPY/ADD that puts {req.raw_path} into the image "
              f"(looked for {req.image_path})")


# -- lock ---------------------------------------------------------------------------------
def default_lock_for(context: BuildContext, requirements: str) -> str:
    """The lock that stands in for a requirements file: ``pylock.<name>.toml`` beside it when
    that exists (``requirements/base.txt`` -> ``requirements/pylock.base.toml``), else the
    sibling ``pylock.toml``."""
    folder = posixpath.dirname(requirements)
    stem = posixpath.basename(requirements).rsplit(".", 1)[0]
    names = []
    for name in (stem, stem.removeprefix("requirements-").removeprefix("requirements_")):
        if name and name != "requirements" and "." not in name and name not in names:
            names.append(name)
    for name in names:
        candidate = posixpath.join(folder, f"pylock.{name}.toml")
        if context.exists(candidate):
            return candidate
    return posixpath.join(folder, "pylock.toml")


def _lock_paths(context: BuildContext, settings: Settings, st: Stanza) -> tuple[str, str] | None:
    """(context path of the lock, image path the step reads it from)."""
    ctx_locks = set()
    for req in st.requirements:
        assert req.context_path is not None
        configured = settings.lock_for(req.context_path)
        ctx_locks.add(configured or default_lock_for(context, req.context_path))
    if len(ctx_locks) != 1:
        st.refuse("the requirements files live in different folders and no single lock covers them; "
                  "pass --lock or map them in [tool.dockerlock] locks")
        return None
    lock_ctx = ctx_locks.pop()
    first = st.requirements[0]
    raw_dir = posixpath.dirname(first.raw_path)
    lock_name = posixpath.basename(lock_ctx)
    lock_image = posixpath.join(raw_dir, lock_name) if raw_dir else lock_name
    return lock_ctx, lock_image


def _image_python(df: Dockerfile, context: BuildContext, st: Stanza, lock_ctx: str) -> str | None:
    from dockerlock.lockfile import parse_python_version_file, python_from_image

    version = python_from_image(root_image(df, st.stage))
    if version:
        return version
    pv = posixpath.join(posixpath.dirname(lock_ctx), ".python-version")
    try:
        host = context.path(pv)
    except ContextEscape:
        return None
    return parse_python_version_file(host) if host.is_file() else None


def _check_lock(df: Dockerfile, context: BuildContext, settings: Settings, st: Stanza,
                load_lock: LockLoader | None) -> None:
    paths = _lock_paths(context, settings, st)
    if paths is None:
        return
    st.lock_context_path, st.lock_image_path = paths
    if not settings.lock_check or load_lock is None:
        return
    python = _image_python(df, context, st, st.lock_context_path)
    facts = load_lock(st.lock_context_path, python)
    where = f"{st.lock_context_path} (build context {context.root})"
    if not facts.exists:
        st.refuse(f"lock file {where} does not exist; create it with `dockerlock lock "
                  f"{st.requirements[0].context_path}` or pass --no-lock-check to preview", FAILED)
    elif facts.error:
        st.refuse(f"lock file {st.lock_context_path} is not a valid PEP 751 lock: {facts.error}", FAILED)
    elif facts.python_error:
        st.refuse(f"{facts.python_error}; regenerate it with `dockerlock lock` for this Python", FAILED)


# -- planning edits -----------------------------------------------------------------------
def _quote_shell(path: str) -> str | None:
    if "\n" in path or "\r" in path:
        return None
    if _SAFE_WORD.match(path):
        return path
    if '"' in path or "\\" in path or "`" in path:
        return None if "$" in path else shlex.quote(path)
    return f'"{path}"'


def _copy_args(args: list[str]) -> str | None:
    """COPY arguments: plain words when safe, JSON array form when a path needs quoting."""
    if any("\n" in a or "\r" in a for a in args):
        return None
    if all(_SAFE_WORD.match(a) for a in args):
        return " ".join(args)
    import json

    return json.dumps(args)


def _plan_edits(df: Dockerfile, context: BuildContext, settings: Settings, st: Stanza,
                load_lock: LockLoader | None) -> None:
    ins = st.instruction
    lock_ctx, lock_img = st.lock_context_path, st.lock_image_path
    assert lock_ctx is not None and lock_img is not None
    lock_dir_ctx = posixpath.dirname(lock_ctx)
    pyver_ctx = posixpath.join(lock_dir_ctx, ".python-version") if lock_dir_ctx else ".python-version"
    has_pyver = context.exists(pyver_ctx)
    facts = load_lock(lock_ctx, None) if (load_lock is not None and settings.lock_check) else None

    step = _uv_step(df, settings, st, lock_img, facts)
    if step is None:
        return
    step_text, mount_edit = step

    first = st.requirements[0]
    provider = first.copy
    assert provider is not None
    # the new line that brings the lock into the stage
    lock_dest = posixpath.dirname(_copy_dest_for_lock(df, provider, first))
    copy_flags = " ".join(f.raw for f in provider.flags if f.name in ("chown", "chmod", "link"))
    sources = [lock_ctx] + ([pyver_ctx] if has_pyver else [])
    dest = (lock_dest.rstrip("/") + "/") if lock_dest not in ("", ".") else "./"
    if not has_pyver and lock_dest not in ("", "."):
        dest = posixpath.join(lock_dest, posixpath.basename(lock_img))
    args = _copy_args(sources + [dest])
    if args is None:
        st.refuse("lock path cannot be written safely in a COPY line (newline in path)")
        return
    lock_copy = f"COPY {copy_flags + ' ' if copy_flags else ''}{args}"

    # The command edit inside the RUN.
    cmd_span = st.command.source_span()
    step_edit = Edit(cmd_span, step_text)
    run_edits = [step_edit] + ([mount_edit] if mount_edit else [])

    requirement_copy_removable = first.sole_source and not first.dir_copy and len(st.requirements) == 1 \
        and not _used_elsewhere(df, st, provider, first)
    if first.dir_copy:
        moved = _try_move_before_dir_copy(df, settings, st, provider, run_edits, lock_copy, facts)
        if moved is not None:
            st.edits = moved
            return
        # keep the order: the lock arrives with the directory copy already
        st.edits = run_edits
        st.edits.append(_uv_provision_edit(df, settings, st, ins))
        return
    if requirement_copy_removable:
        replacement = df.render_lines([lock_copy])
        st.edits = [Edit(provider.span, replacement)] + run_edits
        st.edits.append(_uv_provision_edit(df, settings, st, provider))
    else:
        if not first.sole_source or len(st.requirements) > 1:
            st.notes.append("kept the requirements COPY: it copies other files too")
        else:
            st.notes.append("kept the requirements COPY: a later instruction still uses the file")
        st.edits = [_uv_provision_edit(df, settings, st, ins),
                    Edit.insert(ins.span.start, df.render_lines([lock_copy]))] + run_edits


def _copy_dest_for_lock(df: Dockerfile, provider: Instruction, req: Requirement) -> str:
    """Image path (as written in the COPY) where the lock should land: beside the requirements."""
    parts = split_copy(df, provider)
    assert parts is not None
    _sources, dest = parts
    if req.dest_is_dir:
        return posixpath.join(dest, "pylock.toml")
    return posixpath.join(posixpath.dirname(dest), "pylock.toml")


def _used_elsewhere(df: Dockerfile, st: Stanza, provider: Instruction, req: Requirement) -> bool:
    """Does any other instruction mention the requirements file (rm, another pip, COPY --from)?"""
    base = posixpath.basename(req.image_path)
    for ins in df.instructions:
        if ins.index in (provider.index, st.instruction.index) or ins.index < provider.index:
            continue
        if base in ins.logical.text or any(base in h.body for h in ins.heredocs):
            return True
    # other commands in the same RUN that mention it
    commands, _ = run_commands(df, st.instruction)
    for c in commands:
        if c.position != st.command.position and any(base in w.raw for w in c.argv):
            return True
    return False


def _uv_provision_edit(df: Dockerfile, settings: Settings, st: Stanza, before: Instruction) -> Edit:
    """Insertion that makes uv available, placed before ``before`` (dropped if uv is there)."""
    if settings.uv_source == "pip":
        text = df.render_lines([f"RUN python3 -m venv /opt/uv && /opt/uv/bin/python -m pip install "
                                f"--no-cache-dir uv=={settings.uv_version}"])
    else:
        text = df.render_lines([f"COPY --from={settings.uv_image_ref()} /uv /uvx /bin/"])
    return _UvEdit(Span(before.span.start, before.span.start), text)


class _UvEdit(Edit):
    """Marker type: the uv provisioning insertion (at most one per stage)."""


def _share_uv_provision(df: Dockerfile, stanzas: list[Stanza]) -> None:
    """uv is made available once: keep the first provisioning edit of a stage lineage.

    Also drop it when the stage (or a stage it is built FROM) already has uv.
    """
    provisioned: set[int] = set()
    for st in stanzas:
        if st.status != CONVERTED:
            continue
        family = {s.index for s in lineage(df, st.stage)}
        kept: list[Edit] = []
        for e in st.edits:
            if isinstance(e, _UvEdit):
                if family & provisioned or st.uv_ready:
                    continue
                provisioned.add(st.stage.index)
            kept.append(e)
        st.edits = kept


def _uv_step(df: Dockerfile, settings: Settings, st: Stanza, lock_img: str,
             facts: LockFacts | None) -> tuple[str, Edit | None] | None:
    """The uv command text that replaces the pip command, and an optional mount flag edit."""
    ins, pip = st.instruction, st.pip
    uv = "/opt/uv/bin/uv" if settings.uv_source == "pip" else "uv"
    args: list[str] = [uv, "pip"]
    if st.mode == "sync":
        args += ["sync", lock_img]
    else:
        args += ["install", "-r", lock_img]
    if st.target_kind == "venv":
        assert st.target_python is not None
        args += ["--python", st.target_python]
    else:
        args.append("--system")
    for opt in pip.all_options:
        rule = rule_for(opt.name)
        if rule is None or rule.action != "carry":
            continue
        name = rule.uv_name or opt.name
        if opt.value is not None:
            args += [name, opt.value.value if opt.value.value is not None else opt.value.raw]
        else:
            args.append(name)
    if settings.compile_bytecode and not any(o.name == "--no-compile" for o in pip.options):
        args.append("--compile-bytecode")
    if settings.require_hashes and facts is not None and facts.exists and not facts.error \
            and not facts.has_vcs and not facts.has_local:
        args.append("--require-hashes")
    mount_edit = None
    env_prefix: list[str] = []
    cache = _pip_cache_mount(ins)
    if cache is not None and st.command.kind != "exec":
        flag, options = cache
        others = _other_pip_commands(df, st)
        new_opts = dict(options)
        new_opts["target"] = "/root/.cache/uv"
        rendered = "--mount=" + ",".join(f"{k}={v}" for k, v in new_opts.items())
        if others:
            mount_edit = Edit.insert(ins.logical.source_offset(flag.end), " " + rendered)
        else:
            mount_edit = Edit(ins.logical.source_span(flag.start, flag.end), rendered)
        env_prefix = ["UV_LINK_MODE=copy"]
    elif cache is not None:
        args.append("--link-mode=copy")
        flag, options = cache
        new_opts = dict(options)
        new_opts["target"] = "/root/.cache/uv"
        mount_edit = Edit(ins.logical.source_span(flag.start, flag.end),
                          "--mount=" + ",".join(f"{k}={v}" for k, v in new_opts.items()))
    else:
        args.append("--no-cache")
    if st.command.kind == "exec":
        import json

        return json.dumps(args), mount_edit
    # keep non-PIP_ assignments that prefixed the pip command
    if st.command.command is not None:
        for a in st.command.command.assignments:
            if not a.raw.startswith("PIP_"):
                env_prefix.append(a.raw)
    quoted = []
    for a in args:
        q = _quote_shell(a)
        if q is None:
            st.refuse(f"cannot quote '{a}' safely in the generated command")
            return None
        quoted.append(q)
    return " ".join(env_prefix + quoted), mount_edit


def _pip_cache_mount(ins: Instruction):
    for flag in ins.flags_named("mount"):
        options = flag.options()
        if options.get("type") == "cache" and "pip" in options.get("target", options.get("dst", "")):
            return flag, options
    return None


def _other_pip_commands(df: Dockerfile, st: Stanza) -> bool:
    commands, _ = run_commands(df, st.instruction)
    for c in commands:
        if c.position == st.command.position:
            continue
        vals = [w.value or w.raw for w in c.argv]
        if vals and (posixpath.basename(vals[0]).startswith("pip") or "pip" in vals[1:3]):
            return True
    return False


def _try_move_before_dir_copy(df: Dockerfile, settings: Settings, st: Stanza, dir_copy: Instruction,
                              run_edits: list[Edit], lock_copy: str, facts: LockFacts | None) -> list[Edit] | None:
    """Layer caching: move lock COPY + install ahead of the app-code COPY when that is safe."""
    ins = st.instruction
    why_not: str | None = None
    commands, _ = run_commands(df, ins)
    if len(commands) != 1:
        why_not = "the RUN does more than the install"
    elif facts is None:
        why_not = "the lock was not read (--no-lock-check), so local-path packages cannot be ruled out"
    elif facts.has_local:
        why_not = "the lock has directory/local-path packages that need the application code"
    else:
        stage_ins = [x for x in st.stage.instructions if dir_copy.index < x.index < ins.index]
        blocker = next((x for x in stage_ins if x.keyword not in ("COPY", "ADD", "LABEL", "EXPOSE")), None)
        if blocker is not None:
            why_not = f"{blocker.keyword} on line {blocker.start_line} sits between the code COPY and the install"
        elif any(x.keyword in ("COPY", "ADD") and x.flag("from") is None for x in stage_ins):
            why_not = "other files are copied between the code COPY and the install"
    if why_not:
        st.notes.append(f"kept the install after the code COPY (line {dir_copy.start_line}): {why_not}")
        return None
    # Build the moved RUN: its original text with the command/mount edits applied.
    from dockerlock.edits import apply_edits

    start = ins.span.start
    local = [Edit(Span(e.span.start - start, e.span.end - start), e.text) for e in run_edits]
    moved_run = apply_edits(df.source.text[ins.span.start:ins.span.end], local)
    if not moved_run.endswith(("\n",)):
        moved_run += df.source.eol
    lead = _leading_comment_span(df, ins)
    insert = df.render_lines([lock_copy]) + df.source.text[lead.start:ins.span.start] + moved_run
    st.notes.append(f"moved the install ahead of the code COPY on line {dir_copy.start_line} "
                    "so the dependency layer stays cached")
    return [_uv_provision_edit(df, settings, st, dir_copy), Edit.insert(dir_copy.span.start, insert),
            Edit(Span(lead.start, ins.span.end), "")]


def _leading_comment_span(df: Dockerfile, ins: Instruction) -> Span:
    """Comment lines directly above ``ins`` travel with it when it moves."""
    line = ins.start_line
    while line > 1 and df.source.line_text(line - 1).lstrip().startswith("#") and \
            not any(d.line == line - 1 for d in df.directives):
        line -= 1
    return Span(df.source.line_span(line).start, ins.span.start)


# -- findings ------------------------------------------------------------------------------
CODES = {
    "DLK101": "pip requirements install converted to a locked uv step",
    "DLK102": "pip requirements install not convertible (left untouched)",
    "DLK103": "GPU/specialised image deferred (use --include-gpu)",
    "DLK104": "lock missing, invalid or wrong for the image (nothing written for the file)",
    "DLK105": "detail of a conversion (dropped option, kept COPY, layer order)",
}


def _findings_for(st: Stanza, path: str) -> list[Finding]:
    req = ", ".join(w.raw for w in st.pip.requirements)
    out: list[Finding] = []
    if st.status == CONVERTED:
        verb = "uv pip sync" if st.mode == "sync" else "uv pip install"
        out.append(Finding("DLK101", Level.NOTE, f"pip install -r {req} -> {verb} {st.lock_image_path} "
                           f"({st.mode_reason})", path, st.line))
        for note in st.notes:
            out.append(Finding("DLK105", Level.NOTE, note, path, st.line))
    elif st.status == DEFERRED:
        out.append(Finding("DLK103", Level.WARNING, "; ".join(st.reasons), path, st.line))
    elif st.status == FAILED:
        out.append(Finding("DLK104", Level.ERROR, "; ".join(st.reasons), path, st.line,
                           hint="dockerlock lock"))
    else:
        out.append(Finding("DLK102", Level.WARNING, f"pip install -r {req} left as is: " + "; ".join(st.reasons),
                           path, st.line))
    return out
