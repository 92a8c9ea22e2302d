"""ARG and ENV scopes, chained rather than copied, and the working directory per instruction.

BuildKit's rules: an ARG is in scope from its declaration to the end of its stage; an
ENV too, and a stage built ``FROM`` an earlier stage inherits that stage's final ENV
(never its ARGs); a global (meta) ARG, declared before the first ``FROM``, reaches a
stage only through an ``ARG NAME`` redeclaration there; every pair of one ENV is
expanded against the environment *before* that ENV.

Rather than a dictionary per instruction (16,000 names in a file would make 16,000
dictionaries of up to 16,000 entries), each stage keeps, per name, the ascending
instruction indexes where the name is assigned; a lookup bisects that list and, when
the stage has no assignment yet, asks the parent stage for its final ENV. Building is
linear in the number of assignments; a lookup costs a bisection per stage in the chain.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from dockerlock.model.instruction import Instruction
from dockerlock.words import expand, split_words

META = -1  # the "stage" of global ARGs, declared before the first FROM
_END = float("inf")


class Var(NamedTuple):
    """An ARG or ENV variable as one instruction sets it."""

    name: str
    kind: str  # "ARG" or "ENV"
    raw: str | None  # as written (None for ``ARG NAME`` without a default)
    value: str | None  # expanded value, None when unknown
    line: int


class Scopes:
    """Per stage and name, the assignments in instruction order."""

    def __init__(self, parents: list[int | None]) -> None:
        self._parents = parents  # parent stage per stage index
        self._assigned: dict[int, dict[str, tuple[list[int], list[Var]]]] = {}

    def assign(self, stage: int, index: int, var: Var) -> None:
        """Record ``var`` as assigned by instruction ``index`` (called in instruction order)."""
        entry = self._assigned.setdefault(stage, {}).get(var.name)
        if entry is None:
            self._assigned[stage][var.name] = ([index], [var])
        else:
            entry[0].append(index)
            entry[1].append(var)

    def lookup(self, stage: int, before: float, name: str) -> Var | None:
        """``name`` as seen by the instruction at index ``before`` in ``stage``."""
        entry = self._assigned.get(stage, {}).get(name)
        if entry is not None:
            k = bisect.bisect_left(entry[0], before)
            if k:
                return entry[1][k - 1]
        parent = self._parents[stage] if stage != META else None
        if parent is None:
            return None
        inherited = self.lookup(parent, _END, name)
        return inherited if inherited is not None and inherited.kind == "ENV" else None

    def names(self, stage: int, before: float) -> set[str]:
        """Every name in scope at ``before`` (linear in the names: for listing, not lookups)."""
        found = {name for name, (indexes, _) in self._assigned.get(stage, {}).items() if indexes[0] < before}
        parent = self._parents[stage] if stage != META else None
        if parent is not None:
            found.update(name for name in self.names(parent, _END)
                         if (var := self.lookup(parent, _END, name)) is not None and var.kind == "ENV")
        return found

    def view(self, stage: int, before: float) -> "ScopeView":
        return ScopeView(self, stage, before)


class ScopeView(Mapping[str, Var]):
    """The ARG/ENV variables in scope at one point, looked up on demand (never copied)."""

    __slots__ = ("_scopes", "_stage", "_before")

    def __init__(self, scopes: Scopes, stage: int, before: float) -> None:
        self._scopes, self._stage, self._before = scopes, stage, before

    def __getitem__(self, name: str) -> Var:
        var = self._scopes.lookup(self._stage, self._before, name)
        if var is None:
            raise KeyError(name)
        return var

    def get(self, name: str, default=None):
        var = self._scopes.lookup(self._stage, self._before, name)
        return default if var is None else var

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._scopes.lookup(self._stage, self._before, name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._scopes.names(self._stage, self._before)))

    def __len__(self) -> int:
        return len(self._scopes.names(self._stage, self._before))

    def values_view(self) -> "ValueView":
        return ValueView(self)


class ValueView(Mapping[str, "str | None"]):
    """A ``ScopeView``'s expanded values (``None``: declared, value unknown)."""

    __slots__ = ("_scope",)

    def __init__(self, scope: ScopeView) -> None:
        self._scope = scope

    def __getitem__(self, name: str) -> str | None:
        return self._scope[name].value

    def get(self, name: str, default=None):
        var = self._scope.get(name)
        return default if var is None else var.value

    def __contains__(self, name: object) -> bool:
        return name in self._scope

    def __iter__(self) -> Iterator[str]:
        return iter(self._scope)

    def __len__(self) -> int:
        return len(self._scope)


# -- ARG and ENV instructions ---------------------------------------------------------------
def parse_arg(ins: Instruction, escape: str, values: Mapping[str, str | None]) -> Iterator[Var]:
    for word in split_words(ins.logical.text, ins.body_start, escape=escape):
        name, sep, raw = word.raw.partition("=")
        if not name:
            continue
        if sep:
            yield Var(name, "ARG", raw, expand(raw, values, escape), ins.start_line)
        else:
            yield Var(name, "ARG", None, None, ins.start_line)


def parse_env(ins: Instruction, escape: str, values: Mapping[str, str | None]) -> Iterator[Var]:
    """The pairs of one ENV, each expanded against ``values``: the env *before* this ENV."""
    body = ins.body.strip()
    if _plain_pair(body):
        name, _, raw = body.partition("=")
        if name:
            yield Var(name, "ENV", raw, expand(raw, values, escape), ins.start_line)
        return
    words = split_words(ins.logical.text, ins.body_start, escape=escape)
    if not words:
        return
    if "=" not in words[0].raw:
        # Legacy ``ENV NAME value with spaces``.
        rest = ins.logical.text[words[1].start:] if len(words) > 1 else ""
        yield Var(words[0].raw, "ENV", rest, expand(rest.strip(), values, escape), ins.start_line)
        return
    for word in words:
        name, sep, raw = word.raw.partition("=")
        if not sep or not name:
            continue
        yield Var(name, "ENV", raw, expand(raw, values, escape), ins.start_line)


_NEEDS_WORDS = re.compile(r"[ \t\"'\\`$]")  # a blank, quote, escape or expansion: split words


def _plain_pair(body: str) -> bool:
    """One ``NAME=value`` word with no quote, escape or blank in it: by far the most common ENV,
    read without splitting words."""
    return "=" in body and _NEEDS_WORDS.search(body) is None


def name_value_error(ins: Instruction, escape: str) -> str | None:
    """Why BuildKit's parser rejects this ENV or LABEL (None: it reads it). The legacy form
    ``ENV NAME value`` needs a value; in the ``NAME=value`` form every word needs its ``=``."""
    if _plain_pair(ins.body.strip()):
        return None
    words = split_words(ins.logical.text, ins.body_start, escape=escape)
    if not words:
        return None
    if "=" not in words[0].raw:
        if len(words) < 2:
            return f"{ins.keyword} {words[0].raw} has no value: {ins.keyword} must have two arguments"
        return None
    bare = next((w.raw for w in words if "=" not in w.raw), None)
    if bare is not None:
        return f"{ins.keyword}: can't find = in '{bare}' (every word must be of the form name=value)"
    return None


def assign_stage(scopes: Scopes, stage: int, instructions: list[Instruction], escape: str,
                 meta_args: Mapping[str, Var]) -> None:
    """Record the ARG and ENV assignments of one stage, in order."""
    for ins in instructions:
        if ins.keyword == "ARG":
            values = scopes.view(stage, ins.index).values_view()
            for var in parse_arg(ins, escape, values):
                if var.raw is None and var.name in meta_args:
                    # ``ARG NAME`` brings the global ARG's value into the stage.
                    var = Var(var.name, "ARG", None, meta_args[var.name].value, var.line)
                scopes.assign(stage, ins.index, var)
        elif ins.keyword == "ENV":
            values = scopes.view(stage, ins.index).values_view()
            for var in parse_env(ins, escape, values):
                scopes.assign(stage, ins.index, var)


# -- WORKDIR -------------------------------------------------------------------------------
def resolve_workdirs(stages, expand_at) -> dict[int, str | None]:
    """The working directory before each instruction (by index); None where only the base
    image knows it. A stage starts from its parent stage's final directory."""
    result: dict[int, str | None] = {}
    finals: list[str | None] = []
    for stage in stages:
        current = finals[stage.parent] if stage.parent is not None else None
        for ins in stage.instructions:
            result[ins.index] = current
            if ins.keyword == "WORKDIR":
                target = expand_at(ins, ins.body.strip())
                if target is None:
                    current = None
                elif target.startswith("/"):
                    current = normpath(target)
                elif current is not None:
                    current = normpath(current.rstrip("/") + "/" + target)
                else:
                    current = None
        finals.append(current)
    return result


def normpath(path: str) -> str:
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
