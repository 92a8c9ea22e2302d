"""Settings: ``[tool.dockerlock]`` in pyproject.toml, overridden by command-line flags.

Read once, at the edge, into an immutable ``Settings``; nothing below the CLI looks at
flags or files for configuration.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, fields, replace
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
    uv_version: str = DEFAULT_UV_VERSION
    uv_digest: str | None = None
    uv_source: str = "image"  # "image" (COPY --from the uv image) or "pip" (pip install uv==X)
    include_gpu: bool = False
    record: bool = True
    lock_check: bool = True
    require_hashes: bool = True  # add --require-hashes when the lock allows it
    compile_bytecode: bool = True
    context: Path | None = None  # explicit build context (else inferred per Dockerfile)
    lock: str | None = None  # explicit lock path, relative to the build context
    lock_map: dict[str, str] = field(default_factory=dict)  # requirements path -> lock path
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    config_path: Path | None = None

    def override(self, **changes: Any) -> "Settings":
        """Apply CLI flags: only values the user actually gave (not None) win."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

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
    "require-hashes": ("require_hashes", bool),
    "compile-bytecode": ("compile_bytecode", bool),
    "context": ("context", str),
    "lock": ("lock", str),
    "locks": ("lock_map", dict),
    "include": ("include", list),
    "exclude": ("exclude", list),
}


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.dockerlock] table, walking up from ``start``."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                import tomllib

                data = tomllib.loads(candidate.read_text("utf-8"))
            except (OSError, ValueError):
                data = {}
            if "dockerlock" in data.get("tool", {}):
                return candidate
        if (folder / ".git").exists():
            break
    return None


def load_settings(pyproject: Path | None) -> Settings:
    if pyproject is None:
        return Settings()
    import tomllib

    try:
        data = tomllib.loads(pyproject.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read configuration: {exc}", str(pyproject)) from None
    table = data.get("tool", {}).get("dockerlock", {})
    if not isinstance(table, dict):
        raise ConfigError("[tool.dockerlock] must be a table", str(pyproject))
    values: dict[str, Any] = {"config_path": pyproject}
    for key, value in table.items():
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"unknown key '{key}' in [tool.dockerlock] (known: {known})", str(pyproject))
        attr, kind = _KEYS[key]
        if not isinstance(value, kind) or (kind is list and not all(isinstance(x, str) for x in value)):
            raise ConfigError(f"[tool.dockerlock] {key} must be a {kind.__name__}", str(pyproject))
        if attr == "context":
            value = (pyproject.parent / value).resolve()
        elif kind is list:
            value = tuple(value)
        elif attr == "lock_map":
            value = {str(k): str(v) for k, v in value.items()}
        values[attr] = value
    settings = Settings(**values)
    if settings.uv_source not in ("image", "pip"):
        raise ConfigError("[tool.dockerlock] uv-source must be 'image' or 'pip'", str(pyproject))
    return settings


def setting_names() -> list[str]:
    return [f.name for f in fields(Settings)]
