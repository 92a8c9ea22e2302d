"""Instructions and their parts: logical lines, flags, exec form, heredocs.

An ``Instruction`` never holds re-serialised text: it keeps its span into
``Source.text`` and a ``LogicalLine`` (the continuation lines joined, as BuildKit
reads them) that maps every logical offset back to the source character it came from.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from typing import NamedTuple

from dockerlock.source import Source, Span
from dockerlock.words import iter_words, split_words, unquote

KEYWORDS = frozenset({"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
                      "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
                      "WORKDIR"})
HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
EXEC_FORM_KEYWORDS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME",
                                "HEALTHCHECK"})
# BuildKit's heredoc word: optional fd, <<, optional -, then a word without '<'.
_HEREDOC_WORD = re.compile(r"^(\d*)<<(-?)([^<]*)$")
# BuildKit trims the logical line, then splits off the keyword; the arguments follow the blanks.
_KEYWORD_AND_BLANKS = re.compile(r"\s*(\S*)[ \t]*")


class Directive(NamedTuple):
    """A parser directive at the top of the file (``# syntax=``, ``# escape=``, ``# check=``)."""

    name: str  # lower-case
    value: str
    line: int


class LogicalLine(NamedTuple):
    """An instruction's text with continuations joined, as BuildKit sees it.

    Each piece of the logical text is a run of one source line: ``segments`` holds
    ``(logical start, source start)`` per piece, so any range of the logical text maps
    back to the exact source it came from (``source_offset``/``source_span``). A named tuple,
    as ``Instruction`` is: one is built for every instruction of every parse.
    """

    text: str
    segments: tuple[tuple[int, int], ...]  # (logical start, source start), ascending

    def source_offset(self, index: int) -> int:
        """Source offset of logical ``index`` (``len(text)`` maps just past the last char)."""
        if not self.segments:
            return 0
        if index >= len(self.text):
            return self.source_offset(len(self.text) - 1) + 1 if self.text else self.segments[0][1]
        k = bisect.bisect_right(self.segments, (index, float("inf"))) - 1
        logical_start, source_start = self.segments[k]
        return source_start + (index - logical_start)

    def source_span(self, start: int, end: int) -> Span:
        if end <= start:
            pos = self.source_offset(start)
            return Span(pos, pos)
        return Span(self.source_offset(start), self.source_offset(end - 1) + 1)


class Flag(NamedTuple):
    """An instruction flag such as ``--mount=type=cache,target=/root/.cache/pip``."""

    name: str  # without the leading dashes, lower-case
    value: str | None  # unquoted value, None for a bare ``--flag``
    raw: str
    start: int  # offsets into the instruction's logical text
    end: int

    def options(self) -> dict[str, str]:
        """Key/value pairs of a CSV-style flag value (``--mount``): ``{"type": "cache", ...}``."""
        return {key: value if value is not None else "true" for key, value in self.fields()}

    def fields(self) -> list[tuple[str, str | None]]:
        """The CSV fields of the value as written: (lower-case key, value or None for a bare key)."""
        result: list[tuple[str, str | None]] = []
        for part in _split_csv(self.value or ""):
            key, sep, value = part.partition("=")
            result.append((key.strip().lower(), value.strip() if sep else None))
        return result


def _split_csv(value: str) -> list[str]:
    parts, current, quote = [], [], ""
    for ch in value:
        if quote:
            if ch == quote:
                quote = ""
            else:
                current.append(ch)
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if current:
        parts.append("".join(current))
    return [p for p in parts if p]


class Heredoc(NamedTuple):
    """A heredoc of a RUN, COPY or ADD: its body and where it is in the source."""

    name: str
    chomp: bool  # <<- strips leading tabs
    expand: bool  # False when the delimiter was quoted
    fd: int | None
    body: str  # raw body lines, each with its original line ending
    body_span: Span  # source span of the body (without the terminator line)
    word_start: int  # offsets of the ``<<EOF`` word in the logical line
    word_end: int
    first_line: int  # first body line (1-based); equals terminator_line for an empty body
    terminator_line: int


class Instruction(NamedTuple):
    """One instruction: where it is, its logical line, flags, exec form and heredocs.

    A named tuple, not a frozen dataclass: every parse builds one per instruction (a rewrite is
    parsed again before it is written), and a tuple is built several times faster.
    """

    index: int
    keyword: str  # upper-case
    start_line: int  # 1-based, inclusive; covers continuation and heredoc lines
    end_line: int
    span: Span  # whole lines start_line..end_line, including the last line ending
    logical: LogicalLine
    args_start: int  # logical offset where the arguments begin
    flags: tuple[Flag, ...]
    body_start: int  # logical offset after the flags
    exec_args: tuple[str, ...] | None  # parsed JSON array for exec form
    heredocs: tuple[Heredoc, ...]
    comment_lines: tuple[int, ...]  # comment lines inside the continuation (kept, ignored)
    stage: int  # stage index, -1 for ARGs before the first FROM

    @property
    def form(self) -> str:
        return "exec" if self.exec_args is not None else "shell"

    @property
    def body(self) -> str:
        """Arguments after the flags (logical text, continuations joined)."""
        return self.logical.text[self.body_start:]

    @property
    def args(self) -> str:
        return self.logical.text[self.args_start:]

    def flag(self, name: str) -> Flag | None:
        for f in self.flags:
            if f.name == name:
                return f
        return None

    def flags_named(self, name: str) -> list[Flag]:
        return [f for f in self.flags if f.name == name]

    def text(self, source: Source) -> str:
        return source.text[self.span.start:self.span.end]


@dataclass(slots=True)
class Head:
    """What the first words of a logical line say: keyword, flags, exec form."""

    first_word: str  # as written (``run``), possibly empty
    args_start: int
    flags: tuple[Flag, ...]
    body_start: int
    exec_args: tuple[str, ...] | None
    takes_heredocs: bool  # BuildKit reads heredocs for RUN, COPY and ADD in shell form only


def read_head(text: str, escape: str) -> Head:
    m = _KEYWORD_AND_BLANKS.match(text)
    first_word = m.group(1)
    keyword = first_word.upper()
    args_start = m.end()
    flags, body_start = _read_flags(text, args_start, escape) if text.startswith("--", args_start) \
        else ((), args_start)
    exec_args = None
    if keyword in EXEC_FORM_KEYWORDS:
        exec_args = _maybe_json(text, body_start)
    if keyword == "ONBUILD":  # ``ONBUILD RUN <<EOF``: the triggered instruction decides
        takes_heredocs = "<<" in text and read_head(text[args_start:], escape).takes_heredocs
    else:
        takes_heredocs = keyword in HEREDOC_KEYWORDS and exec_args is None
    return Head(first_word, args_start, flags, body_start, exec_args, takes_heredocs)


def _read_flags(text: str, start: int, escape: str) -> tuple[tuple[Flag, ...], int]:
    flags: list[Flag] = []
    body_start = start
    for word in iter_words(text, start, escape=escape):  # the flags lead: the rest need not be split
        if not word.raw.startswith("--") or len(word.raw) == 2:
            break
        name, sep, value = word.raw[2:].partition("=")
        flags.append(Flag(name.lower(), unquote(value, escape) if sep else None,
                          word.raw, word.start, word.end))
        body_start = word.end
        while body_start < len(text) and text[body_start] in " \t":
            body_start += 1
    return tuple(flags), body_start


def _maybe_json(text: str, start: int) -> tuple[str, ...] | None:
    stripped = text[start:].strip()
    if not stripped.startswith("["):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return tuple(value)
    return None


class HeredocWord(NamedTuple):
    """A ``<<EOF`` word on an instruction's logical line, before its body is read."""

    name: str  # the delimiter with quotes removed
    chomp: bool
    quoted: bool
    fd: int | None
    raw_name: str  # as written after ``<<`` / ``<<-``
    start: int
    end: int


def heredoc_words(text: str) -> list[HeredocWord]:
    """The heredoc words of a RUN/COPY/ADD logical line, in order.

    BuildKit splits the whole line with a backslash lexer (quotes kept) to find them,
    whatever the file's escape character; ``<<<`` (a here-string) is not a heredoc.
    """
    found: list[HeredocWord] = []
    for word in split_words(text, 0, escape="\\"):
        m = _HEREDOC_WORD.match(word.raw)
        if not m or not m.group(3):
            continue
        rest = m.group(3)
        name = unquote(rest, "\\")
        if not name or len(split_words(name)) != 1:
            continue
        found.append(HeredocWord(name=name, chomp=m.group(2) == "-", quoted=any(q in rest for q in "'\""),
                                 fd=int(m.group(1)) if m.group(1) else None, raw_name=rest,
                                 start=word.start, end=word.end))
    return found
