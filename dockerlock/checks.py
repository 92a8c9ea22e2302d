"""``dockerlock check``: lock awareness for a Dockerfile, without changing it.

For each file: pip requirements installs not migrated yet (DLK240); for each locked uv
step, the lock itself (valid PEP 751, Python, platform; DLK2xx from ``lockfile``) and
drift against the ``requirements.txt`` beside it; and installs that bypass the lock:
a later ``pip install X`` into the interpreter the lock filled (DLK241), such as omi's
``pip install git+...pygraphviz`` after the venv was copied into the runtime stage.
"""

from __future__ import annotations

from dataclasses import replace

from dockerlock import shell
from dockerlock.context import BuildContext, ContextEscape
from dockerlock.diagnostics import DockerlockError, Finding, Level
from dockerlock.engine import FileResult
from dockerlock.facts import absolute_in_image, copy_provides, root_image, run_commands, split_copy, venv_of
from dockerlock.model import Dockerfile
from dockerlock.settings import Settings

CODES = {
    "DLK240": "pip requirements install not migrated to the lock yet",
    "DLK241": "install after the locked step bypasses the lock",
    "DLK242": "uv step reads a lock dockerlock cannot find in the build context",
    "DLK243": ".python-version beside the lock disagrees with the image's Python",
    "DLK244": "image platform set by the build (TARGETPLATFORM); wheels checked for linux/amd64",
}


def check_dockerfile(df: Dockerfile, context: BuildContext, settings: Settings) -> FileResult:
    from dockerlock.rules import pip_to_uv
    from dockerlock.rules.revert import uv_steps

    path = df.source.path
    result = FileResult(path)
    plan = pip_to_uv.plan_migration(df, context, replace(settings, lock_check=False), None)
    locked: dict[int, set[str]] = {}  # stage index -> venv paths (or "system") filled from a lock/requirements
    for st in plan.stanzas:
        if st.status == pip_to_uv.CONVERTED:
            result.findings.append(Finding("DLK240", Level.ERROR, "pip install -r "
                                           + " ".join(w.raw for w in st.pip.requirements)
                                           + " is not migrated to the lock yet (run `dockerlock migrate`)",
                                           path, st.line, hint="dockerlock migrate"))
        locked.setdefault(st.stage.index, set()).add(_target_key(st.target_python))
    for stage in df.stages:
        for step in uv_steps(df, stage):
            locked.setdefault(stage.index, set()).add("system" if step.system else _target_key(step.python))
            result.findings.extend(_check_lock_step(df, context, stage, step.command.instruction, step))
    result.findings.extend(_unlocked_installs(df, locked))
    result.refused = sum(f.level == Level.ERROR for f in result.findings)
    return result


def _target_key(python: str | None) -> str:
    return (venv_of(python) if python else None) or "system"


def _check_lock_step(df: Dockerfile, context: BuildContext, stage, ins, step) -> list[Finding]:
    from dockerlock.lockfile import (check_drift, check_platform, check_python, load_lock,
                                     marker_environment, parse_python_version_file, python_from_image,
                                     read_requirements)

    path = df.source.path
    lock_image = absolute_in_image(step.lock_word, df.workdir_at(ins))
    lock_ctx = None
    for cand in reversed([x for x in stage.instructions if x.index < ins.index and x.keyword in ("COPY", "ADD")]):
        hit = copy_provides(df, context, cand, lock_image)
        if hit is not None and cand.flag("from") is None and hit[0]:
            lock_ctx = hit[0]
            break
    if lock_ctx is None:
        return [Finding("DLK242", Level.WARNING, f"cannot find the COPY that brings {step.lock_word} into the "
                        "image; lock not checked", path, ins.start_line)]
    try:
        host = context.path(lock_ctx)
        lock = load_lock(host)
    except (ContextEscape, DockerlockError) as exc:
        reason = exc.reason if isinstance(exc, DockerlockError) else str(exc)
        return [Finding("DLK242", Level.ERROR, f"lock {lock_ctx}: {reason}", path, ins.start_line)]
    findings: list[Finding] = []
    python = python_from_image(root_image(df, stage))
    platform = stage.platform if stage.platform and "$" not in stage.platform else "linux/amd64"
    if stage.platform and "$" in stage.platform:
        findings.append(Finding("DLK244", Level.NOTE, f"the image platform comes from the build "
                                f"({stage.platform}); wheels were checked for {platform}", path,
                                stage.start_line))
    pinned = parse_python_version_file(host.parent / ".python-version") \
        if (host.parent / ".python-version").is_file() else None
    if python and pinned and _minor(pinned) != _minor(python):
        findings.append(Finding("DLK243", Level.ERROR, f".python-version beside the lock says {pinned} but the "
                                f"image runs Python {python}", path, stage.start_line,
                                hint="align the FROM tag, .python-version and the lock's requires-python"))
    if python:
        findings += check_python(lock, python, source=f"{path}:{ins.start_line} image Python {python}")
        findings += check_platform(lock, platform, python_version=python)
    req = host.parent / "requirements.txt"
    if req.is_file():
        env = marker_environment(platform, python) if python else None
        findings += check_drift(read_requirements(req), lock, environment=env)
    return [replace(f, path=_shown(f.path)) for f in findings]


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _shown(path: str | None) -> str | None:
    """Host paths of locks and requirements, shown relative to where dockerlock runs."""
    if path is None:
        return None
    import os

    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _unlocked_installs(df: Dockerfile, locked: dict[int, set[str]]) -> list[Finding]:
    """pip installs, after the locked step, into an environment the lock filled."""
    from dockerlock.rules.pip_to_uv import _EnvState, _target_of

    path = df.source.path
    findings: list[Finding] = []
    # environments a stage receives from another stage's locked venv (COPY --from=builder /opt/venv ...)
    for stage in df.stages:
        envs = set(locked.get(stage.index, set()))
        for ins in stage.instructions:
            if ins.keyword == "COPY" and ins.flag("from") is not None:
                src_stage = df.stage_named(ins.flag("from").value or "")
                parts = split_copy(df, ins)
                if src_stage is not None and parts is not None:
                    for src in parts[0]:
                        if src.rstrip("/") in locked.get(src_stage.index, set()):
                            envs.add(parts[1].rstrip("/"))
            if ins.keyword != "RUN" or not envs:
                continue
            commands, _ = run_commands(df, ins)
            for cmd in commands:
                pip = shell.parse_pip_argv(cmd.argv) if cmd.kind == "exec" else shell.find_pip_invocation(cmd.command)
                if pip is None or pip.subcommand != "install" or pip.requirements or not pip.packages:
                    continue
                kind, venv, _py, _how = _target_of(df, ins, pip, _EnvState(), None)
                key = venv.rstrip("/") if kind == "venv" and venv else "system"
                if key in envs:
                    what = " ".join(w.raw for w in pip.packages)
                    findings.append(Finding("DLK241", Level.WARNING,
                                            f"pip install {what} installs into {key}, the environment the lock "
                                            "filled: it bypasses the lock (add it to requirements and re-lock)",
                                            path, ins.start_line))
    return findings
