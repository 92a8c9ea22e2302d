"""DLK120: a RUN whose --mount BuildKit would reject is left as is."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.rules.base import Code, Decision, Phase

RUN_MOUNT_OPTIONS = Code(
    "DLK120", Level.WARNING, "RUN --mount that BuildKit rejects: left as is",
    what="A `--mount` of the pip step's RUN has a key BuildKit does not know (a typo such as "
         "`sorce=`), an unknown mount type, or a key that needs a value written without one; or the RUN has "
         "a flag BuildKit does not know (`--mouNt`: flag names are case-sensitive).",
    why="BuildKit stops the build on such a mount, and dockerlock cannot tell what the author meant "
        "it to bind (a misspelt source binds the whole build context).",
    fix="Correct the mount (the message names the field), then run migrate again.",
    decision=Decision.REFUSED)
CODES = (RUN_MOUNT_OPTIONS,)
PHASE = Phase.COMMAND

# What BuildKit's Dockerfile frontend accepts in RUN --mount (keys are case-insensitive).
MOUNT_TYPES = frozenset({"bind", "cache", "tmpfs", "secret", "ssh"})
VALUE_KEYS = frozenset({"type", "from", "source", "src", "target", "dst", "destination", "readonly", "ro",
                        "readwrite", "rw", "required", "size", "id", "sharing", "mode", "uid", "gid", "env"})
BARE_KEYS = frozenset({"readonly", "ro", "readwrite", "rw", "required"})


#: RUN's flags, as BuildKit spells them (flag names are case-sensitive there; ``--device`` is the labs channel's).
RUN_FLAGS = frozenset({"mount", "network", "security", "device"})


def check(stanza, rc):
    flags = [f"unknown flag '{name}' (flag names are case-sensitive: {name.lower()})"
             if name.lower() in RUN_FLAGS else f"unknown flag '{name}'"
             for name in (flag.raw[2:].split("=", 1)[0] for flag in stanza.instruction.flags)
             if name not in RUN_FLAGS]
    mounts = [p for flag in stanza.instruction.flags_named("mount") if flag.raw[2:7] == "mount"
              for p in mount_problems(flag.fields())]
    parts = ([f"BuildKit would reject the RUN's flags: {'; '.join(dict.fromkeys(flags))}"] if flags else []) + \
        ([f"BuildKit would reject the RUN's mount: {'; '.join(dict.fromkeys(mounts))}"] if mounts else [])
    if parts:
        yield RUN_MOUNT_OPTIONS.at(f"{stanza.described} left as is: " + "; ".join(parts), rc.path, stanza.line)


def mount_problems(fields: list[tuple[str, str | None]]) -> list[str]:
    """Why BuildKit would refuse a mount with these fields (none: it reads it)."""
    problems = []
    for key, value in fields:
        if value is None and key not in BARE_KEYS:
            problems.append(f"'{key}' must be a key=value pair" if key in VALUE_KEYS else f"unknown key '{key}'")
        elif key not in VALUE_KEYS:
            problems.append(f"unknown key '{key}'")
        elif key == "type" and value is not None and "$" not in value and value.lower() not in MOUNT_TYPES:
            problems.append(f"unknown mount type '{value}'")
    return problems
