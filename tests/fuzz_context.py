"""The build context a fuzz mutant (``fuzz_mutants.Mutant``) is migrated in.

Every requirements file the Dockerfile names, with a placeholder lock beside it named as
``dockerlock lock`` would name it (unless the mutant is one without locks); every file and
folder its COPY/ADD and bind mounts read; a ``.python-version`` for some; a ``.git``
folder so nothing above the context is searched. Paths come from a tolerant reading of
the text (BuildKit's parser where it can, patterns where it cannot): many mutants are not
valid Dockerfiles.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import dockerfile

from dockerlock.lock_names import lock_name
from fuzz_mutants import REQUIREMENTS, Mutant
from migrate_helpers import placeholder_lock

TXT = re.compile(r"[\w./${}@-]*\.(?:txt|in)\b")


def write_context(root: Path, mutant: Mutant) -> None:
    """A build context for the mutant under ``root``: its Dockerfile (``root/Dockerfile``),
    every requirements file and COPY source it names, the locks (unless ``mutant.locks`` is
    False), a ``.git`` folder so nothing above ``root`` is searched."""
    (root / ".git").mkdir(parents=True, exist_ok=True)
    text = mutant.data.decode("utf-8", errors="replace").lstrip("\ufeff")
    args = dict(re.findall(r"^\s*(?:ARG|ENV)\s+(\w+)=(\S+)", text, re.M | re.I))
    sources, folders = _copy_sources(text)
    requirements = set()
    for token in TXT.findall(text):
        token = _expand(token, args)
        if token is not None:
            requirements.update({token.lstrip("/"), posixpath.basename(token)})
    for folder in folders:
        requirements.update(posixpath.join(folder, posixpath.basename(r)) for r in list(requirements))
    for rel in sorted(folders):
        _make(root, rel, None)
    for rel in sorted(requirements | {s for s in sources if s.endswith((".txt", ".in"))}):
        if _make(root, rel, REQUIREMENTS) and mutant.locks:
            lock = lock_name([rel])  # named as `dockerlock lock` names it
            if lock:
                _make(root, lock, placeholder_lock())
    for rel in sorted(sources):
        if not rel.endswith((".txt", ".in")) and not (root / rel).exists():
            _make(root, rel, "placeholder\n")
    if mutant.python_version:
        _make(root, ".python-version", "3.11\n")
    (root / "Dockerfile").write_bytes(mutant.data)


def _copy_sources(text: str) -> tuple[set[str], set[str]]:
    """(files, folders) that COPY/ADD instructions read from the build context, as far as
    BuildKit's parser can read the text (nothing when it cannot)."""
    try:
        commands = dockerfile.parse_string(text)
    except (dockerfile.GoParseError, UnicodeError, ValueError):
        return set(), set()
    files, folders = set(), set()
    args = {}
    for cmd in commands:
        if cmd.cmd.upper() in ("ARG", "ENV"):
            args.update(v.partition("=")[::2] for v in cmd.value if "=" in v)
        for flag in cmd.flags:  # bind mounts read the context too
            source = re.search(r"^--mount=(?=.*type=bind)(?!.*from=).*\bs(?:ou)?rc(?:e)?=([^,]+)", flag)
            src = _expand(source.group(1), args) if source else None
            if src is not None:
                (files if posixpath.splitext(src)[1] else folders).add(posixpath.normpath(src.lstrip("/") or "."))
        if cmd.cmd.upper() not in ("COPY", "ADD") or cmd.heredocs or any(f.startswith("--from") for f in cmd.flags):
            continue
        for raw in cmd.value[:-1]:
            src = _expand(raw.strip("\"'"), args)
            if src is None or "://" in src or any(c in src for c in "*?["):
                continue
            if src in (".", "./") or src.endswith("/"):
                if posixpath.normpath(src) != ".":
                    folders.add(posixpath.normpath(src))
            else:
                files.add(src)
    return files, folders


def _expand(token: str, args: dict[str, str]) -> str | None:
    token = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), "\0"), token)
    return None if "\0" in token or "$" in token else token


def _make(root: Path, rel: str, content: str | None) -> bool:
    """Create a file (or, for ``content=None``, a folder) at ``rel`` inside ``root``; False
    when the path leaves the context or clashes with what is already there."""
    rel = posixpath.normpath(rel.lstrip("/"))
    if rel in (".", "") or rel.startswith("..") or "\0" in rel or len(rel) > 200:
        return False
    path = root / rel
    try:
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                return False
            path.write_text(content)
    except OSError:
        return False
    return True
