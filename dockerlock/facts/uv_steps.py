"""The locked steps a Dockerfile already has: ``uv pip sync|install <pylock>`` and the lock each reads.

Shared by ``check`` (is that lock right for the image?) and ``revert`` (what pip stanza did it
replace?). Pure.
"""

from __future__ import annotations

import posixpath
from typing import NamedTuple

from dockerlock.context import BuildContext
from dockerlock.facts.commands import Command, run_commands
from dockerlock.facts.copies import (
    absolute_in_image,
    bind_mount_provides,
    copy_provides,
    workdir_of,
)
from dockerlock.facts.expansion import expand
from dockerlock.facts.images import lineage
from dockerlock.lock_names import lock_name
from dockerlock.model import Dockerfile, Instruction, Stage

_VALUE_OPTIONS = ("--index-url", "--extra-index-url", "--find-links", "-i", "-f", "--target", "-t", "--prefix")
#: every uv pip option that takes a value (the next word is that value, not a file to sync)
_TAKES_VALUE = frozenset({*_VALUE_OPTIONS, "--python", "-p", "-c", "--constraint", "--constraints",
                          "--build-constraint", "--build-constraints", "--link-mode", "--python-platform",
                          "--python-version", "--cache-dir", "--config-file", "--keyring-provider", "--index-strategy",
                          "--allow-insecure-host", "--config-setting", "-C", "--reinstall-package",
                          "--refresh-package", "--exclude-newer", "--index", "--default-index"})


class UvStep(NamedTuple):
    """One ``uv pip sync|install`` from a pylock, as written."""

    command: Command
    sync: bool
    lock_word: str
    python: str | None
    system: bool
    carried: tuple[str, ...] = ()

    @property
    def instruction(self) -> Instruction:
        return self.command.instruction


class LockedStep(NamedTuple):
    """A uv step and the build-context lock it reads (None when no COPY/mount brings it in)."""

    stage: Stage
    step: UvStep
    lock_context_path: str | None
    provider: Instruction | None

    def requirements_paths(self, ctx: BuildContext) -> list[str]:
        """The requirements files the lock stands in for: those its ``[tool.dockerlock]`` table
        records, else the files in its folder whose lock name is this lock's."""
        if not self.lock_context_path:
            return []
        folder = posixpath.dirname(self.lock_context_path)
        lock = ctx.lock(self.lock_context_path)
        origin = getattr(lock, "origin", None)
        if origin is not None:
            return [posixpath.normpath(posixpath.join(folder, r)) for r in origin.requirements]
        name = posixpath.basename(self.lock_context_path)
        prefix = f"{folder}/" if folder else ""
        return sorted(p for p in ctx.index.files
                      if posixpath.dirname(p) == folder and p.endswith((".txt", ".in"))
                      and lock_name([p]) == f"{prefix}{name}")


def _uv_pip_values(cmd: Command) -> list[str] | None:
    """The words of a ``uv pip install|sync ...`` command (values where known), else None."""
    vals = [w.value if w.value is not None else w.raw for w in cmd.argv]
    if len(vals) < 4 or posixpath.basename(vals[0]) != "uv" or vals[1] != "pip" or vals[2] not in ("sync", "install"):
        return None
    return vals


def parse_uv_step(cmd: Command) -> UvStep | None:
    vals = _uv_pip_values(cmd)
    if vals is None:
        return None
    sync = vals[2] == "sync"
    lock = python = None
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
        elif v in _VALUE_OPTIONS and i + 1 < len(vals):
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
    return UvStep(cmd, sync, lock, python, system, tuple(carried))


def uv_steps(df: Dockerfile, stage: Stage) -> list[UvStep]:
    """Every ``uv pip sync|install <pylock>`` command in the stage's RUN instructions."""
    steps: list[UvStep] = []
    for ins in stage.instructions:
        if ins.keyword == "RUN" and "uv" in ins.logical.text + "".join(h.body for h in ins.heredocs):
            commands, _ = run_commands(df, ins)
            steps.extend(step for c in commands if (step := parse_uv_step(c)) is not None)
    return steps


def locked_steps(df: Dockerfile, ctx: BuildContext) -> list[LockedStep]:
    key = ("locked-steps", id(ctx.index))  # reads only which paths exist, like the stanza facts
    hit = df.cache.get(key)
    if hit is not None and hit[0] is ctx.index:  # type: ignore[index]
        return hit[1]  # type: ignore[index]
    found = []
    for stage in df.stages:
        for step in uv_steps(df, stage):
            lock, provider = _lock_source(df, ctx, stage, step)
            found.append(LockedStep(stage, step, lock, provider))
    df.cache[key] = (ctx.index, found)
    return found


def _lock_source(df: Dockerfile, ctx: BuildContext, stage: Stage, step: UvStep
                 ) -> tuple[str | None, Instruction | None]:
    ins = step.instruction
    lock_image = absolute_in_image(expand(df, ins, step.lock_word) or step.lock_word, workdir_of(df, ins))
    mount = bind_mount_provides(df, ins, lock_image)
    if mount is not None:
        return mount.context_path, ins
    # the nearest COPY that writes the path, in this stage or a stage it is built FROM
    for current in lineage(df, stage):
        for cand in reversed([x for x in current.instructions if x.index < ins.index and x.keyword in ("COPY", "ADD")]):
            hit = copy_provides(df, ctx, cand, lock_image)
            if hit is None:
                continue
            if cand.flag("from") is None and hit.context_path:
                return posixpath.normpath(hit.context_path), cand
            return None, None  # written from another stage or image: not a lock of the context
    return None, None


def requirements_read(cmd: Command) -> list[str]:
    """The requirements files (not pylocks) a ``uv pip install|sync`` command reads: uv resolves
    those at build time, as pip does (``check`` lists them as not locked)."""
    values = _uv_pip_values(cmd)
    if values is None:
        return []
    files = []
    for i, value in enumerate(values[3:], start=3):
        previous = values[i - 1]
        if previous in ("-r", "--requirement", "--requirements") or (values[2] == "sync" and not value.startswith("-")
                                                                   and previous not in _TAKES_VALUE):
            files.append(value)
        elif value.startswith(("--requirement=", "--requirements=")):
            files.append(value.split("=", 1)[1])
    return [f for f in files if not posixpath.basename(f).startswith("pylock") and not f.endswith(".toml")
            and not f.endswith(".cfg") and f not in (".",)]
