"""Scripts inside scripts: ``sh -c '...'`` wrappers and exec-form JSON arrays.

``RUN sh -c "pip install -r requirements.txt"`` and ``RUN ["/bin/bash", "-c", "..."]``
run pip inside a quoted string.  dockerlock may rewrite inside that string only when
every character of the inner script is written as itself in the outer text (a
single-quoted word; a double-quoted word without ``\\``, ``$`` or backticks; an
unquoted plain word; a JSON string without escapes).  Then the inner script is parsed
in place: its words and commands carry offsets into the *outer* text, so an edit made
from them lands exactly.  Otherwise the caller gets a reason to refuse with.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import NamedTuple, Sequence

from dockerlock.shell.adapter import Script, parse_script
from dockerlock.shell.words import Lit, Word

__all__ = ["WrappedScript", "wrapped_script", "exec_form_words", "parse_exec_form", "SHELLS"]

SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox-sh"})
_SHELL_LONG_FLAGS = frozenset({"--login", "--norc", "--noprofile", "--posix", "--restricted", "--noediting"})
_INEXACT = "pip runs inside `{shell} -c` with quoting dockerlock cannot rewrite exactly"


class WrappedScript(NamedTuple):
    """The script of ``sh -c SCRIPT``: ``outer[start:end]`` is its text, character for character."""

    outer: str
    start: int
    end: int
    shell: Word
    script_word: Word

    @property
    def text(self) -> str:
        return self.outer[self.start:self.end]

    def parse(self) -> Script:
        """The inner script's commands, with offsets into ``outer`` (``outer[w.start:w.end] == w.raw``).

        The outer text around the script is blanked to spaces of the same length, so
        tree-sitter reads only the inner script but reports outer offsets.
        """
        masked = " " * self.start + self.text + " " * (len(self.outer) - self.end)
        return parse_script(masked)._replace(text=self.outer)


def wrapped_script(words: Sequence[Word], outer: str) -> WrappedScript | str | None:
    """For ``<sh|bash|/bin/sh...> [flags with c] SCRIPT [args]``: the inner script, or why it
    cannot be rewritten exactly; None when the words are not a shell running a ``-c`` script.

    ``outer`` is the text the words' offsets point into (the logical RUN script, or the
    JSON text of an exec-form RUN).
    """
    if not words or words[0].value is None or posixpath.basename(words[0].value) not in SHELLS:
        return None
    shell = words[0]
    i = 1
    command_mode = False
    while i < len(words):
        text = words[i].value
        if text == "--":
            i += 1
            break
        if text is None or text == "-" or not text.startswith(("-", "+")):
            break
        if text in _SHELL_LONG_FLAGS:
            i += 1
            continue
        if text.startswith("--"):
            return None  # an option we do not know the arity of
        if text[1:] in ("o", "O"):
            i += 2  # -o pipefail
            continue
        command_mode = command_mode or "c" in text[1:]
        i += 1
    if not command_mode or i >= len(words):
        return None
    word = words[i]
    name = posixpath.basename(shell.value)  # type: ignore[arg-type]
    span = _exact_interior(word, outer)
    if span is None:
        return _INEXACT.format(shell=name)
    return WrappedScript(outer, span[0], span[1], shell, word)


_DQ_PLAIN = re.compile(r'[^"\\$`]*')


def _exact_interior(word: Word, outer: str) -> tuple[int, int] | None:
    """The span of ``word``'s value in ``outer`` when it maps one to one onto the raw text."""
    if word.start < 0 or word.value is None or outer[word.start:word.end] != word.raw:
        return None
    raw = word.raw
    if raw == word.value:
        return word.start, word.end  # an unquoted plain word
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" and raw[1:-1] == word.value:
        json_string = len(word.parts) == 1  # exec form: one part spans the JSON quotes
        if raw[0] == "'" or json_string or _DQ_PLAIN.fullmatch(raw, 1, len(raw) - 1):
            return word.start + 1, word.end - 1
    return None


# -- exec form ---------------------------------------------------------------------------------
_JSON_WS = re.compile(r"[ \t\n\r]*")


def exec_form_words(json_text: str) -> tuple[Word, ...] | None:
    """Words of an exec-form RUN, with offsets into ``json_text`` (raw includes the JSON quotes).

    None when the text is not a JSON array of strings.  The values are taken literally:
    Docker does no shell processing on exec form.
    """
    s = json_text
    i = _JSON_WS.match(s, 0).end()  # type: ignore[union-attr]
    if i >= len(s) or s[i] != "[":
        return None
    i = _JSON_WS.match(s, i + 1).end()  # type: ignore[union-attr]
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
            words.append(Word(s[i:j], i, j, value, value, parts=(Lit(value, True, i, j, text_start),)))
            i = _JSON_WS.match(s, j).end()  # type: ignore[union-attr]
            if i < len(s) and s[i] == ",":
                i = _JSON_WS.match(s, i + 1).end()  # type: ignore[union-attr]
                continue
            if i < len(s) and s[i] == "]":
                i += 1
                break
            return None
    if _JSON_WS.match(s, i).end() != len(s):  # type: ignore[union-attr]
        return None
    return tuple(words)


def parse_exec_form(json_text: str) -> list[str] | None:
    """The argv of an exec-form RUN (``["pip", "install", ...]``), or None if not a JSON string array."""
    words = exec_form_words(json_text)
    if words is None:
        return None
    return [w.value for w in words]  # type: ignore[misc]
