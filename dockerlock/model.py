"""The lossless Dockerfile model: stages and instructions with exact source spans.

How instructions are found
--------------------------
``dockerfile-parse`` locates instructions, but it gets several BuildKit rules wrong
(see ``../shared/notes/FACTS.md``): heredoc bodies come back as bogus instructions, a
blank line inside a continuation ends the instruction early, and a backslash followed
by trailing spaces is not a continuation. So we first run our own pre-scan, which
follows BuildKit's parser line by line (directives, escape character, comment and blank
lines inside continuations, heredocs), and feed ``dockerfile-parse`` a *masked* copy
of the text, same line count, where the lines it would misread are neutralised.
Where the two still disagree on an instruction's lines, the pre-scan wins (it is
BuildKit's reading) and the correction is recorded in ``Dockerfile.corrections``.

Nothing here re-serialises an instruction: every instruction keeps its span into
``Source.text``, and edits splice that text (``dockerlock.edits``).
"""

from __future__ import annotations

import bisect
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property

from dockerlock.diagnostics import DockerfileSyntaxError
from dockerlock.source import Source, Span
from dockerlock.words import RawWord, expand, split_words, unquote

# BuildKit: ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$  (only at the very top).
_DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
_KNOWN_DIRECTIVES = {"syntax", "escape", "check"}
# BuildKit's heredoc word: optional fd, <<, optional -, then a word without '<'.
_HEREDOC_WORD = re.compile(r"^(\d*)<<(-?)([^<]*)$")
KEYWORDS = frozenset({"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
                      "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
                      "WORKDIR"})
HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
EXEC_FORM_KEYWORDS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME",
                                "HEALTHCHECK"})


@dataclass(frozen=True)
class Directive:
    name: str  # lower-case
    value: str
    line: int


@dataclass(frozen=True)
class LogicalLine:
    """An instruction's text with continuations joined, as BuildKit sees it.

    Each piece of the logical text is a run of one source line: ``segments`` holds
    ``(logical start, source start)`` per piece, so any range of the logical text maps
    back to the exact source it came from (``source_offset``/``source_span``).
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


@dataclass(frozen=True)
class Flag:
    """An instruction flag such as ``--mount=type=cache,target=/root/.cache/pip``."""

    name: str  # without the leading dashes, lower-case
    value: str | None  # unquoted value, None for a bare ``--flag``
    raw: str
    start: int  # offsets into the instruction's logical text
    end: int

    def options(self) -> dict[str, str]:
        """Key/value pairs of a CSV-style flag value (``--mount``): ``{"type": "cache", ...}``."""
        result: dict[str, str] = {}
        for part in _split_csv(self.value or ""):
            key, sep, value = part.partition("=")
            result[key.strip().lower()] = value.strip() if sep else "true"
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


@dataclass(frozen=True)
class Heredoc:
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


@dataclass(frozen=True)
class Instruction:
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


@dataclass(frozen=True)
class Var:
    name: str
    kind: str  # "ARG" or "ENV"
    raw: str | None  # as written (None for ``ARG NAME`` without a default)
    value: str | None  # expanded value, None when unknown
    line: int


@dataclass
class Stage:
    index: int
    from_instruction: Instruction
    image: str  # as written
    image_expanded: str | None  # with global ARG defaults applied
    name: str | None
    platform: str | None
    parent: int | None  # index of the earlier stage this one is built FROM
    instructions: list[Instruction] = field(default_factory=list)

    @property
    def start_line(self) -> int:
        return self.from_instruction.start_line


class Dockerfile:
    """A parsed Dockerfile: directives, stages and instructions, all pointing into ``source``."""

    def __init__(self, source: Source, directives: tuple[Directive, ...], escape: str,
                 instructions: tuple[Instruction, ...], corrections: tuple[str, ...]) -> None:
        self.source = source
        self.directives = directives
        self.escape = escape
        self.instructions = instructions
        self.corrections = corrections
        self.cache: dict[object, object] = {}  # derived facts (e.g. parsed RUN commands), per model
        self.meta_args: dict[str, Var] = {}
        self.stages: list[Stage] = []
        self._build_stages()

    # -- construction -----------------------------------------------------------------
    @classmethod
    def parse(cls, source: Source, *, locate_with_dockerfile_parse: bool = True) -> "Dockerfile":
        """Parse ``source``; ``locate_with_dockerfile_parse=False`` skips the dockerfile-parse
        pass (used when re-parsing our own output, where only BuildKit's rules matter)."""
        return _Scanner(source, locate_with_dockerfile_parse).run()

    @classmethod
    def from_bytes(cls, data: bytes, path: str = "<input>") -> "Dockerfile":
        return cls.parse(Source.from_bytes(data, path))

    @classmethod
    def from_text(cls, text: str, path: str = "<input>") -> "Dockerfile":
        return cls.parse(Source.from_text(text, path))

    def _build_stages(self) -> None:
        names: dict[str, int] = {}
        for ins in self.instructions:
            if ins.keyword == "FROM":
                stage = self._make_stage(ins, names)
                self.stages.append(stage)
                if stage.name:
                    names[stage.name.lower()] = stage.index
                stage.instructions.append(ins)
            elif self.stages:
                self.stages[-1].instructions.append(ins)
            elif ins.keyword == "ARG":
                for var in _parse_arg(ins, self.escape, {k: v.value for k, v in self.meta_args.items()}):
                    self.meta_args[var.name] = var

    def _make_stage(self, ins: Instruction, names: dict[str, int]) -> Stage:
        words = split_words(ins.logical.text, ins.body_start, escape=self.escape)
        image = words[0].raw if words else ""
        name = None
        if len(words) >= 3 and words[1].raw.lower() == "as":
            name = words[2].raw
        meta = {k: v.value for k, v in self.meta_args.items()}
        image_expanded = expand(image, meta, self.escape) if image else None
        platform_flag = ins.flag("platform")
        parent = names.get((image_expanded or image).lower())
        return Stage(index=len(self.stages), from_instruction=ins, image=image,
                     image_expanded=image_expanded, name=name,
                     platform=platform_flag.value if platform_flag else None, parent=parent)

    # -- queries ----------------------------------------------------------------------
    def stage_of(self, ins: Instruction) -> Stage | None:
        return self.stages[ins.stage] if ins.stage >= 0 else None

    def stage_named(self, name: str) -> Stage | None:
        lowered = name.lower()
        for stage in self.stages:
            if stage.name and stage.name.lower() == lowered:
                return stage
        if lowered.isdigit() and int(lowered) < len(self.stages):
            return self.stages[int(lowered)]
        return None

    def scope_at(self, ins: Instruction) -> dict[str, Var]:
        """ARG/ENV variables in scope *before* ``ins`` runs (values unexpanded in ``raw``)."""
        if ins.stage < 0:
            return {k: v for k, v in self.meta_args.items() if v.line < ins.start_line}
        return dict(self._stage_scopes[ins.stage][ins.index])

    def values_at(self, ins: Instruction) -> dict[str, str | None]:
        return {k: v.value for k, v in self.scope_at(ins).items()}

    def expand_at(self, ins: Instruction, raw: str) -> str | None:
        """Expand ARG/ENV references in ``raw`` as BuildKit would at ``ins``; None if unknown."""
        return expand(raw, self.values_at(ins), self.escape)

    def workdir_at(self, ins: Instruction) -> str | None:
        """Working directory in effect at ``ins``; None when only the base image knows it."""
        return self._workdirs[ins.index]

    @cached_property
    def _stage_scopes(self) -> list[dict[int, dict[str, Var]]]:
        scopes: list[dict[int, dict[str, Var]]] = []
        finals: list[dict[str, Var]] = []
        meta = {k: v.value for k, v in self.meta_args.items()}
        for stage in self.stages:
            current: dict[str, Var] = {}
            if stage.parent is not None:
                # ENV is part of the parent image's config; ARGs do not cross stages.
                current = {k: v for k, v in finals[stage.parent].items() if v.kind == "ENV"}
            per_ins: dict[int, dict[str, Var]] = {}
            for ins in stage.instructions:
                per_ins[ins.index] = dict(current)
                if ins.keyword == "ARG":
                    values = {k: v.value for k, v in current.items()}
                    for var in _parse_arg(ins, self.escape, values):
                        if var.raw is None and var.name in self.meta_args:
                            var = Var(var.name, "ARG", None, meta.get(var.name), var.line)
                        current[var.name] = var
                elif ins.keyword == "ENV":
                    values = {k: v.value for k, v in current.items()}
                    for var in _parse_env(ins, self.escape, values):
                        current[var.name] = var
            scopes.append(per_ins)
            finals.append(current)
        return scopes

    @cached_property
    def _workdirs(self) -> dict[int, str | None]:
        result: dict[int, str | None] = {}
        finals: list[str | None] = []
        for stage in self.stages:
            current = finals[stage.parent] if stage.parent is not None else None
            for ins in stage.instructions:
                result[ins.index] = current
                if ins.keyword == "WORKDIR":
                    target = self.expand_at(ins, ins.body.strip())
                    if target is None:
                        current = None
                    elif target.startswith("/"):
                        current = _normpath(target)
                    elif current is not None:
                        current = _normpath(current.rstrip("/") + "/" + target)
                    else:
                        current = None
            finals.append(current)
        for ins in self.instructions:
            result.setdefault(ins.index, None)
        return result

    # -- rendering helpers ------------------------------------------------------------
    def render_lines(self, lines: list[str]) -> str:
        """Join generated lines with the file's line ending (each line terminated)."""
        eol = self.source.eol
        return "".join(line + eol for line in lines)


def _normpath(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def _parse_arg(ins: Instruction, escape: str, values: dict[str, str | None]) -> Iterator[Var]:
    for word in split_words(ins.logical.text, ins.body_start, escape=escape):
        name, sep, raw = word.raw.partition("=")
        if not name:
            continue
        if sep:
            yield Var(name, "ARG", raw, expand(raw, values, escape), ins.start_line)
        else:
            yield Var(name, "ARG", None, None, ins.start_line)


def _parse_env(ins: Instruction, escape: str, values: dict[str, str | None]) -> Iterator[Var]:
    words = split_words(ins.logical.text, ins.body_start, escape=escape)
    if not words:
        return
    if "=" not in words[0].raw:
        # Legacy ``ENV NAME value with spaces``.
        rest = ins.logical.text[words[1].start:] if len(words) > 1 else ""
        yield Var(words[0].raw, "ENV", rest, expand(rest.strip(), values, escape), ins.start_line)
        return
    local = dict(values)
    for word in words:
        name, sep, raw = word.raw.partition("=")
        if not sep or not name:
            continue
        value = expand(raw, local, escape)
        yield Var(name, "ENV", raw, value, ins.start_line)
    # Note: BuildKit expands every pair of one ENV against the env *before* it.


class _Scanner:
    """BuildKit's line rules over ``Source``; see the module docstring."""

    def __init__(self, source: Source, locate_with_dockerfile_parse: bool = True) -> None:
        self.source = source
        self.locate = locate_with_dockerfile_parse
        lines = source.text.split("\n")
        if source.final_newline:
            lines.pop()
        self.lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        self.escape = "\\"
        self.directives: list[Directive] = []

    def error(self, reason: str, line: int, hint: str | None = None) -> DockerfileSyntaxError:
        return DockerfileSyntaxError(reason, self.source.path, line, hint)

    def run(self) -> Dockerfile:
        lines = self.lines
        n = len(lines)
        i = self._directives()
        cont = re.compile(re.escape(self.escape) + r"[ \t]*$")
        # masked lines handed to dockerfile-parse (same count, same numbering)
        masked = list(lines)
        instructions: list[Instruction] = []
        stage = -1
        while i < n:
            line = lines[i]
            stripped = line.lstrip(" \t")
            if not stripped.strip() or stripped.startswith("#"):
                i += 1
                continue
            first = i
            pieces: list[tuple[int, int, int]] = []  # (line index, start col, end col)
            comment_lines: list[int] = []
            col = len(line) - len(stripped)
            m = cont.search(line, col)
            if m is None:
                pieces.append((i, col, len(line)))
                i += 1
            else:
                pieces.append((i, col, m.start()))
                masked[i] = line[:m.start() + 1]
                i += 1
                while True:
                    if i >= n:
                        raise self.error("line continuation at end of file: the last instruction "
                                         f"ends with the escape character '{self.escape}'", first + 1,
                                         hint="remove the trailing escape character or finish the instruction")
                    nxt = lines[i]
                    if nxt.lstrip(" \t").startswith("#"):
                        comment_lines.append(i + 1)
                        i += 1
                        continue
                    if not nxt.strip(" \t"):
                        masked[i] = "#"  # dockerfile-parse would end the instruction here
                        i += 1
                        continue
                    m = cont.search(nxt)
                    if m is None:
                        pieces.append((i, 0, len(nxt)))
                        i += 1
                        break
                    pieces.append((i, 0, m.start()))
                    masked[i] = nxt[:m.start() + 1]
                    i += 1
            last = i - 1
            ins, i = self._instruction(len(instructions), pieces, comment_lines, first, last, i, masked, stage)
            if ins.keyword == "FROM":
                ins = replace(ins, stage=stage + 1)
                stage += 1
            instructions.append(ins)
        if not instructions:
            raise self.error("file has no instructions (only comments or blank lines)", 1)
        corrections = self._cross_check(masked, instructions) if self.locate else []
        dockerfile = Dockerfile(self.source, tuple(self.directives), self.escape,
                                tuple(instructions), tuple(corrections))
        if not dockerfile.stages:
            raise self.error("no FROM instruction: a Dockerfile must start a stage with FROM",
                             instructions[0].start_line)
        first_non_arg = next((x for x in instructions if x.keyword != "ARG"), None)
        if first_non_arg is not None and first_non_arg.keyword != "FROM":
            raise self.error(f"{first_non_arg.keyword} before the first FROM: only ARG may come "
                             "before FROM", first_non_arg.start_line)
        return dockerfile

    def _directives(self) -> int:
        i = 0
        seen: set[str] = set()
        while i < len(self.lines):
            m = _DIRECTIVE.match(self.lines[i])
            if not m:
                break
            name = m.group(1).lower()
            if name not in _KNOWN_DIRECTIVES:
                break
            if name in seen:
                raise self.error(f"only one '{name}' parser directive can be used", i + 1)
            seen.add(name)
            value = m.group(2)
            if name == "escape":
                if value not in ("\\", "`"):
                    raise self.error(f"invalid escape token '{value}': it must be '\\' or '`'", i + 1)
                self.escape = value
            self.directives.append(Directive(name, value, i + 1))
            i += 1
        return i

    def _instruction(self, index: int, pieces: list[tuple[int, int, int]], comment_lines: list[int],
                     first: int, last: int, next_line: int, masked: list[str],
                     stage: int) -> tuple[Instruction, int]:
        starts = self.source.line_starts
        chars: list[str] = []
        segments: list[tuple[int, int]] = []
        length = 0
        for line_idx, a, b in pieces:
            if b > a:
                segments.append((length, starts[line_idx] + a))
                chars.append(self.lines[line_idx][a:b])
                length += b - a
        text = "".join(chars)
        logical = LogicalLine(text, tuple(segments))
        m = re.match(r"\S+", text)
        keyword = m.group(0).upper() if m else ""
        args_start = m.end() if m else 0
        while args_start < len(text) and text[args_start] in " \t":
            args_start += 1
        flags, body_start = self._flags(text, args_start)
        exec_args = None
        if keyword in EXEC_FORM_KEYWORDS:
            exec_args = _maybe_json(text[body_start:])
        heredocs: list[Heredoc] = []
        if keyword in HEREDOC_KEYWORDS and exec_args is None and "<<" in text:
            heredocs, next_line = self._heredocs(text, next_line, first, masked)
            if heredocs:
                last = heredocs[-1].terminator_line - 1
        span = self.source.lines_span(first + 1, last + 1)
        ins = Instruction(index=index, keyword=keyword, start_line=first + 1, end_line=last + 1,
                          span=span, logical=logical, args_start=args_start, flags=tuple(flags),
                          body_start=body_start, exec_args=exec_args, heredocs=tuple(heredocs),
                          comment_lines=tuple(comment_lines), stage=stage)
        return ins, next_line

    def _flags(self, text: str, start: int) -> tuple[list[Flag], int]:
        flags: list[Flag] = []
        body_start = start
        if not text.startswith("--", start):
            return flags, body_start
        for word in split_words(text, start, escape=self.escape):
            if not word.raw.startswith("--") or len(word.raw) == 2:
                break
            name, sep, value = word.raw[2:].partition("=")
            flags.append(Flag(name.lower(), unquote(value, self.escape) if sep else None,
                              word.raw, word.start, word.end))
            body_start = word.end
            while body_start < len(text) and text[body_start] in " \t":
                body_start += 1
        return flags, body_start

    def _heredocs(self, text: str, next_line: int, first: int,
                  masked: list[str]) -> tuple[list[Heredoc], int]:
        found: list[tuple[RawWord, re.Match[str]]] = []
        # BuildKit splits the whole line with a backslash lexer (raw quotes) to find them.
        for word in split_words(text, 0, escape="\\"):
            m = _HEREDOC_WORD.match(word.raw)
            if m and m.group(3):
                found.append((word, m))
        heredocs: list[Heredoc] = []
        i = next_line
        for word, m in found:
            rest = m.group(3)
            name = unquote(rest, "\\")
            if not name or len(split_words(name)) != 1:
                continue
            quoted = any(q in rest for q in "'\"")
            chomp = m.group(2) == "-"
            body_first = i
            while True:
                if i >= len(self.lines):
                    raise self.error(f"unterminated heredoc '<<{'-' if chomp else ''}{rest}': no line "
                                     f"'{name}' closes it", first + 1,
                                     hint=f"add a line containing only {name}")
                candidate = self.lines[i]
                if chomp:
                    candidate = candidate.lstrip("\t")
                masked[i] = "#"
                if candidate == name:
                    break
                i += 1
            body_span = Span(self.source.line_starts[body_first], self.source.line_starts[i])
            heredocs.append(Heredoc(name=name, chomp=chomp, expand=not quoted,
                                    fd=int(m.group(1)) if m.group(1) else None,
                                    body=self.source.text[body_span.start:body_span.end],
                                    body_span=body_span, word_start=word.start, word_end=word.end,
                                    first_line=body_first + 1, terminator_line=i + 1))
            i += 1
        return heredocs, i

    def _cross_check(self, masked: list[str], instructions: list[Instruction]) -> list[str]:
        """Let dockerfile-parse locate instructions on the masked text; note disagreements."""
        from dockerfile_parse import DockerfileParser

        data = "\n".join(masked).encode("utf-8") + b"\n"
        parser = DockerfileParser(fileobj=io.BytesIO(data), env_replace=False)
        located = [(s["startline"] + 1, s["endline"] + 1, s["instruction"])
                   for s in parser.structure if s["instruction"] != "COMMENT"]
        by_start = {start: (end, kw) for start, end, kw in located}
        corrections: list[str] = []
        for ins in instructions:
            hit = by_start.get(ins.start_line)
            body_end = ins.heredocs[0].first_line - 1 if ins.heredocs else ins.end_line
            if hit is None:
                corrections.append(f"line {ins.start_line}: dockerfile-parse missed {ins.keyword}")
            elif hit[0] != body_end or hit[1].upper() != ins.keyword:
                corrections.append(f"line {ins.start_line}: dockerfile-parse read {hit[1]} "
                                   f"{ins.start_line}-{hit[0]}, BuildKit reads {ins.keyword} "
                                   f"{ins.start_line}-{body_end}")
        if len(located) != len(instructions):
            corrections.append(f"dockerfile-parse found {len(located)} instructions, "
                               f"BuildKit rules give {len(instructions)}")
        return corrections


def _maybe_json(body: str) -> tuple[str, ...] | None:
    stripped = body.strip()
    if not stripped.startswith("["):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return tuple(value)
    return None
