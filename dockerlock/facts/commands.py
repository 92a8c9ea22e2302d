"""The simple shell commands a RUN executes, with where each lives in the source.

Shell form, exec form and heredoc bodies all come out as ``Command`` values whose
``source_span`` is exact, so an edit made from a command lands on its bytes.
Computed once per RUN (cached on the model). Pure.
"""

from __future__ import annotations

import posixpath
import re
from typing import NamedTuple

from dockerlock import shell
from dockerlock.facts.expansion import expand
from dockerlock.model import Dockerfile, Heredoc, Instruction
from dockerlock.shell.wrappers import SHELLS
from dockerlock.source import Span


class Command(NamedTuple):
    """One simple shell command inside a RUN, with where it lives in the source."""

    instruction: Instruction
    command: shell.SimpleCommand | None  # None for exec form
    argv: tuple[shell.Word, ...]
    kind: str  # "shell", "heredoc", "exec", or "wrapped" (inside ``sh -c "..."``, shell or exec form)
    heredoc: Heredoc | None
    position: int  # index among the RUN's commands
    total: int  # how many commands the RUN holds
    base: int = 0  # offset of the parsed script within the logical line (shell form)
    #: For "wrapped": the quote around the ``sh -c`` script (``'``, ``"``, ``json`` for an
    #: exec-form string, None when unquoted), which text written into it must respect.
    quoting: str | None = None
    #: Why a command found inside ``sh -c`` text cannot be rewritten (its offsets are not exact).
    wrapper_problem: str | None = None

    def numbered(self, position: int, total: int) -> "Command":
        """This command as the ``position``-th of ``total`` (every RUN's commands are numbered)."""
        return self._replace(position=position, total=total)

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


# pip/pip3/pip3.11 as a word (not "pipefail"), venv creation/activation, uv itself, and a
# variable launcher (``${PIP_CMD} install``): whether that one is pip, ARG/ENV values decide.
# Read in any case from the lower-cased text, the literal words first: most RUNs are answered
# by a substring test, five times faster than one case-blind pattern with every alternative.
_TOOL_WORDS = ("venv", "activate", "conda")
_PIP_OR_UV = re.compile(r"(?<![\w-])(?:pip[0-9.]*|uv)(?![\w-])")
_VARIABLE_LAUNCHER = re.compile(r"\$\{?[a-z_]\w*\}?[\"']?\s+(?:install|wheel|download)(?![\w-])")


def _mentions_tooling(text: str) -> bool:
    low = text.lower()
    if any(word in low for word in _TOOL_WORDS):
        return True
    if ("pip" in low or "uv" in low) and _PIP_OR_UV.search(low):
        return True
    return "$" in low and _VARIABLE_LAUNCHER.search(low) is not None


def run_commands(df: Dockerfile, ins: Instruction) -> tuple[list[Command], str | None]:
    """The simple commands a RUN executes, or a reason why they cannot be known (cached)."""
    key = ("run_commands", ins.index)
    hit = df.cache.get(key)
    if hit is None:
        hit = df.cache[key] = _run_commands(df, ins)
    return hit


def mentions_python_tooling(ins: Instruction) -> bool:
    """Cheap pre-filter: only RUNs that mention pip, venvs or uv need a shell parse."""
    return _mentions_tooling(ins.logical.text) or any(_mentions_tooling(h.body) for h in ins.heredocs)


def python_tooling_runs(df: Dockerfile) -> frozenset[int]:
    """The indexes of the RUNs that ``mentions_python_tooling`` (cached: the loader asks first,
    then the stanza walk, and the search costs more than the rest of an ordinary RUN's reading)."""
    found = df.cache.get("python-tooling-runs")
    if found is None:
        found = df.cache["python-tooling-runs"] = frozenset(
            ins.index for ins in df.instructions if ins.keyword == "RUN" and mentions_python_tooling(ins))
    return found


def _run_commands(df: Dockerfile, ins: Instruction) -> tuple[list[Command], str | None]:
    if ins.exec_args is not None:
        return _exec_commands(ins), None
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
                                 and posixpath.basename(top[0].words[0].value or "") in SHELLS
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
    for c in items:
        commands.append(Command(ins, c, tuple(c.words), "shell", None, 0, 0, ins.body_start))
        commands.extend(_wrapped(ins, c.words, body, c.depth, ins.body_start))
    return _numbered(commands), None


def _exec_commands(ins: Instruction) -> list[Command]:
    """An exec-form RUN: the argv, and the commands of a ``["/bin/sh", "-c", "..."]`` script."""
    assert ins.exec_args is not None
    words = tuple(shell.Word.synthetic(a) for a in ins.exec_args)
    commands = [Command(ins, None, words, "exec", None, 0, 1)]
    json_text = ins.logical.text[ins.body_start:].rstrip()
    located = shell.exec_form_words(json_text)
    if located:
        commands.extend(_wrapped(ins, located, json_text, 0, ins.body_start))
    return _numbered(commands)


def _wrapped(ins: Instruction, words, outer: str, depth: int, base: int) -> list[Command]:
    """The commands of ``sh -c SCRIPT`` (offsets into ``outer``, exact), or, when the quoting
    cannot be kept exact, the commands read from the script's value, flagged so that no rule
    rewrites them."""
    found = shell.wrapped_script(words, outer)
    if found is None:
        return []
    if isinstance(found, str):
        # Not rewritable, but never passed over: read the script's text to find pip in it.
        inner = None
        for word in reversed(words[1:]):
            text = word.value if word.value is not None else word.raw.strip("'\"")
            try:
                inner = shell.parse_script(text)
                break
            except shell.ShellParseError:
                continue
        return [Command(ins, c, tuple(c.words), "wrapped", None, 0, 0, base, wrapper_problem=found)
                for c in (inner.commands if inner else ())]
    raw = found.script_word.raw
    quoting = "json" if outer.lstrip().startswith("[") else (raw[0] if raw[:1] in ("'", '"') else None)
    try:
        inner = found.parse()
    except shell.ShellParseError:
        return []
    return [Command(ins, c._replace(depth=c.depth + depth), tuple(c.words), "wrapped", None, 0, 0, base, quoting)
            for c in inner.commands]


def _numbered(commands: list[Command]) -> list[Command]:
    return [c.numbered(i, len(commands)) for i, c in enumerate(commands)]


def _shell_view(body: str) -> str:
    """A heredoc body as the shell receives it, with the same length (offsets stay valid).

    BuildKit reads heredoc lines with CRLF already stripped to LF, so a CRLF file's
    body reaches the shell without carriage returns: blank them out in place.
    """
    if "\r" not in body:
        return body
    return body.replace("\\\r\n", "\\\n ").replace("\r\n", " \n")


def _with_total(c: Command, total: int) -> Command:
    return c.numbered(c.position, total)


def pip_invocation(df: Dockerfile, command: Command) -> shell.PipInvocation | None:
    """The pip command line ``command`` runs, if any; a variable launcher (``$PIP``) is read
    through the ARG/ENV values in scope."""
    if all(w.value is not None and "pip" not in w.value for w in command.argv):
        return None  # every word is static and none names pip: no launcher could (most commands)
    ins = command.instruction

    def resolve(word: shell.Word) -> str | None:
        return expand(df, ins, word.raw)

    if command.kind == "exec":
        return shell.parse_pip_argv(command.argv, resolve)
    if command.command is None:
        return None
    return shell.find_pip_invocation(command.command, resolve)
