"""DLK127: the pip step runs a Python uv does not work with (before 3.6, Python 2)."""

from __future__ import annotations

import posixpath
import re

from dockerlock.diagnostics import Level
from dockerlock.facts.images import image_python, runs_before
from dockerlock.rules.base import Code, Decision, Phase

PYTHON_TOO_OLD = Code(
    "DLK127", Level.WARNING, "Python older than 3.6: left as is (uv does not work with it)",
    what="The image's Python (its FROM tag) is older than 3.6, or the pip step runs Python 2 "
         "(`pip2`, `python2 -m pip`).",
    why="uv does not work with Python versions before 3.6 (uv's Python support policy): the converted step "
        "would fail.",
    fix="Move the image to a supported Python first; then migrate.",
    decision=Decision.REFUSED)
CODES = (PYTHON_TOO_OLD,)
PHASE = Phase.IMAGE

_PYTHON_2 = re.compile(r"^(?:python|pip)2(?:\.\d+)?$")
#: apk/apt/yum packages of Python 2 and its pip (Alpine's py2-pip, Debian's old python-pip)
_PYTHON_2_PACKAGES = re.compile(r"\b(?:apk|apt-get|apt|yum|dnf)\b.*"
                                r"\b(?:python2(?:\.\d+)?|py2-pip|python-pip|python2-pip)\b", re.S)
_PYTHON_2_NAMES = ("python2", "py2-pip", "python-pip")  # what every match of the pattern holds


def check(stanza, rc):
    version = image_python(rc.df, stanza.stage)
    launcher = stanza.pip.interpreter if stanza.pip.interpreter is not None else stanza.pip.program
    name = posixpath.basename(launcher.value or launcher.raw) if launcher is not None else ""
    installed = _python_2_installed(rc.df, stanza)
    if _PYTHON_2.match(name):
        reason = f"it runs {name} (Python 2)"
    elif installed is not None:
        reason = f"line {installed} installs Python 2 with the system's package manager"
    elif version is not None and _older_than_3_6(version):
        reason = f"the image {stanza.stage.image_expanded or stanza.stage.image} runs Python {version}"
    else:
        return
    yield PYTHON_TOO_OLD.at(f"{stanza.described} left as is: {reason}, and uv does not work with Python before "
                            "3.6", rc.path, stanza.line)


def _python_2_installed(df, stanza) -> int | None:
    """The line of a RUN (in the stanza's stage lineage, up to its own RUN) that installs Python 2."""
    key = ("python-2-runs",)
    if key not in df.cache:  # once per file: a file of a thousand pip steps asks a thousand times
        df.cache[key] = [ins for ins in df.instructions if ins.keyword == "RUN" and _names_python_2(ins.body)]
    return next((ins.start_line for ins in df.cache[key] if runs_before(df, ins, stanza.instruction)), None)


def _names_python_2(body: str) -> bool:
    # the substring test first: the pattern's ``.*`` makes a search of a long apt line slow
    return any(name in body for name in _PYTHON_2_NAMES) and _PYTHON_2_PACKAGES.search(body) is not None


def _older_than_3_6(version: str) -> bool:
    """``3.5`` and ``2.7`` are; a bare ``3`` (python:3, whatever 3.x it is today) is not."""
    from dockerlock.diagnostics import ConfigError
    from dockerlock.lockfile.target import _python_parts

    try:
        parts = _python_parts(version)
    except ConfigError:
        return False
    return parts[0] < 3 or (len(parts) > 1 and parts[:2] < (3, 6))
