"""``dockerlock init``: add a commented ``[tool.dockerlock]`` table to pyproject.toml.

Every key is written commented out with its default (or an example), so adding the table
changes nothing until a line is uncommented; the empty table also marks the file as the
configuration ``dockerlock`` finds when it walks up from a Dockerfile.

The rest of the file is kept byte for byte: the table is spliced in as text (after the
last ``[tool.*]`` table, where tomlkit would put it, or at the end of the file), in the
file's own line endings, and the result is parsed again to prove that the only change is
the new, empty table. If that proof fails, nothing is written.
"""

from __future__ import annotations

import copy
import sys
import tomllib
from pathlib import Path
from typing import Any

from dockerlock.diagnostics import ConfigError, DockerlockError
from dockerlock.settings import DEFAULT_UV_VERSION, UV_IMAGE

EXIT_OK, EXIT_ERROR = 0, 2


def template_lines() -> list[str]:
    """The table as written, one string per line, without line endings."""
    return [
        "[tool.dockerlock]",
        "# dockerlock settings. Every key is optional: uncomment a line to change its default.",
        "# Command-line flags override what is set here.",
        "#",
        "# Dockerfiles to process when searching folders: globs relative to this file",
        "# (default: every Dockerfile found under the paths given on the command line).",
        '# include = ["services/*/Dockerfile"]',
        "# Globs to skip, besides .git, node_modules, virtual environments and tool caches.",
        '# exclude = ["legacy/*"]',
        "# Build context folder, relative to this file (default: inferred per Dockerfile from",
        "# the paths its COPY instructions read).",
        '# context = "."',
        "# One lock for every requirements file, relative to the build context",
        "# (default: pylock.toml beside each requirements file).",
        '# lock = "pylock.toml"',
        "# Or a lock per requirements file (paths or globs relative to the build context).",
        '# locks = { "backend/requirements.txt" = "backend/pylock.toml" }',
        f"# uv release pinned by the generated COPY --from={UV_IMAGE}:<version>.",
        f'# uv-version = "{DEFAULT_UV_VERSION}"',
        "# Pin the uv image by digest as well, for reproducible builds (replace the placeholder).",
        '# uv-digest = "sha256:<64 hex digits>"',
        '# How uv gets into the image: "image" (COPY --from the uv image) or "pip"',
        "# (pip install uv==<uv-version> into /opt/uv, for images that cannot pull the uv image).",
        '# uv-source = "image"',
        "# Also convert GPU/specialised images (CUDA, ROCm, framework images); deferred by default.",
        "# include-gpu = false",
        "# Write the record comment that `dockerlock revert` restores the original stanza from.",
        "# record = true",
        "# Read and check each lock while migrating (false: convert before the lock exists).",
        "# lock-check = true",
        "# Convert even where the lock does not cover the requirements (a warning, not an error).",
        "# allow-drift = false",
        "# Add --require-hashes when the lock allows it (no VCS or local-directory packages).",
        "# require-hashes = true",
        "# Add --compile-bytecode (pip compiled .pyc files at install time; uv does not by default).",
        "# compile-bytecode = true",
        "# `dockerlock check`: fail on warning-level findings too, as --strict does.",
        "# strict = false",
    ]


class AlreadyConfigured(Exception):
    """The file already has a ``[tool.dockerlock]`` table."""


def _eol(text: str) -> str:
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def _parse(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML ({exc}); nothing written") from None


def _tomlkit_offset(body: str) -> int:
    """Where tomlkit would insert ``[tool.dockerlock]`` (after the last tool table), as an offset into ``body``."""
    import tomlkit

    marker = "dockerlock-init-position-marker"
    try:
        doc = tomlkit.parse(body)
        table = tomlkit.table()
        table.add(tomlkit.comment(marker))
        if "tool" in doc:
            doc["tool"]["dockerlock"] = table  # type: ignore[index]
        else:
            outer = tomlkit.table(is_super_table=True)
            outer["dockerlock"] = table
            doc["tool"] = outer
        out = tomlkit.dumps(doc)
    except Exception:  # tomlkit refuses (an inline `tool = {...}`): fall back to the end of the file
        return len(body)
    end = out.find("\n", out.index(marker))
    suffix = out[end + 1:] if end >= 0 else ""
    offset = len(body) - len(suffix)
    if not suffix or not body.endswith(suffix) or not out.startswith(body[:offset]):
        return len(body)
    return offset


def _back_over_attached_comments(body: str, offset: int) -> int:
    """A comment block directly above the next table header belongs to that table: insert before it."""
    if offset >= len(body):
        return offset
    lines = body[:offset].splitlines(keepends=True)
    while lines and lines[-1].lstrip().startswith("#"):
        offset -= len(lines.pop())
    return offset


def _splice(body: str, offset: int, eol: str) -> str:
    before, after = body[:offset], body[offset:]
    if before and not before.endswith("\n"):
        before += eol
    gap = "" if not before or before.endswith(("\n\n", "\r\n\r\n")) else eol
    block = eol.join(template_lines()) + eol
    tail = eol if after and not after.startswith(("\n", "\r\n")) else ""
    return before + gap + block + tail + after


def add_table(text: str) -> str:
    """``text`` with the commented table added; raises ``AlreadyConfigured`` or ``ConfigError``."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom):]
    data = _parse(body)
    tool = data.get("tool")
    if tool is not None and not isinstance(tool, dict):
        raise ConfigError("'tool' is not a table; nothing written")
    if isinstance(tool, dict) and "dockerlock" in tool:
        raise AlreadyConfigured
    expected = copy.deepcopy(data)
    expected.setdefault("tool", {})["dockerlock"] = {}
    eol = _eol(body)
    candidates = [_back_over_attached_comments(body, _tomlkit_offset(body)), len(body)]
    for offset in dict.fromkeys(candidates):
        new = _splice(body, offset, eol)
        try:
            if tomllib.loads(new) == expected:
                return bom + new
        except tomllib.TOMLDecodeError:
            continue
    raise ConfigError("cannot add [tool.dockerlock] without changing what the file means (is 'tool' an "
                      "inline table?); add the table by hand; nothing written")


def new_file_text() -> str:
    return "\n".join(template_lines()) + "\n"


def run_init(target: Path, out=None, err=None) -> int:
    """Create or extend ``target`` (a pyproject.toml or its folder); print one line; return the exit code."""
    from dockerlock.runner import write_atomic

    out = out or sys.stdout
    err = err or sys.stderr
    path = target / "pyproject.toml" if target.is_dir() else target
    try:
        if not path.exists():
            if not path.parent.is_dir():
                raise ConfigError(f"folder {path.parent} does not exist; nothing written")
            with open(path, "x", encoding="utf-8", newline="") as handle:
                handle.write(new_file_text())
            print(f"{path}: created with a commented [tool.dockerlock] table", file=out)
            return EXIT_OK
        try:
            old = path.read_bytes()
            text = old.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError("not UTF-8 text; nothing written") from None
        except OSError as exc:
            raise ConfigError(f"cannot read the file: {exc.strerror or exc}") from None
        try:
            new = add_table(text)
        except AlreadyConfigured:
            print(f"{path}: [tool.dockerlock] already exists; nothing changed", file=out)
            return EXIT_OK
        write_atomic(path, new.encode("utf-8"), old)
        print(f"{path}: added a commented [tool.dockerlock] table", file=out)
        return EXIT_OK
    except (DockerlockError, OSError) as exc:
        if isinstance(exc, DockerlockError):
            exc.with_path(str(path))
            message = str(exc)
        else:
            message = f"{path}: {exc.strerror or exc}"
        print(f"error: {message}", file=err)
        return EXIT_ERROR
