"""DLK126: the pip step adds to an interpreter whose base image already ships Python packages."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.facts.images import preinstalled_packages
from dockerlock.rules.base import Code, Decision, Phase

PREINSTALLED = Code(
    "DLK126", Level.WARNING, "base image ships Python packages that pip would keep: left as is",
    what="The pip step installs into the interpreter (system or user site) of a base image that ships an "
         "application installed against its publisher's constraints (Airflow, Astronomer Runtime, Superset).",
    why="pip keeps an installed version that satisfies the requirements; a lock resolved without the "
        "image's packages and constraints pins versions of its own, and installing it would replace the "
        "image's (an Airflow image with another SQLAlchemy).",
    fix="Install into a virtual environment the Dockerfile creates (`python -m venv /opt/venv`), or keep the "
        "pip step as it is.",
    decision=Decision.REFUSED)
CODES = (PREINSTALLED,)
PHASE = Phase.IMAGE


def check(stanza, rc):
    if stanza.target.kind not in ("system", "user"):
        return
    image = preinstalled_packages(rc.df, stanza.stage)
    if image is not None:
        yield PREINSTALLED.at(f"{stanza.described} left as is: {image} ships Python packages in the interpreter "
                              "this step adds to; pip keeps the versions it finds there, a lock resolved "
                              "without them would replace them (install into a venv the Dockerfile creates "
                              "instead)", rc.path, stanza.line)
