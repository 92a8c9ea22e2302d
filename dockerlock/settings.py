"""Settings: ``[tool.dockerlock]`` in pyproject.toml, overridden by command-line flags.

Read once, at the edge, into an immutable ``Settings``; nothing below the CLI looks at
flags or files for configuration. The table is read with tomlkit (the library ``dockerlock
init`` writes it with); values are checked here, for the file and the flags alike, so a bad
value stops the run with one message instead of producing a Dockerfile that cannot build.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dockerlock.diagnostics import ConfigError

#: uv release the generated ``COPY --from=ghcr.io/astral-sh/uv:<version>`` pins by default.
DEFAULT_UV_VERSION = "0.13.9"
UV_IMAGE = "ghcr.io/astral-sh/uv"

DEFAULT_EXCLUDE = (".git", ".hg", ".svn", "node_modules", ".venv", "venv", ".tox", ".nox",
                   "__pycache__", ".mypy_cache", ".pytest_cache", "site-packages")


@dataclass(frozen=True)
class Settings:
    """Every option of a run: defaults, then ``[tool.dockerlock]``, then command-line flags."""

    uv_version: str = DEFAULT_UV_VERSION
    uv_digest: str | None = None
    uv_source: str = "image"  # "image" (COPY --from the uv image) or "pip" (pip install uv==X)
    include_gpu: bool = False
    record: bool = True
    lock_check: bool = True
    allow_drift: bool = False  # convert even when the lock does not cover the requirements (a warning)
    require_hashes: bool = True  # add --require-hashes when the lock allows it
    compile_bytecode: bool = True
    strict: bool = False  # check: warning-level findings fail the run too
    context: Path | None = None  # explicit build context (else inferred per Dockerfile)
    lock: str | None = None  # explicit lock path, relative to the build context
    lock_map: dict[str, str] = field(default_factory=dict)  # requirements path -> lock path
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    config_path: Path | None = None

    def override(self, **changes: Any) -> "Settings":
        """Apply CLI flags: only values the user actually gave (not None) win."""
        given = {k: v for k, v in changes.items() if v is not None}
        _validate(given, "command line")
        return replace(self, **given)

    @property
    def uv_version_arg(self) -> str | None:
        """The ARG name when the uv pin is an ARG reference (``${UV_VERSION}`` -> ``UV_VERSION``)."""
        match = _braced_arg(self.uv_version)
        return match.group(1) if match else None

    def uv_image_ref(self) -> str:
        ref = f"{UV_IMAGE}:{self.uv_version}"
        if self.uv_digest:
            digest = self.uv_digest if self.uv_digest.startswith("sha256:") else f"sha256:{self.uv_digest}"
            ref += f"@{digest}"
        return ref

    def lock_for(self, requirements: str) -> str | None:
        """Configured lock path for a context-relative requirements path, if any."""
        if self.lock:
            return self.lock
        norm = requirements.lstrip("./")
        for pattern, lock in self.lock_map.items():
            if norm == pattern.lstrip("./") or fnmatch.fnmatch(norm, pattern):
                return lock
        return None


_KEYS = {
    "uv-version": ("uv_version", str),
    "uv-digest": ("uv_digest", str),
    "uv-source": ("uv_source", str),
    "include-gpu": ("include_gpu", bool),
    "record": ("record", bool),
    "lock-check": ("lock_check", bool),
    "allow-drift": ("allow_drift", bool),
    "require-hashes": ("require_hashes", bool),
    "compile-bytecode": ("compile_bytecode", bool),
    "strict": ("strict", bool),
    "context": ("context", str),
    "lock": ("lock", str),
    "locks": ("lock_map", dict),
    "include": ("include", list),
    "exclude": ("exclude", list),
}


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.dockerlock] table, walking up from ``start``.

    ``start`` may be anything the user typed: a missing file, a symlink loop, a folder that
    cannot be read. The search then starts from the folder the name is in; the problem
    with the file itself is reported when the file is processed, not here.
    """
    try:
        here = start.resolve()
        if not here.is_dir():
            here = here.parent
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13), no permission
        here = Path(os.path.abspath(start)).parent
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if _is_file(candidate):
            try:
                data = read_toml(candidate)
            except (OSError, ValueError):
                # A broken file that mentions dockerlock is the configuration: load_settings reports
                # the error, rather than running with defaults the user did not ask for.
                try:
                    if "dockerlock" in candidate.read_text("utf-8", errors="replace"):
                        return candidate
                except OSError:
                    pass
                data = {}
            tool = data.get("tool", {})
            if isinstance(tool, dict) and "dockerlock" in tool:
                return candidate
        if _exists(folder / ".git"):
            break
    return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file into plain Python values (tomlkit; tomllib words the errors).

    Raises ``OSError`` or ``ValueError`` (both tomlkit's and tomllib's parse errors are
    ``ValueError`` subclasses).
    """
    import tomlkit

    text = path.read_bytes().decode("utf-8")
    try:
        return tomlkit.parse(text).unwrap()
    except ValueError:
        import tomllib

        tomllib.loads(text)  # raises with a clearer position ("at end of document")
        raise


def load_settings(pyproject: Path | None) -> Settings:
    if pyproject is None:
        return Settings()
    try:
        data = read_toml(pyproject)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read configuration: {exc}", str(pyproject)) from None
    tool = data.get("tool", {})
    table = tool.get("dockerlock", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise ConfigError("[tool.dockerlock] must be a table", str(pyproject))
    values: dict[str, Any] = {"config_path": pyproject}
    for key, value in table.items():
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"unknown key '{key}' in [tool.dockerlock] (known: {known})", str(pyproject))
        attr, kind = _KEYS[key]
        if not isinstance(value, kind) or (kind is list and not all(isinstance(x, str) for x in value)) \
                or (kind is dict and not all(isinstance(x, str) for x in value.values())):
            what = {"str": "string", "bool": "boolean (true or false)", "list": "list of strings",
                    "dict": "table of strings"}[kind.__name__]
            raise ConfigError(f"[tool.dockerlock] {key} must be a {what}", str(pyproject))
        if attr == "context":
            value = (pyproject.parent / value).resolve()
        elif kind is list:
            value = tuple(value)
        elif attr == "lock_map":
            value = {str(k): str(v) for k, v in value.items()}
        values[attr] = value
    _validate(values, str(pyproject), {attr: key for key, (attr, _kind) in _KEYS.items()})
    return Settings(**values)


#: A Docker image tag (the uv version goes into ``ghcr.io/astral-sh/uv:<version>``).
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
#: ``${UV_VERSION}`` / ``$UV_VERSION``: the pin comes from an ARG the Dockerfile declares.
ARG_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_DIGEST = re.compile(r"(sha256:)?[0-9a-f]{64}")


def _validate(values: dict[str, Any], where: str, names: dict[str, str] | None = None) -> None:
    """Reject values that would write a broken or unsafe Dockerfile line."""
    def bad(attr: str, why: str) -> ConfigError:
        if names is not None:
            return ConfigError(f"[tool.dockerlock] {names.get(attr, attr)} {why}", where)
        return ConfigError(f"--{attr.replace('_', '-')} {why}")

    version = str(values.get("uv_version", "0"))
    if "uv_version" in values and not (_TAG.fullmatch(version) or _braced_arg(version)):
        raise bad("uv_version", f"{values['uv_version']!r} is not a version (letters, digits, '.', '_', '-') "
                                "nor an ARG reference such as '${UV_VERSION}'")
    if _braced_arg(version) and values.get("uv_source") == "pip":
        raise bad("uv_version", "an ARG reference needs uv-source = \"image\" (the uv image named in a stage)")
    if values.get("uv_digest") is not None and not _DIGEST.fullmatch(str(values["uv_digest"])):
        raise bad("uv_digest", "must be a sha256 digest: 64 lowercase hex digits, optionally after 'sha256:'")
    if "uv_source" in values and values["uv_source"] not in ("image", "pip"):
        raise bad("uv_source", "must be 'image' or 'pip'")
    locks = ([values["lock"]] if values.get("lock") else []) + list((values.get("lock_map") or {}).values())
    for lock in locks:
        attr = "lock" if lock == values.get("lock") else "lock_map"
        if any(ord(c) < 32 or ord(c) == 127 for c in str(lock)):
            raise bad(attr, f"{lock!r} contains control characters")
        name = str(lock).replace("\\", "/").rsplit("/", 1)[-1]
        if not re.fullmatch(r"pylock\.toml|pylock\.[^.]+\.toml", name):
            raise bad(attr, f"'{lock}': a lock must be named pylock.toml or pylock.<name>.toml "
                            "(PEP 751; uv reads no other name)")


def _braced_arg(text: str):
    return ARG_REFERENCE.fullmatch(text)
