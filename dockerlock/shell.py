"""Split the shell script of a RUN instruction into simple commands and find pip in them.

The Dockerfile model hands this module the *logical* script of one RUN
instruction (continuations joined, comment lines dropped) or a heredoc body.
Every offset returned here is an index into that exact string, because the
model maps offsets back to source bytes and rewrites text by span: an offset
that is off by one corrupts a user's Dockerfile.  Hence the invariant checked
throughout the tests: ``script[w.start:w.end] == w.raw`` for every word.

Parsing strategy (three engines, one result shape)
--------------------------------------------------
1. **Own tokenizer, fast path.**  bashlex costs about 1.4 ms for a 200-character
   ``&&`` chain, several times the budget for a RUN body, and nearly every RUN
   body is a flat list of simple commands.  So the script is first tokenized by
   this module (quotes, escapes, ``$(...)``/backticks/``${...}`` nesting,
   operators, redirections, heredocs, comments) and, when the token stream has
   no compound construct, commands are built straight from it.
2. **bashlex** is used when the fast path meets a compound construct (subshell,
   ``{ }``, ``if``/``for``/``while``/``until``, function definition).  bashlex
   decides the *structure* (which spans are simple commands, their nesting and
   the operators between them); the words inside each command still come from
   our tokens, so every engine produces identical ``Word`` objects.  If bashlex
   and our tokens disagree about a word boundary, bashlex's answer is dropped.
3. **Fallback**: when bashlex raises (it lacks ``case``, ``[[ ]]``, ``$(( ))``,
   ``select``, the ``time`` keyword, quoted heredoc delimiters at end of input,
   ``"$(a && b)"``...) or is known to misparse the input (``(( ))`` comes back
   as nested subshells), our own structural parser handles the compound
   grammar conservatively.  ``Script.fallback`` is then True and
   ``Script.fallback_reason`` says why.

Unterminated quotes, substitutions and dangling operators raise
``ShellParseError``: the shell would reject the script too.

Commands inside ``$(...)``, backticks and ``<(...)``/``>(...)`` are parsed
recursively with the same strategy and reported with ``depth`` one more than the
command holding them.

Known simplifications:
* bash semantics are assumed where sh (dash) differs: ``&>`` is read as a
  redirection (dash reads ``a &> f`` as ``a &`` then ``> f``) and ``{a,b}``
  counts as brace expansion (it only makes ``value`` None);
* ``time`` is an ordinary command word (a wrapper), not bash's pipeline keyword;
* inside ``$(...)``, ``case`` is recognised only at command position (after an
  operator, a newline, ``then``/``do``/``else``/``{``); a heredoc inside
  ``$(...)`` is not understood;
* backtick bodies are parsed without undoing their ``\\``-escapes;
* ``~`` after ``=`` in assignments is not treated as a tilde expansion.

No I/O happens here; everything is pure and deterministic.
"""

from __future__ import annotations

import functools

import bisect
import json
import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence, Union


from dockerlock.diagnostics import DockerlockError

__all__ = [
    "ShellParseError",
    "Lit",
    "Param",
    "Subst",
    "Tilde",
    "Word",
    "Redirect",
    "SimpleCommand",
    "Script",
    "parse_script",
    "parse_exec_form",
    "exec_form_words",
    "OptionSpec",
    "PipOption",
    "PipInvocation",
    "find_pip_invocation",
    "parse_pip_argv",
    "requirement_like",
    "GENERAL_OPTIONS",
    "COMMAND_OPTIONS",
]


class ShellParseError(DockerlockError):
    """The script cannot be split into commands (unbalanced quotes, dangling ``&&``...)."""

    kind = "shell"

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.offset = offset


# ---------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lit:
    """Literal text of a word after quote removal.

    ``start``/``end`` is the raw span this piece covers, quote characters
    included, so the parts of a word tile its raw text exactly.  ``text_start``
    is the raw offset of ``text[0]`` when the text maps one-to-one onto the raw
    slice (plain text, single quotes), else -1 (decoded ``$'...'``).
    """

    text: str
    quoted: bool
    start: int
    end: int
    text_start: int


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter expansion: ``$X``, ``${X}``, ``${X:-default}``...

    ``op`` is ``""`` for a plain reference, one of ``:- - :+ + := = :? ?`` for
    the operators whose operand is parsed into ``arg``, or ``"other"`` for
    forms this module does not evaluate (``${#X}``, ``${X%y}``, ``${X/a/b}``...).
    """

    name: str
    op: str
    arg: tuple["Part", ...]
    quoted: bool
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Subst:
    """Command (``$(...)``, backticks), process (``<(...)``) substitution or ``$((...))``."""

    kind: str  # "command" | "backtick" | "process" | "arithmetic"
    quoted: bool
    start: int
    end: int
    body_start: int
    body_end: int
    runs_code: bool = True  # False for arithmetic without a nested $(...) or backticks


@dataclass(frozen=True, slots=True)
class Tilde:
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

    * ``value``: the word after quote removal when it is fully static (no
      expansion of any kind, no glob/brace pattern), else None.
    * ``literal``: like ``value`` but globs/braces are kept as written (what the
      word becomes when no file matches); None when variables or substitutions
      are present.
    * ``has_variables``: parameter, tilde or arithmetic expansion: the word is
      still safe to keep as written.
    * ``has_substitution``: command/process substitution or backticks: the word
      runs code; callers should refuse to reason about it.
    * ``has_glob``: unquoted ``*``, ``?``, ``[...]`` or brace expansion.

    Words built for exec-form JSON have offsets into the JSON text; synthetic
    words (``Word.synthetic``) have ``start == end == -1``.
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

        Returns None when anything is unknown (a variable missing from ``env``,
        a substitution, an unsupported ``${...}`` form, ``~user``), when an
        unquoted expansion would be split or globbed (its value contains
        whitespace or glob characters), when the word is a glob pattern, or
        when the whole word would vanish (only unquoted expansions, all empty).
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

    ``operand`` is True inside the operand of an unquoted ``${X:-...}``, where
    unquoted literal text is itself subject to splitting and globbing.
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


def _make_word(raw: str, start: int, end: int, parts: tuple[Part, ...]) -> Word:
    """Derive value and flags from the parts of a word."""
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
    if static:
        literal = "".join(p.text for p in parts)  # type: ignore[union-attr]
        glob = _detect_glob(parts)
        return Word(raw, start, end, None if glob else literal, literal, False, False, glob, parts)
    return Word(raw, start, end, None, None, has_var, has_sub, _detect_glob(parts), parts)


def _subword(word: Word, k: int) -> Word:
    """The part of ``word`` from character ``k`` of its literal prefix onwards.

    Used for attached option values (``-rfile``, ``--requirement=file``).  When
    the split falls inside quotes (``"-rfile"``) the raw slice starts mid-quote
    (``file"``): offsets stay exact, use ``value`` for the meaning.
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
    return _make_word(raw, new_start, word.end, tuple(new_parts))


# ---------------------------------------------------------------------------
# Word lexer
# ---------------------------------------------------------------------------

_WORD_BREAK = frozenset(" \t\n|&;<>()")
_PLAIN_RUN = re.compile(r"[^ \t\n|&;<>()'\"\\$`]+")
_DQ_RUN = re.compile(r"[^\"\\$`]+")
_OPERAND_RUN = re.compile(r"[^'\"\\$`]+")
_DQ_OPERAND_RUN = re.compile(r"[^\"\\$`]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAM_HEAD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!\-]")
_TILDE = re.compile(r"~([A-Za-z0-9._-]*)")
_DQ_ESCAPABLE = frozenset('$`"\\\n')
_SPECIAL_PARAMS = frozenset("@*#?$!-0123456789")


def _lex_word(s: str, i: int, n: int) -> tuple[int, tuple[Part, ...]]:
    """Lex one unquoted-context word starting at ``i``; return (end, parts)."""
    parts: list[Part] = []
    start = i
    c = s[i]
    if c == "~":
        m = _TILDE.match(s, i, n)
        j = m.end()
        if j >= n or s[j] == "/" or s[j] in _WORD_BREAK:
            parts.append(Tilde(m.group(1), i, j))
            i = j
    elif c in "<>" and i + 1 < n and s[i + 1] == "(":
        close = _match_paren(s, i + 2, n, i)
        parts.append(Subst("process", False, i, close + 1, i + 2, close))
        i = close + 1
    while i < n:
        c = s[i]
        if c in _WORD_BREAK:
            break
        if c == "'":
            j = s.find("'", i + 1, n)
            if j < 0:
                raise ShellParseError("unterminated single quote", i)
            parts.append(Lit(s[i + 1:j], True, i, j + 1, i + 1))
            i = j + 1
        elif c == '"':
            i = _lex_dq(s, i, n, parts)
        elif c == "\\":
            if i + 1 >= n:
                parts.append(Lit("\\", False, i, i + 1, i))
                i += 1
            elif s[i + 1] == "\n":
                parts.append(Lit("", False, i, i + 2, i))
                i += 2
            else:
                parts.append(Lit(s[i + 1], True, i, i + 2, i + 1))
                i += 2
        elif c == "$":
            i = _lex_dollar(s, i, n, parts, quoted=False)
        elif c == "`":
            i = _lex_backtick(s, i, n, parts, quoted=False)
        else:
            j = _PLAIN_RUN.match(s, i, n).end()
            parts.append(Lit(s[i:j], False, i, j, i))
            i = j
    if i == start:
        raise ShellParseError(f"unexpected character {s[i]!r}", i)
    return i, tuple(parts)


def _lex_dq(s: str, i: int, n: int, parts: list[Part]) -> int:
    """Lex a double-quoted string starting at ``i`` (the quote); return the index after it."""
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
                if s[j + 1] == "\n":
                    parts.append(Lit("", True, j, j + 2, j))
                else:
                    parts.append(Lit(s[j + 1], True, j, j + 2, j + 1))
                j += 2
            else:
                parts.append(Lit("\\", True, j, j + 1, j))
                j += 1
        elif c == "$":
            j = _lex_dollar(s, j, n, parts, quoted=True)
        elif c == "`":
            j = _lex_backtick(s, j, n, parts, quoted=True)
        else:
            k = _DQ_RUN.match(s, j, n).end()
            parts.append(Lit(s[j:k], True, j, k, j))
            j = k


def _lex_operand(s: str, i: int, n: int, dq: bool) -> tuple[Part, ...]:
    """Lex the operand of ``${X:-operand}`` (bounded by ``n``)."""
    parts: list[Part] = []
    run = _DQ_OPERAND_RUN if dq else _OPERAND_RUN
    while i < n:
        c = s[i]
        if c == "'" and not dq:
            j = s.find("'", i + 1, n)
            if j < 0:
                raise ShellParseError("unterminated single quote", i)
            parts.append(Lit(s[i + 1:j], True, i, j + 1, i + 1))
            i = j + 1
        elif c == '"':
            i = _lex_dq(s, i, n, parts)
        elif c == "\\" and i + 1 < n and (not dq or s[i + 1] in _DQ_ESCAPABLE):
            parts.append(Lit(s[i + 1], True, i, i + 2, i + 1) if s[i + 1] != "\n"
                         else Lit("", True, i, i + 2, i))
            i += 2
        elif c == "$":
            i = _lex_dollar(s, i, n, parts, quoted=dq)
        elif c == "`":
            i = _lex_backtick(s, i, n, parts, quoted=dq)
        else:
            j = run.match(s, i, n).end() if c != "\\" else i + 1
            parts.append(Lit(s[i:j], dq, i, j, i))
            i = j
    return tuple(parts)


def _lex_dollar(s: str, i: int, n: int, parts: list[Part], quoted: bool) -> int:
    """Lex whatever starts with ``$`` at ``i``; return the index after it."""
    if i + 1 >= n:
        parts.append(Lit("$", quoted, i, i + 1, i))
        return i + 1
    c = s[i + 1]
    if c == "{":
        close = _match_brace(s, i + 2, n, i, quoted)
        parts.append(_param_from_braces(s, i, close, quoted))
        return close + 1
    if c == "(":
        if i + 2 < n and s[i + 2] == "(":
            inner = _match_paren(s, i + 3, n, i, required=False)
            if inner is not None and inner + 1 < n and s[inner + 1] == ")":
                body = s[i + 3:inner]
                runs_code = "$(" in body or "`" in body
                parts.append(Subst("arithmetic", quoted, i, inner + 2, i + 3, inner, runs_code))
                return inner + 2
        close = _match_paren(s, i + 2, n, i)
        parts.append(Subst("command", quoted, i, close + 1, i + 2, close))
        return close + 1
    if c == "'" and not quoted:
        j = i + 2
        while j < n and s[j] != "'":
            j += 2 if s[j] == "\\" else 1
        if j >= n:
            raise ShellParseError("unterminated $'...' string", i)
        parts.append(Lit(_decode_ansi_c(s[i + 2:j]), True, i, j + 1, -1))
        return j + 1
    if c == '"' and not quoted:
        parts.append(Lit("", True, i, i + 1, i + 1))
        return _lex_dq(s, i + 1, n, parts)
    m = _NAME.match(s, i + 1, n)
    if m:
        parts.append(Param(m.group(), "", (), quoted, i, m.end()))
        return m.end()
    if c in _SPECIAL_PARAMS:
        parts.append(Param(c, "", (), quoted, i, i + 2))
        return i + 2
    parts.append(Lit("$", quoted, i, i + 1, i))
    return i + 1


def _param_from_braces(s: str, i: int, close: int, quoted: bool) -> Param:
    """Build a Param for ``${...}`` spanning ``s[i:close + 1]``."""
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
    arg = _lex_operand(s, body_start + m.end() + len(op), close, quoted)
    return Param(name, op, arg, quoted, i, close + 1)


def _lex_backtick(s: str, i: int, n: int, parts: list[Part], quoted: bool) -> int:
    j = i + 1
    while j < n and s[j] != "`":
        j += 2 if s[j] == "\\" else 1
    if j >= n:
        raise ShellParseError("unterminated backtick substitution", i)
    parts.append(Subst("backtick", quoted, i, j + 1, i + 1, j))
    return j + 1


_KEYWORD_BEFORE_COMMAND = frozenset({"then", "do", "else", "elif", "{", "!", "time"})
_WORD_END = frozenset(" \t\n;&|()<>")


def _at_command_start(s: str, j: int, lo: int) -> bool:
    """Is ``s[j]`` where a command may start (after an operator, a newline or a keyword)?"""
    k = j - 1
    while k >= lo and s[k] in " \t":
        k -= 1
    if k < lo or s[k] in ";&|(\n":
        return True
    w = k
    while w >= lo and s[w] not in _WORD_END:
        w -= 1
    return s[w + 1:k + 1] in _KEYWORD_BEFORE_COMMAND and _at_command_start(s, w + 1, lo)


def _keyword_at(s: str, j: int, n: int, word: str) -> bool:
    end = j + len(word)
    return s.startswith(word, j) and (end >= n or s[end] in _WORD_END)


def _match_paren(s: str, j: int, n: int, opened_at: int, required: bool = True) -> int | None:
    """Index of the ``)`` closing a ``(`` whose content starts at ``j``.

    Tracks ``case ... esac`` at command position so that a pattern's ``)``
    inside ``$(case $x in a) ...; esac)`` does not end the substitution.
    """
    lo = j
    stack = ["("]
    while j < n:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "'":
            k = s.find("'", j + 1, n)
            if k < 0:
                break
            j = k + 1
            continue
        if c == '"':
            try:
                j = _lex_dq(s, j, n, [])
            except ShellParseError:
                break
            continue
        if c == "`":
            try:
                j = _lex_backtick(s, j, n, [], True)
            except ShellParseError:
                break
            continue
        if c == "$" and j + 1 < n and s[j + 1] == "{":
            try:
                j = _match_brace(s, j + 2, n, j, False) + 1
            except ShellParseError:
                break
            continue
        if c == "#" and (j == 0 or s[j - 1] in " \t\n;&|("):
            k = s.find("\n", j, n)
            j = n if k < 0 else k
            continue
        if c == "(":
            stack.append("(")
        elif c == ")":
            if stack[-1] != "case":  # inside case, a lone ')' ends a pattern
                stack.pop()
                if not stack:
                    return j
        elif c == "c" and _keyword_at(s, j, n, "case") and _at_command_start(s, j, lo):
            stack.append("case")
            j += 4
            continue
        elif c == "e" and stack[-1] == "case" and _keyword_at(s, j, n, "esac"):
            stack.pop()
            j += 4
            continue
        j += 1
    if not required:
        return None
    raise ShellParseError("unterminated substitution: missing ')'", opened_at)


def _match_brace(s: str, j: int, n: int, opened_at: int, dq: bool) -> int:
    """Index of the ``}`` closing a ``${`` whose content starts at ``j``."""
    depth = 1
    while j < n:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "'" and not dq:
            k = s.find("'", j + 1, n)
            if k < 0:
                break
            j = k + 1
            continue
        if c == '"':
            j = _lex_dq(s, j, n, [])
            continue
        if c == "`":
            j = _lex_backtick(s, j, n, [], True)
            continue
        if c == "$" and j + 1 < n and s[j + 1] == "(":
            j = _match_paren(s, j + 2, n, j) + 1
            continue
        if c == "$" and j + 1 < n and s[j + 1] == "{":
            depth += 1
            j += 2
            continue
        if c == "}":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    raise ShellParseError("unterminated parameter expansion: missing '}'", opened_at)


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


# ---------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------

T_WORD, T_OP, T_REDIR, T_ARITH = 0, 1, 2, 3

_OPERATOR = re.compile(
    r"&&|&>>|&>|&|\|\||\|&|\||;;&|;;|;&|;|<<<|<<-|<<|<&|<>|<|>>|>&|>\||>|\(|\)")
_REDIRECT_OPS = frozenset({"<", ">", ">>", ">|", "<>", "<&", ">&", "<<", "<<-", "<<<", "&>", "&>>"})
_BLANKS = re.compile(r"[ \t]+")


@dataclass(slots=True)
class _Token:
    kind: int
    start: int
    end: int
    op: str = ""  # operator text, or redirect operator
    word: Word | None = None
    fd: int | None = None
    heredoc: Word | None = None  # for "<<" / "<<-" redirect tokens, filled at the newline


@dataclass(slots=True)
class _PendingHeredoc:
    token: _Token
    delimiter: str
    strip_tabs: bool
    quoted: bool


def _tokenize(s: str, start: int = 0, end: int | None = None) -> list[_Token]:
    """Turn ``s[start:end]`` into tokens; comments vanish, heredoc bodies attach to their redirect."""
    n = len(s) if end is None else end
    i = start
    out: list[_Token] = []
    pending: list[_PendingHeredoc] = []
    expect_delimiter: _Token | None = None
    while i < n:
        c = s[i]
        if c == " " or c == "\t":
            i = _BLANKS.match(s, i, n).end()
            continue
        if c == "\\" and i + 1 < n and s[i + 1] == "\n":
            i += 2
            continue
        if c == "\n":
            out.append(_Token(T_OP, i, i + 1, "\n"))
            i += 1
            if pending:
                i = _read_heredocs(s, i, n, pending)
                pending = []
            continue
        if c == "#":
            k = s.find("\n", i, n)
            i = n if k < 0 else k
            continue
        if c in "&|;<>()" and not (c in "<>" and i + 1 < n and s[i + 1] == "("):
            if c == "(" and i + 1 < n and s[i + 1] == "(":
                inner = _match_paren(s, i + 2, n, i, required=False)
                if inner is not None and inner + 1 < n and s[inner + 1] == ")":
                    out.append(_Token(T_ARITH, i, inner + 2, "(("))
                    i = inner + 2
                    continue
            op = _OPERATOR.match(s, i, n).group()
            if op in _REDIRECT_OPS:
                tok = _Token(T_REDIR, i, i + len(op), op)
                if op in ("<<", "<<-"):
                    expect_delimiter = tok
            else:
                tok = _Token(T_OP, i, i + len(op), op)
            out.append(tok)
            i += len(op)
            continue
        m = _PLAIN_RUN.match(s, i, n)
        if m is not None and c != "~":
            j = m.end()
            if j >= n or s[j] in _WORD_BREAK and not (s[j] in "<>" and s[i:j].isdigit()):
                # Fast path: a plain unquoted word, the vast majority of words.
                raw = s[i:j]
                lit = Lit(raw, False, i, j, i)
                glob = _GLOB_HINT.search(raw) is not None and _detect_glob((lit,))
                word = Word(raw, i, j, None if glob else raw, raw, False, False, glob, (lit,))
                out.append(_Token(T_WORD, i, j, word=word))
                if expect_delimiter is not None:
                    pending.append(_PendingHeredoc(expect_delimiter, raw,
                                                   expect_delimiter.op == "<<-", False))
                    expect_delimiter = None
                i = j
                continue
        j, parts = _lex_word(s, i, n)
        raw = s[i:j]
        if j < n and s[j] in "<>" and raw.isdigit() and not (j + 1 < n and s[j + 1] == "("):
            op = _OPERATOR.match(s, j, n).group()
            tok = _Token(T_REDIR, i, j + len(op), op, fd=int(raw))
            if op in ("<<", "<<-"):
                expect_delimiter = tok
            out.append(tok)
            i = j + len(op)
            continue
        word = _make_word(raw, i, j, parts)
        out.append(_Token(T_WORD, i, j, word=word))
        if expect_delimiter is not None:
            delimiter = "".join(p.text if type(p) is Lit else s[p.start:p.end] for p in parts)
            quoted = any(type(p) is Lit and p.quoted for p in parts)
            pending.append(_PendingHeredoc(expect_delimiter, delimiter,
                                           expect_delimiter.op == "<<-", quoted))
            expect_delimiter = None
        i = j
    for p in pending:
        # Heredoc opened on the last line: its body is empty.
        p.token.heredoc = _heredoc_word(s, n, n, p.quoted)
    return out


def _read_heredocs(s: str, i: int, n: int, pending: list[_PendingHeredoc]) -> int:
    """Consume the bodies of the heredocs opened on the line that just ended."""
    for p in pending:
        body_start = i
        body_end = n
        while i < n:
            nl = s.find("\n", i, n)
            line_end = n if nl < 0 else nl
            line = s[i:line_end]
            if (line.lstrip("\t") if p.strip_tabs else line) == p.delimiter:
                body_end = i
                i = n if nl < 0 else nl + 1
                break
            i = n if nl < 0 else nl + 1
        else:
            body_end = n
        p.token.heredoc = _heredoc_word(s, body_start, body_end, p.quoted)
    return i


def _heredoc_word(s: str, a: int, b: int, quoted: bool) -> Word:
    """The body of a heredoc as a Word: literal when the delimiter was quoted, else expanded."""
    if quoted or not any(c in s[a:b] for c in "$`\\"):
        return _make_word(s[a:b], a, b, (Lit(s[a:b], True, a, b, a),))
    parts: list[Part] = []
    i = a
    while i < b:
        c = s[i]
        if c == "\\" and i + 1 < b and s[i + 1] in "$`\\\n":
            parts.append(Lit(s[i + 1], True, i, i + 2, i + 1) if s[i + 1] != "\n"
                         else Lit("", True, i, i + 2, i))
            i += 2
        elif c == "$":
            i = _lex_dollar(s, i, b, parts, quoted=True)
        elif c == "`":
            i = _lex_backtick(s, i, b, parts, quoted=True)
        else:
            j = i + 1
            while j < b and s[j] not in "$`\\":
                j += 1
            parts.append(Lit(s[i:j], True, i, j, i))
            i = j
    return _make_word(s[a:b], a, b, tuple(parts))


# ---------------------------------------------------------------------------
# Commands and scripts
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Redirect:
    """One redirection: ``op`` (``>``, ``2>&1`` is op ``>&`` with fd 2...), its target and heredoc body."""

    op: str
    fd: int | None
    target: Word | None
    start: int
    end: int
    heredoc: Word | None = None  # body of << / <<- (span excludes the delimiter line)


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """One simple command: ``[assignments] [words] [redirects]`` and its neighbours.

    ``operator_before``/``operator_after`` are the list operators joining this
    command to its siblings in the same list (``&&``, ``||``, ``;``, ``|``,
    ``|&``, ``&``, ``\\n``); None at the edges of a list.  A trailing ``;`` or
    ``&`` is reported, a trailing newline is not.  ``depth`` counts enclosing
    subshells, brace groups, if/loops/case, functions and substitutions.
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


@dataclass(frozen=True, slots=True)
class Script:
    """The simple commands of a script, in source order, nested ones included."""

    text: str
    commands: tuple[SimpleCommand, ...]
    engine: str  # "tokenizer" | "bashlex" | "fallback" (the most lenient one used anywhere)
    fallback: bool = False
    fallback_reason: str | None = None

    @property
    def top_level(self) -> tuple[SimpleCommand, ...]:
        return tuple(c for c in self.commands if c.depth == 0)


class _NeedsFullParser(Exception):
    """The fast path met a compound construct."""

    def __init__(self, reason: str, skip_bashlex: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.skip_bashlex = skip_bashlex


_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")


def _command_from_tokens(s: str, toks: Sequence[_Token], depth: int, cond: bool,
                         before: tuple[str, int, int] | None,
                         after: tuple[str, int, int] | None) -> SimpleCommand:
    """Assemble a SimpleCommand from the tokens of its span (shared by every engine)."""
    words: list[Word] = []
    assignments: list[Word] = []
    redirects: list[Redirect] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if cond and t.kind != T_WORD:
            raw = s[t.start:t.end]
            words.append(_make_word(raw, t.start, t.end, (Lit(raw, True, t.start, t.end, t.start),)))
        elif t.kind == T_REDIR:
            target = toks[i + 1].word if i + 1 < len(toks) and toks[i + 1].kind == T_WORD else None
            if target is None:
                raise ShellParseError(f"redirection {t.op!r} has no target", t.start)
            redirects.append(Redirect(t.op, t.fd, target, t.start, target.end, t.heredoc))
            i += 1
        elif t.kind == T_WORD:
            w = t.word
            assert w is not None
            if not words and not cond and _ASSIGNMENT.match(w.raw):
                if w.has_glob:  # assignments are neither globbed nor split
                    w = replace(w, has_glob=False, value=w.literal)
                assignments.append(w)
            else:
                words.append(w)
        else:
            raise ShellParseError(f"unexpected {t.op!r} inside a command", t.start)
        i += 1
    start, end = toks[0].start, toks[-1].end
    return SimpleCommand(
        start=start, end=end, raw=s[start:end], words=tuple(words),
        assignments=tuple(assignments), redirects=tuple(redirects),
        operator_before=before[0] if before else None,
        operator_after=after[0] if after else None,
        operator_before_span=(before[1], before[2]) if before else None,
        operator_after_span=(after[1], after[2]) if after else None,
        depth=depth,
    )


# Structure produced by the engines before words are attached: token index
# range, depth, cond flag, and the operators around it.
@dataclass(slots=True)
class _Shape:
    first: int
    last: int
    depth: int
    cond: bool = False
    before: tuple[str, int, int] | None = None
    after: tuple[str, int, int] | None = None


_COMPOUND = object()  # marks "the previous item in this list was a compound command"
_BINARY_OPS = frozenset({"&&", "||", "|", "|&"})
_SEPARATORS = frozenset({"&&", "||", "|", "|&", ";", "&"})
_CASE_TERMINATORS = frozenset({";;", ";&", ";;&"})
_OPENERS = {"{": "{", "if": "if", "while": "loop", "until": "loop", "for": "loop",
            "select": "loop", "case": "case"}
_CLOSERS = {"}": "{", "fi": "if", "done": "loop", "esac": "case"}
_MIDDLES = {"then": "if", "elif": "if", "else": "if", "do": "loop"}
_COMPOUND_WORDS = frozenset(_OPENERS) | frozenset(_CLOSERS) | frozenset(_MIDDLES) | {"function", "[["}


@dataclass(slots=True)
class _Frame:
    kind: str  # root ( { if loop case func
    last: object = None  # _Shape, _COMPOUND or None
    sep: tuple[str, int, int] | None = None


class _StructureParser:
    """Our own grammar walk over tokens.

    With ``allow_compound=False`` it is the fast path and gives up on the first
    compound construct; with True it is the conservative fallback.
    """

    def __init__(self, s: str, toks: list[_Token], depth0: int, allow_compound: bool) -> None:
        self.s = s
        self.toks = toks
        self.depth0 = depth0
        self.allow = allow_compound
        self.frames = [_Frame("root")]
        self.shapes: list[_Shape] = []
        self.stray: list[tuple[Word, int]] = []  # words outside commands (for-lists, case words...)
        self.cur: _Shape | None = None
        self.state: str | None = None

    # -- helpers ---------------------------------------------------------
    @property
    def depth(self) -> int:
        return self.depth0 + len(self.frames) - 1

    def _bail(self, reason: str, skip_bashlex: bool = False) -> None:
        raise _NeedsFullParser(reason, skip_bashlex)

    def _finish(self) -> None:
        if self.cur is not None:
            self.shapes.append(self.cur)
            frame = self.frames[-1]
            frame.last = self.cur
            frame.sep = None
            self.cur = None

    def _item_start(self, shape: _Shape | None) -> None:
        """A command or compound starts in the current list: settle the operator before it."""
        frame = self.frames[-1]
        if frame.last is not None and frame.sep is None:
            raise ShellParseError("missing ';' or newline between commands", self._pos())
        if frame.sep is not None:
            if isinstance(frame.last, _Shape):
                frame.last.after = frame.sep
            if shape is not None:
                shape.before = frame.sep
        frame.last = None
        frame.sep = None

    def _pos(self) -> int:
        return self.toks[self.i].start if self.i < len(self.toks) else len(self.s)

    def _break_adjacency(self) -> None:
        """A reserved word or closer intervenes: the next command has no operator before it."""
        frame = self.frames[-1]
        if frame.sep is not None and frame.sep[0] in _BINARY_OPS:
            raise ShellParseError(f"command expected after {frame.sep[0]!r}", frame.sep[1])
        frame.last = None
        frame.sep = None

    def _open(self, kind: str) -> None:
        self._item_start(None)
        self.frames.append(_Frame(kind))

    def _close(self, kind: str, what: str) -> None:
        self._break_adjacency()
        if self.frames[-1].kind != kind:
            raise ShellParseError(f"unexpected {what!r}", self._pos())
        self.frames.pop()
        while self.frames[-1].kind == "func":
            self.frames.pop()
        outer = self.frames[-1]
        outer.last = _COMPOUND
        outer.sep = None

    # -- main loop -------------------------------------------------------
    def run(self) -> tuple[list[_Shape], list[tuple[Word, int]]]:
        toks = self.toks
        self.i = 0
        while self.i < len(toks):
            t = toks[self.i]
            if self.state is not None and self._in_header(t):
                self.i += 1
                continue
            if t.kind == T_WORD:
                self._word(t)
            elif t.kind == T_REDIR:
                self._redirect(t)
            elif t.kind == T_ARITH:
                self._arith(t)
            else:
                self._operator(t)
            self.i += 1
        self._finish()
        frame = self.frames[-1]
        if frame.sep is not None and frame.sep[0] in _BINARY_OPS:
            raise ShellParseError(f"command expected after {frame.sep[0]!r}", frame.sep[1])
        if len(self.frames) > 1 or self.state is not None:
            raise ShellParseError(f"unterminated {self.frames[-1].kind!r} construct", len(self.s))
        return self.shapes, self.stray

    def _word(self, t: _Token) -> None:
        raw = t.word.raw  # type: ignore[union-attr]
        if self.cur is not None:
            self.cur.last = self.i
            return
        if raw in _COMPOUND_WORDS or raw == "!":
            if raw == "!":
                return  # pipeline negation: not part of any command
            if not self.allow:
                if raw == "[[":
                    self._bail("'[[ ]]' conditional, which bashlex rejects", skip_bashlex=True)
                self._bail(f"compound command {raw!r}")
            self._reserved(raw)
            return
        shape = _Shape(self.i, self.i, self.depth)
        self._item_start(shape)
        self.cur = shape

    def _reserved(self, raw: str) -> None:
        if raw == "[[":
            shape = _Shape(self.i, self.i, self.depth, cond=True)
            self._item_start(shape)
            self.cur = shape
            self.state = "cond"
        elif raw in _OPENERS:
            self._open(_OPENERS[raw])
            if raw in ("for", "select"):
                self.state = "for_name"
            elif raw == "case":
                self.state = "case_subject"
        elif raw in _CLOSERS:
            self._close(_CLOSERS[raw], raw)
        elif raw in _MIDDLES:
            if self.frames[-1].kind != _MIDDLES[raw]:
                raise ShellParseError(f"unexpected {raw!r}", self.toks[self.i].start)
            self._break_adjacency()
        elif raw == "function":
            self._item_start(None)
            self.state = "func_name"

    def _in_header(self, t: _Token) -> bool:
        """Feed a token to the current header state (for/case/function/[[ ]]); True when consumed."""
        return getattr(self, "_state_" + self.state)(t)  # type: ignore[operator]

    # Each _state_* method handles one token while ``self.state`` names it.
    # Words seen in headers go to ``stray`` so their substitutions are parsed.

    @staticmethod
    def _raw(t: _Token) -> str | None:
        return t.word.raw if t.kind == T_WORD else None  # type: ignore[union-attr]

    @staticmethod
    def _is_op(t: _Token, *ops: str) -> bool:
        return t.kind == T_OP and t.op in ops

    def _state_cond(self, t: _Token) -> bool:
        """Inside ``[[ ]]`` every token, operators included, is an argument."""
        self.cur.last = self.i  # type: ignore[union-attr]
        if self._raw(t) == "]]":
            self.state = None
        return True

    def _state_for_name(self, t: _Token) -> bool:
        if t.kind == T_ARITH:  # for ((i = 0; ...))
            self.state = "for_sep"
        elif self._raw(t) is None:
            raise ShellParseError("'for' needs a variable name", t.start)
        else:
            self.state = "for_in"
        return True

    def _state_for_in(self, t: _Token) -> bool:
        raw = self._raw(t)
        if self._is_op(t, "\n", ";"):
            self.state = "for_do"
        elif raw == "in":
            self.state = "for_words"
        elif raw == "do":
            self.state = None
            self._break_adjacency()
        else:
            raise ShellParseError("expected 'in' or 'do' after the 'for' variable", t.start)
        return True

    def _state_for_words(self, t: _Token) -> bool:
        if self._is_op(t, "\n", ";"):
            self.state = "for_do"
        elif t.kind == T_WORD:
            self.stray.append((t.word, self.depth))  # type: ignore[arg-type]
        else:
            raise ShellParseError("unexpected token in 'for' header", t.start)
        return True

    def _state_for_sep(self, t: _Token) -> bool:
        if not self._is_op(t, "\n", ";"):
            raise ShellParseError("expected ';' or newline after 'for ((...))'", t.start)
        self.state = "for_do"
        return True

    def _state_for_do(self, t: _Token) -> bool:
        if self._is_op(t, "\n"):
            return True
        if self._raw(t) != "do":
            raise ShellParseError("expected 'do'", t.start)
        self.state = None
        self._break_adjacency()
        return True

    def _state_case_subject(self, t: _Token) -> bool:
        if self._raw(t) is None:
            raise ShellParseError("'case' needs a word", t.start)
        self.stray.append((t.word, self.depth))  # type: ignore[arg-type]
        self.state = "case_in"
        return True

    def _state_case_in(self, t: _Token) -> bool:
        if self._is_op(t, "\n"):
            return True
        if self._raw(t) != "in":
            raise ShellParseError("expected 'in' after the 'case' word", t.start)
        self.state = "case_pattern"
        return True

    def _state_case_pattern(self, t: _Token) -> bool:
        raw = self._raw(t)
        if self._is_op(t, "\n"):
            return True
        if raw == "esac":
            self.state = None
            self._close("case", "esac")
        elif self._is_op(t, "("):
            self.state = "case_pattern_words"
        elif raw is not None:
            self.stray.append((t.word, self.depth))  # type: ignore[arg-type]
            self.state = "case_pattern_words"
        else:
            raise ShellParseError("expected a case pattern", t.start)
        return True

    def _state_case_pattern_words(self, t: _Token) -> bool:
        if self._is_op(t, ")"):
            self.state = None
            self._break_adjacency()
        elif t.kind == T_WORD:
            self.stray.append((t.word, self.depth))  # type: ignore[arg-type]
        elif not self._is_op(t, "|"):
            raise ShellParseError("unexpected token in a case pattern", t.start)
        return True

    def _state_func_name(self, t: _Token) -> bool:
        if self._raw(t) is None:
            raise ShellParseError("'function' needs a name", t.start)
        self.state = "func_parens"
        return True

    def _state_func_parens(self, t: _Token) -> bool:
        """Optional ``()`` after ``function name``."""
        self.frames.append(_Frame("func"))
        self.state = "func_body"
        if not self._is_op(t, "("):
            return self._state_func_body(t)
        nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
        if nxt is None or not self._is_op(nxt, ")"):
            raise ShellParseError("expected ')' in function definition", t.start)
        self.i += 1
        return True

    def _state_func_body(self, t: _Token) -> bool:
        """Skip newlines, then hand the compound body to the main loop."""
        if self._is_op(t, "\n"):
            return True
        self.state = None
        if self._is_op(t, "(") or t.kind == T_ARITH:
            return False
        if self._raw(t) in ("{", "if", "while", "until", "for", "select", "case", "[["):
            return False
        raise ShellParseError("a function body must be a compound command", t.start)

    def _redirect(self, t: _Token) -> None:
        nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
        if nxt is None or nxt.kind != T_WORD:
            raise ShellParseError(f"redirection {t.op!r} has no target", t.start)
        if self.cur is not None:
            self.cur.last = self.i + 1
        elif self.frames[-1].last is _COMPOUND and self.frames[-1].sep is None:
            # Redirection of a compound command: `done < file`, `} > log`.
            self.stray.append((nxt.word, self.depth))  # type: ignore[arg-type]
        else:
            shape = _Shape(self.i, self.i + 1, self.depth)
            self._item_start(shape)
            self.cur = shape
        self.i += 1

    def _arith(self, t: _Token) -> None:
        if not self.allow:
            self._bail("arithmetic command (( )), which bashlex misparses", skip_bashlex=True)
        if self.cur is not None:
            raise ShellParseError("unexpected '(('", t.start)
        self._item_start(None)
        self.frames[-1].last = _COMPOUND

    def _operator(self, t: _Token) -> None:
        op = t.op
        if op in _SEPARATORS or op == "\n":
            self._finish()
            frame = self.frames[-1]
            if op == "\n":
                if frame.sep is None and frame.last is not None:
                    frame.sep = ("\n", t.start, t.end)
                return
            if frame.last is None or frame.sep is not None:
                raise ShellParseError(f"unexpected {op!r}", t.start)
            frame.sep = (op, t.start, t.end)
            if isinstance(frame.last, _Shape):
                frame.last.after = frame.sep
            return
        if not self.allow:
            self._bail(f"{op!r} (subshell, function or case syntax)")
        if op == "(":
            if self.cur is not None:
                self._function_header(t)
                return
            self._open("(")
        elif op == ")":
            self._finish()
            self._close("(", ")")
        elif op in _CASE_TERMINATORS:
            self._finish()
            if self.frames[-1].kind != "case":
                raise ShellParseError(f"unexpected {op!r} outside 'case'", t.start)
            self._break_adjacency()
            self.state = "case_pattern"

    def _function_header(self, t: _Token) -> None:
        """``name ( )``: the pending one-word 'command' was a function name."""
        cur = self.cur
        nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
        if (cur is None or cur.first != cur.last or self.toks[cur.first].kind != T_WORD
                or nxt is None or nxt.kind != T_OP or nxt.op != ")"):
            raise ShellParseError("unexpected '('", t.start)
        # The name was provisionally a command; the definition is the list item
        # instead, so the operator before it stays settled and the shape is dropped.
        self.cur = None
        self.i += 1
        self.frames.append(_Frame("func"))
        self.state = "func_body"


def _build_from_bashlex(s: str, toks: list[_Token], start: int, end: int,
                        depth0: int) -> tuple[list[_Shape], list[tuple[Word, int]]]:
    """Let bashlex decide the structure, then attach our tokens to its command spans."""
    import bashlex  # imported on first use: it costs ~150 ms and most RUN bodies never need it

    try:
        trees = bashlex.parse(s[start:end])
    except Exception as exc:  # bashlex raises ParsingError, NotImplementedError and internal errors
        raise _Disagreement(f"bashlex: {type(exc).__name__}: {exc}") from exc
    shapes: list[_Shape] = []
    stray: list[tuple[Word, int]] = []
    tok_starts = [t.start for t in toks]

    def tokens_in(a: int, b: int) -> tuple[int, int]:
        lo = bisect.bisect_left(tok_starts, a)
        hi = bisect.bisect_left(tok_starts, b)
        if lo >= hi or toks[hi - 1].end > b or (lo > 0 and toks[lo - 1].end > a):
            raise _Disagreement(f"bashlex span {a}-{b} does not align with the tokens")
        if any(t.kind not in (T_WORD, T_REDIR) for t in toks[lo:hi]):
            raise _Disagreement(f"bashlex command {a}-{b} contains an operator token")
        return lo, hi - 1

    def edges(node: object) -> tuple[_Shape | None, _Shape | None]:
        kind = node.kind  # type: ignore[attr-defined]
        if kind == "command":
            shape = shape_of[id(node)]
            return shape, shape
        if kind in ("list", "pipeline"):
            items = [p for p in node.parts if p.kind not in ("operator", "pipe", "reservedword")]  # type: ignore[attr-defined]
            if not items:
                return None, None
            return edges(items[0])[0], edges(items[-1])[1]
        return None, None

    shape_of: dict[int, _Shape] = {}

    def add_stray_words(a: int, b: int, depth: int) -> None:
        lo = bisect.bisect_left(tok_starts, a)
        for t in toks[lo:]:
            if t.start >= b:
                break
            if t.kind == T_WORD:
                stray.append((t.word, depth))  # type: ignore[arg-type]

    def walk(node: object, depth: int) -> None:
        kind = node.kind  # type: ignore[attr-defined]
        if kind == "command":
            a, b = node.pos  # type: ignore[attr-defined]
            lo, hi = tokens_in(a + start, b + start)
            shape = _Shape(lo, hi, depth)
            shape_of[id(node)] = shape
            shapes.append(shape)
            return
        if kind in ("list", "pipeline"):
            parts = node.parts  # type: ignore[attr-defined]
            for p in parts:
                if p.kind not in ("operator", "pipe", "reservedword"):
                    walk(p, depth)
            link(parts)
            return
        inner = depth
        if kind == "compound":
            first = node.list[0]  # type: ignore[attr-defined]
            if first.kind == "reservedword" and first.word in ("(", "{"):
                inner = depth + 1
            for p in node.list:  # type: ignore[attr-defined]
                if p.kind != "reservedword":
                    walk(p, inner)
            for r in getattr(node, "redirects", []) or []:
                a, b = r.pos
                add_stray_words(a + start, b + start, depth)
            return
        if kind in ("if", "for", "while", "until", "function"):
            inner = depth + 1
            parts = node.parts  # type: ignore[attr-defined]
            for idx, p in enumerate(parts):
                if p.kind == "word":
                    if kind == "for":
                        a, b = p.pos
                        add_stray_words(a + start, b + start, inner)
                elif p.kind not in ("reservedword", "operator"):
                    walk(p, inner)
            return
        raise _Disagreement(f"unsupported bashlex node {kind!r}")

    def link(parts: Sequence[object]) -> None:
        items_and_ops = [p for p in parts if not (p.kind == "reservedword" and p.word == "!")]  # type: ignore[attr-defined]
        for idx, p in enumerate(items_and_ops):
            if p.kind not in ("operator", "pipe"):  # type: ignore[attr-defined]
                continue
            op = p.op if p.kind == "operator" else p.pipe  # type: ignore[attr-defined]
            a, b = p.pos  # type: ignore[attr-defined]
            sep = (op, a + start, b + start)
            prev = items_and_ops[idx - 1] if idx > 0 else None
            nxt = items_and_ops[idx + 1] if idx + 1 < len(items_and_ops) else None
            if nxt is None and op == "\n":
                continue
            if prev is not None and prev.kind not in ("operator", "pipe"):  # type: ignore[attr-defined]
                last = edges(prev)[1]
                if last is not None:
                    last.after = sep
            if nxt is not None and nxt.kind not in ("operator", "pipe"):  # type: ignore[attr-defined]
                first = edges(nxt)[0]
                if first is not None:
                    first.before = sep

    for t in trees:
        walk(t, depth0)
    # Top-level trees are separated by newlines (or by a trailing ; or & of the previous tree).
    for prev, nxt in zip(trees, trees[1:]):
        tail = prev.parts[-1] if prev.kind == "list" else None
        if tail is not None and tail.kind == "operator":
            a, b = tail.pos
            sep = (tail.op, a + start, b + start)
        else:
            pe = prev.pos[1] + start
            idx = bisect.bisect_left(tok_starts, pe)
            while idx < len(toks) and not (toks[idx].kind == T_OP and toks[idx].op == "\n"):
                idx += 1
            if idx >= len(toks):
                raise _Disagreement("no newline between top-level bashlex trees")
            sep = ("\n", toks[idx].start, toks[idx].end)
        last = edges(prev)[1]
        first = edges(nxt)[0]
        if last is not None:
            last.after = sep
        if first is not None:
            first.before = sep
    return shapes, stray


class _Disagreement(Exception):
    """bashlex's structure cannot be reconciled with our tokens."""


def _substitutions(parts: Iterable[Part]) -> Iterable[Subst]:
    for p in parts:
        if type(p) is Subst and p.kind != "arithmetic" and p.body_end > p.body_start:
            yield p
        elif type(p) is Param:
            yield from _substitutions(p.arg)


def _words_of(cmd: SimpleCommand) -> Iterable[Word]:
    yield from cmd.assignments
    yield from cmd.words
    for r in cmd.redirects:
        if r.target is not None:
            yield r.target
        if r.heredoc is not None:
            yield r.heredoc


@dataclass(slots=True)
class _Outcome:
    commands: list[SimpleCommand]
    engine: str
    reason: str | None


_ENGINE_RANK = {"tokenizer": 0, "bashlex": 1, "fallback": 2}


def _parse_region(s: str, start: int, end: int, depth0: int, force: str | None = None) -> _Outcome:
    """Parse ``s[start:end]`` with the three engines in turn, then recurse into substitutions."""
    toks = _tokenize(s, start, end)
    engine = "tokenizer"
    reason: str | None = None
    shapes: list[_Shape]
    stray: list[tuple[Word, int]]
    try:
        if force in ("bashlex", "fallback"):
            raise _NeedsFullParser(f"forced {force}", skip_bashlex=(force == "fallback"))
        shapes, stray = _StructureParser(s, toks, depth0, allow_compound=False).run()
    except _NeedsFullParser as need:
        try:
            if need.skip_bashlex:
                raise _Disagreement(need.reason)
            shapes, stray = _build_from_bashlex(s, toks, start, end, depth0)
            engine = "bashlex"
        except _Disagreement as exc:
            reason = str(exc)
            shapes, stray = _StructureParser(s, toks, depth0, allow_compound=True).run()
            engine = "fallback"
    commands = [_command_from_tokens(s, toks[sh.first:sh.last + 1], sh.depth, sh.cond,
                                     sh.before, sh.after) for sh in shapes]
    nested_words: list[tuple[Word, int]] = [(w, c.depth) for c in commands for w in _words_of(c)]
    nested_words.extend(stray)
    for word, depth in nested_words:
        for sub in _substitutions(word.parts):
            inner = _parse_region(s, sub.body_start, sub.body_end, depth + 1)
            commands.extend(inner.commands)
            if _ENGINE_RANK[inner.engine] > _ENGINE_RANK[engine]:
                engine = inner.engine
            if inner.reason and reason is None:
                reason = inner.reason
    return _Outcome(commands, engine, reason)


@functools.lru_cache(maxsize=4096)
def parse_script(script: str) -> Script:
    """Split a shell script into its simple commands (see the module docstring).

    Memoised: the result is immutable and depends only on the text, and migrate parses
    the same RUN bodies again when it re-plans its own output to prove stability.
    """
    outcome = _parse_region(script, 0, len(script), 0)
    commands = tuple(sorted(outcome.commands, key=lambda c: c.start))
    return Script(text=script, commands=commands, engine=outcome.engine,
                  fallback=outcome.engine == "fallback",
                  fallback_reason=outcome.reason if outcome.engine == "fallback" else None)


def _parse_script_with(script: str, engine: str) -> Script:
    """Force an engine ("bashlex" or "fallback") for the top level; used by differential tests."""
    outcome = _parse_region(script, 0, len(script), 0, force=engine)
    commands = tuple(sorted(outcome.commands, key=lambda c: c.start))
    return Script(text=script, commands=commands, engine=outcome.engine,
                  fallback=outcome.engine == "fallback", fallback_reason=outcome.reason)


# ---------------------------------------------------------------------------
# Exec form
# ---------------------------------------------------------------------------

_JSON_WS = re.compile(r"[ \t\n\r]*")


def exec_form_words(json_text: str) -> tuple[Word, ...] | None:
    """Words of an exec-form RUN, with offsets into ``json_text`` (raw includes the JSON quotes).

    None when the text is not a JSON array of strings.  The values are taken
    literally: Docker does no shell processing on exec form.
    """
    s = json_text
    i = _JSON_WS.match(s, 0).end()
    if i >= len(s) or s[i] != "[":
        return None
    i = _JSON_WS.match(s, i + 1).end()
    words: list[Word] = []
    if i < len(s) and s[i] == "]":
        i += 1
    else:
        while True:
            if i >= len(s) or s[i] != '"':
                return None
            try:
                value, j = json.decoder.scanstring(s, i + 1, True)  # type: ignore[attr-defined]
            except ValueError:
                return None
            text_start = i + 1 if s[i + 1:j - 1] == value else -1
            raw = s[i:j]
            words.append(Word(raw, i, j, value, value,
                              parts=(Lit(value, True, i, j, text_start),)))
            i = _JSON_WS.match(s, j).end()
            if i < len(s) and s[i] == ",":
                i = _JSON_WS.match(s, i + 1).end()
                continue
            if i < len(s) and s[i] == "]":
                i += 1
                break
            return None
    if _JSON_WS.match(s, i).end() != len(s):
        return None
    return tuple(words)


def parse_exec_form(json_text: str) -> list[str] | None:
    """The argv of an exec-form RUN (``["pip", "install", ...]``), or None if not a JSON string array."""
    words = exec_form_words(json_text)
    if words is None:
        return None
    return [w.value for w in words]  # type: ignore[misc]


# ---------------------------------------------------------------------------
# pip options
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """What pip's option parser knows about one option.

    ``legacy`` options are gone from current pip but still recognised so that
    old Dockerfiles parse; callers may treat them as errors.
    """

    name: str
    takes_value: bool
    short: str | None = None
    aliases: tuple[str, ...] = ()
    legacy: bool = False

    @property
    def long_names(self) -> tuple[str, ...]:
        return (self.name,) + self.aliases


def _flag(name: str, short: str | None = None, *aliases: str, legacy: bool = False) -> OptionSpec:
    return OptionSpec(name, False, short, aliases, legacy)


def _value(name: str, short: str | None = None, *aliases: str, legacy: bool = False) -> OptionSpec:
    return OptionSpec(name, True, short, aliases, legacy)


GENERAL_OPTIONS: tuple[OptionSpec, ...] = (
    _flag("--help", "-h"),
    _flag("--version", "-V"),
    _flag("--debug"),
    _flag("--isolated"),
    _flag("--require-virtualenv", None, "--require-venv"),
    _value("--python"),
    _flag("--verbose", "-v"),
    _flag("--quiet", "-q"),
    _value("--log", None, "--log-file", "--local-log"),
    _flag("--no-input"),
    _value("--keyring-provider"),
    _value("--proxy"),
    _flag("--no-proxy-env"),
    _value("--retries"),
    _value("--timeout", None, "--default-timeout"),
    _value("--exists-action"),
    _value("--trusted-host"),
    _value("--cert"),
    _value("--client-cert"),
    _value("--cache-dir"),
    _flag("--no-cache-dir"),
    _flag("--disable-pip-version-check"),
    _flag("--no-color"),
    _flag("--no-python-version-warning"),
    _value("--use-feature"),
    _value("--use-deprecated"),
    _value("--resume-retries"),
    _value("--skip-requirements-regex", legacy=True),
)

_BUILD_OPTIONS = (
    _flag("--no-build-isolation"),
    _flag("--use-pep517"),
    _flag("--no-use-pep517", legacy=True),
    _flag("--check-build-dependencies"),
    _value("--config-settings", "-C"),
    _value("--global-option", legacy=True),
    _value("--build-option", legacy=True),
    _flag("--no-clean"),
)

_REQUIREMENT_OPTIONS = (
    _value("--requirement", "-r"),
    _value("--constraint", "-c"),
    _value("--build-constraint"),
    _value("--requirements-from-script"),
    _flag("--no-deps", None, "--no-dependencies"),
    _flag("--only-deps", None, "--only-dependencies"),
    _value("--group"),
    _value("--src", None, "--source", "--source-dir", "--source-directory"),
    _flag("--ignore-requires-python"),
    _flag("--require-hashes"),
    _flag("--no-require-hashes"),
    _value("--progress-bar"),
)

_PACKAGE_SELECTION = (
    _flag("--pre"),
    _value("--all-releases"),
    _value("--only-final"),
    _value("--no-binary"),
    _value("--only-binary"),
    _flag("--prefer-binary"),
)

_INDEX_OPTIONS = (
    _value("--index-url", "-i", "--pypi-url"),
    _value("--extra-index-url"),
    _flag("--no-index"),
    _value("--refresh-package"),
    _value("--find-links", "-f"),
    _value("--uploaded-prior-to"),
    _flag("--process-dependency-links", legacy=True),
)

_TARGET_PLATFORM = (
    _value("--platform"),
    _value("--python-version"),
    _value("--implementation"),
    _value("--abi"),
)

_INSTALL_ONLY = (
    _value("--editable", "-e"),
    _flag("--dry-run"),
    _value("--target", "-t"),
    _flag("--user"),
    _flag("--no-user"),
    _value("--root"),
    _value("--prefix"),
    _flag("--upgrade", "-U"),
    _value("--upgrade-strategy"),
    _flag("--force-reinstall"),
    _flag("--ignore-installed", "-I"),
    _flag("--break-system-packages"),
    _flag("--compile"),
    _flag("--no-compile"),
    _flag("--no-warn-script-location"),
    _flag("--no-warn-conflicts"),
    _value("--root-user-action"),
    _value("--report"),
    _value("--install-option", legacy=True),
    _flag("--egg", legacy=True),
    _value("--build", "-b", "--build-dir", legacy=True),
)

COMMAND_OPTIONS: dict[str, tuple[OptionSpec, ...]] = {
    "install": _INSTALL_ONLY + _REQUIREMENT_OPTIONS + _BUILD_OPTIONS + _PACKAGE_SELECTION
    + _INDEX_OPTIONS + _TARGET_PLATFORM,
    "wheel": (
        _value("--wheel-dir", "-w"),
        _value("--editable", "-e"),
        _flag("--no-verify"),
        _value("--build", "-b", "--build-dir", legacy=True),
    ) + _REQUIREMENT_OPTIONS + _BUILD_OPTIONS + _PACKAGE_SELECTION + _INDEX_OPTIONS,
    "download": (
        _value("--dest", "-d", "--destination-dir", "--destination-directory"),
    ) + _REQUIREMENT_OPTIONS + _BUILD_OPTIONS + _PACKAGE_SELECTION + _INDEX_OPTIONS
    + _TARGET_PLATFORM,
    "uninstall": (
        _value("--requirement", "-r"),
        _flag("--yes", "-y"),
        _value("--root-user-action"),
        _flag("--break-system-packages"),
    ),
}

_GENERAL_NAMES = frozenset(spec.name for spec in GENERAL_OPTIONS)


@dataclass(frozen=True, slots=True)
class _OptionTable:
    """Lookup structure for one optparse parser (general options + one command's)."""

    long: dict[str, OptionSpec]
    short: dict[str, OptionSpec]
    complete: bool = True  # False: the command has options we do not list

    @classmethod
    def of(cls, specs: Iterable[OptionSpec], complete: bool = True) -> "_OptionTable":
        long: dict[str, OptionSpec] = {}
        short: dict[str, OptionSpec] = {}
        for spec in specs:
            for name in spec.long_names:
                long.setdefault(name, spec)
            if spec.short:
                short.setdefault(spec.short, spec)
        return cls(long, short, complete)

    def match_long(self, name: str) -> tuple[OptionSpec | None, bool, tuple[str, ...]]:
        """optparse's rule: exact name, else a prefix of exactly one long option string.

        Returns (spec, abbreviated, candidates); candidates has several entries
        when the abbreviation is ambiguous.  Aliases count as separate strings,
        as in optparse, so ``--no-dep`` (``--no-deps``/``--no-dependencies``)
        is ambiguous.
        """
        spec = self.long.get(name)
        if spec is not None:
            return spec, False, (name,)
        if not self.complete:
            return None, False, ()  # an abbreviation may belong to an option we do not list
        candidates = tuple(sorted(n for n in self.long if n.startswith(name)))
        if len(candidates) == 1:
            return self.long[candidates[0]], True, candidates
        return None, False, candidates


_MAIN_TABLE = _OptionTable.of(GENERAL_OPTIONS)
_UNLISTED_COMMAND_TABLE = _OptionTable.of(GENERAL_OPTIONS, complete=False)
_COMMAND_TABLES = {cmd: _OptionTable.of(GENERAL_OPTIONS + specs) for cmd, specs in COMMAND_OPTIONS.items()}


@dataclass(frozen=True, slots=True)
class PipOption:
    """One option occurrence on a pip command line.

    ``name`` is the canonical long name (``--index-url`` for ``-i``), or the
    spelling as written when the option is unknown.  ``words`` are the words
    that spelled it (two when the value is the next word; a combined short
    cluster like ``-qq`` yields two options sharing one word).
    """

    name: str
    spelling: str
    value: Word | None
    words: tuple[Word, ...]
    known: bool
    abbreviated: bool = False
    general: bool = False
    spec: OptionSpec | None = None

    @property
    def start(self) -> int:
        return self.words[0].start

    @property
    def end(self) -> int:
        return self.words[-1].end


@dataclass(frozen=True, slots=True)
class PipInvocation:
    """A recognised pip command line, split the way pip's optparse parser would split it.

    * ``wrapper``/``wrapper_words``: a ``sudo``/``env``/``time``/``nice``...
      prefix (name of the outermost one) and all the words it took.  Callers
      usually refuse to rewrite these.
    * ``launcher_words``: from the interpreter or pip program up to, excluding,
      the subcommand (python options and pip's leading general options included).
    * ``program``: the pip word (``pip3``, ``/opt/venv/bin/pip``) or, for
      ``python -m pip``, the module word ``pip`` (a sub-word for ``-mpip``).
    * ``options``: command options other than ``-r``/``-c``/``-e`` plus every
      unknown option; ``global_options``: pip's general options wherever they
      appear; ``all_options``: every option occurrence in order.
    * ``packages``: positional arguments after the subcommand.
    * ``errors``: what pip itself would reject (missing value, ambiguous
      abbreviation, value given to a flag, non-static option name...).
    * ``dynamic``: argument words (after the launcher) whose runtime value or
      word count cannot be known statically: substitutions, unquoted
      expansions, globs.  The launcher itself is judged by the caller
      (``program.has_substitution``...): ``$VIRTUAL_ENV/bin/pip`` is fine to
      keep as written.

    Unknown options are taken as flags unless written ``--opt=value``, so a
    following word may be misread as positional; callers should refuse when
    ``unknown_options`` is not empty.  Full option tables exist for
    ``install``, ``wheel``, ``download`` and ``uninstall``; for other (or
    dynamic) subcommands only exact general options are recognised and the
    rest are unknown without being reported as errors.
    """

    program: Word
    interpreter: Word | None
    launcher_words: tuple[Word, ...]
    subcommand: str | None
    subcommand_word: Word | None
    global_options: tuple[PipOption, ...]
    options: tuple[PipOption, ...]
    all_options: tuple[PipOption, ...]
    requirements: tuple[Word, ...]
    constraints: tuple[Word, ...]
    editables: tuple[Word, ...]
    packages: tuple[Word, ...]
    unknown_options: tuple[str, ...]
    errors: tuple[str, ...]
    dynamic: tuple[Word, ...]
    argv: tuple[Word, ...]
    wrapper: str | None = None
    wrapper_words: tuple[Word, ...] = ()
    assignments: tuple[Word, ...] = ()

    def option(self, name: str) -> tuple[PipOption, ...]:
        """Every occurrence of the option with canonical name ``name``."""
        return tuple(o for o in self.all_options if o.name == name)

    def has_option(self, name: str) -> bool:
        return any(o.name == name for o in self.all_options)


def requirement_like(inv: PipInvocation) -> bool:
    """True when the invocation is ``pip install`` from at least one ``-r`` file."""
    return inv.subcommand == "install" and bool(inv.requirements)


# -- launcher recognition ----------------------------------------------------

_PIP_NAME = re.compile(r"pip(?:\d+(?:\.\d+)?)?(?:\.exe)?")
_PYTHON_NAME = re.compile(r"(?:python(?:\d+(?:\.\d+)?t?)?|pypy(?:\d+(?:\.\d+)?)?|py)(?:\.exe)?")
_PY_FLAGS = frozenset("bBdEhiIOPqRsStuvVx?")
_PY_VALUE_OPTS = frozenset("WX")


def _basename(word: Word) -> str | None:
    """The last path component when it is static (``"$VENV/bin/pip"`` -> ``pip``)."""
    if word.value is not None:
        return word.value.rsplit("/", 1)[-1]
    tail: list[str] = []
    for p in reversed(word.parts):
        if type(p) is not Lit:
            break
        tail.append(p.text)
    text = "".join(reversed(tail))
    if "/" not in text:
        return None
    return text.rsplit("/", 1)[-1]


def _python_module_pip(words: Sequence[Word]) -> tuple[int, Word] | None:
    """For ``python [opts] -m pip ...`` return (index of first pip arg, module word)."""
    i = 1
    while i < len(words):
        w = words[i]
        text = w.value
        if text is None:
            return None
        if text.startswith("--"):
            if text == "--check-hash-based-pycs":
                i += 2
                continue
            return None
        if not text.startswith("-") or text == "-":
            return None  # a script path: not `-m pip`
        j = 1
        while j < len(text):
            c = text[j]
            if c == "m":
                if j + 1 < len(text):
                    module = _subword(w, j + 1)
                    return (i + 1, module) if module.value == "pip" else None
                if i + 1 < len(words) and words[i + 1].value == "pip":
                    return i + 2, words[i + 1]
                return None
            if c in _PY_VALUE_OPTS:
                if j + 1 == len(text):
                    i += 1  # value is the next word
                break
            if c not in _PY_FLAGS:
                return None  # -c or an unknown option
            j += 1
        i += 1
    return None


# -- wrappers ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _WrapperSpec:
    short_values: str = ""
    long_values: tuple[str, ...] = ()
    positionals: int = 0  # leading operands before the command (timeout DURATION, gosu USER)
    assignments: bool = False  # env: NAME=VALUE words before the command
    numeric_flags: bool = False  # nice -10


_WRAPPERS: dict[str, _WrapperSpec] = {
    "sudo": _WrapperSpec("ugCDprtTU", ("--user", "--group", "--close-from", "--chdir", "--prompt",
                                       "--role", "--type", "--command-timeout", "--other-user",
                                       "--host")),
    "doas": _WrapperSpec("uC"),
    "env": _WrapperSpec("uCS", ("--unset", "--chdir", "--split-string"), assignments=True),
    "time": _WrapperSpec("fo", ("--format", "--output")),
    "nice": _WrapperSpec("n", ("--adjustment",), numeric_flags=True),
    "ionice": _WrapperSpec("cnp", ("--class", "--classdata", "--pid")),
    "nohup": _WrapperSpec(),
    "command": _WrapperSpec(),
    "exec": _WrapperSpec("a"),
    "timeout": _WrapperSpec("ks", ("--kill-after", "--signal"), positionals=1),
    "stdbuf": _WrapperSpec("ioe", ("--input", "--output", "--error")),
    "gosu": _WrapperSpec(positionals=1),
    "su-exec": _WrapperSpec(positionals=1),
}


def _skip_wrapper(words: Sequence[Word], i: int, spec: _WrapperSpec) -> int | None:
    """Index of the wrapped command after the wrapper word at ``i``; None when unparseable."""
    i += 1
    positionals = spec.positionals
    while i < len(words):
        text = words[i].value
        if text is None:
            return None
        if text == "--":
            i += 1
            break
        if text.startswith("--") and len(text) > 2:
            name = text.split("=", 1)[0]
            i += 2 if (name in spec.long_values and "=" not in text) else 1
            continue
        if text.startswith("-") and len(text) > 1:
            if spec.numeric_flags and text[1:].isdigit():
                i += 1
                continue
            j = 1
            consumed_next = False
            while j < len(text):
                if text[j] in spec.short_values:
                    consumed_next = j + 1 == len(text)
                    break
                j += 1
            i += 2 if consumed_next else 1
            continue
        if spec.assignments and _ASSIGNMENT.match(text):
            i += 1
            continue
        if positionals:
            positionals -= 1
            i += 1
            continue
        break
    return i if i < len(words) else None


# -- argv parsing ----------------------------------------------------------------

def parse_pip_argv(argv: Sequence[Word]) -> PipInvocation | None:
    """Recognise a pip command line in ``argv`` (shell words or exec-form words).

    Works on any words: from ``SimpleCommand.words``, from ``exec_form_words``
    (offsets into the JSON text) or ``Word.synthetic`` (offsets -1).  Returns
    None when the command is not pip.
    """
    words = list(argv)
    i = 0
    wrapper: str | None = None
    while i < len(words):
        name = _basename(words[i])
        spec = _WRAPPERS.get(name or "")
        if spec is None:
            break
        if name == "command" and i + 1 < len(words) and words[i + 1].value in ("-v", "-V"):
            return None  # `command -v pip` looks pip up, it does not run it
        nxt = _skip_wrapper(words, i, spec)
        if nxt is None:
            return None
        wrapper = wrapper or name
        i = nxt
    wrapper_words = tuple(words[:i])
    rest = words[i:]
    if not rest:
        return None
    base = _basename(rest[0])
    if base is None:
        return None
    if _PIP_NAME.fullmatch(base):
        interpreter = None
        program = rest[0]
        args_at = 1
    elif _PYTHON_NAME.fullmatch(base):
        found = _python_module_pip(rest)
        if found is None:
            return None
        args_at, program = found
        interpreter = rest[0]
    else:
        return None
    return _parse_pip_args(rest, args_at, program, interpreter, wrapper, wrapper_words)


def find_pip_invocation(cmd: SimpleCommand) -> PipInvocation | None:
    """``parse_pip_argv`` on a command's words, keeping its ``VAR=value`` prefix."""
    inv = parse_pip_argv(cmd.words)
    if inv is None:
        return None
    return replace(inv, assignments=cmd.assignments)


@dataclass(slots=True)
class _ArgvState:
    options: list[PipOption] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    requirements: list[Word] = field(default_factory=list)
    constraints: list[Word] = field(default_factory=list)
    editables: list[Word] = field(default_factory=list)
    packages: list[Word] = field(default_factory=list)


_TARGET_FIELDS = {"--requirement": "requirements", "--constraint": "constraints",
                  "--editable": "editables"}


def _looks_like_option(w: Word) -> bool:
    """optparse treats any argument starting with '-' except a lone '-' as an option."""
    return w.static_prefix().startswith("-") and w.literal != "-"


def _parse_pip_args(rest: Sequence[Word], args_at: int, program: Word, interpreter: Word | None,
                    wrapper: str | None, wrapper_words: tuple[Word, ...]) -> PipInvocation:
    st = _ArgvState()
    i = args_at
    # Phase 1: general options before the subcommand (pip parses these with
    # interspersed arguments disabled, so the first positional is the command).
    sub_word: Word | None = None
    while i < len(rest):
        w = rest[i]
        if w.literal == "--":
            i += 1
            if i < len(rest):
                sub_word = rest[i]
                i += 1
            break
        if _looks_like_option(w):
            i = _parse_option(rest, i, _MAIN_TABLE, st, before_subcommand=True)
            continue
        sub_word = w
        i += 1
        break
    launcher_end = i - 1 if sub_word is not None else i
    subcommand = sub_word.value if sub_word is not None else None
    if sub_word is not None and subcommand is None:
        st.errors.append("the pip subcommand is not static")
    # Phase 2: the command's parser (general + command options), interspersed.
    table = _COMMAND_TABLES.get(subcommand or "", _UNLISTED_COMMAND_TABLE)
    while i < len(rest):
        w = rest[i]
        if w.literal == "--":
            st.packages.extend(rest[i + 1:])
            break
        if _looks_like_option(w):
            i = _parse_option(rest, i, table, st, before_subcommand=False)
            continue
        st.packages.append(w)
        i += 1
    argv = tuple(rest)
    all_options = tuple(st.options)
    return PipInvocation(
        program=program,
        interpreter=interpreter,
        launcher_words=argv[:launcher_end],
        subcommand=subcommand,
        subcommand_word=sub_word,
        global_options=tuple(o for o in all_options if o.general),
        options=tuple(o for o in all_options
                      if not o.general and o.name not in _TARGET_FIELDS),
        all_options=all_options,
        requirements=tuple(st.requirements),
        constraints=tuple(st.constraints),
        editables=tuple(st.editables),
        packages=tuple(st.packages),
        unknown_options=tuple(st.unknown),
        errors=tuple(st.errors),
        dynamic=tuple(w for w in argv[args_at:] if w.has_substitution or w.may_split),
        argv=argv,
        wrapper=wrapper,
        wrapper_words=wrapper_words,
    )


def _record(st: _ArgvState, spec: OptionSpec | None, spelling: str, value: Word | None,
            words: tuple[Word, ...], abbreviated: bool = False) -> None:
    if spec is None:
        st.options.append(PipOption(spelling, spelling, value, words, known=False))
        st.unknown.append(spelling)
        return
    opt = PipOption(spec.name, spelling, value, words, known=True, abbreviated=abbreviated,
                    general=spec.name in _GENERAL_NAMES, spec=spec)
    st.options.append(opt)
    target = _TARGET_FIELDS.get(spec.name)
    if target is not None and value is not None:
        getattr(st, target).append(value)


def _parse_option(rest: Sequence[Word], i: int, table: _OptionTable, st: _ArgvState,
                  before_subcommand: bool) -> int:
    """Consume the option starting at ``rest[i]`` the way optparse would; return the next index.

    Only the static prefix of a word can name an option: ``-r$REQ`` and
    ``--requirement=$REQ`` are fine (dynamic value), ``--$OPT`` is not.
    """
    w = rest[i]
    prefix = w.static_prefix()
    fully_static = w.literal is not None  # globs do not matter to pip's parser
    where = " before the subcommand" if before_subcommand else ""
    if prefix.startswith("--"):
        has_eq = "=" in prefix
        if not fully_static and not has_eq:
            st.errors.append(f"option name {w.raw!r} is not static")
            _record(st, None, w.raw, None, (w,))
            return i + 1
        name = prefix.split("=", 1)[0]
        spec, abbreviated, candidates = table.match_long(name)
        value = _subword(w, len(name) + 1) if has_eq else None
        if spec is None:
            if len(candidates) > 1:
                st.errors.append(f"ambiguous option {name} (could be {', '.join(candidates)})")
            elif table.complete:
                st.errors.append(f"no such option {name}{where}")
            _record(st, None, name, value, (w,))
            return i + 1
        if not spec.takes_value:
            if has_eq:
                st.errors.append(f"{name} does not take a value")
            _record(st, spec, name, None, (w,), abbreviated)
            return i + 1
        if has_eq:
            _record(st, spec, name, value, (w,), abbreviated)
            return i + 1
        return _take_next(rest, i, spec, name, st, abbreviated)
    # Short option cluster: flags until one that takes a value eats the rest.
    j = 1
    while True:
        if j >= len(prefix):
            if not fully_static:
                st.errors.append(f"option cluster {w.raw!r} is not static")
                _record(st, None, w.raw, None, (w,))
            return i + 1
        letter = "-" + prefix[j]
        spec = table.short.get(letter)
        if spec is None:
            if table.complete:
                st.errors.append(f"no such option {letter}{where}")
            _record(st, None, letter, None, (w,))
            return i + 1
        if not spec.takes_value:
            _record(st, spec, letter, None, (w,))
            j += 1
            continue
        if j + 1 < len(prefix) or not fully_static:
            _record(st, spec, letter, _subword(w, j + 1), (w,))
            return i + 1
        return _take_next(rest, i, spec, letter, st, False)


def _take_next(rest: Sequence[Word], i: int, spec: OptionSpec, spelling: str, st: _ArgvState,
               abbreviated: bool) -> int:
    """optparse takes the next argument as the value, whatever it looks like."""
    if i + 1 >= len(rest):
        st.errors.append(f"{spelling} requires a value")
        _record(st, spec, spelling, None, (rest[i],), abbreviated)
        return i + 1
    _record(st, spec, spelling, rest[i + 1], (rest[i], rest[i + 1]), abbreviated)
    return i + 2
