"""DLK241: a pip install after the locked step puts unlocked packages into the locked environment.

omi's runtime stage copied the locked venv, then ran ``pip install git+...pygraphviz`` into it:
the image ships a package no lock pins. Upgrading the installer itself (pip, setuptools, wheel,
uv) is not an application dependency and is not reported.
"""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.facts.commands import pip_invocation, run_commands
from dockerlock.facts.copies import split_copy
from dockerlock.facts.environments import upgrades_only_tools, venv_of
from dockerlock.facts.stanzas import install_target
from dockerlock.facts.uv_steps import locked_steps
from dockerlock.rules.base import Code, Decision

UNLOCKED_INSTALL = Code(
    "DLK241", Level.WARNING, "install after the locked step bypasses the lock",
    what="A later `pip install <package>` installs into the environment a lock filled.",
    why="That package (and its dependencies) is not pinned by the lock, so the image drifts again.",
    fix="Add the package to the requirements file and re-lock (`dockerlock lock <Dockerfile>`).")
CODES = (UNLOCKED_INSTALL,)


def check(rc):
    df = rc.df
    # stage -> environment -> the instruction that locks it (a uv step, or a pip step migrate converts)
    locked: dict[int, dict[str, int]] = {}

    def lock(stage: int, key: str, at: int) -> None:
        envs = locked.setdefault(stage, {})
        envs[key] = min(envs.get(key, at), at)

    for stanza_review in rc.cache.get("reviews") or ():
        if stanza_review.decision is Decision.CONVERTED:  # refused and deferred steps stay unlocked
            st = stanza_review.stanza
            lock(st.stage.index, _key(st.target.python, st.target.kind), st.instruction.index)
    for step in locked_steps(df, rc.ctx):
        lock(step.stage.index, "system" if step.step.system else _key(step.step.python, "venv"),
             step.step.instruction.index)
    for stage in df.stages:
        later = locked.get(stage.index, {})
        envs: set[str] = set()
        for ins in stage.instructions:
            envs |= {key for key, at in later.items() if at < ins.index}  # only installs after the lock
            frm = ins.flag("from")
            if ins.keyword == "COPY" and frm is not None:
                source_stage = df.stage_named(frm.value or "")
                parts = split_copy(df, ins)
                if source_stage is not None and parts is not None:
                    for src in parts[0]:
                        if src.rstrip("/") in locked.get(source_stage.index, {}):
                            envs.add(parts[1].rstrip("/"))
            if ins.keyword != "RUN" or not envs:
                continue
            commands, _ = run_commands(df, ins)
            for cmd in commands:
                pip = pip_invocation(df, cmd)
                if pip is None or pip.subcommand != "install" or pip.requirements or not pip.packages:
                    continue
                if upgrades_only_tools(pip):
                    continue
                target = install_target(df, ins, pip, None, False)
                key = (target.venv_value or target.venv or "").rstrip("/") if target.kind == "venv" else target.kind
                if key in envs:
                    what = " ".join(w.raw for w in pip.packages)
                    where = key if key != "system" else "the image's interpreter"
                    yield UNLOCKED_INSTALL.at(f"pip install {what} installs into {where}, which the lock filled: "
                                              "it bypasses the lock (add it to the requirements and re-lock)",
                                              rc.path, ins.start_line)


def _key(python: str | None, kind: str) -> str:
    if kind != "venv":
        return "system"
    return (venv_of(python) if python else None) or "system"

