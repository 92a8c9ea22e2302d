"""Finding uv and running it: one place that knows the binary, its environment and its errors."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from dockerlock.diagnostics import DockerlockError, LockError

UV_INSTALL_HINT = (
    "install it with `pip install uv` (or `pipx install uv`), or see "
    "https://docs.astral.sh/uv/getting-started/installation/"
)
#: How many trailing lines of uv's stderr go into an error message.
STDERR_TAIL_LINES = 15
DEFAULT_TIMEOUT = 600.0


def find_uv(*, env: Mapping[str, str] | None = None, allow_python_package: bool = True) -> list[str]:
    """The command that runs uv: ``uv`` on ``PATH`` (from ``env``, default ``os.environ``), else the
    binary shipped in the ``uv`` Python package; raise ``DockerlockError`` if neither exists."""
    search_path = (os.environ if env is None else env).get("PATH", os.defpath)
    found = shutil.which("uv", path=search_path)
    if found:
        return [found]
    if allow_python_package:
        try:
            from uv import find_uv_bin  # the `uv` distribution on PyPI ships the binary

            return [os.fspath(find_uv_bin())]
        except Exception:  # not installed, or installed without its binary
            pass
    raise DockerlockError(f"uv not found: {UV_INSTALL_HINT}")


def uv_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for uv child processes: ``base`` (default ``os.environ``) plus the settings
    dockerlock relies on (no interpreter downloads, pylock preview warnings off, no colour codes in
    the error text we quote)."""
    env = dict(os.environ if base is None else base)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    features = [f for f in env.get("UV_PREVIEW_FEATURES", "").split(",") if f.strip()]
    if "pylock" not in features:
        features.append("pylock")
    env["UV_PREVIEW_FEATURES"] = ",".join(features)
    env["NO_COLOR"] = "1"
    return env


def run_uv(command: list[str], *, env: Mapping[str, str] | None, cwd: Path | None, timeout: float,
           what: str) -> subprocess.CompletedProcess[str]:
    """Run a uv command to completion (stdin closed, output captured); ``what`` names the input
    in errors. A timeout is a ``LockError``; a binary that cannot start a ``DockerlockError``."""
    try:
        return subprocess.run(
            command, env=uv_environment(env), cwd=cwd, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise LockError(f"uv pip compile did not finish within {timeout:g} s", path=what) from None
    except OSError as exc:
        raise DockerlockError(f"cannot run {command[0]!r}: {exc.strerror or exc}",
                              hint=UV_INSTALL_HINT) from None


def stderr_tail(stderr: str) -> str:
    """The last lines of uv's stderr, for an error message."""
    lines = [line.rstrip() for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return "(uv printed nothing on stderr)"
    shown = lines[-STDERR_TAIL_LINES:]
    prefix = "...\n" if len(lines) > len(shown) else ""
    return prefix + "\n".join(shown)
