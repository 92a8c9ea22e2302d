"""DLK247: a ``uv pip install -r requirements.txt`` resolves at build time, like pip does."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.facts.commands import run_commands
from dockerlock.facts.uv_steps import requirements_read
from dockerlock.rules.base import Code

UNLOCKED_UV = Code(
    "DLK247", Level.WARNING, "uv requirements install that resolves at build time (not locked)",
    what="A `uv pip install -r <file>` or `uv pip sync <file>` reads a requirements file, not a pylock: uv "
         "resolves it when the image is built, as pip would.",
    why="The image installs whatever the index serves on build day; a CI gate should see it. migrate converts "
        "pip steps only.",
    fix="Make a lock (`dockerlock lock <requirements files>`) and install it: `uv pip install -r pylock.toml` "
        "(or `uv pip sync pylock.toml` into a fresh venv); `check --strict` makes this an error.")
CODES = (UNLOCKED_UV,)


def check(rc):
    df = rc.df
    for ins in df.instructions:
        if ins.keyword != "RUN" or "uv" not in ins.logical.text + "".join(h.body for h in ins.heredocs):
            continue
        commands, _problem = run_commands(df, ins)
        for cmd in commands:
            files = requirements_read(cmd)
            if files:
                verb = cmd.argv[2].value
                shown = " ".join(f"-r {f}" if verb == "install" else f for f in files)
                yield UNLOCKED_UV.at(f"uv pip {verb} {shown} is not locked: uv resolves it when the "
                                     "image is built; install a lock instead (`uv pip install -r pylock.toml`)",
                                     rc.path, ins.start_line)
