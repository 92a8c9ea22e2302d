"""Which modules to import-smoke-test in an image, from what its distributions installed.

Pure: the in-image scripts (``DIST_CONTENTS_SCRIPT``, ``SMOKE_SCRIPT``) report data, and
``importable_names`` / ``top_level_modules`` turn a distribution's RECORD (or top_level.txt)
into import names.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from dockerlock.verify import distributions_script, normalise_name
from dockerlock.verify.venvs import VENV_SEEDS

#: First path components that are never smoke-tested even when a distribution installs them.
SKIPPED_TOP_LEVEL: frozenset[str] = frozenset({"tests", "test"})

_MODULE_SUFFIXES = (".py", ".so", ".pyd")

# Lists, per installed distribution (first of each name on sys.path), the files it recorded
# (cut to three path components: enough to find namespace packages) and its top_level.txt.
DIST_CONTENTS_SCRIPT = distributions_script(r"""
    files = None
    try:
        recorded = dist.files
    except Exception:
        recorded = None
    if recorded is not None:
        files = sorted({"/".join(str(f).replace("\\", "/").split("/")[:3]) for f in recorded})
    top = None
    try:
        text = dist.read_text("top_level.txt")
    except Exception:
        text = None
    if text:
        top = [line.strip() for line in text.splitlines() if line.strip()]
    seen[name] = {"name": name, "files": files, "top_level": top}
""")

# Imports each module named on the command line; one JSON line per module, flushed, so the
# results survive an interpreter that dies (segfault) in the middle.
SMOKE_SCRIPT = r"""
import importlib, json, sys
for module in sys.argv[1:]:
    error = None
    try:
        importlib.import_module(module)
    except BaseException as exc:
        error = "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    sys.stdout.write(json.dumps({"module": module, "error": error}) + "\n")
    sys.stdout.flush()
"""


@dataclass(frozen=True)
class DistContents:
    """What one installed distribution put on sys.path, as reported from inside an image."""

    name: str
    files: tuple[str, ...] | None   # RECORD paths cut to three components; None: no RECORD
    top_level: tuple[str, ...] | None



def _identifier_path(name: str) -> bool:
    return all(part.isidentifier() and not part.startswith("_") for part in name.split("."))


def _importable(parts: list[str], files: set[str]) -> str | None:
    """The shallowest importable name a recorded path belongs to (namespace dirs are descended)."""
    for depth in range(len(parts)):
        if depth == len(parts) - 1:
            leaf = parts[depth]
            if leaf.endswith(_MODULE_SUFFIXES) and not leaf.startswith("__init__."):
                return ".".join(parts[:depth] + [leaf.split(".", 1)[0]])
            return None
        directory = "/".join(parts[:depth + 1])
        if f"{directory}/__init__.py" in files or any(
                f.startswith(f"{directory}/__init__.") and f.endswith((".so", ".pyd")) for f in files):
            return ".".join(parts[:depth + 1])
    return None


def importable_names(contents: DistContents) -> list[str]:
    """Top-level importable names of one distribution, from its RECORD, else its top_level.txt.

    Skips ``_``-prefixed names, ``tests``/``test``, ``.pth`` files, metadata and script paths;
    a namespace directory (no ``__init__``) is replaced by the packages inside it.
    """
    names: set[str] = set()
    if contents.files is not None:
        files = set(contents.files)
        for path in files:
            parts = [p for p in path.split("/") if p]
            if not parts or parts[0] in ("..", ".", "__pycache__") or parts[0].endswith(
                    (".dist-info", ".egg-info", ".data", ".pth")):
                continue
            name = _importable(parts, files)
            if name:
                names.add(name)
    elif contents.top_level is not None:
        names.update(entry.strip().replace("/", ".") for entry in contents.top_level)
    return sorted(name for name in names
                  if _identifier_path(name) and name.split(".")[0] not in SKIPPED_TOP_LEVEL)


def top_level_modules(contents: Mapping[str, DistContents], *, only: Iterable[str] | None = None,
                      ignore: Collection[str] = VENV_SEEDS) -> list[str]:
    """Import names to smoke-test, from what each installed distribution recorded in the image.

    ``contents`` comes from ``Builder.dist_contents``; ``only`` limits it to some distributions
    (e.g. the lock's packages); ``ignore`` leaves distributions out (default: the venv seeds).
    """
    wanted = {normalise_name(n) for n in only} if only is not None else None
    ignored = {normalise_name(n) for n in ignore}
    found: set[str] = set()
    for name, dist in contents.items():
        key = normalise_name(name)
        if key in ignored or (wanted is not None and key not in wanted):
            continue
        found.update(importable_names(dist))
    return sorted(found)


