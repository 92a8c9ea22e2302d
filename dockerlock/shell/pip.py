"""Recognise a pip command line and split it the way pip's own option parser would.

Works on any words: a ``SimpleCommand``'s, exec-form words (offsets into the JSON
text) or ``Word.synthetic`` (offsets -1).  Launchers: ``pip``, ``pip3.11``, venv paths,
``python3.12 -m pip``, ``python${PYTHON_VERSION} -m pip``, ``$PIP`` (with a ``resolve``
callback for ARG/ENV values).  Wrappers (``sudo``, ``env A=1``, ``nice``...) are
skipped and reported.  The option table is ``pip_options``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, NamedTuple, Sequence

from dockerlock.shell.adapter import SimpleCommand
from dockerlock.shell.pip_options import COMMAND_OPTIONS, GENERAL_OPTIONS, OptionSpec
from dockerlock.shell.words import Lit, Param, Word, subword

__all__ = ["PipOption", "PipInvocation", "Resolver", "parse_pip_argv", "find_pip_invocation",
           "requirement_like"]

# The caller's view of a word's value (Dockerfile ARG/ENV), or None when unknown.
Resolver = Callable[[Word], "str | None"]


class PipOption(NamedTuple):
    """One option occurrence on a pip command line.

    ``name`` is the canonical long name (``--index-url`` for ``-i``), or the spelling
    as written when the option is unknown.  ``words`` are the words that spelled it
    (two when the value is the next word; a combined short cluster like ``-qq`` yields
    two options sharing one word).
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


class PipInvocation(NamedTuple):
    """A recognised pip command line.

    * ``wrapper``/``wrapper_words``: the outermost ``sudo``/``env``/``time``/``nice``...
      prefix and all the words the wrappers took; ``env_assignments``: the
      ``NAME=value`` words given to ``env``; ``plain_env``: every wrapper is ``env``
      with nothing but assignments (a rule may keep them as a prefix).
    * ``launcher_words``: from the interpreter or pip program up to, excluding, the
      subcommand (python options and pip's leading general options included).
    * ``program``: the pip word (``pip3``, ``/opt/venv/bin/pip``, ``$PIP``) or, for
      ``python -m pip``, the module word ``pip`` (a sub-word for ``-mpip``).
    * ``launcher_known``: False when the launcher is a variable that could not be
      resolved (``$PIP install -r x``, the name containing PIP): a rule should refuse
      with a reason rather than pass over it.
    * ``options``: command options other than ``-r``/``-c``/``-e`` plus every unknown
      option; ``global_options``: pip's general options wherever they appear;
      ``all_options``: every option occurrence in order.
    * ``packages``: positional arguments after the subcommand.
    * ``errors``: what pip itself would reject (missing value, ambiguous abbreviation,
      value given to a flag, non-static option name...).
    * ``dynamic``: argument words (after the launcher) whose runtime value or word
      count cannot be known statically: substitutions, unquoted expansions, globs.

    Unknown options are taken as flags unless written ``--opt=value``, so a following
    word may be misread as positional; callers should refuse when ``unknown_options``
    is not empty.  For subcommands without a table only exact general options are
    recognised and the rest are unknown without being reported as errors.
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
    env_assignments: tuple[Word, ...] = ()
    plain_env: bool = False
    launcher_known: bool = True

    def option(self, name: str) -> tuple[PipOption, ...]:
        """Every occurrence of the option with canonical name ``name``."""
        return tuple(o for o in self.all_options if o.name == name)

    def has_option(self, name: str) -> bool:
        return any(o.name == name for o in self.all_options)


def requirement_like(inv: PipInvocation) -> bool:
    """True when the invocation is ``pip install`` from at least one ``-r`` file."""
    return inv.subcommand == "install" and bool(inv.requirements)


# -- option lookup ------------------------------------------------------------------------------
class _OptionTable(NamedTuple):
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

        Returns (spec, abbreviated, candidates); candidates has several entries when
        the abbreviation is ambiguous.  Aliases count as separate strings, as in
        optparse, so ``--no-dep`` (``--no-deps``/``--no-dependencies``) is ambiguous.
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


# -- launcher recognition -----------------------------------------------------------------------
_PIP_NAME = re.compile(r"pip(?:\d+(?:\.\d+)?)?(?:\.exe)?")
_PYTHON_NAME = re.compile(r"(?:python(?:\d+(?:\.\d+)?t?)?|pypy(?:\d+(?:\.\d+)?)?|py)(?:\.exe)?")
# python${PYTHON_VERSION}, python$PY: a version held in a variable
_PYTHON_WITH_VARIABLE = re.compile(r"(?:python|pypy)(?:\d+(?:\.\d*)?)?\0(?:\.?\d*)?")
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


def _shape(word: Word) -> str:
    """The word's last path component with each expansion as ``\\0`` (``python\\0``)."""
    text = "".join(p.text if type(p) is Lit else "\0" for p in word.parts)
    return text.rsplit("/", 1)[-1]


def _variable_name(word: Word) -> str | None:
    """``PIP`` for ``$PIP``, ``${PIP}``, ``"$PIP"``: a word that is one parameter expansion."""
    params = [p for p in word.parts if type(p) is Param]
    if len(params) == 1 and all(type(p) is Lit and p.text == "" for p in word.parts if p is not params[0]):
        return params[0].name
    return None


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
                    module = subword(w, j + 1)
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


class _Launcher(NamedTuple):
    """How a command line reaches pip: the program word, the interpreter of ``python -m pip``."""

    args_at: int  # index (in the words after the wrappers) of pip's first argument
    program: Word
    interpreter: Word | None
    known: bool = True


def _launcher(rest: Sequence[Word], resolve: Resolver | None) -> _Launcher | None:
    first = rest[0]
    resolved = resolve(first) if resolve is not None and first.value is None else None
    if resolved is not None and first.may_split and _variable_name(first) is not None:
        # `$PIP install` with PIP="python3 -m pip": the value splits into the launcher's words
        inner = [Word.synthetic(v) for v in resolved.split()]
        if inner:
            found = _launcher(inner + [Word.synthetic("install")], None)
            if found is not None and found.args_at == len(inner):
                return _Launcher(1, first, first if found.interpreter is not None else None)
        return None
    base = resolved.rsplit("/", 1)[-1] if resolved is not None else _basename(first)
    if base is not None and _PIP_NAME.fullmatch(base):
        return _Launcher(1, first, None)
    if (base is not None and _PYTHON_NAME.fullmatch(base)) or \
            (base is None and _PYTHON_WITH_VARIABLE.fullmatch(_shape(first))):
        found = _python_module_pip(rest)
        if found is None:
            return None
        return _Launcher(found[0], found[1], first)
    name = _variable_name(first)
    if resolved is None and name is not None and "PIP" in name.upper():
        return _Launcher(1, first, None, known=False)
    return None


# -- wrappers ------------------------------------------------------------------------------------
class _WrapperSpec(NamedTuple):
    """What a wrapper program (sudo, env, timeout...) takes before the command it runs."""

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
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _skip_wrapper(words: Sequence[Word], i: int, spec: _WrapperSpec,
                  assignments: list[Word]) -> tuple[int, bool] | None:
    """(index of the wrapped command, only assignments were given) after the wrapper at ``i``."""
    i += 1
    positionals = spec.positionals
    plain = True
    while i < len(words):
        text = words[i].value
        if text is None:
            if spec.assignments and _ASSIGNMENT.match(words[i].static_prefix()):
                assignments.append(words[i])
                i += 1
                continue
            return None
        if text == "--":
            i += 1
            plain = False
            break
        if text.startswith("--") and len(text) > 2:
            name = text.split("=", 1)[0]
            i += 2 if (name in spec.long_values and "=" not in text) else 1
            plain = False
            continue
        if text.startswith("-") and len(text) > 1:
            plain = False
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
            assignments.append(words[i])
            i += 1
            continue
        if positionals:
            positionals -= 1
            plain = False
            i += 1
            continue
        break
    return (i, plain) if i < len(words) else None


# -- argv parsing ---------------------------------------------------------------------------------
def parse_pip_argv(argv: Sequence[Word], resolve: Resolver | None = None, *,
                   assignments: tuple[Word, ...] = ()) -> PipInvocation | None:
    """Recognise a pip command line in ``argv``; None when the command is not pip.

    ``resolve`` gives the value of a word the caller can expand (Dockerfile ARG/ENV),
    so that ``$PIP install`` with ``ARG PIP=pip3`` is recognised; ``assignments`` are the
    command's ``VAR=value`` prefix words, kept on the result.
    """
    words = list(argv)
    i = 0
    wrapper: str | None = None
    env_assignments: list[Word] = []
    plain_env = True
    while i < len(words):
        name = _basename(words[i])
        spec = _WRAPPERS.get(name or "")
        if spec is None:
            break
        if name == "command" and i + 1 < len(words) and words[i + 1].value in ("-v", "-V"):
            return None  # `command -v pip` looks pip up, it does not run it
        skipped = _skip_wrapper(words, i, spec, env_assignments)
        if skipped is None:
            return None
        wrapper = wrapper or name
        plain_env = plain_env and name == "env" and skipped[1]
        i = skipped[0]
    wrapper_words = tuple(words[:i])
    rest = words[i:]
    if not rest:
        return None
    launcher = _launcher(rest, resolve)
    if launcher is None:
        return None
    inv = _parse_pip_args(rest, launcher, wrapper, wrapper_words, assignments=assignments,
                          env_assignments=tuple(env_assignments), plain_env=wrapper is not None and plain_env)
    if not launcher.known and not requirement_like(inv):
        return None  # `$PIPELINE run`: only an install from -r makes an unknown variable pip
    return inv


def find_pip_invocation(cmd: SimpleCommand, resolve: Resolver | None = None) -> PipInvocation | None:
    """``parse_pip_argv`` on a command's words, keeping its ``VAR=value`` prefix."""
    return parse_pip_argv(cmd.words, resolve, assignments=tuple(cmd.assignments))


@dataclass(slots=True)
class _ArgvState:
    """What the pip argv reader has collected so far."""

    options: list[PipOption] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    requirements: list[Word] = field(default_factory=list)
    constraints: list[Word] = field(default_factory=list)
    editables: list[Word] = field(default_factory=list)
    packages: list[Word] = field(default_factory=list)


_TARGET_FIELDS = {"--requirement": "requirements", "--constraint": "constraints", "--editable": "editables"}


def _looks_like_option(w: Word) -> bool:
    """optparse treats any argument starting with '-' except a lone '-' as an option."""
    return w.static_prefix().startswith("-") and w.literal != "-"


def _parse_pip_args(rest: Sequence[Word], launcher: _Launcher, wrapper: str | None,
                    wrapper_words: tuple[Word, ...], **prefix: Any) -> PipInvocation:
    st = _ArgvState()
    i = args_at = launcher.args_at
    # Phase 1: general options before the subcommand (pip parses these with interspersed
    # arguments disabled, so the first positional is the command).
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
        program=launcher.program,
        interpreter=launcher.interpreter,
        launcher_words=argv[:launcher_end],
        subcommand=subcommand,
        subcommand_word=sub_word,
        global_options=tuple(o for o in all_options if o.general),
        options=tuple(o for o in all_options if not o.general and o.name not in _TARGET_FIELDS),
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
        launcher_known=launcher.known,
        **prefix,
    )


def _record(st: _ArgvState, spec: OptionSpec | None, spelling: str, value: Word | None,
            words: tuple[Word, ...], abbreviated: bool = False) -> None:
    if spec is None:
        st.options.append(PipOption(spelling, spelling, value, words, known=False))
        st.unknown.append(spelling)
        return
    opt = PipOption(spec.name, spelling, value, words, known=True, abbreviated=abbreviated,
                    general=spec.general, spec=spec)
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
        value = subword(w, len(name) + 1) if has_eq else None
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
            _record(st, spec, letter, subword(w, j + 1), (w,))
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
