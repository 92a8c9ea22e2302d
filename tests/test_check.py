"""dockerlock check: unmigrated stanzas, lock problems, drift, installs that bypass the lock."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from typer.testing import CliRunner

from migrate_helpers import placeholder_lock, write_tree
from dockerlock.cli import build_app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def invoke(*args):
    return runner.invoke(build_app(), list(args), catch_exceptions=False)


def test_example_reports_unmigrated_stanza_and_unlocked_pygraphviz(tmp_path):
    shutil.copytree(ROOT / "examples/omi", tmp_path / "omi")
    (tmp_path / ".git").mkdir()
    result = invoke("check", str(tmp_path / "omi"))
    assert result.exit_code == 1
    assert "Dockerfile:7: error DLK240" in result.output
    assert "Dockerfile:21: warning DLK241: pip install git+https://github.com/pygraphviz/pygraphviz.git" in result.output
    assert invoke("migrate", "-q", str(tmp_path / "omi")).exit_code == 0
    after = invoke("check", str(tmp_path / "omi"))
    assert after.exit_code == 0 and "DLK240" not in after.output and "DLK241" in after.output


def test_drift_and_python_findings_after_migration(tmp_path):
    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {
        "Dockerfile": "FROM python:3.11-slim\nCOPY pylock.toml /app/\n"
                      "RUN uv pip install -r /app/pylock.toml --system\n",
        "requirements.txt": "six==1.17.0\nidna\n",
        "pylock.toml": placeholder_lock([("six", "1.16.0")], requires_python=">=3.12"),
    })
    result = invoke("check", "--format", "json", str(tmp_path / "Dockerfile"))
    import json

    data = json.loads(result.output)
    messages = " | ".join(f["message"] for f in data["files"][0]["findings"])
    codes = {f["code"] for f in data["files"][0]["findings"]}
    assert result.exit_code == 1
    assert "idna" in messages and "six" in messages and "3.12" in messages
    assert all(code.startswith("DLK2") for code in codes)


def test_python_version_file_and_build_platform(tmp_path):
    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {
        "Dockerfile": "FROM --platform=$TARGETPLATFORM python:3.11-slim\nCOPY pylock.toml /app/\n"
                      "RUN uv pip install -r /app/pylock.toml --system\n",
        "pylock.toml": placeholder_lock(), ".python-version": "3.12\n",
    })
    result = invoke("check", str(tmp_path / "Dockerfile"))
    assert result.exit_code == 1
    assert "DLK243: .python-version beside the lock says 3.12 but the image runs Python 3.11" in result.output
    assert "DLK244" in result.output and "$TARGETPLATFORM" in result.output


@pytest.mark.network
def test_check_resolve_reports_packages_the_requirements_no_longer_pull_in(tmp_path, monkeypatch):
    """A lock made from runtime plus test requirements, used for the runtime step (migrated by
    hand, so migrate's DLK108 never saw it): --resolve asks uv and names the test package."""
    import subprocess

    from dockerlock.locking import find_uv, uv_environment

    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {
        "Dockerfile": "FROM python:3.11-slim\nCOPY pylock.toml /app/\nRUN uv pip install -r /app/pylock.toml --system\n",
        "requirements.txt": "six==1.16.0\n", "requirements-test.txt": "idna==3.7\n"})
    env = {**uv_environment(), "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
    subprocess.run([*find_uv(), "pip", "compile", "requirements.txt", "requirements-test.txt", "--format",
                    "pylock.toml", "-o", "pylock.toml", "--python-version", "3.11", "--python-platform",
                    "x86_64-unknown-linux-gnu", "--quiet"], cwd=tmp_path, env=env, check=True)
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    plain = invoke("check", str(tmp_path / "Dockerfile"))
    assert plain.exit_code == 0 and "DLK231" not in plain.output
    resolved = invoke("check", "--resolve", str(tmp_path / "Dockerfile"))
    assert resolved.exit_code == 0, resolved.output  # a warning: the image gets more than it needs
    assert "warning DLK231: idna 3.7 is in" in resolved.output
    assert "but its requirements no longer pull it in" in resolved.output
    assert "six" not in resolved.output.split("DLK231", 1)[1].split("\n", 1)[0]


def test_tool_upgrades_are_not_reported_as_bypassing_the_lock(tmp_path):
    """`pip install -U pip setuptools wheel` (or uv) upgrades the installer, not the application: no
    DLK241, before or after migration; an application package still is."""
    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {
        "Dockerfile": "FROM python:3.11-slim\nRUN pip install -U pip\nCOPY requirements.txt .\n"
                      "RUN pip install -r requirements.txt\nRUN pip install --upgrade pip setuptools wheel uv\n"
                      "RUN pip install gunicorn\n",
        "requirements.txt": "six==1.16.0\n", "pylock.toml": placeholder_lock(), ".python-version": "3.11\n"})
    before = invoke("check", str(tmp_path / "Dockerfile"))
    dlk241 = [line for line in before.output.splitlines() if "DLK241" in line]
    assert dlk241 == [f"{tmp_path / 'Dockerfile'}:6: warning DLK241: pip install gunicorn installs into the image's "
                      "interpreter, which the lock filled: it bypasses the lock (add it to the requirements and "
                      "re-lock)"]
    assert invoke("migrate", "-q", str(tmp_path / "Dockerfile")).exit_code == 0
    after = invoke("check", str(tmp_path / "Dockerfile"))
    assert [line.split(": warning")[0].rsplit(":", 1)[1] for line in after.output.splitlines()
            if "DLK241" in line] == ["8"]  # gunicorn only: record, uv and lock COPY in, requirements COPY out


def test_installs_before_the_lock_or_beside_an_unlocked_step_are_not_reported(tmp_path):
    """DLK241 is about the environment a lock filled: an install that runs before the locked step,
    or into an environment whose pip step migrate refuses (so no lock fills it), bypasses nothing."""
    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {
        "Dockerfile": "FROM python:3.11-slim\nRUN pip install poetry\nCOPY requirements.txt .\n"
                      "RUN pip install -r requirements.txt\nRUN pip install gunicorn\n"
                      "FROM python:3.11-slim AS other\nCOPY requirements.txt .\n"
                      "RUN pip install -r requirements.txt gunicorn\nRUN pip install pytest\n",
        "requirements.txt": "six==1.16.0\n", "pylock.toml": placeholder_lock(), ".python-version": "3.11\n"})
    result = invoke("check", str(tmp_path / "Dockerfile"))
    assert [line.split(": warning")[0].rsplit(":", 1)[1] for line in result.output.splitlines()
            if "DLK241" in line] == ["5"]  # gunicorn after the lock; not poetry before it, not pytest


def test_a_lock_copied_in_the_stage_a_step_is_built_from_is_checked(tmp_path):
    """The uv step's lock may arrive in a base stage (a migrated multi-stage file): check follows the
    stages down to that COPY, as BuildKit builds them, instead of saying it cannot find the lock."""
    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {
        "Dockerfile": "FROM python:3.11-slim AS base\nWORKDIR /srv\nCOPY contrib/pylock.toml ./pylock.base.toml\n"
                      "FROM base AS build\nRUN uv pip install -r pylock.base.toml --system\n",
        "contrib/requirements.txt": "six==1.17.0\n", "contrib/pylock.toml": placeholder_lock()})
    result = invoke("check", str(tmp_path / "Dockerfile"))
    assert "DLK242" not in result.output
    assert "error DLK221: six==1.17.0 is required but the lock has 1.16.0" in result.output


def test_a_uv_install_of_a_requirements_file_is_listed_as_not_locked(tmp_path):
    """DLK247: `uv pip install -r requirements.txt` resolves at build time as pip does; check lists it
    (a warning; --strict fails on it). A uv step that installs a pylock is locked and not listed."""
    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {
        "Dockerfile": "FROM python:3.11-slim\nCOPY --from=ghcr.io/astral-sh/uv:0.5 /uv /bin/\n"
                      "COPY requirements.txt pylock.toml ./\n"
                      "RUN uv pip install --system -r requirements.txt\n"
                      "RUN uv venv /opt/venv && uv pip sync --python /opt/venv/bin/python requirements.txt\n"
                      "RUN uv pip install --system -r pylock.toml\n",
        "requirements.txt": "six==1.16.0\n", "pylock.toml": placeholder_lock()})
    result = invoke("check", str(tmp_path / "Dockerfile"))
    listed = [line.split(str(tmp_path / "Dockerfile") + ":", 1)[1] for line in result.output.splitlines()
              if "DLK247" in line]
    assert listed == [
        "4: warning DLK247: uv pip install -r requirements.txt is not locked: uv resolves it when the image is built; "
        "install a lock instead (`uv pip install -r pylock.toml`)",
        "5: warning DLK247: uv pip sync requirements.txt is not locked: uv resolves it when the image is built; "
        "install a lock instead (`uv pip install -r pylock.toml`)"]
    assert invoke("check", "--strict", str(tmp_path / "Dockerfile")).exit_code == 1
