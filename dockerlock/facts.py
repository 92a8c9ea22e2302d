"""Facts about a Dockerfile's stages that rules need: shell commands, venvs, targets.

Computed once per file from the model (pure: no file system). Rules ask questions
such as "which interpreter does this ``pip`` run?" or "was anything installed into
this venv before?" without walking the instructions themselves.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass

from dockerlock import shell
from dockerlock.context import BuildContext
from dockerlock.model import Dockerfile, Heredoc, Instruction, Stage
from dockerlock.source import Span
from dockerlock.words import split_words

_SYSTEM_BIN_DIRS = {"/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin"}
_SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/bash", "dash", "/bin/dash", "ash"}


@dataclass(frozen=True)
class Command:
    """One simple shell command inside a RUN, with where it lives in the source."""

    instruction: Instruction
    command: shell.SimpleCommand | None  # None for exec form
    argv: tuple[shell.Word, ...]
    kind: str  # "shell", "heredoc" or "exec"
    heredoc: Heredoc | None
    position: int  # index among the RUN's commands
    total: int  # how many commands the RUN holds
    base: int = 0  # offset of the parsed script within the logical line (shell form)

    def source_span(self) -> Span:
        """Source span of the command text (words, assignments and redirects)."""
        ins = self.instruction
        if self.kind == "exec":
            # the JSON array: from the body start to the end of the logical text
            end = len(ins.logical.text.rstrip())
            return ins.logical.source_span(ins.body_start, end)
        assert self.command is not None
        if self.kind == "heredoc":
            assert self.heredoc is not None
            base = self.heredoc.body_span.start
            return Span(base + self.command.start, base + self.command.end)
        return ins.logical.source_span(self.base + self.command.start, self.base + self.command.end)


# pip/pip3/pip3.11 as a word (not "pipefail"), venv creation/activation, uv itself.
_INTERESTING = re.compile(r"(?<![\w-])pip[0-9.]*(?![\w-])|venv|activate|(?<![\w-])uv(?![\w-])")


def run_commands(df: Dockerfile, ins: Instruction) -> tuple[list[Command], str | None]:
    """The simple commands a RUN executes, or a reason why they cannot be known (cached)."""
    key = ("run_commands", ins.index)
    hit = df.cache.get(key)
    if hit is None:
        hit = df.cache[key] = _run_commands(df, ins)
    return hit


def mentions_python_tooling(ins: Instruction) -> bool:
    """Cheap pre-filter: only RUNs that mention pip, venvs or uv need a shell parse."""
    return bool(_INTERESTING.search(ins.logical.text)) or any(_INTERESTING.search(h.body) for h in ins.heredocs)


def _run_commands(df: Dockerfile, ins: Instruction) -> tuple[list[Command], str | None]:
    if ins.exec_args is not None:
        words = tuple(shell.Word.synthetic(a) for a in ins.exec_args)
        return [Command(ins, None, words, "exec", None, 0, 1)], None
    commands: list[Command] = []
    body = ins.body
    if ins.heredocs:
        # Blank out the ``<<EOF`` words: what is left says which program reads the body.
        chars = list(ins.logical.text)
        for doc in ins.heredocs:
            chars[doc.word_start:doc.word_end] = " " * (doc.word_end - doc.word_start)
        body = "".join(chars)[ins.body_start:]
    try:
        script = shell.parse_script(body)
    except shell.ShellParseError as exc:
        return [], f"cannot parse the RUN's shell text: {exc.reason}"
    items = list(script.commands)
    if ins.heredocs:
        # ``RUN <<EOF`` runs the body with the default shell; ``RUN sh <<EOF`` / ``bash <<EOF`` too.
        top = [c for c in items if not c.in_compound and (c.words or c.assignments)]
        runs_body = (not top or (len(top) == 1 and top[0].words
                                 and (top[0].words[0].value or "") in _SHELLS
                                 and all((w.value or "").startswith("-") for w in top[0].words[1:])))
        if not runs_body:
            return [], "the RUN feeds a heredoc to a program other than the shell"
        total = 0
        for doc in ins.heredocs:
            try:
                body = shell.parse_script(_shell_view(doc.body))
            except shell.ShellParseError as exc:
                return [], f"cannot parse the heredoc body: {exc.reason}"
            for c in body.commands:
                commands.append(Command(ins, c, tuple(c.words), "heredoc", doc, total, 0))
                total += 1
        return [_with_total(c, total) for c in commands], None
    for i, c in enumerate(items):
        commands.append(Command(ins, c, tuple(c.words), "shell", None, i, len(items), ins.body_start))
    return commands, None


def _shell_view(body: str) -> str:
    """A heredoc body as the shell receives it, with the same length (offsets stay valid).

    BuildKit reads heredoc lines with CRLF already stripped to LF, so a CRLF file's
    body reaches the shell without carriage returns: blank them out in place.
    """
    if "\r" not in body:
        return body
    return body.replace("\\\r\n", "\\\n ").replace("\r\n", " \n")


def _with_total(c: Command, total: int) -> Command:
    return Command(c.instruction, c.command, c.argv, c.kind, c.heredoc, c.position, total, c.base)


VENV_CREATE = re.compile(r"^(?:\S*/)?(?:python[0-9.]*|py)$")


def venv_created_by(cmd: shell.SimpleCommand | None, argv: tuple[shell.Word, ...]) -> str | None:
    """The path a ``python -m venv X`` / ``virtualenv X`` / ``uv venv X`` command creates."""
    values = [w.raw if w.value is None else w.value for w in argv]
    if not values:
        return None
    prog = posixpath.basename(values[0])
    rest: list[str] = []
    if VENV_CREATE.match(values[0]) and "-m" in values[1:3]:
        i = values.index("-m")
        if i + 1 < len(values) and values[i + 1] in ("venv", "virtualenv"):
            rest = values[i + 2:]
    elif prog == "virtualenv":
        rest = values[1:]
    elif prog == "uv" and len(values) > 1 and values[1] == "venv":
        rest = values[2:]
    else:
        return None
    positional = [v for v in rest if not v.startswith("-")]
    return positional[-1] if positional else (".venv" if prog == "uv" else None)


def activated_venv(argv: tuple[shell.Word, ...]) -> str | None:
    """``. /opt/venv/bin/activate`` or ``source ...``: the venv it activates."""
    if len(argv) >= 2 and (argv[0].value in (".", "source")):
        path = argv[1].value if argv[1].value is not None else argv[1].raw
        if path.endswith("/bin/activate"):
            return path[: -len("/bin/activate")]
    return None


def venv_of(program: str) -> str | None:
    """The venv an interpreter or pip path belongs to (``/opt/venv/bin/python`` -> ``/opt/venv``),
    or None for the system's own bin folders and bare names."""
    folder = posixpath.dirname(program)
    if folder.endswith("/bin") and folder not in _SYSTEM_BIN_DIRS:
        return folder[: -len("/bin")]
    return None


def path_venv_dir(path_value: str | None, raw: str | None) -> str | None:
    """The first PATH entry if it looks like ``<venv>/bin``; read from the raw ENV text."""
    text = raw if raw is not None else path_value
    if not text:
        return None
    text = text.strip().strip('"').strip("'")
    first = text.split(":", 1)[0]
    if first.endswith("/bin") and first not in _SYSTEM_BIN_DIRS and "$" not in first[:1]:
        return first[: -len("/bin")]
    return None


def split_copy(df: Dockerfile, ins: Instruction) -> tuple[list[str], str] | None:
    """Sources and destination of a COPY/ADD as written (None for heredoc copies)."""
    if ins.heredocs:
        return None
    if ins.exec_args is not None:
        args = list(ins.exec_args)
    else:
        args = [w.raw for w in split_words(ins.logical.text, ins.body_start, escape=df.escape)]
    if len(args) < 2:
        return None
    return args[:-1], args[-1]


# -- images, paths and the COPY that provides a path (shared by migrate, revert, check) ----
def root_image(df: Dockerfile, stage: Stage) -> str:
    root = lineage(df, stage)[-1]
    return root.image_expanded or root.image


def absolute_in_image(path: str, cwd: str | None) -> str:
    if path.startswith("/"):
        return posixpath.normpath(path)
    base = cwd if cwd is not None else "/?"  # unknown base-image workdir: still comparable
    return posixpath.normpath(posixpath.join(base, path))


def known_dirs(df: Dockerfile, ins: Instruction) -> set[str]:
    stage = df.stage_of(ins)
    dirs = {"/", "/tmp"}
    while stage is not None:
        for x in stage.instructions:
            if x.keyword == "WORKDIR" and x.index < ins.index:
                wd = df.workdir_at(df.instructions[x.index + 1]) if x.index + 1 < len(df.instructions) else None
                while wd and wd != "/":
                    dirs.add(wd)
                    wd = posixpath.dirname(wd)
        stage = df.stages[stage.parent] if stage.parent is not None else None
    return dirs


def copy_provides(df: Dockerfile, context: BuildContext, ins: Instruction,
                   image_path: str) -> tuple[str | None, bool, bool, bool] | None:
    """(context path, arrived in a directory copy, copy has only this source, dest is a folder)."""
    parts = split_copy(df, ins)
    if parts is None:
        return None
    sources, dest = parts
    dest_value = df.expand_at(ins, dest)
    if dest_value is None:
        return None
    workdir = df.workdir_at(ins)
    dest_abs = absolute_in_image(dest_value, workdir)
    # Docker copies *into* a destination that already exists as a directory; every
    # WORKDIR (and its parents) exists by the time a later COPY runs.
    dest_is_dir = dest_value.endswith("/") or len(sources) > 1 or dest_value in (".", "..") \
        or dest_value.endswith("/.") or dest_abs in known_dirs(df, ins)
    frm = ins.flag("from") is not None
    for src in sources:
        src_value = df.expand_at(ins, src)
        if src_value is None:
            continue
        is_dir = src_value in (".", "./") or src_value.endswith("/") or (not frm and context.is_dir(src_value))
        if not is_dir and not frm and not dest_is_dir and not context.exists(src_value) \
                and not any(c in src_value for c in "*?["):
            # Unknown on disk, copied to a *file* destination: a path below that destination
            # can only come from a directory. (Into a folder destination, a missing source
            # could be either, so it is not taken as the provider of anything but its name.)
            below = image_path.startswith(dest_abs.rstrip("/") + "/")
            rel = posixpath.relpath(image_path, dest_abs) if below else ""
            is_dir = below and rel != posixpath.basename(src_value)
        if is_dir:
            rel = posixpath.relpath(image_path, dest_abs) if image_path.startswith(dest_abs.rstrip("/") + "/") \
                or dest_abs == "/" else None
            if rel and not rel.startswith(".."):
                ctx = posixpath.normpath(posixpath.join(src_value, rel))
                return ctx, True, False, True
            continue
        target = posixpath.join(dest_abs, posixpath.basename(src_value)) if dest_is_dir or \
            (not frm and context.is_dir(dest_value)) else dest_abs
        if target == image_path:
            return posixpath.normpath(src_value), False, len(sources) == 1, target != dest_abs
        if any(c in src_value for c in "*?[") and dest_is_dir and \
                fnmatch.fnmatch(posixpath.basename(image_path), posixpath.basename(src_value)) and \
                posixpath.dirname(image_path) == dest_abs:
            ctx = posixpath.join(posixpath.dirname(src_value), posixpath.basename(image_path))
            return posixpath.normpath(ctx), False, False, True
    return None


def lineage(df: Dockerfile, stage: Stage) -> list[Stage]:
    """The stage and the stages it is built FROM, nearest first."""
    out = [stage]
    while out[-1].parent is not None:
        out.append(df.stages[out[-1].parent])
    return out
