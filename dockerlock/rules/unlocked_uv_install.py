"""DLK247: a ``uv pip install -r requirements.txt`` resolves at build time, like pip does."""

from __future__ import annotations

import posixpath

from dockerlock.diagnostics import Level
from dockerlock.facts.commands import run_commands
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
            files = _requirements_read(cmd)
            if files:
                verb = cmd.argv[2].value
                shown = " ".join(f"-r {f}" if verb == "install" else f for f in files)
                yield UNLOCKED_UV.at(f"uv pip {verb} {shown} is not locked: uv resolves it when the "
                                     "image is built; install a lock instead (`uv pip install -r pylock.toml`)",
                                     rc.path, ins.start_line)


def _requirements_read(cmd) -> list[str]:
    """The requirements files (not pylocks) a ``uv pip install|sync`` command reads."""
    values = [w.value if w.value is not None else w.raw for w in cmd.argv]
    if len(values) < 4 or posixpath.basename(values[0]) != "uv" or values[1] != "pip" \
            or values[2] not in ("install", "sync"):
        return []
    files = []
    for i, value in enumerate(values[3:], start=3):
        previous = values[i - 1]
        if previous in ("-r", "--requirement", "--requirements") or (values[2] == "sync" and not value.startswith("-")
                                                                   and previous not in _VALUE_OPTIONS):
            files.append(value)
        elif value.startswith(("--requirement=", "--requirements=")):
            files.append(value.split("=", 1)[1])
    return [f for f in files if not posixpath.basename(f).startswith("pylock") and not f.endswith(".toml")
            and not f.endswith(".cfg") and f not in (".",)]


#: uv pip sync options that take a value (so the value is not a file to sync)
_VALUE_OPTIONS = frozenset({"--python", "-p", "--index-url", "-i", "--extra-index-url", "--find-links", "-f",
                            "--target", "--prefix", "-c", "--constraint", "--constraints", "--build-constraint",
                            "--build-constraints", "--link-mode", "--python-platform", "--python-version",
                            "--cache-dir", "--config-file", "--keyring-provider", "--index-strategy",
                            "--allow-insecure-host", "--config-setting", "-C", "--reinstall-package",
                            "--refresh-package", "--exclude-newer", "--index", "--default-index"})
