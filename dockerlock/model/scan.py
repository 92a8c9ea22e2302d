r"""BuildKit's line rules for what dockerfile-parse cannot see, and the masked text it reads.

dockerfile-parse locates instructions (``locate.py``), but 2.0.1 misreads some of
BuildKit's line rules (see ``../shared/notes/FACTS.md``). This pre-scan walks the
lines once, following BuildKit, and writes a *masked* copy of the text, same line
count and numbering, on which dockerfile-parse's reading is BuildKit's. What BuildKit
reads -> what dockerfile-parse alone would do -> the masked line:

- parser directives at the top (``syntax``, ``escape``, ``check``) -> it stops looking
  at ``# check=`` and matches directives with a wider pattern -> every directive line
  becomes empty, and line 1 ``# escape=`` + the escape when it is a backtick (it does
  honour that line: the escape is also its continuation character);
- heredoc body and terminator lines -> bogus instructions -> empty lines;
- a blank line inside a continuation -> ends the instruction early -> ``#``;
- a comment line inside a continuation -> (read the same way) -> ``#``; outside one,
  an empty line (dockerfile-parse would only build a comment entry for it);
- the escape followed by spaces or tabs -> (continues, as BuildKit does) -> unchanged;
- the escape followed by NBSP or a form feed, which does *not* continue the line for
  BuildKit -> continues -> ``.`` appended;
- a keyword the escape splits (``RUN\`` + `` echo``, a lone ``\`` line, ``RU\`` +
  ``N x``): BuildKit takes the keyword from the joined line -> takes ``RUN\`` or ``\``
  from the first line -> the first line becomes the real keyword, a space, the escape;
- CRs before the line feed and a BOM -> ``Source`` and ``split_lines`` drop them first.

The pre-scan follows continuations only as far as it must to find where heredoc
bodies start (after the logical line of a RUN/COPY/ADD) and where a keyword is split.
It does not report instructions: they come from dockerfile-parse, and ``join_logical``
checks each located instruction against these line rules (a misfit is refused).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dockerlock.diagnostics import DockerfileSyntaxError
from dockerlock.model.instruction import (
    Directive,
    Head,
    Heredoc,
    LogicalLine,
    heredoc_words,
    read_head,
)
from dockerlock.source import Source, Span

# BuildKit: ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ on the line without its leading
# whitespace, only at the very top; Go's \s is ASCII [\t\n\f\r ].
_DIRECTIVE = re.compile(r"#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*")
_KNOWN_DIRECTIVES = {"syntax", "escape", "check"}
_COMMENT = "#"  # inside a continuation: dockerfile-parse keeps the continuation going across it
_EMPTY = ""  # outside a continuation: dockerfile-parse skips it
_VISIBLE_END = "."  # after escape + NBSP/form feed, so dockerfile-parse does not continue the line
_WORD_AND_SPACE = re.compile(r"\S+\s")


def split_lines(source: Source) -> list[str]:
    """Lines without their line endings; trailing CRs go too, as BuildKit trims them."""
    lines = source.text.split("\n")
    if source.final_newline:
        lines.pop()
    return [line.rstrip("\r") if line.endswith("\r") else line for line in lines]


def is_skipped(line: str) -> bool:
    """A blank or comment line (BuildKit trims leading Unicode whitespace first)."""
    stripped = line.lstrip()
    return not stripped or stripped[0] == "#"


def escape_column(line: str, escape: str) -> int:
    """Column of the escape character that continues ``line``, or -1 (BuildKit: escape[ \\t]*$)."""
    kept = line.rstrip(" \t")
    return len(kept) - 1 if kept.endswith(escape) else -1


@dataclass
class Prescan:
    """The line facts dockerfile-parse cannot see, and the masked lines it reads instead."""

    source: Source
    lines: list[str]
    escape: str = "\\"
    directives: list[Directive] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)
    #: heredocs by the 0-based line where their instruction's logical line ends
    heredocs: dict[int, tuple[Heredoc, ...]] = field(default_factory=dict)
    #: logical lines already joined to find heredocs, by 0-based first line
    joined: dict[int, tuple[int, LogicalLine, tuple[int, ...], Head]] = field(default_factory=dict)

    def error(self, reason: str, line: int, hint: str | None = None) -> DockerfileSyntaxError:
        return DockerfileSyntaxError(reason, self.source.path, line, hint)

    # -- the logical line of lines start..end (0-based, inclusive) ---------------------
    def join_logical(self, start: int, end: int) -> tuple[LogicalLine, tuple[int, ...]]:
        """Join an instruction's lines as BuildKit does; also its comment lines (1-based).

        The first line loses its leading whitespace, every line but the last loses its
        escape character and what follows it, comment and blank lines are dropped.
        ``start..end`` comes from dockerfile-parse: a line that does not fit BuildKit's
        rules there means the two readings differ, and the file is refused.
        """
        lines, escape, starts = self.lines, self.escape, self.source.line_starts
        if start == end:  # most instructions are one line
            line = lines[start]
            stripped = line.lstrip()
            if not stripped or stripped[0] == "#" or escape_column(line, escape) >= 0:
                raise self.disagreement(start, end, start)
            return LogicalLine(stripped, ((0, starts[start] + len(line) - len(stripped)),)), ()
        chars: list[str] = []
        segments: list[tuple[int, int]] = []
        comments: list[int] = []
        length = 0
        for i in range(start, end + 1):
            line = lines[i]
            stripped = line.lstrip()
            if not stripped or stripped[0] == "#":
                if i == start or i == end:
                    raise self.disagreement(start, end, i)
                if stripped:
                    comments.append(i + 1)
                continue
            a = len(line) - len(stripped) if i == start else 0
            b = escape_column(line, escape)
            if i == end:
                if b >= 0:
                    raise self.disagreement(start, end, i)
                b = len(line)
            elif b < 0:
                raise self.disagreement(start, end, i)
            if b > a:
                segments.append((length, starts[i] + a))
                chars.append(line[a:b])
                length += b - a
        return LogicalLine("".join(chars), tuple(segments)), tuple(comments)

    def disagreement(self, start: int, end: int, line: int) -> DockerfileSyntaxError:
        return self.error(f"cannot read lines {start + 1}-{end + 1} the way BuildKit does "
                          f"(line {line + 1} does not fit); refusing to guess",
                          start + 1, hint="this is a dockerlock bug; please report it with the file")


def prescan(source: Source) -> Prescan:
    scan = Prescan(source, split_lines(source))
    first = _read_directives(scan)
    scan.masked = masked = list(scan.lines)
    _mask_directives(scan, first)
    lines, escape = scan.lines, scan.escape
    n = len(lines)
    start = -1  # first line of the instruction being read; -1 between instructions
    heredoc_marker = split_keyword = False
    i = first
    while i < n:
        line = lines[i]
        stripped = line.lstrip()
        if not stripped or stripped[0] == "#":
            if start >= 0:
                masked[i] = _COMMENT
            elif stripped:
                masked[i] = _EMPTY  # nothing for dockerfile-parse to do with it
            i += 1
            continue
        column = escape_column(line, escape)
        if start < 0:
            start = i
            heredoc_marker = False
            # dockerfile-parse takes the keyword from the first line alone: ``RUN\`` or a
            # lone ``\`` would give it a keyword BuildKit never sees.
            split_keyword = column >= 0 and not _WORD_AND_SPACE.match(line, len(line) - len(stripped), column)
        heredoc_marker = heredoc_marker or "<<" in line
        if column >= 0:
            i += 1
            continue
        if line.rstrip().endswith(escape):
            masked[i] = line + _VISIBLE_END
        i += 1
        if heredoc_marker or split_keyword:
            i = _finish_logical_line(scan, start, i - 1, split_keyword)
        start = -1
    if start >= 0:
        raise scan.error("line continuation at end of file: the last instruction ends with the "
                         f"escape character '{escape}'", start + 1,
                         hint="remove the trailing escape character or finish the instruction")
    return scan


def _read_directives(scan: Prescan) -> int:
    """Parser directives at the very top; returns the first line after them (0-based)."""
    seen: set[str] = set()
    for i, line in enumerate(scan.lines):
        m = _DIRECTIVE.fullmatch(line.lstrip())
        if not m:
            return i
        name = m.group(1).lower()
        if name not in _KNOWN_DIRECTIVES:
            return i
        if name in seen:
            raise scan.error(f"only one '{name}' parser directive can be used", i + 1)
        seen.add(name)
        value = m.group(2)
        if name == "escape":
            if value not in ("\\", "`"):
                raise scan.error(f"invalid escape token '{value}': it must be '\\' or '`'", i + 1)
            scan.escape = value
        scan.directives.append(Directive(name, value, i + 1))
    return len(scan.lines)


def _mask_directives(scan: Prescan, first: int) -> None:
    """dockerfile-parse honours ``# escape=`` only in a block of ``escape``/``syntax`` lines
    and by its own (wider) pattern: give it exactly one line that says what BuildKit read.
    (The line after the directives, if a comment, is emptied by ``prescan``.)"""
    for i in range(first):
        scan.masked[i] = _EMPTY
    if scan.escape != "\\":
        scan.masked[0] = f"# escape={scan.escape}"


def _finish_logical_line(scan: Prescan, start: int, end: int, split_keyword: bool) -> int:
    """Join the logical line ``start..end``, give dockerfile-parse its keyword if the
    escape split it, and read the heredoc bodies after it; return the next line."""
    logical, comments = scan.join_logical(start, end)
    head = read_head(logical.text, scan.escape)
    scan.joined[start] = (end, logical, comments, head)
    if split_keyword:
        scan.masked[start] = f"{head.first_word} {scan.escape}"
    if not head.takes_heredocs or "<<" not in logical.text:
        return end + 1
    lines, masked, starts = scan.lines, scan.masked, scan.source.line_starts
    heredocs: list[Heredoc] = []
    i = end + 1
    for word in heredoc_words(logical.text):
        body_first = i
        while True:
            if i >= len(lines):
                raise scan.error(f"unterminated heredoc '<<{'-' if word.chomp else ''}{word.raw_name}': "
                                 f"no line '{word.name}' closes it", start + 1,
                                 hint=f"add a line containing only {word.name}")
            masked[i] = _EMPTY
            if (lines[i].lstrip("\t") if word.chomp else lines[i]) == word.name:
                break
            i += 1
        body_span = Span(starts[body_first], starts[i])
        heredocs.append(Heredoc(name=word.name, chomp=word.chomp, expand=not word.quoted, fd=word.fd,
                                body=scan.source.text[body_span.start:body_span.end], body_span=body_span,
                                word_start=word.start, word_end=word.end,
                                first_line=body_first + 1, terminator_line=i + 1))
        i += 1
    if heredocs:
        scan.heredocs[end] = tuple(heredocs)
    return i
