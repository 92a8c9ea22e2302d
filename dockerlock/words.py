"""Dockerfile-level words: splitting, quote removal and ARG/ENV expansion.

These follow BuildKit's rules for instruction arguments (not a shell's): whitespace
separates words unless quoted, the parser's escape character (``\\`` or a backtick)
escapes the next character, and ``$NAME`` / ``${NAME}`` / ``${NAME:-default}`` expand
from ARG/ENV values. Anything we cannot resolve statically expands to ``None`` so
callers can keep the text as written instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import NamedTuple

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLAIN_WORD = re.compile(r"[^ \t\r\n]+")


def _is_plain(text: str, escape: str) -> bool:
    """No quotes, no escape character: words are whitespace-separated runs, kept as they are."""
    return '"' not in text and "'" not in text and escape not in text


class RawWord(NamedTuple):
    """A word as written, with its offsets in the text it was split from (a named tuple: every
    instruction's words are split, some more than once, and a tuple is the cheapest to build)."""

    raw: str
    start: int
    end: int


def split_words(text: str, start: int = 0, end: int | None = None, escape: str = "\\") -> list[RawWord]:
    """Split ``text[start:end]`` into whitespace-separated words, honouring quotes and escapes."""
    end = len(text) if end is None else end
    if _is_plain(text[start:end], escape):
        return [RawWord(m.group(), m.start(), m.end()) for m in _PLAIN_WORD.finditer(text, start, end)]
    return list(_quoted_words(text, start, end, escape))


def iter_words(text: str, start: int = 0, escape: str = "\\") -> Iterator[RawWord]:
    """``split_words(text, start)`` one word at a time, for a caller that reads only the first
    few words of what may be a long line (an instruction's flags)."""
    if _is_plain(text[start:], escape):
        return (RawWord(m.group(), m.start(), m.end()) for m in _PLAIN_WORD.finditer(text, start))
    return _quoted_words(text, start, len(text), escape)


def _quoted_words(text: str, start: int, end: int, escape: str) -> Iterator[RawWord]:
    i = start
    while i < end:
        while i < end and text[i] in " \t\r\n":
            i += 1
        if i >= end:
            break
        word_start = i
        quote = ""
        while i < end:
            ch = text[i]
            if quote:
                if ch == escape and quote == '"' and i + 1 < end:
                    i += 2
                    continue
                if ch == quote:
                    quote = ""
                i += 1
                continue
            if ch == escape and i + 1 < end:
                i += 2
                continue
            if ch in "'\"":
                quote = ch
                i += 1
                continue
            if ch in " \t\r\n":
                break
            i += 1
        yield RawWord(text[word_start:i], word_start, i)


def unquote(raw: str, escape: str = "\\") -> str:
    """Remove quotes and escape characters (no variable expansion)."""
    if _is_plain(raw, escape):
        return raw
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == escape and i + 1 < len(raw) and quote != "'":
            out.append(raw[i + 1])
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = ""
            else:
                out.append(ch)
        elif ch in "'\"":
            quote = ch
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def expand(raw: str, values: Mapping[str, str | None], escape: str = "\\") -> str | None:
    """Remove quotes and expand ``$VAR`` forms from ``values``.

    Returns ``None`` when a referenced variable is unknown (absent or ``None``), or
    the expression uses a form we do not evaluate: the caller then keeps the text as
    written rather than acting on a guess.
    """
    if "$" not in raw and _is_plain(raw, escape):
        return raw
    out: list[str] = []
    quote = ""
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch == escape and i + 1 < n and quote != "'":
            out.append(raw[i + 1])
            i += 2
            continue
        if quote == "'":
            if ch == "'":
                quote = ""
            else:
                out.append(ch)
            i += 1
            continue
        if ch == '"':
            quote = "" if quote == '"' else '"'
            i += 1
            continue
        if ch == "'" and not quote:
            quote = "'"
            i += 1
            continue
        if ch == "$" and i + 1 < n:
            if raw[i + 1] == "{":
                close = raw.find("}", i + 2)
                if close < 0:
                    return None
                value = _expand_braced(raw[i + 2:close], values, escape)
                if value is None:
                    return None
                out.append(value)
                i = close + 1
                continue
            m = _NAME.match(raw, i + 1)
            if m:
                value = values.get(m.group(0))
                if value is None:
                    return None
                out.append(value)
                i = m.end()
                continue
        out.append(ch)
        i += 1
    if quote:
        return None
    return "".join(out)


def _expand_braced(expr: str, values: Mapping[str, str | None], escape: str) -> str | None:
    m = _NAME.match(expr)
    if not m:
        return None
    name, rest = m.group(0), expr[m.end():]
    value = values.get(name)
    if rest == "":
        return value
    for op in (":-", ":+", "-", "+"):
        if rest.startswith(op):
            word = rest[len(op):]
            is_set = value is not None if op in ("-", "+") else bool(value)
            if name not in values and op in (":-", "-"):
                # Unknown to us (not declared at all): the default is what BuildKit uses
                # when the variable is unset, and an undeclared variable is unset.
                return expand(word, values, escape)
            if name in values and values[name] is None:
                return None  # declared but value unknown: cannot decide
            if op in (":-", "-"):
                return value if is_set else expand(word, values, escape)
            return expand(word, values, escape) if is_set else ""
    return None


def has_variables(raw: str) -> bool:
    return "$" in raw
