"""The uv command that replaces a pip command: same environment, same options where uv has them.

``uv pip sync <lock>`` for a fresh venv, ``uv pip install -r <lock>`` elsewhere; the target as
uv must be told (``--python <venv>/bin/python``, ``--system``, ``--python python3.12``,
``--target DIR``, ``--prefix DIR``, or the user scheme as ``--prefix`` under the user base);
pip options uv shares are carried, the rest dropped and reported; the pip cache mount becomes
a uv cache mount.
"""

from __future__ import annotations

import json
import posixpath
from typing import NamedTuple

from dockerlock.edits import Edit
from dockerlock.facts.commands import run_commands
from dockerlock.facts.stanzas import PipStanza
from dockerlock.model import Dockerfile, Instruction
from dockerlock.rewrite.quoting import kept_as_written
from dockerlock.settings import Settings
from dockerlock.shell import Action, UnquotableWord, quote_word, rule_for

UV_CACHE = "/root/.cache/uv"


class Arg(NamedTuple):
    """One word of the generated command: a value to quote, or shell text kept as written."""

    text: str
    shell: bool = False  # True: emit verbatim (``$VENV/bin/python``, ``"$(python3 -m site --user-base)"``)


class UvCommand(NamedTuple):
    """The uv command that replaces a pip command, or why it cannot."""

    text: str = ""  # shell text, or the JSON array of an exec-form RUN
    mount_edit: Edit | None = None  # the pip cache mount turned into a uv cache mount
    notes: tuple[str, ...] = ()
    problem: str | None = None
    #: Set while other pip commands of the RUN share its pip cache mount: their rewrites go one
    #: per pass, so whichever is converted last sees no pip command left and drops the mount.
    isolation: str | None = None


def uv_command(df: Dockerfile, settings: Settings, stanza: PipStanza, lock_word: str, lock) -> UvCommand:
    notes: list[str] = []
    uv = "/opt/uv/bin/uv" if settings.uv_source == "pip" else "uv"
    args = [Arg(uv), Arg("pip")]
    if stanza.mode == "sync":
        args += [Arg("sync"), Arg(lock_word, shell=True)]
    else:
        args += [Arg("install"), Arg("-r"), Arg(lock_word, shell=True)]
    args += _target_args(stanza)
    args += _carried_options(stanza, notes)
    if settings.compile_bytecode and not stanza.pip.has_option("--no-compile"):
        args.append(Arg("--compile-bytecode"))
    args += _hashes(settings, lock, notes)
    exec_form = stanza.command.kind == "exec"
    env: list[Arg] = []
    mount_edit, cached = _cache_mount_edit(df, stanza)
    isolation = f"pip-cache-mount:{stanza.instruction.index}" if _shares_pip_cache_mount(df, stanza) else None
    if cached and exec_form:
        args.append(Arg("--link-mode=copy"))
    elif cached:
        env.append(Arg("UV_LINK_MODE=copy"))
    else:
        args.append(Arg("--no-cache"))
    env = _kept_environment(stanza, notes) + env
    if exec_form:
        if any(a.shell and not _literal(a.text) for a in env + args):
            return UvCommand(problem="an exec-form RUN has no shell to expand the variables the uv step needs")
        return UvCommand(json.dumps([_literal(a.text) or a.text for a in args]), mount_edit, tuple(notes),
                         isolation=isolation)
    words = []
    for a in env + args:
        try:
            words.append(a.text if a.shell else quote_word(a.text))
        except UnquotableWord as exc:
            return UvCommand(problem=f"cannot write {exc} in the generated command")
    text = " ".join(words)
    problem = _quoting_problem(text, stanza.command.quoting) if stanza.command.kind == "wrapped" else None
    return UvCommand(text, mount_edit, tuple(notes), problem, isolation)


#: What text written inside a ``sh -c`` script must not contain, by the script's quoting.
_BREAKS_QUOTING = {"'": "'", '"': '"`\\', "json": '"\\'}


def _quoting_problem(text: str, quoting: str | None) -> str | None:
    breaking = _BREAKS_QUOTING.get(quoting or "", None)
    if quoting is None:
        return "the `sh -c` script is an unquoted word; the uv step cannot be written into it"
    if breaking and any(c in text for c in breaking):
        return f"the uv step would need characters the `sh -c` script's {quoting} quoting cannot hold"
    return None


def _literal(text: str) -> str | None:
    """The value of simple shell text with no expansions (for exec form), else None."""
    if "$" in text or "`" in text:
        return None
    if text.startswith("'") and text.endswith("'") and "'" not in text[1:-1]:
        return text[1:-1]
    return text if kept_as_written(text) else None


def _target_args(stanza: PipStanza) -> list[Arg]:
    target = stanza.target
    python = [Arg("--python"), Arg(target.python, shell=True)] if target.python else []
    if target.kind == "venv":
        return python
    if target.kind == "system":
        return python or [Arg("--system")]
    if target.kind in ("target", "prefix"):
        assert target.directory is not None
        return [Arg(f"--{target.kind}"), Arg(target.directory, shell=True)] + python
    # --user: pip's user scheme is the prefix layout under the user base (POSIX); uv has no
    # --user, so the step asks the same interpreter for its user base at build time.
    interpreter = _user_interpreter(stanza)
    return [Arg("--prefix"), Arg(f'"$({interpreter} -m site --user-base)"', shell=True),
            Arg("--python"), Arg(interpreter, shell=True)]


def _user_interpreter(stanza: PipStanza) -> str:
    pip = stanza.pip
    if pip.interpreter is not None:
        return pip.interpreter.raw
    if stanza.target.python:
        return stanza.target.python
    program = pip.program.value or pip.program.raw
    if "/" in program:
        return posixpath.join(posixpath.dirname(program), "python3")
    return "python3"


def _carried_options(stanza: PipStanza, notes: list[str]) -> list[Arg]:
    out: list[Arg] = []
    for option in stanza.pip.all_options:
        if option.name in ("--requirement", "--constraint", "--target", "--prefix", "--user", "--editable"):
            continue
        rule = rule_for(option.name)
        if rule is None or rule.action is Action.HANDLED:
            continue
        if rule.action is Action.DROP:
            notes.append(f"dropped {option.name}: {rule.why}")
            continue
        if rule.action is not Action.CARRY:
            continue
        out.append(Arg(rule.uv_name or option.name))
        if option.value is not None:
            value = option.value
            out.append(Arg(value.value) if value.value is not None else Arg(value.raw, shell=True))
    for constraint in stanza.constraints:
        notes.append(f"dropped -c {constraint.word.raw}: the lock already satisfies it (checked)")
    return out


def _hashes(settings: Settings, lock, notes: list[str]) -> list[Arg]:
    if not settings.require_hashes:
        return []
    if lock is None or not hasattr(lock, "has_vcs"):
        notes.append("no --require-hashes: the lock was not read (--no-lock-check)")
        return []
    if lock.has_vcs or lock.has_directory or lock.local_paths:
        notes.append("no --require-hashes: the lock has VCS or local-path entries, which carry no hashes "
                     "(uv still checks every hash the lock records)")
        return []
    return [Arg("--require-hashes")]


def _kept_environment(stanza: PipStanza, notes: list[str]) -> list[Arg]:
    """``VAR=x pip ...`` and ``env VAR=x pip ...``: non-pip settings stay, PIP_* go (uv ignores them)."""
    kept: list[Arg] = []
    if stanza.pip.plain_env and stanza.pip.wrapper_words:
        for word in stanza.pip.wrapper_words:
            if word.raw.startswith("PIP_"):
                notes.append(f"dropped {word.raw.split('=')[0]}: pip configuration")
            else:
                kept.append(Arg(word.raw, shell=True))
        if all(w.text == "env" or w.text.endswith("/env") for w in kept):
            kept = []
    assignments = stanza.command.command.assignments if stanza.command.command is not None else ()
    prefix: list[Arg] = []
    for word in assignments:
        if word.raw.startswith("PIP_"):
            notes.append(f"dropped {word.raw.split('=')[0]}: pip configuration")
        else:
            prefix.append(Arg(word.raw, shell=True))
    return prefix + kept


def _cache_mount_edit(df: Dockerfile, stanza: PipStanza) -> tuple[Edit | None, bool]:
    """(the edit of the RUN's cache mounts, whether the step runs with a uv cache mount).

    The pip cache mount becomes a uv cache mount; while another pip command of the RUN still
    uses it, the uv mount is added beside it. The edit always replaces the pip mount's text, so
    two steps of one RUN never both add a uv mount in one pass (their edits clash, the second
    waits); once a sibling has added it, the last pip step removes the pip mount.
    """
    ins = stanza.instruction
    pip_mount = _cache_mount(ins, "pip")
    uv_mount = _cache_mount(ins, "/uv") or _cache_mount(ins, holds=UV_CACHE)
    if pip_mount is None:
        return None, uv_mount is not None
    flag, options = pip_mount
    span = ins.logical.source_span(flag.start, flag.end)
    others = stanza.command.kind != "exec" and _other_pip_commands(df, stanza)
    if uv_mount is not None:
        if others:
            return None, True
        return Edit(ins.logical.source_span(flag.start, _after_blanks(ins, flag.end)), ""), True
    rendered = "--mount=" + ",".join(f"{k}={_uv_mount_value(k, v, beside=bool(others))}" for k, v in options.items())
    return Edit(span, f"{flag.raw} {rendered}" if others else rendered), True


def _uv_mount_value(key: str, value: str, *, beside: bool) -> str:
    """A field of the uv cache mount made from pip's: uv's cache folder as the target; beside the
    pip mount, a cache id of its own (one id mounted twice in one RUN shares one store, and with
    sharing=locked the second mount waits for the first forever)."""
    if key in ("target", "dst", "destination"):
        return UV_CACHE
    if key == "id" and beside:
        return f"{value}-uv"
    return value


def _shares_pip_cache_mount(df: Dockerfile, stanza: PipStanza) -> bool:
    return (stanza.command.kind != "exec" and _cache_mount(stanza.instruction, "pip") is not None
            and _other_pip_commands(df, stanza))


def _after_blanks(ins: Instruction, end: int) -> int:
    text = ins.logical.text
    while end < len(text) and text[end] in " \t":
        end += 1
    return end


def _cache_mount(ins: Instruction, target_has: str | None = None, *, holds: str | None = None):
    """The RUN's cache mount whose target contains ``target_has`` (``"pip"``), or, with ``holds``, a
    folder that path lies in (``target=/root/.cache`` holds uv's cache); with its options."""
    for flag in ins.flags_named("mount"):
        options = flag.options()
        target = options.get("target", options.get("dst", options.get("destination", "")))
        if options.get("type") != "cache" or not target:
            continue
        if (target_has is not None and target_has in target) or \
                (holds is not None and holds.startswith(target.rstrip("/") + "/")):
            return flag, options
    return None


def _other_pip_commands(df: Dockerfile, stanza: PipStanza) -> bool:
    """Does another command of the RUN still use pip (and so the pip cache mount)?"""
    commands, _ = run_commands(df, stanza.instruction)
    for c in commands:
        if c.position == stanza.command.position:
            continue
        vals = [w.value or w.raw for w in c.argv]
        if vals and posixpath.basename(vals[0]) != "uv" and (posixpath.basename(vals[0]).startswith("pip")
                                                            or "pip" in vals[1:3]):
            return True
    return False
