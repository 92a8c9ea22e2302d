"""revert: exact restoration from the record; synthesised stanzas for hand-migrated files."""

from __future__ import annotations

import tempfile
from pathlib import Path

from migrate_helpers import placeholder_lock, write_tree
from dockerlock.loading import context_at
from dockerlock.model import Dockerfile
from dockerlock.rules.revert import revert_dockerfile
from dockerlock.settings import Settings


def revert(text: str, files: dict[str, str], force: bool = False):
    with tempfile.TemporaryDirectory() as tmp:
        write_tree(Path(tmp), files)
        df = Dockerfile.from_text(text, "Dockerfile")
        return revert_dockerfile(df, context_at(Path(tmp), df, Settings()), Settings(), force=force)


PUSHER_FILES = {"backend/pusher/pylock.toml": placeholder_lock(), "backend/pusher/requirements.txt": "six\n"}

# The uv-era omi pusher shape: uv pip-installed into the system Python, lock synced into the venv.
UV_ERA_PUSHER = """ARG PYTHON_BASE_IMAGE=python:3.11-slim
ARG UV_VERSION=0.11.13

FROM ${PYTHON_BASE_IMAGE} AS builder

ARG UV_VERSION

RUN python -m venv /opt/venv
RUN python3 -m pip install --no-cache-dir "uv==${UV_VERSION}"
ENV PATH="/opt/venv/bin:$PATH"

# Build liblc3 and create wheel
WORKDIR /tmp
RUN git clone https://github.com/google/liblc3.git && \\
    cd liblc3 && \\
    # Stage shared libs
    python3 -m pip wheel --no-cache-dir --wheel-dir /tmp/wheels .

# Install Python requirements from the pusher-specific checked-in lock.
WORKDIR /opt/venv
COPY backend/pusher/pylock.toml /tmp/pylock.toml
RUN uv pip sync /tmp/pylock.toml --python /opt/venv/bin/python --compile-bytecode

FROM ${PYTHON_BASE_IMAGE}
COPY --from=builder /opt/venv /opt/venv
"""


def test_synthesised_uv_era_pusher_exact_output():
    result = revert(UV_ERA_PUSHER, PUSHER_FILES)
    expected = UV_ERA_PUSHER.replace('RUN python3 -m pip install --no-cache-dir "uv==${UV_VERSION}"\n', "").replace(
        "COPY backend/pusher/pylock.toml /tmp/pylock.toml\n"
        "RUN uv pip sync /tmp/pylock.toml --python /opt/venv/bin/python --compile-bytecode\n",
        "COPY backend/pusher/requirements.txt /tmp/requirements.txt\n"
        "RUN /opt/venv/bin/pip install --no-cache-dir --upgrade -r /tmp/requirements.txt\n")
    assert result.error is None
    assert result.new_text == expected
    assert any(f.code == "DLK302" for f in result.findings)  # says it was synthesised


AGENT_PROXY = """FROM python:3.11-slim AS builder
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/
RUN python -m venv /opt/venv
COPY backend/agent-proxy/pylock.toml backend/agent-proxy/.python-version /tmp/
RUN uv pip sync /tmp/pylock.toml --python /opt/venv/bin/python --compile-bytecode --no-cache
FROM python:3.11-slim
COPY --from=builder /opt/venv /opt/venv
"""


def test_synthesised_from_copy_of_lock_and_python_version():
    files = {"backend/agent-proxy/pylock.toml": placeholder_lock(), "backend/agent-proxy/requirements.txt": "six\n",
             "backend/agent-proxy/.python-version": "3.11\n"}
    result = revert(AGENT_PROXY, files)
    assert result.new_text == (
        "FROM python:3.11-slim AS builder\n"
        "RUN python -m venv /opt/venv\n"
        "COPY backend/agent-proxy/requirements.txt /tmp/\n"
        "RUN /opt/venv/bin/pip install --no-cache-dir --upgrade -r /tmp/requirements.txt\n"
        "FROM python:3.11-slim\n"
        "COPY --from=builder /opt/venv /opt/venv\n")


def test_system_target_reverts_to_plain_pip():
    text = ("FROM python:3.11\nCOPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/\n"
            "COPY pylock.toml ./\nRUN uv pip install -r pylock.toml --system --break-system-packages\n")
    result = revert(text, {"pylock.toml": placeholder_lock(), "requirements.txt": "six\n"})
    assert result.new_text == ("FROM python:3.11\nCOPY requirements.txt ./\n"
                               "RUN pip install --no-cache-dir --upgrade -r requirements.txt "
                               "--break-system-packages\n")


def test_refuses_without_requirements_beside_the_lock():
    result = revert(AGENT_PROXY, {"backend/agent-proxy/pylock.toml": placeholder_lock()})
    assert result.new_text is None
    assert any(f.code == "DLK304" and "no requirements.txt beside the lock" in f.message for f in result.findings)


def test_uv_kept_when_another_uv_command_still_needs_it():
    text = ("FROM python:3.11\nCOPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/\n"
            "COPY pylock.toml ./\nRUN uv pip install -r pylock.toml --system\nRUN uv tool install ruff\n")
    result = revert(text, {"pylock.toml": placeholder_lock(), "requirements.txt": "six\n"})
    assert "COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/\n" in result.new_text
    assert "RUN uv tool install ruff\n" in result.new_text


def test_damaged_record_is_an_error():
    text = ("FROM python:3.11\n# dockerlock: migrated pip -> uv; `dockerlock revert` restores it [v1 n=1 h=zz]\n"
            "RUN true\n")
    result = revert(text, {})
    assert result.error is not None and "damaged dockerlock record" in result.error.reason
    assert result.error.line == 2
