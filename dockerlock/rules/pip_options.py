"""DLK115: a pip option that changes what is installed, in a way a locked uv step cannot reproduce."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.facts.images import image_python, root_image
from dockerlock.rules.base import Code, Decision, Phase
from dockerlock.shell import Action, rule_for

PIP_OPTION = Code(
    "DLK115", Level.WARNING, "pip option a locked uv step cannot reproduce: left as is",
    what="The install uses an option that changes what is installed or where (cross-platform "
         "downloads, --root, editable sources, proxies and certificates given on the command line...).",
    why="A lock fixes the distributions; an option that changes them, or that uv spells as an "
        "environment variable, would silently change the installed set or break the build.",
    fix="The message names the option and what to do instead (e.g. set SSL_CERT_FILE for --cert).",
    decision=Decision.REFUSED)
CODES = (PIP_OPTION,)
PHASE = Phase.COMMAND
#: Options the conversion itself carries over (uv has --target and --prefix; --user becomes
#: --prefix under the user base).
HANDLED_BY_CONVERSION = frozenset({"--target", "--prefix", "--user"})


def check(stanza, rc):
    reasons = []
    for option in stanza.pip.global_options + stanza.pip.options:
        if not option.known or option.name in HANDLED_BY_CONVERSION:
            continue
        rule = rule_for(option.name)
        if rule is not None and rule.action is Action.REFUSE:
            reasons.append(f"{option.name}: {rule.why}")
    names = {o.name for o in stanza.pip.all_options}
    if {"--target", "--prefix"} <= names or ("--user" in names and names & {"--target", "--prefix"}):
        reasons.append("pip refuses --user, --target and --prefix together")
    if "--user" in names and stanza.target.venv:
        reasons.append("--user inside a virtual environment: pip itself refuses it there")
    if "--user" in names and stanza.command.kind == "exec":
        reasons.append("--user in an exec-form RUN: the user base can only be found by a shell")
    if "--prefix" in names and image_python(rc.df, stanza.stage) is None:
        # Debian's and Ubuntu's own python3 install --prefix into PREFIX/local/lib/pythonX.Y/
        # dist-packages (their posix_local scheme); uv always uses PREFIX/lib/pythonX.Y/site-packages,
        # the layout of the python.org builds the official python images ship (proven by image builds)
        reasons.append(f"--prefix on {root_image(rc.df, stanza.stage)}: unless the image runs a python.org "
                       "build (the official python images), its Python may lay out a prefix differently "
                       "from uv (Debian's python3 uses PREFIX/local/lib/pythonX.Y/dist-packages)")
    if reasons:
        yield PIP_OPTION.at(f"{stanza.described} left as is: " + "; ".join(reasons), rc.path, stanza.line)
