"""DLK125: a ``PIP_*`` variable gives pip an option the uv step would lose."""

from __future__ import annotations

import re

from dockerlock.diagnostics import Level
from dockerlock.facts.pip_sources import FALSE_WORDS, SOURCE_VARIABLES
from dockerlock.rules.base import Code, Decision, Phase
from dockerlock.shell import Action, rule_for

PIP_VARIABLE = Code(
    "DLK125", Level.WARNING, "pip option set by a PIP_* variable that uv would not read: left as is",
    what="An ARG or ENV in scope, an assignment before the pip command or an `env NAME=...` wrapper sets a "
         "PIP_* variable that changes what pip installs or where (PIP_TARGET, PIP_CONSTRAINT, PIP_NO_DEPS, "
         "PIP_ONLY_BINARY, ...). uv reads no PIP_* variable.",
    why="The uv step would install elsewhere or something else, and nothing in its command line would say so.",
    fix="Give the option on the pip command line instead (`pip install --target /deps -r ...`): migrate "
        "then carries it, or refuses with the reason.",
    decision=Decision.REFUSED)
CODES = (PIP_VARIABLE,)
PHASE = Phase.COMMAND

#: Handled elsewhere: package sources and pip's configuration file (DLK122).
_ELSEWHERE = frozenset(SOURCE_VARIABLES) | {"PIP_CONFIG_FILE"}
#: Carried options whose loss fails the build loudly instead of changing what is installed:
#: uv refuses an externally managed Python, and an untrusted plain-HTTP index, on its own.
_LOUD_WHEN_LOST = frozenset({"--break-system-packages", "--trusted-host"})
_PIP_NAME = re.compile(r"\bPIP_[A-Z0-9_]+")


def check(stanza, rc):
    reasons = []
    for name, value, where in _pip_variables(rc.df, stanza):
        reason = _reason(name, value)
        if reason is not None:
            reasons.append(f"{name} ({where}) {reason}")
    if reasons:
        yield PIP_VARIABLE.at(f"{stanza.described} left as is: " + "; ".join(reasons) + "; uv reads no PIP_* "
                              "variable: give the option on the pip command line instead", rc.path, stanza.line)


def _reason(name: str, value: str | None) -> str | None:
    """Why ``name=value`` matters to what pip installs, or None when uv can do without it."""
    option = "--" + name[4:].lower().replace("_", "-")
    spec = rule_for(option) or _by_alias(option)
    if spec is None or spec.action is Action.DROP and spec.name != "--no-deps":
        return None  # not an install option, or one with no effect on what is installed
    if spec.name in _LOUD_WHEN_LOST:
        return None
    if value is None:
        return f"sets pip's {spec.name} to a value the build decides"
    if not spec.takes_value and value.strip().lower() in FALSE_WORDS:
        return None
    said = f"sets pip's {spec.name}" + (f" to {value or 'an empty value'}" if spec.takes_value else "")
    # an option no uv step can carry says why itself (``--cert``: set SSL_CERT_FILE instead)
    return f"{said} ({spec.why})" if spec.action is Action.REFUSE else said


def _by_alias(option: str):
    from dockerlock.shell.pip_options import PIP_INSTALL_OPTIONS

    return next((o for o in PIP_INSTALL_OPTIONS.values() if option in o.aliases), None)


def _pip_variables(df, stanza):
    """(name, value or None, where) of every PIP_* variable the pip command sees, nearest first."""
    seen = set()
    words = [*(stanza.command.command.assignments if stanza.command.command is not None else ()),
             *stanza.pip.wrapper_words]
    for word in words:
        name, sep, value = word.raw.partition("=")
        if sep and name.startswith("PIP_") and name not in _ELSEWHERE and name not in seen:
            seen.add(name)
            expanded = word.value if word.value is not None else df.expand_at(stanza.instruction, word.raw)
            yield name, expanded.partition("=")[2] if expanded is not None else None, "on the command"
    for name in _declared_pip_variables(df):
        var = df.var_at(stanza.instruction, name)
        if var is not None and name not in _ELSEWHERE and name not in seen:
            seen.add(name)
            yield name, var.value, f"{var.kind} on line {var.line}"


def _declared_pip_variables(df) -> list[str]:
    """The PIP_* names any ARG or ENV of the file declares, found once per file."""
    key = ("pip-variables",)
    if key not in df.cache:
        names = set()
        for ins in df.instructions:
            if ins.keyword in ("ARG", "ENV") and "PIP_" in ins.body:
                names.update(_PIP_NAME.findall(ins.body))
        df.cache[key] = sorted(names)
    return df.cache[key]
