"""Real image builds in tests: podman provisioned by the shared container-build harness.

The harness (``../shared/tools/container-build/harness.sh``) installs podman and imports local
``python:3.11-slim`` base images built from Debian, since these machines have no Docker engine and
no registry. The fixtures (``harness``, ``podman``, ``uv_command``) are made available to every
test module by ``conftest.py``, so one harness serves the whole session. dockerlock's own code
never depends on the harness.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dockerlock.diagnostics import DockerlockError
from dockerlock.verify.builds import Builder, detect_builder
from dockerlock.verify.venvs import find_uv

HARNESS = Path(__file__).resolve().parents[2] / "shared" / "tools" / "container-build" / "harness.sh"

REQUIRE_BUILD = os.environ.get("DOCKERLOCK_REQUIRE_BUILD") == "1"


def unavailable(reason: str):
    """Skip (or, with DOCKERLOCK_REQUIRE_BUILD=1 as in CI, fail) when builds cannot run here."""
    if REQUIRE_BUILD:
        pytest.fail(f"builds required (DOCKERLOCK_REQUIRE_BUILD=1) but: {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class Harness:
    script: Path
    directory: Path
    env: dict[str, str]                 # what `eval "$(harness.sh env)"` exports


@pytest.fixture(scope="session")
def harness():
    """One harness (podman + local python:3.11-slim) per test session, removed at the end."""
    if not HARNESS.is_file():
        unavailable(f"container-build harness not found at {HARNESS}")
    if os.geteuid() != 0:
        unavailable("the container-build harness needs root (apt-get, podman storage)")
    if not shutil.which("podman") and not shutil.which("apt-get"):
        unavailable("neither podman nor apt-get is available")
    directory = Path(tempfile.mkdtemp(prefix="dlk-harness-", dir="/tmp"))  # short: socket paths
    shell_env = dict(os.environ, HARNESS_DIR=str(directory))

    def step(*args: str, timeout: float) -> str:
        try:
            done = subprocess.run([str(HARNESS), *args], env=shell_env, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            cleanup()
            unavailable(f"harness.sh {args[0]} timed out after {timeout:g} s")
        if done.returncode != 0:
            cleanup()
            output = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
            unavailable(f"harness.sh {args[0]} failed (apt or the Debian mirror unreachable?):\n{output}")
        return done.stdout

    def cleanup():
        subprocess.run([str(HARNESS), "cleanup"], env=shell_env, capture_output=True, timeout=300)
        shutil.rmtree(directory, ignore_errors=True)

    step("setup", timeout=900)
    step("bases", timeout=900)
    exported = shlex.split(step("env", timeout=30))
    env = dict(item.split("=", 1) for item in exported if "=" in item)
    yield Harness(HARNESS, directory, env)
    cleanup()


@dataclass
class HarnessBuilder(Builder):
    """podman as the harness provisions it; the machine-specific parts stay in the test.

    Builds: heredocs / ``COPY --link`` rewritten by the harness's compat script (podman 4.3 lacks
    them) and ``ghcr.io/astral-sh/uv:<tag>`` stand-ins created first (no registry here).
    """

    harness: Harness | None = None
    uv_images: set[str] = field(default_factory=set)

    def ensure_uv_images(self, text: str) -> None:
        """Create the uv image stand-ins ``text`` copies from (the harness's images, not the run's)."""
        assert self.harness is not None
        wanted = sorted(set(re.findall(r"ghcr\.io/astral-sh/uv:([A-Za-z0-9._-]+)", text)) - self.uv_images)
        if wanted:
            subprocess.run([str(self.harness.script), "uv-image", *wanted], check=True, timeout=600,
                           env=dict(os.environ, HARNESS_DIR=str(self.harness.directory)),
                           capture_output=True)
            self.uv_images.update(wanted)

    def build(self, context, dockerfile, tag, *, no_cache, extra_args=()):
        assert self.harness is not None
        self.ensure_uv_images(Path(dockerfile).read_text())
        handle, compat = tempfile.mkstemp(prefix="Dockerfile.", dir=self.harness.directory / "tmp")
        os.close(handle)
        subprocess.run([sys.executable, str(self.harness.directory / "dockerfile_compat.py"),
                        str(dockerfile), compat], check=True, capture_output=True, timeout=60)
        try:
            return super().build(context, Path(compat), tag, no_cache=no_cache, extra_args=extra_args)
        finally:
            os.unlink(compat)


@pytest.fixture(scope="session")
def podman(harness) -> HarnessBuilder:
    detected = detect_builder(env=harness.env)    # the real probe: docker (if any), then podman
    if detected.kind != "podman":
        unavailable(f"expected the harness's podman, detected {detected.kind}")
    return HarnessBuilder(
        "podman", detected.executable, env=harness.env,
        build_args=("--pull=never", "--network=host"),   # no registry; RUN steps use host networking
        start_args=("--network=bridge",),                 # the harness defaults containers to host netns
        harness=harness)


@pytest.fixture(scope="session")
def uv_command() -> list[str]:
    try:
        return find_uv()
    except DockerlockError as exc:
        pytest.skip(f"uv is not available: {exc}")
