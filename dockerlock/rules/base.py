"""What every rule shares: finding codes with their docs, the decision a code stands for, and
the frozen inputs a rule reads.

A rule is a module with ``CODES`` (its ``Code`` values) and a pure ``check`` function that
returns ``Finding`` values, each optionally carrying a ``Fix``. Stanza rules (migrate's
gates and conversion) are asked about one ``PipStanza`` at a time, in ``PHASE`` order;
file rules (check's) about the whole file.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from dockerlock.context import BuildContext
from dockerlock.diagnostics import Finding, Level
from dockerlock.facts.stanzas import PipStanza, pip_stanzas
from dockerlock.model import Dockerfile
from dockerlock.settings import Settings


class Decision(enum.Enum):
    """What a finding decides about a pip requirements install."""

    CONVERTED = "converted"
    REFUSED = "refused"  # left as is, with a reason the user can act on
    DEFERRED = "deferred"  # left as is until the user opts in (GPU images)
    BLOCKED = "blocked"  # the lock is missing or wrong: an error for the file, nothing written


class Phase(enum.IntEnum):
    """Order in which stanza rules are asked; a refusal in one phase ends the stanza's review."""

    IMAGE = 1  # the image as a whole (Windows, GPU)
    COMMAND = 2  # the pip command line
    SOURCES = 3  # where the requirements files come from
    LOCK = 4  # the lock that stands in for them
    CONVERT = 5  # the rewrite itself


class Code(NamedTuple):
    """A stable finding code and its documentation (docs/rules.md is generated from these)."""

    code: str
    level: Level
    summary: str
    what: str = ""
    why: str = ""
    fix: str = ""
    decision: Decision | None = None

    def at(self, message: str, path: str | None, line: int | None, *, hint: str | None = None,
           fix=None, level: Level | None = None) -> Finding:
        return Finding(self.code, level or self.level, message, path, line, hint, fix)


@dataclass(frozen=True)
class RuleContext:
    """The frozen inputs of one file's review: model, build context, settings."""

    df: Dockerfile
    ctx: BuildContext
    settings: Settings
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def stanzas(self) -> tuple[PipStanza, ...]:
        return pip_stanzas(self.df, self.ctx, self.settings)

    @property
    def path(self) -> str:
        return self.df.source.path


def lock_mismatch(rc: RuleContext, stanza: PipStanza, problem: str, *, blocked: Code, allowed: Code,
                  fix: str, hint: str | None, installs: str) -> Finding:
    """A lock that cannot be shown to install what the pip step did: ``blocked`` (with ``fix``),
    or, under --allow-drift, ``allowed``: converted, the image installing ``installs``."""
    if rc.settings.allow_drift:
        return allowed.at(f"{problem}; converted anyway (--allow-drift): the image will install {installs}",
                          rc.path, stanza.line)
    return blocked.at(f"{problem}; {fix}", rc.path, stanza.line, hint=hint)
