"""Shell words: quote removal, expansions and what static analysis knows about a word.

tree-sitter-bash decides where each word starts and ends and where every ``$(...)``,
backtick, ``<(...)``, ``$((...))`` and ``${...}`` ends (``Spans``).  Inside those
bounds this module does quote removal itself, because the grammar's leaves do not
carry the shell's meaning exactly: ``"a $ b"`` comes back as an expansion of a
variable named `` b``, and the body of a ``<<-`` heredoc loses its first tab.  The
decoder walks the raw text of one word with the rules of POSIX quoting and asks the
tree for the end of every substitution; when the two disagree it raises
``ShellParseError`` instead of guessing.

No I/O; everything is pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, NamedTuple, Sequence, Union

from dockerlock.diagnostics import DockerlockError

__all__ = ["ShellParseError", "Lit", "Param", "Subst", "Tilde", "Part", "Word", "make_word", "subword",
           "Spans", "decode_word", "decode_heredoc"]


class ShellParseError(DockerlockError):
    """The script cannot be read exactly (a syntax error, or a form the grammar misreads)."""

    kind = "shell"

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.offset = offset


class Lit(NamedTuple):
    """Literal text of a word after quote removal.

    ``start``/``end`` is the raw span this piece covers, quote characters included, so
    the parts of a word tile its raw text exactly.  ``text_start`` is the raw offset of
    ``text[0]`` when the text maps one-to-one onto the raw slice (plain text, single
    quotes), else -1 (decoded ``$'...'``).
    """

    text: str
    quoted: bool
    start: int
    end: int
    text_start: int


class Param(NamedTuple):
    """A parameter expansion: ``$X``, ``${X}``, ``${X:-default}``...

    ``op`` is ``""`` for a plain reference, one of ``:- - :+ + := = :? ?`` for the
    operators whose operand is parsed into ``arg``, or ``"other"`` for forms this
    module does not evaluate (``${#X}``, ``${X%y}``, ``${X/a/b}``...).
    """

    name: str
    op: str
    arg: tuple["Part", ...]
    quoted: bool
    start: int
    end: int


class Subst(NamedTuple):
    """Command (``$(...)``, backticks), process (``<(...)``) substitution, ``$((...))``,
    or ``opaque`` text this module does not read (an array value): treated as code."""

    kind: str  # "command" | "backtick" | "process" | "arithmetic" | "opaque"
    quoted: bool
    start: int
    end: int
    body_start: int
    body_end: int
    runs_code: bool = True  # False for arithmetic without a nested $(...) or backticks


class Tilde(NamedTuple):
    """``~`` or ``~user`` at the start of an unquoted word."""

    user: str
    start: int
    end: int


Part = Union[Lit, Param, Subst, Tilde]

_PARAM_OPS_EVALUATED = {"", ":-", "-", ":+", "+"}
_IFS_OR_GLOB = re.compile(r"[ \t\n*?\[]")


@dataclass(frozen=True, slots=True)
class Word:
    """One shell word with its exact span and what static analysis knows about it.

    * ``value``: the word after quote removal when it is fully static (no expansion of
      any kind, no glob/brace pattern), else None.
    * ``literal``: like ``value`` but globs/braces are kept as written (what the word
      becomes when no file matches); None when variables or substitutions are present.
    * ``has_variables``: parameter, tilde or arithmetic expansion: the word is still
      safe to keep as written.
    * ``has_substitution``: command/process substitution or backticks: the word runs
      code; callers should refuse to reason about it.
    * ``has_glob``: unquoted ``*``, ``?``, ``[...]`` or brace expansion.

    Words built for exec-form JSON have offsets into the JSON text; synthetic words
    (``Word.synthetic``) have ``start == end == -1``.
    """

    raw: str
    start: int
    end: int
    value: str | None
    literal: str | None = None
    has_variables: bool = False
    has_substitution: bool = False
    has_glob: bool = False
    parts: tuple[Part, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def synthetic(cls, value: str) -> "Word":
        """A static word that does not come from any source text (offsets -1)."""
        return cls(raw=value, start=-1, end=-1, value=value, literal=value,
                   parts=(Lit(value, True, -1, -1, -1),))

    @property
    def may_split(self) -> bool:
        """True when field splitting or globbing could turn this word into several."""
        if self.has_glob:
            return True
        return any(type(p) in (Param, Subst) and not p.quoted for p in self.parts)

    def static_prefix(self) -> str:
        """The literal text before the first expansion (the whole value if static)."""
        out = []
        for p in self.parts:
            if type(p) is not Lit:
                break
            out.append(p.text)
        return "".join(out)

    def expandable(self, env: Mapping[str, str]) -> str | None:
        """Expand ``$X``, ``${X}``, ``${X:-d}``, ``${X-d}``, ``${X:+a}``, ``${X+a}`` and ``~``.

        Returns None when anything is unknown (a variable missing from ``env``, a
        substitution, an unsupported ``${...}`` form, ``~user``), when an unquoted
        expansion would be split or globbed (its value contains whitespace or glob
        characters), when the word is a glob pattern, or when the whole word would
        vanish (only unquoted expansions, all empty).
        """
        if self.has_glob or self.has_substitution:
            return None
        out = _expand_parts(self.parts, env)
        if out is None:
            return None
        if out == "" and all(type(p) in (Param, Tilde) and not getattr(p, "quoted", False)
                             for p in self.parts):
            return None
        return out


def _expand_parts(parts: Sequence[Part], env: Mapping[str, str], operand: bool = False) -> str | None:
    """Expand parts left to right; None as soon as something is not known.

    ``operand`` is True inside the operand of an unquoted ``${X:-...}``, where unquoted
    literal text is itself subject to splitting and globbing.
    """
    out: list[str] = []
    for p in parts:
        t = type(p)
        if t is Lit:
            if operand and not p.quoted and _IFS_OR_GLOB.search(p.text):
                return None
            out.append(p.text)
        elif t is Tilde:
            if p.user or "HOME" not in env:
                return None
            out.append(env["HOME"])
        elif t is Param:
            piece = _expand_param(p, env)
            if piece is None:
                return None
            out.append(piece)
        else:
            return None
    return "".join(out)


def _expand_param(p: Param, env: Mapping[str, str]) -> str | None:
    if p.op not in _PARAM_OPS_EVALUATED:
        return None
    value = env.get(p.name)
    if p.op:
        unset_or_null = value is None or (p.op.startswith(":") and value == "")
        if p.op in (":-", "-") and unset_or_null:
            return _expand_parts(p.arg, env, operand=not p.quoted)
        if p.op in (":+", "+"):
            return "" if unset_or_null else _expand_parts(p.arg, env, operand=not p.quoted)
    if value is None:
        return None
    if not p.quoted and _IFS_OR_GLOB.search(value):
        return None  # field splitting or globbing would change the word
    return value


def _parts_have_substitution(parts: Iterable[Part]) -> bool:
    for p in parts:
        if type(p) is Subst and (p.kind != "arithmetic" or p.runs_code):
            return True
        if type(p) is Param and _parts_have_substitution(p.arg):
            return True
    return False


_BRACE_EXPANSION = re.compile(r"\{[^{}]*(?:,|\.\.)[^{}]*\}")
_GLOB_HINT = re.compile(r"[*?\[{]")


def _detect_glob(parts: Sequence[Part]) -> bool:
    """Does the word contain an unquoted glob or brace pattern?"""
    pieces = []
    special = False
    for p in parts:
        if type(p) is Lit:
            if p.quoted:
                pieces.append("\0" * len(p.text))
            else:
                pieces.append(p.text)
                if not special and _GLOB_HINT.search(p.text):
                    special = True
        else:
            pieces.append("\1")
    if not special:
        return False
    pattern = "".join(pieces)
    if "*" in pattern or "?" in pattern:
        return True
    open_at = pattern.find("[")
    if open_at >= 0 and pattern.find("]", open_at + 1) >= 0:
        return True
    return _BRACE_EXPANSION.search(pattern) is not None


def make_word(raw: str, start: int, end: int, parts: tuple[Part, ...], globbed: bool = True) -> Word:
    """Derive value and flags from the parts of a word (``globbed=False``: an assignment)."""
    has_var = False
    has_sub = False
    static = True
    for p in parts:
        t = type(p)
        if t is Lit:
            continue
        static = False
        if t is Subst:
            if p.kind == "arithmetic":
                has_var = True
            if p.runs_code:
                has_sub = True
        elif t is Param:
            has_var = True
            if not has_sub and _parts_have_substitution(p.arg):
                has_sub = True
        else:
            has_var = True
    glob = globbed and _detect_glob(parts)
    if static:
        literal = "".join(p.text for p in parts)  # type: ignore[union-attr]
        return Word(raw, start, end, None if glob else literal, literal, False, False, glob, parts)
    return Word(raw, start, end, None, None, has_var, has_sub, glob, parts)


def subword(word: Word, k: int) -> Word:
    """The part of ``word`` from character ``k`` of its literal prefix onwards.

    Used for attached option values (``-rfile``, ``--requirement=file``).  When the
    split falls inside quotes (``"-rfile"``) the raw slice starts mid-quote (``file"``):
    offsets stay exact, use ``value`` for the meaning.
    """
    if word.start < 0:
        prefix = word.value if word.value is not None else word.raw
        return Word.synthetic(prefix[k:])
    consumed = 0
    parts = word.parts
    for idx, p in enumerate(parts):
        if consumed == k:
            new_parts = parts[idx:]
            new_start = p.start
            break
        if type(p) is not Lit:
            raise ValueError("split point is not inside the literal prefix")
        n = len(p.text)
        if k < consumed + n:
            off = k - consumed
            if p.text_start >= 0:
                ns = p.text_start + off
                first = Lit(p.text[off:], p.quoted, ns, p.end, ns)
            else:
                ns = p.start
                first = Lit(p.text[off:], p.quoted, ns, p.end, -1)
            new_parts = (first,) + parts[idx + 1:]
            new_start = ns
            break
        consumed += n
    else:
        return Word("", word.end, word.end, "", "", parts=(Lit("", False, word.end, word.end, word.end),))
    raw = word.raw[new_start - word.start:]
    return make_word(raw, new_start, word.end, tuple(new_parts))


# ---------------------------------------------------------------------------
# Decoding the raw text of one word
# ---------------------------------------------------------------------------

# Where each substitution or ``${...}`` that tree-sitter found ends: start -> (end, node type).
Spans = Mapping[int, tuple[int, str]]

_UNQUOTED_BREAK = frozenset(" \t\n|&;<>()")
_PLAIN_RUN = re.compile(r"[^ \t\n|&;<>()'\"\\$`]+")
_LENIENT_RUN = re.compile(r"[^'\"\\$`]+")
_DQ_RUN = re.compile(r"[^\"\\$`]+")
_HEREDOC_RUN = re.compile(r"[^\\$`]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAM_HEAD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!\-]")
_TILDE = re.compile(r"~([A-Za-z0-9._-]*)")
_DQ_ESCAPABLE = frozenset('$`"\\\n')
_HEREDOC_ESCAPABLE = frozenset("$`\\\n")
_SPECIAL_PARAMS = frozenset("@*#?$!-0123456789")
_UNESCAPED_BACKTICK = re.compile(r"(?<!\\)(?:\\\\)*`")
_SUBST_KIND = {"command_substitution": "command", "process_substitution": "process",
               "arithmetic_expansion": "arithmetic"}


def decode_word(s: str, start: int, end: int, spans: Spans, *, tilde: bool = True,
                lenient: bool = False) -> tuple[Part, ...]:
    """The parts of the unquoted-context word ``s[start:end]``.

    ``lenient`` reads operator characters as literal text (the words of ``[[ ]]``);
    otherwise an unquoted blank or operator inside the span means the grammar's word
    boundary is not the shell's, and ``ShellParseError`` is raised.
    """
    return _Decoder(s, spans).word(start, end, tilde, lenient)


def decode_heredoc(s: str, start: int, end: int, spans: Spans, quoted: bool) -> Word:
    """The body of a heredoc as a Word: literal when the delimiter was quoted, else expanded."""
    body = s[start:end]
    if quoted or not any(c in body for c in "$`\\"):
        return make_word(body, start, end, (Lit(body, True, start, end, start),), globbed=False)
    return make_word(body, start, end, _Decoder(s, spans).heredoc(start, end), globbed=False)


class _Decoder:
    """Quote removal over one span; substitution ends come from the tree."""

    __slots__ = ("s", "spans")

    def __init__(self, s: str, spans: Spans) -> None:
        self.s = s
        self.spans = spans

    def _end_of(self, i: int, what: str) -> tuple[int, str]:
        hit = self.spans.get(i)
        if hit is None:
            raise ShellParseError(f"cannot tell where the {what} at offset {i} ends", i)
        return hit

    def word(self, i: int, n: int, tilde: bool, lenient: bool) -> tuple[Part, ...]:
        s = self.s
        parts: list[Part] = []
        if tilde and i < n and s[i] == "~":
            m = _TILDE.match(s, i, n)
            j = m.end()  # type: ignore[union-attr]
            if j >= n or s[j] == "/":
                parts.append(Tilde(m.group(1), i, j))  # type: ignore[union-attr]
                i = j
        run = _LENIENT_RUN if lenient else _PLAIN_RUN
        while i < n:
            c = s[i]
            if c == "'":
                j = s.find("'", i + 1, n)
                if j < 0:
                    raise ShellParseError("unterminated single quote", i)
                parts.append(Lit(s[i + 1:j], True, i, j + 1, i + 1))
                i = j + 1
            elif c == '"':
                i = self._dq(i, n, parts)
            elif c == "\\":
                i = self._escape(i, n, parts)
            elif c == "$":
                i = self._dollar(i, n, parts, quoted=False)
            elif c == "`":
                i = self._backtick(i, parts, quoted=False)
            elif c in "<>" and i + 1 < n and s[i + 1] == "(" and i in self.spans:
                close, _kind = self.spans[i]
                parts.append(Subst("process", False, i, close, i + 2, close - 1))
                i = close
            elif c in _UNQUOTED_BREAK and not lenient:
                raise ShellParseError(f"unexpected {c!r} inside a word", i)
            else:
                j = run.match(s, i, n).end()  # type: ignore[union-attr]
                parts.append(Lit(s[i:j], False, i, j, i))
                i = j
        return tuple(parts)

    def _escape(self, i: int, n: int, parts: list[Part]) -> int:
        s = self.s
        if i + 1 >= n:
            parts.append(Lit("\\", False, i, i + 1, i))
            return i + 1
        if s[i + 1] == "\n":  # line continuation: vanishes
            parts.append(Lit("", False, i, i + 2, i))
        else:
            parts.append(Lit(s[i + 1], True, i, i + 2, i + 1))
        return i + 2

    def _dq(self, i: int, n: int, parts: list[Part]) -> int:
        """A double-quoted string starting at ``i`` (the quote); return the index after it."""
        s = self.s
        parts.append(Lit("", True, i, i + 1, i + 1))
        j = i + 1
        while True:
            if j >= n:
                raise ShellParseError("unterminated double quote", i)
            c = s[j]
            if c == '"':
                parts.append(Lit("", True, j, j + 1, j))
                return j + 1
            if c == "\\":
                if j + 1 < n and s[j + 1] in _DQ_ESCAPABLE:
                    parts.append(Lit(s[j + 1], True, j, j + 2, j + 1) if s[j + 1] != "\n"
                                 else Lit("", True, j, j + 2, j))
                    j += 2
                else:
                    parts.append(Lit("\\", True, j, j + 1, j))
                    j += 1
            elif c == "$":
                j = self._dollar(j, n, parts, quoted=True)
            elif c == "`":
                j = self._backtick(j, parts, quoted=True)
            else:
                k = _DQ_RUN.match(s, j, n).end()  # type: ignore[union-attr]
                parts.append(Lit(s[j:k], True, j, k, j))
                j = k

    def heredoc(self, i: int, n: int) -> tuple[Part, ...]:
        """An unquoted heredoc body: ``$``, backticks and ``\\`` before ``$`\\`` or newline."""
        s = self.s
        parts: list[Part] = []
        while i < n:
            c = s[i]
            if c == "\\" and i + 1 < n and s[i + 1] in _HEREDOC_ESCAPABLE:
                parts.append(Lit(s[i + 1], True, i, i + 2, i + 1) if s[i + 1] != "\n"
                             else Lit("", True, i, i + 2, i))
                i += 2
            elif c == "$":
                i = self._dollar(i, n, parts, quoted=True)
            elif c == "`":
                i = self._backtick(i, parts, quoted=True)
            else:
                j = i + 1 if c == "\\" else _HEREDOC_RUN.match(s, i, n).end()  # type: ignore[union-attr]
                parts.append(Lit(s[i:j], True, i, j, i))
                i = j
        return tuple(parts)

    def _operand(self, i: int, n: int, dq: bool) -> tuple[Part, ...]:
        """The operand of ``${X:-operand}`` (bounded by ``n``)."""
        s = self.s
        parts: list[Part] = []
        while i < n:
            c = s[i]
            if c == "'" and not dq:
                j = s.find("'", i + 1, n)
                if j < 0:
                    raise ShellParseError("unterminated single quote", i)
                parts.append(Lit(s[i + 1:j], True, i, j + 1, i + 1))
                i = j + 1
            elif c == '"':
                i = self._dq(i, n, parts)
            elif c == "\\" and i + 1 < n and (not dq or s[i + 1] in _DQ_ESCAPABLE):
                parts.append(Lit(s[i + 1], True, i, i + 2, i + 1) if s[i + 1] != "\n"
                             else Lit("", True, i, i + 2, i))
                i += 2
            elif c == "$":
                i = self._dollar(i, n, parts, quoted=dq)
            elif c == "`":
                i = self._backtick(i, parts, quoted=dq)
            else:
                j = i + 1 if c == "\\" else (_DQ_RUN if dq else _LENIENT_RUN).match(s, i, n).end()  # type: ignore[union-attr]
                parts.append(Lit(s[i:j], dq, i, j, i))
                i = j
        return tuple(parts)

    def _dollar(self, i: int, n: int, parts: list[Part], quoted: bool) -> int:
        """Whatever starts with ``$`` at ``i``; return the index after it."""
        s = self.s
        if i + 1 >= n:
            parts.append(Lit("$", quoted, i, i + 1, i))
            return i + 1
        c = s[i + 1]
        if c == "{":
            close, _kind = self._end_of(i, "parameter expansion")
            parts.append(self._braced_param(i, close - 1, quoted))
            return close
        if c == "(":
            close, kind = self._end_of(i, "substitution")
            if kind == "arithmetic_expansion":
                body = s[i + 3:close - 2]
                parts.append(Subst("arithmetic", quoted, i, close, i + 3, close - 2,
                                   "$(" in body or "`" in body))
            else:
                parts.append(Subst("command", quoted, i, close, i + 2, close - 1))
            return close
        if c == "'" and not quoted:
            j = i + 2
            while j < n and s[j] != "'":
                j += 2 if s[j] == "\\" else 1
            if j >= n:
                raise ShellParseError("unterminated $'...' string", i)
            parts.append(Lit(_decode_ansi_c(s[i + 2:j]), True, i, j + 1, -1))
            return j + 1
        if c == '"' and not quoted:  # $"..." (locale translation): the text itself
            parts.append(Lit("", True, i, i + 1, i + 1))
            return self._dq(i + 1, n, parts)
        m = _NAME.match(s, i + 1, n)
        if m:
            parts.append(Param(m.group(), "", (), quoted, i, m.end()))
            return m.end()
        if c in _SPECIAL_PARAMS:
            parts.append(Param(c, "", (), quoted, i, i + 2))
            return i + 2
        parts.append(Lit("$", quoted, i, i + 1, i))
        return i + 1

    def _braced_param(self, i: int, close: int, quoted: bool) -> Param:
        """A Param for ``${...}`` spanning ``s[i:close + 1]``."""
        s = self.s
        if s[close] != "}":
            raise ShellParseError("parameter expansion does not end with '}'", i)
        body_start = i + 2
        body = s[body_start:close]
        if body.startswith("#") and len(body) > 1:
            return Param(body[1:], "other", (), quoted, i, close + 1)
        m = _PARAM_HEAD.match(body)
        if not m:
            return Param("", "other", (), quoted, i, close + 1)
        name = m.group()
        rest = body[m.end():]
        if rest == "":
            return Param(name, "", (), quoted, i, close + 1)
        if rest[:2] in (":-", ":+", ":=", ":?"):
            op = rest[:2]
        elif rest[0] in "-+=?":
            op = rest[0]
        else:
            return Param(name, "other", (), quoted, i, close + 1)
        arg = self._operand(body_start + m.end() + len(op), close, quoted)
        return Param(name, op, arg, quoted, i, close + 1)

    def _backtick(self, i: int, parts: list[Part], quoted: bool) -> int:
        close, _kind = self._end_of(i, "backtick substitution")
        # tree-sitter-bash reads `a` `b` as one substitution: an unescaped backtick inside
        # the body means the grammar's end is not the shell's.
        if _UNESCAPED_BACKTICK.search(self.s, i + 1, close - 1):
            raise ShellParseError("two backtick substitutions the shell grammar reads as one", i)
        parts.append(Subst("backtick", quoted, i, close, i + 1, close - 1))
        return close


_ANSI_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f",
                "v": "\v", "e": "\x1b", "E": "\x1b", "\\": "\\", "'": "'", '"': '"', "?": "?"}
_ANSI_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)", re.S)


def _decode_ansi_c(body: str) -> str:
    """Decode the escapes of a bash ``$'...'`` string (the common ones)."""
    def one(m: re.Match[str]) -> str:
        e = m.group(1)
        if e[0] == "x":
            return chr(int(e[1:], 16))
        if e[0] in "01234567":
            return chr(int(e, 8))
        return _ANSI_SIMPLE.get(e, "\\" + e)
    return _ANSI_ESCAPE.sub(one, body)
