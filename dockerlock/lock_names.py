"""Which lock stands in for which requirements files: one naming rule for migrate and lock.

PEP 751 names a lock ``pylock.toml`` or ``pylock.<name>.toml`` (no dots in ``<name>``).
dockerlock maps requirements files to lock names so that ``dockerlock lock`` writes the
file ``dockerlock migrate`` will look for, and a test stage's
``requirements-test.txt`` never silently gets the production ``pylock.toml``:

- ``requirements.txt`` -> ``pylock.toml``;
- ``requirements-test.txt``, ``requirements_test.txt``, ``test-requirements.txt``,
  ``requirements/test.txt`` -> ``pylock.test.toml`` (same folder);
- several files installed together (``-r a.txt -r b.txt``) -> one lock named after all of
  them, sorted: ``pylock.a+b.toml``; ``requirements.txt`` counts as ``requirements``
  there (``requirements.txt`` + ``requirements-dev.txt`` -> ``pylock.dev+requirements.toml``).

A lock made by ``dockerlock lock`` also records, in ``[tool.dockerlock]``, the
requirements files it was compiled from and the target it was compiled for
(``LockOrigin``), so migrate can tell a lock that covers more than a step installs.

Pure: paths in, names out.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

# "requirements", "requirements-<name>", "<name>_requirements" (any of - _ . between)
_REQUIREMENTS_WORD = re.compile(r"requirements?(?:[-_.](?P<after>.+))?|(?P<before>.+)[-_.]requirements?", re.I)
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_+-]")


def requirements_name(path: str) -> str:
    """The ``<name>`` a requirements file contributes; ``""`` for plain ``requirements.txt``.

    ``requirements-test.txt`` -> ``test``; ``test-requirements.txt`` -> ``test``;
    ``requirements/prod.txt`` -> ``prod``; ``reqs.in`` -> ``reqs``.
    """
    base = posixpath.basename(path)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    match = _REQUIREMENTS_WORD.fullmatch(stem)
    if match:
        stem = match.group("after") or match.group("before") or ""
    return _NOT_IN_NAME.sub("-", stem.replace(".", "-")).strip("-")


def lock_name(requirements: Sequence[str]) -> str | None:
    """Context-relative lock path for requirements files installed together, or None when they
    live in different folders (no single default; the user maps them in configuration)."""
    paths = list(dict.fromkeys(posixpath.normpath(p) for p in requirements))
    if not paths:
        return None
    folders = {posixpath.dirname(p) for p in paths}
    if len(folders) != 1:
        return None
    folder = folders.pop()
    if len(paths) == 1:
        name = requirements_name(paths[0])
    else:
        name = "+".join(sorted({requirements_name(p) or "requirements" for p in paths}))
    file = f"pylock.{name}.toml" if name else "pylock.toml"
    return posixpath.join(folder, file) if folder else file


class LockOrigin(NamedTuple):
    """What ``dockerlock lock`` recorded in a lock's ``[tool.dockerlock]`` table.

    ``requirements``: the files it was compiled from, relative to the lock's folder;
    ``python``: the ``X.Y`` it was compiled for; ``platform``: ``linux/amd64``-style, or
    ``universal``.
    """

    requirements: tuple[str, ...]
    python: str | None = None
    platform: str | None = None
    #: Every requirements file read when compiling (includes too), relative to the lock's folder,
    #: with the digest of its content (``content_digest``): what lets migrate show that an extra
    #: (``urllib3[socks]``) was resolved into the lock, which uv's lock alone cannot tell.
    inputs: tuple[tuple[str, str], ...] = ()
    #: ``musl`` for a lock compiled for an Alpine image; None: glibc (the default, not written)
    libc: str | None = None
    #: The pip source options it was resolved with (``--extra-index-url URL``...; empty: PyPI);
    #: None when the lock does not say (made by another tool, or before dockerlock recorded them).
    indexes: tuple[str, ...] | None = None
    #: The ``-c`` files it was compiled with, relative to the lock's folder (written by the compiler
    #: beside this table's other keys)
    constraints: tuple[str, ...] = ()

    def as_table(self) -> dict[str, object]:
        table: dict[str, object] = {"requirements": list(self.requirements)}
        if self.python:
            table["python"] = self.python
        if self.platform:
            table["platform"] = self.platform
        if self.libc:
            table["libc"] = self.libc
        if self.indexes is not None:
            table["indexes"] = list(self.indexes)
        if self.inputs:
            table["inputs"] = dict(self.inputs)
        return table


def origin_from_tool(tool: Mapping[str, Any] | None) -> LockOrigin | None:
    """Read ``[tool.dockerlock]`` from a lock's ``tool`` table; None when absent or malformed."""
    table = (tool or {}).get("dockerlock")
    if not isinstance(table, Mapping):
        return None
    requirements = table.get("requirements")
    if not isinstance(requirements, list) or not all(isinstance(r, str) for r in requirements):
        return None
    python, platform = table.get("python"), table.get("platform")
    inputs = table.get("inputs")
    recorded = tuple((k, v) for k, v in inputs.items() if isinstance(k, str) and isinstance(v, str)) \
        if isinstance(inputs, Mapping) else ()
    libc, indexes, constraints = table.get("libc"), table.get("indexes"), table.get("constraints")
    return LockOrigin(tuple(requirements), python if isinstance(python, str) else None,
                      platform if isinstance(platform, str) else None, recorded,
                      libc if isinstance(libc, str) else None,
                      tuple(indexes) if isinstance(indexes, list) and all(isinstance(i, str) for i in indexes)
                      else None,
                      tuple(constraints) if isinstance(constraints, list)
                      and all(isinstance(c, str) for c in constraints) else ())


def content_digest(text: str) -> str:
    """The digest a lock records for a requirements file's text (line endings and BOM ignored)."""
    import hashlib

    normal = text.lstrip("\ufeff").replace("\r\n", "\n")
    return "sha256:" + hashlib.sha256(normal.encode("utf-8")).hexdigest()
