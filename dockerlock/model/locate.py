"""Locate instructions with dockerfile-parse on the masked text; build ``Instruction``s from them.

dockerfile-parse is used read-only, only here, and always on an in-memory copy
(``fileobj=io.BytesIO``): given a path, or none, it reads and writes files itself.
"""

from __future__ import annotations

import io
from typing import NamedTuple

from dockerlock.model.instruction import Instruction, read_head
from dockerlock.model.scan import Prescan, is_skipped
from dockerlock.source import Span

_COMMENT = "COMMENT"  # dockerfile-parse's entry for a comment line


class Located(NamedTuple):
    keyword: str  # upper-case, as dockerfile-parse read it
    start: int  # 0-based first line
    end: int  # 0-based last line of the logical line (before any heredoc body)


def locate(scan: Prescan) -> list[Located]:
    """Where dockerfile-parse finds instructions in the masked lines."""
    from dockerfile_parse import (
        DockerfileParser,  # imported on first parse, not at CLI start-up
    )

    masked = scan.masked
    data = ("\n".join(masked) + "\n").encode("utf-8") if masked else b""
    parser = DockerfileParser(fileobj=io.BytesIO(data), env_replace=False)
    located = []
    for entry in parser.structure:
        keyword, start = entry["instruction"], entry["startline"]
        # An instruction spelled ``comment`` is still an instruction: only '#' lines are comments.
        if keyword == _COMMENT and masked[start].lstrip().startswith("#"):
            continue
        located.append(Located(keyword, start, entry["endline"]))
    return located


def build_instructions(scan: Prescan, located: list[Located]) -> list[Instruction]:
    """``Instruction``s for the located spans, with BuildKit's logical lines and heredocs."""
    line_starts, text_end = scan.source.line_starts, len(scan.source.text)
    instructions: list[Instruction] = []
    claimed: set[int] = set()
    stage = -1
    free = 0  # first line after the previous instruction
    for index, (keyword, start, end) in enumerate(located):
        if free < start:
            _check_gap(scan, free, start)
        cached = scan.joined.get(start)
        if cached is not None and cached[0] == end:
            _, logical, comment_lines, head = cached
        else:
            logical, comment_lines = scan.join_logical(start, end)
            head = read_head(logical.text, scan.escape)
        if head.first_word.upper() != keyword:
            raise scan.error(f"cannot read the instruction on line {start + 1} the way BuildKit does "
                             f"({keyword} vs {head.first_word!r}); refusing to guess", start + 1,
                             hint="this is a dockerlock bug; please report it with the file")
        heredocs = scan.heredocs.get(end, ())
        if heredocs:
            if not head.takes_heredocs:
                raise scan.disagreement(start, end, end + 1)
            claimed.add(end)
        last = heredocs[-1].terminator_line - 1 if heredocs else end
        free = last + 1
        if keyword == "FROM":
            stage += 1
        span = Span(line_starts[start], line_starts[last + 1] if last + 1 < len(line_starts) else text_end)
        # Positional, in field order: every instruction of every parse is built here, and keyword
        # arguments make a frozen dataclass's construction twice as slow.
        instructions.append(Instruction(index, keyword, start + 1, last + 1, span, logical, head.args_start,
                                        head.flags, head.body_start, head.exec_args, heredocs, comment_lines,
                                        stage))
    _check_gap(scan, free, len(scan.lines))
    if len(claimed) != len(scan.heredocs):
        orphan = min(set(scan.heredocs) - claimed)
        raise scan.error(f"cannot tell which instruction the heredoc after line {orphan + 1} belongs to; "
                         "refusing to guess", orphan + 1,
                         hint="this is a dockerlock bug; please report it with the file")
    return instructions


def _check_gap(scan: Prescan, first: int, stop: int) -> None:
    """Between located instructions only comment and blank lines may remain: with the
    checks in ``join_logical``, the located spans then cover the file as BuildKit's do."""
    for i in range(first, stop):
        if not is_skipped(scan.lines[i]):
            raise scan.error(f"cannot tell which instruction line {i + 1} belongs to; refusing to guess",
                             i + 1, hint="this is a dockerlock bug; please report it with the file")
