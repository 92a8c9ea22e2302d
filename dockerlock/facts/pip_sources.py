"""Where a pip step takes its packages from: the index and find-links options it runs with.

pip resolves ``requirements.txt`` against its indexes; a lock resolved against others (PyPI
where the step used ``--extra-index-url https://download.pytorch.org/whl/cpu``) pins other
builds of the same versions (``torch 2.3.0`` from PyPI pulls the CUDA libraries, ``2.3.0+cpu``
does not). So the sources are a fact of the stanza, read from every place pip reads them:
its command line, ``PIP_*`` variables on the command or in the image's ARG/ENV, and a pip
configuration file, which dockerlock does not read and reports as unknown. Pure.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from dockerlock.facts.copies import split_copy
from dockerlock.facts.expansion import expand
from dockerlock.facts.images import runs_before
from dockerlock.facts.stanzas import PipStanza
from dockerlock.model import Dockerfile

#: pip's options that choose where packages come from (canonical long names).
SOURCE_OPTIONS = ("--index-url", "--extra-index-url", "--no-index", "--find-links")
#: The environment variables pip reads for them (a list value is split on whitespace, as pip does).
SOURCE_VARIABLES = {"PIP_INDEX_URL": "--index-url", "PIP_EXTRA_INDEX_URL": "--extra-index-url",
                    "PIP_FIND_LINKS": "--find-links", "PIP_NO_INDEX": "--no-index"}
_CONFIG_FILE = re.compile(r"(?:^|/)pip\.(?:conf|ini)$")
_CONFIG_FOLDER = re.compile(r"(?:^|/)\.?pip/?$")  # COPY conf/ /root/.config/pip/
_CONFIG_COMMANDS = re.compile(r"\bpip[0-9.]*\s+config\s+set\b|\bpip\.(?:conf|ini)\b")
#: What pip reads as "off" in a PIP_* variable for a flag (its strtobool's false words)
FALSE_WORDS = frozenset({"0", "false", "no", "off", "f", "n"})


class PipSources(NamedTuple):
    """``args``: the source options pip runs with, as ``--option value`` words with values
    expanded, in a canonical order (empty: pip's default, PyPI). ``unknown``: why they
    cannot be known before the build (a build argument, a pip configuration file), or None."""

    args: tuple[str, ...] = ()
    unknown: str | None = None

    @property
    def described(self) -> str:
        return " ".join(self.args) if self.args else "PyPI (pip's default index)"


def pip_sources(df: Dockerfile, stanza: PipStanza) -> PipSources:
    """The package sources of ``stanza``'s pip command."""
    unknown = _config_file(df, stanza)
    pairs: list[tuple[str, str]] = []
    for name, variable in SOURCE_VARIABLES.items():
        value, why = _variable(df, stanza, name)
        if why is not None:
            unknown = unknown or why
        elif value is not None:
            pairs += _from_variable(variable, value)
    for option in stanza.pip.all_options:
        if option.name not in SOURCE_OPTIONS:
            continue
        if option.name == "--no-index":
            pairs.append(("--no-index", ""))
            continue
        word = option.value
        value = None if word is None else word.value if word.value is not None else expand(
            df, stanza.instruction, word.raw)
        if value is None:
            unknown = unknown or f"{option.spelling} {word.raw if word else ''} is set at build time".strip()
            continue
        pairs.append((option.name, value))
    unknown = unknown or next((_in_image(o, v) for o, v in pairs if _in_image(o, v)), None)
    return PipSources(_canonical(pairs), unknown)


def _in_image(option: str, value: str) -> str | None:
    """A source that is a folder (or file: URL) inside the image: wheels made during the build,
    which no lock resolved on another machine can be shown to match."""
    if option == "--no-index" or value.startswith(("http://", "https://")):
        return None
    return f"{option} {value} is a folder in the image"


def same_sources(recorded: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    """Do two source lists name the same indexes (order of extra indexes aside, trailing '/' aside)?"""
    return _canonical(_pairs(recorded)) == _canonical(_pairs(wanted))


def _canonical(pairs: list[tuple[str, str]]) -> tuple[str, ...]:
    seen = sorted({(SOURCE_OPTIONS.index(o), o, v.rstrip("/") if "://" in v else v) for o, v in pairs})
    words: list[str] = []
    for _rank, option, value in seen:
        words += [option] if option == "--no-index" else [option, value]
    return tuple(words)


def _pairs(words: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs, i = [], 0
    while i < len(words):
        if words[i] == "--no-index":
            pairs.append(("--no-index", ""))
            i += 1
        else:
            pairs.append((words[i], words[i + 1] if i + 1 < len(words) else ""))
            i += 2
    return pairs


def _from_variable(option: str, value: str) -> list[tuple[str, str]]:
    if option == "--no-index":
        return [] if value.strip().lower() in FALSE_WORDS | {""} else [("--no-index", "")]
    return [(option, v) for v in value.split()]


def _variable(df: Dockerfile, stanza: PipStanza, name: str) -> tuple[str | None, str | None]:
    """(value, why unknown) of the ``PIP_*`` variable the pip command sees: an assignment on
    the command, ``env NAME=...``, else the image's ARG/ENV."""
    words = [*stanza.pip.wrapper_words]
    if stanza.command.command is not None:
        words = [*stanza.command.command.assignments, *words]
    for word in reversed(words):
        if word.raw.startswith(name + "="):
            value = word.value if word.value is not None else expand(df, stanza.instruction, word.raw)
            if value is None:
                return None, f"{name} is set at build time ({word.raw})"
            return value.split("=", 1)[1], None
    var = df.var_at(stanza.instruction, name)
    if var is None:
        return None, None
    if var.value is None:
        return None, f"{name} comes from the build ({var.kind} on line {var.line})"
    return var.value, None


def _config_file(df: Dockerfile, stanza: PipStanza) -> str | None:
    """Why pip may read a configuration file dockerlock does not read, or None."""
    config = df.var_at(stanza.instruction, "PIP_CONFIG_FILE")
    if config is not None and (config.value or "") != "/dev/null":
        return f"pip reads the configuration file PIP_CONFIG_FILE names ({config.kind} on line {config.line})"
    return next((why for ins, why in _config_writers(df) if runs_before(df, ins, stanza.instruction)), None)


def _config_writers(df: Dockerfile) -> list:
    """(instruction, why) for every COPY/ADD of a pip configuration file and every RUN that writes
    one, found once per file (a file of a thousand pip steps asks a thousand times)."""
    key = ("pip-config-writers",)
    if key not in df.cache:
        found = []
        for ins in df.instructions:
            if ins.keyword in ("COPY", "ADD"):
                parts = split_copy(df, ins)
                if parts and (any(_CONFIG_FILE.search(s.rstrip("/")) for s in parts[0])
                              or _CONFIG_FILE.search(parts[1]) or _CONFIG_FOLDER.search(parts[1])):
                    found.append((ins, f"a pip configuration file is put into the image on line {ins.start_line}"))
            elif ins.keyword == "RUN" and _CONFIG_COMMANDS.search(ins.body):
                found.append((ins, f"line {ins.start_line} writes pip's configuration"))
        df.cache[key] = found
    return df.cache[key]  # type: ignore[return-value]
