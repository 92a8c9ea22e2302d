"""Split a RUN's shell script into simple commands, with tree-sitter-bash as the one parser.

The Dockerfile model hands this module the *logical* script of one RUN instruction
(continuations joined, comment lines dropped) or a heredoc body.  Every offset
returned here is an index into that exact string, because the model maps offsets back
to source bytes and rewrites text by span: an offset that is off by one corrupts a
user's Dockerfile.  Hence the invariant the tests prove: ``script[w.start:w.end] ==
w.raw`` for every word and ``script[c.start:c.end] == c.raw`` for every command.

tree-sitter recovers from syntax errors silently; a tree with an ERROR or MISSING node
raises ``ShellParseError`` so the caller refuses the stanza instead of half reading it.
Two readings of the grammar are corrected here, both with a test:

* ``A=1 B=2<newline>cmd`` comes back as one command; the shell ends the first command
  at the newline, so a command is split wherever a bare newline separates its parts;
* ``ab\\<newline>cd`` comes back as two words; a line continuation joins them.

A gap inside a command that holds anything but blanks, continuations or comments
means the grammar skipped text: that raises too.  Quote removal is in ``words``.

Known simplifications: ``time`` is an ordinary command word (a wrapper); ``(( ))``
and function names are not commands; only the words of ``[[ ]]``/``[ ]`` are kept.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence, TYPE_CHECKING

from dockerlock.shell.words import (
    Lit,
    Part,
    ShellParseError,
    Spans,
    Subst,
    Word,
    decode_heredoc,
    decode_word,
    make_word,
)

if TYPE_CHECKING:  # tree-sitter is imported on first parse: `dockerlock --version` stays fast
    from tree_sitter import Node

__all__ = ["Redirect", "SimpleCommand", "Script", "parse_script"]


class Redirect(NamedTuple):
    """One redirection: ``op`` (``>``, ``2>&1`` is op ``>&`` with fd 2...), its target and heredoc body."""

    op: str
    fd: int | None
    target: Word | None
    start: int
    end: int
    heredoc: Word | None = None  # body of << / <<- (span excludes the delimiter line)


class SimpleCommand(NamedTuple):
    """One simple command: ``[assignments] [words] [redirects]`` and its neighbours.

    ``operator_before``/``operator_after`` are the list operators joining this command
    to its siblings in the same list (``&&``, ``||``, ``;``, ``|``, ``|&``, ``&``,
    ``\\n``); None at the edges of a list.  A trailing ``;`` or ``&`` is reported, a
    trailing newline is not.  ``depth`` counts enclosing subshells, brace groups,
    if/loops/case, functions and substitutions.
    """

    start: int
    end: int
    raw: str
    words: tuple[Word, ...]
    assignments: tuple[Word, ...]
    redirects: tuple[Redirect, ...]
    operator_before: str | None
    operator_after: str | None
    operator_before_span: tuple[int, int] | None
    operator_after_span: tuple[int, int] | None
    depth: int

    @property
    def in_compound(self) -> bool:
        return self.depth > 0

    @property
    def has_redirects(self) -> bool:
        return bool(self.redirects)

    @property
    def name(self) -> Word | None:
        return self.words[0] if self.words else None

    @property
    def argv(self) -> tuple[str | None, ...]:
        """Static values of the words (None where a word is dynamic)."""
        return tuple(w.value for w in self.words)


class Script(NamedTuple):
    """The simple commands of a script, in source order, nested ones included."""

    text: str
    commands: tuple[SimpleCommand, ...]

    @property
    def top_level(self) -> tuple[SimpleCommand, ...]:
        return tuple(c for c in self.commands if c.depth == 0)


# -- the parser, created once -------------------------------------------------------------
@functools.cache
def _engine():
    import tree_sitter_bash
    from tree_sitter import Language, Parser, Query, QueryCursor

    language = Language(tree_sitter_bash.language())
    spans = Query(language, "[(command_substitution) (process_substitution) (arithmetic_expansion)"
                            " (expansion)] @span")
    return Parser(language), QueryCursor(spans)


@functools.lru_cache(maxsize=4096)
def parse_script(script: str) -> Script:
    """Split a shell script into its simple commands (see the module docstring).

    Memoised: the result is immutable and depends only on the text, and migrate parses
    the same RUN bodies again when it re-plans its own output to prove stability.
    """
    parser, span_query = _engine()
    data = script.encode("utf-8", "surrogatepass")
    tree = parser.parse(data)
    root = tree.root_node
    to_char = _char_offsets(script, data)
    if root.has_error:
        raise _syntax_error(root, data, to_char)
    spans: dict[int, tuple[int, str]] = {}
    if "$" in script or "`" in script or "(" in script:
        for node in span_query.captures(root).get("span", ()):
            spans[to_char(node.start_byte)] = (to_char(node.end_byte), node.type)
    builder = _Builder(script, to_char, spans)
    builder.sequence(root.children, 0)
    commands = tuple(sorted((d.freeze(script) for d in builder.drafts), key=lambda c: c.start))
    return Script(text=script, commands=commands)


def _char_offsets(text: str, data: bytes) -> Callable[[int], int]:
    """Byte offset -> character offset (the identity for ASCII text)."""
    if len(data) == len(text):
        return int
    table = [0] * (len(data) + 1)
    b = 0
    for i, ch in enumerate(text):
        width = len(ch.encode("utf-8", "surrogatepass"))
        for k in range(width):
            table[b + k] = i
        b += width
    table[b] = len(text)
    return table.__getitem__


def _syntax_error(root: "Node", data: bytes, to_char: Callable[[int], int]) -> ShellParseError:
    node = root
    while True:
        if node.is_missing:
            return ShellParseError(f"missing {node.type!r}", to_char(node.start_byte))
        if node.type == "ERROR":
            text = data[node.start_byte:node.end_byte].decode("utf-8", "replace")
            snippet = text if len(text) <= 30 else text[:27] + "..."
            return ShellParseError(f"cannot parse the shell text at {snippet!r}", to_char(node.start_byte))
        bad = [c for c in node.children if c.has_error or c.is_missing or c.type == "ERROR"]
        if not bad:
            return ShellParseError("cannot parse the shell text", to_char(node.start_byte))
        node = bad[0]


# -- building commands --------------------------------------------------------------------
_COMPOUNDS = frozenset({"subshell", "compound_statement", "if_statement", "while_statement", "for_statement",
                        "c_style_for_statement", "case_statement", "function_definition"})
_SIMPLE = frozenset({"command", "variable_assignment", "variable_assignments", "declaration_command",
                     "unset_command", "test_command"})
_STATEMENTS = _COMPOUNDS | _SIMPLE | {"redirected_statement", "list", "pipeline", "negated_command"}
_DEEPER = _COMPOUNDS | {"command_substitution", "process_substitution"}
_LIST_OPERATORS = frozenset({";", "&", "&&", "||", "|", "|&"})
_REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})
_BARE_NEWLINE = re.compile(r"(?<!\\)\n")
_GAP_OK = re.compile(r"(?:[ \t]|\\\n)*")
_CONTINUATIONS = re.compile(r"(?:\\\n)*")
_PLAIN_WORD = re.compile(r"[^\s'\"\\$`~*?\[{|&;<>()]+")
_TEST_OPERATORS = frozenset({"&&", "||", "!", "(", ")", "<", ">"})


class _Draft:
    """A SimpleCommand under construction: the list operators are linked after it is built."""

    __slots__ = ("start", "end", "words", "assignments", "redirects", "depth", "before", "after")

    def __init__(self, start: int, end: int, words: tuple[Word, ...], assignments: tuple[Word, ...],
                 redirects: tuple[Redirect, ...], depth: int) -> None:
        self.start, self.end, self.depth = start, end, depth
        self.words, self.assignments, self.redirects = words, assignments, redirects
        self.before: tuple[str, int, int] | None = None
        self.after: tuple[str, int, int] | None = None

    def freeze(self, s: str) -> SimpleCommand:
        b, a = self.before, self.after
        return SimpleCommand(self.start, self.end, s[self.start:self.end], self.words, self.assignments,
                             self.redirects, b[0] if b else None, a[0] if a else None,
                             (b[1], b[2]) if b else None, (a[1], a[2]) if a else None, self.depth)


@dataclass(slots=True)
class _Item:
    """One element of a list: a simple command, or a compound command (``command`` None)."""

    command: _Draft | None
    start: int
    end: int  # where a following newline separator is searched from


_Op = tuple[str, int, int]


class _Link:
    """Sets ``before``/``after`` along one list of items and operators."""

    __slots__ = ("s", "last", "pending")

    def __init__(self, s: str) -> None:
        self.s = s
        self.last: _Item | None = None
        self.pending: _Op | None = None

    def item(self, item: _Item) -> None:
        last = self.last
        if last is not None and self.pending is None:
            m = _BARE_NEWLINE.search(self.s, last.end, item.start)
            if m is not None:  # a newline separates them; reported only between two items
                self.pending = ("\n", m.start(), m.end())
                if last.command is not None:
                    last.command.after = self.pending
        if self.pending is not None and item.command is not None:
            item.command.before = self.pending
        self.last, self.pending = item, None

    def operator(self, op: _Op) -> None:
        if self.last is None:
            return  # e.g. the ';' closing a for-list: it joins no commands
        if self.last.command is not None:
            self.last.command.after = op
        self.pending = op

    def reset(self) -> None:
        """A reserved word or bracket intervenes: the next command has no operator before it."""
        self.last = self.pending = None


class _Builder:
    def __init__(self, s: str, to_char: Callable[[int], int], spans: Spans) -> None:
        self.s = s
        self.pos = to_char
        self.spans = spans
        # Where command and process substitutions start: a word without one holds no command.
        self.code_starts = sorted(start for start, (_end, kind) in spans.items()
                                  if kind in ("command_substitution", "process_substitution"))
        self.drafts: list[_Draft] = []

    # -- walking ----------------------------------------------------------------------
    def sequence(self, children: Sequence["Node"], depth: int) -> None:
        """Link the statements among ``children`` and walk everything else for substitutions."""
        link = _Link(self.s)
        for child in children:
            kind = child.type
            if kind in _STATEMENTS:
                for element in self.flatten(child, depth):
                    if isinstance(element, _Item):
                        link.item(element)
                    else:
                        link.operator(element)
            elif kind in _LIST_OPERATORS and not child.is_named:
                link.operator((kind, self.pos(child.start_byte), self.pos(child.end_byte)))
            elif kind != "comment":
                link.reset()
                self.visit(child, depth)

    def holds_code(self, node: "Node") -> bool:
        starts = self.code_starts
        if not starts:
            return False
        i = bisect.bisect_left(starts, self.pos(node.start_byte))
        return i < len(starts) and starts[i] < self.pos(node.end_byte)

    def visit(self, node: "Node", depth: int) -> None:
        """Find the commands nested in a node that is not itself a statement."""
        if node.child_count:
            self.sequence(node.children, depth + 1 if node.type in _DEEPER else depth)

    def arithmetic(self, node: "Node", depth: int) -> None:
        """``(( ))`` and ``for ((;;))``: no commands in the expressions, only in substitutions and the body."""
        for child in node.children:
            if child.type == "do_group":
                self.visit(child, depth)
            elif child.type in ("command_substitution", "process_substitution"):
                self.visit(child, depth)
            elif child.child_count:
                self.arithmetic(child, depth)

    def flatten(self, node: "Node", depth: int) -> list[_Item | _Op]:
        """A statement as the items and operators it adds to the enclosing list."""
        kind = node.type
        if kind in _SIMPLE:
            return self.simple(node, depth, ())
        if kind in _COMPOUNDS:
            if kind == "c_style_for_statement" or (kind == "compound_statement" and node.child_count
                                                    and node.children[0].type == "(("):
                self.arithmetic(node, depth + 1)
            else:
                self.visit(node, depth)
            return [_Item(None, self.pos(node.start_byte), self.pos(node.end_byte))]
        if kind == "redirected_statement":
            return self.redirected(node, depth)
        out: list[_Item | _Op] = []
        for child in node.children:  # list, pipeline, negated_command
            if child.type in _STATEMENTS:
                out.extend(self.flatten(child, depth))
            elif child.type in _LIST_OPERATORS and not child.is_named:
                out.append((child.type, self.pos(child.start_byte), self.pos(child.end_byte)))
            elif child.type not in ("!", "comment"):
                self.visit(child, depth)
        return out

    def redirected(self, node: "Node", depth: int) -> list[_Item | _Op]:
        """``body > target``; a heredoc's node also holds the rest of its line (``&& b``, ``| c``)."""
        body = node.child_by_field_name("body")
        redirects: list[Redirect] = []
        rest_of_line: list[_Item | _Op] = []
        for child in node.children:
            if body is not None and child.id == body.id:
                continue
            if child.type == "heredoc_redirect":
                redirects.extend(self.heredoc(child, depth, rest_of_line))
            elif child.type in _REDIRECTS:
                redirects.append(self.redirect(child, depth))
            elif child.type != "comment":
                self.visit(child, depth)
        if body is None:  # `> file` alone: a command of redirects only
            if not redirects:
                return rest_of_line
            head = self._draft(min(r.start for r in redirects), max(r.end for r in redirects), (), (),
                               tuple(sorted(redirects, key=lambda r: r.start)), depth)
            return [_Item(head, head.start, head.end)] + rest_of_line
        if body.type in ("command", "variable_assignment", "variable_assignments"):
            return self.simple(body, depth, tuple(redirects)) + rest_of_line
        elements = self.flatten(body, depth)
        if redirects and body.type not in _COMPOUNDS:
            self._attach(elements, redirects)
        return elements + rest_of_line

    def _attach(self, elements: list[_Item | _Op], redirects: list[Redirect]) -> None:
        """tree-sitter-bash hangs ``b > f`` of ``a && b > f`` on the whole list; the shell gives
        the redirect to the last command (a compound command keeps its own)."""
        last = elements[-1] if elements else None
        if not isinstance(last, _Item) or last.command is None:
            return
        draft = last.command
        first = min(r.start for r in redirects)
        if first < draft.end or _GAP_OK.fullmatch(self.s, draft.end, first) is None:
            raise ShellParseError("a redirection the shell grammar places apart from its command", first)
        draft.redirects = tuple(sorted(draft.redirects + tuple(redirects), key=lambda r: r.start))
        draft.end = last.end = max(draft.end, max(r.end for r in redirects))

    # -- simple commands ----------------------------------------------------------------
    def simple(self, node: "Node", depth: int, extra: tuple[Redirect, ...]) -> list[_Item | _Op]:
        """One command node as one or more simple commands (split at bare newlines)."""
        s, pos = self.s, self.pos
        children = [node] if node.type == "variable_assignment" else node.children
        segments: list[list["Node"]] = [[]]
        breaks: list[_Op] = []
        prev_end = -1
        for child in children:
            start = pos(child.start_byte)
            if start > prev_end >= 0 and (start - prev_end > 1 or s[prev_end] != " "):
                gap = s[prev_end:start]
                m = _BARE_NEWLINE.search(gap)
                if m is not None:
                    segments.append([])
                    breaks.append(("\n", prev_end + m.start(), prev_end + m.end()))
                elif _GAP_OK.fullmatch(gap) is None:
                    raise ShellParseError(f"the shell grammar skipped {gap.strip()!r}", prev_end)
            prev_end = pos(child.end_byte)
            if child.type != "comment":
                segments[-1].append(child)
        if len(segments) == 1:
            draft = self._command(node.type, segments[0], depth, extra)
            return [_Item(draft, draft.start, draft.end)] if draft is not None else []
        out: list[_Item | _Op] = []
        for index, segment in enumerate(segments):
            if index:
                out.append(breaks[index - 1])
            last = index == len(segments) - 1
            draft = self._command(node.type, segment, depth, extra if last else ())
            if draft is not None:
                out.append(_Item(draft, draft.start, draft.end))
        return out

    def _command(self, kind: str, nodes: list["Node"], depth: int,
                 extra: tuple[Redirect, ...]) -> _Draft | None:
        assignments: list[Word] = []
        redirects: list[Redirect] = []
        atoms: list[tuple[int, int, Word | None]] = []  # word spans (merged below) or ready words
        lenient = kind == "test_command"
        pos = self.pos
        for child in nodes:
            kind_ = child.type
            if kind_ == "word" or kind_ == "command_name":
                atoms.append((pos(child.start_byte), pos(child.end_byte), None))
            elif kind_ == "variable_assignment":
                word = self.assignment(child)
                if atoms:  # `export A=1`: an argument that looks like an assignment
                    atoms.append((word.start, word.end, word))
                else:
                    assignments.append(word)
            elif kind_ in _REDIRECTS:
                if kind_ == "heredoc_redirect":
                    redirects.extend(self.heredoc(child, depth, None))
                else:
                    redirects.append(self.redirect(child, depth))
                continue
            elif lenient:
                self._test_atoms(child, atoms)
            else:
                atoms.append((pos(child.start_byte), pos(child.end_byte), None))
            if child.child_count and self.holds_code(child):
                self.visit(child, depth)
        words = self._merge(atoms, lenient)
        if extra:
            redirects.extend(extra)
        if redirects:
            redirects.sort(key=lambda r: r.start)
        first = [x for x in (assignments[:1], words[:1], redirects[:1]) if x]
        if not first:
            return None
        start = min(x[0].start for x in first)
        end = max(max((w.end for w in words), default=-1), max((a.end for a in assignments), default=-1),
                  max((r.end for r in redirects), default=-1))
        return self._draft(start, end, tuple(words), tuple(assignments), tuple(redirects), depth)

    def _draft(self, start: int, end: int, words: tuple[Word, ...], assignments: tuple[Word, ...],
               redirects: tuple[Redirect, ...], depth: int) -> _Draft:
        draft = _Draft(start, end, words, assignments, redirects, depth)
        self.drafts.append(draft)
        return draft

    def _merge(self, atoms: list[tuple[int, int, Word | None]], lenient: bool) -> list[Word]:
        """Adjacent pieces are one shell word (``$"x"``, ``ab\\<newline>cd``)."""
        s = self.s
        merged: list[list] = []
        for a, b, ready in atoms:
            if merged and ready is None and merged[-1][2] is None and merged[-1][1] <= a and \
                    (a == merged[-1][1] or s[merged[-1][1]] == "\\") and _CONTINUATIONS.fullmatch(s, merged[-1][1], a):
                merged[-1][1] = b
            else:
                merged.append([a, b, ready])
        return [ready if ready is not None else self.word(a, b, lenient) for a, b, ready in merged]

    def _test_atoms(self, node: "Node", atoms: list[tuple[int, int, Word | None]]) -> None:
        """The words of ``[[ ... ]]``: leaves, and word-like nodes taken whole."""
        if node.child_count == 0 or node.type in ("string", "raw_string", "concatenation", "expansion",
                                                   "simple_expansion", "command_substitution",
                                                   "arithmetic_expansion", "ansi_c_string",
                                                   "translated_string", "process_substitution"):
            atoms.append((self.pos(node.start_byte), self.pos(node.end_byte), None))
            return
        for child in node.children:
            self._test_atoms(child, atoms)

    # -- words, assignments, redirects ------------------------------------------------
    def word(self, start: int, end: int, lenient: bool = False) -> Word:
        raw = self.s[start:end]
        if _PLAIN_WORD.fullmatch(raw):  # most words: nothing to remove, expand or glob
            return Word(raw, start, end, raw, raw, parts=(Lit(raw, False, start, end, start),))
        if lenient and raw in _TEST_OPERATORS:
            return make_word(raw, start, end, (Lit(raw, True, start, end, start),))
        return make_word(raw, start, end, decode_word(self.s, start, end, self.spans, lenient=lenient))

    def assignment(self, node: "Node") -> Word:
        """``NAME=value`` as one word (value ``NAME=...``); assignments are not globbed or split."""
        start, end = self.pos(node.start_byte), self.pos(node.end_byte)
        value = node.child_by_field_name("value")
        if value is not None and value.type == "array":  # NAME=(a b): not read, treated as code
            head = self.pos(value.start_byte)
            parts: tuple[Part, ...] = (Lit(self.s[start:head], False, start, head, start),
                                       Subst("opaque", False, head, end, head, end))
        else:
            eq = self.s.index("=", start, end) + 1
            parts = (Lit(self.s[start:eq], False, start, eq, start),) + \
                decode_word(self.s, eq, end, self.spans, tilde=False)
        return make_word(self.s[start:end], start, end, parts, globbed=False)

    def redirect(self, node: "Node", depth: int) -> Redirect:
        fd: int | None = None
        op = ""
        target: tuple[int, int] | None = None
        for child in node.children:
            if child.type == "file_descriptor":
                fd = int(child.text)  # type: ignore[arg-type]
            elif not child.is_named and not op:
                op = child.type
            elif child.type != "comment":
                a, b = self.pos(child.start_byte), self.pos(child.end_byte)
                target = (target[0], b) if target is not None else (a, b)
            if self.holds_code(child):
                self.visit(child, depth)
        word = self.word(*target) if target is not None else None
        return Redirect(op, fd, word, self.pos(node.start_byte), self.pos(node.end_byte), None)

    def heredoc(self, node: "Node", depth: int, rest_of_line: list[_Item | _Op] | None) -> list[Redirect]:
        """``<<EOF``: the redirect, any redirects after it on the line, and the body as a Word.

        tree-sitter hangs the rest of the heredoc's line (``&& b``, ``| c``) under this
        node; those items go to ``rest_of_line`` for the enclosing list.
        """
        s, pos = self.s, self.pos
        fd: int | None = None
        op = ""
        start_node = end_node = body_node = None
        redirects: list[Redirect] = []
        for child in node.children:
            kind = child.type
            if kind == "file_descriptor":
                fd = int(child.text)  # type: ignore[arg-type]
            elif kind in ("<<", "<<-"):
                op = kind
            elif kind == "heredoc_start":
                start_node = child
            elif kind == "heredoc_body":
                body_node = child
            elif kind == "heredoc_end":
                end_node = child
            elif kind in _REDIRECTS:
                redirects.append(self.redirect(child, depth))
            elif rest_of_line is not None and (kind in _STATEMENTS or
                                               (kind in _LIST_OPERATORS and not child.is_named)):
                rest_of_line.extend(self.flatten(child, depth) if kind in _STATEMENTS else
                                    [(kind, pos(child.start_byte), pos(child.end_byte))])
            elif kind in _STATEMENTS or kind in _LIST_OPERATORS:
                raise ShellParseError("a command follows a heredoc inside a command", pos(child.start_byte))
        if start_node is None or end_node is None:
            raise ShellParseError("heredoc without a delimiter", pos(node.start_byte))
        a, b = pos(start_node.start_byte), pos(start_node.end_byte)
        delimiter = self.word(a, b)
        quoted = any(c in delimiter.raw for c in "'\"\\")
        # The body runs from the start of the line after the heredoc's line (tree-sitter
        # drops the leading tabs of a <<- body) to the start of the delimiter's line.
        body_end = s.rfind("\n", 0, pos(end_node.start_byte)) + 1
        first = pos(body_node.start_byte) if body_node is not None else body_end
        body_start = min(s.rfind("\n", 0, first) + 1, body_end) if first > b else body_end
        if body_node is not None:
            self.visit(body_node, depth)
        body = decode_heredoc(s, body_start, body_end, self.spans, quoted)
        start = pos(node.start_byte)
        return [Redirect(op, fd, delimiter, start, b, body)] + redirects
