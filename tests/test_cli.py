"""The command line through typer's runner: modes, exit codes, summaries, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrate_helpers import placeholder_lock, write_tree
from dockerlock.cli import build_app

runner = CliRunner()
PIP = "FROM python:3.11-slim\nCOPY requirements.txt /app/\nRUN pip install -r /app/requirements.txt\n"


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {"svc/Dockerfile": PIP, "svc/requirements.txt": "six\n",
                          "svc/pylock.toml": placeholder_lock(),
                          "broken/Dockerfile": PIP, "broken/requirements.txt": "six\n",
                          "node_modules/x/Dockerfile": PIP})
    return tmp_path


def invoke(*args: str):
    return runner.invoke(build_app(), list(args), catch_exceptions=False)


def test_migrate_writes_in_place_and_reports(tree):
    result = invoke("migrate", str(tree / "svc"))
    assert result.exit_code == 0
    assert "svc/Dockerfile: converted 1 stanza" in result.output
    text = (tree / "svc/Dockerfile").read_text()
    assert "uv pip install -r /app/pylock.toml --system" in text
    again = invoke("migrate", "--check", str(tree / "svc"))
    assert again.exit_code == 0 and "0 files would be converted" in again.output


def test_diff_writes_nothing_and_exits_1(tree):
    result = invoke("migrate", "--diff", "--no-color", str(tree / "svc"))
    assert result.exit_code == 1
    assert "-RUN pip install -r /app/requirements.txt" in result.output
    assert "+RUN uv pip install -r /app/pylock.toml" in result.output
    assert (tree / "svc/Dockerfile").read_text() == PIP


def test_error_exit_2_names_file_and_line_and_other_files_still_processed(tree):
    result = invoke("migrate", "--check", str(tree))
    assert result.exit_code == 2
    assert "broken/Dockerfile: error:" in result.output and "Dockerfile:3:" in result.output
    assert "does not exist" in result.output
    assert "svc/Dockerfile: would convert 1 stanza" in result.output
    assert "node_modules" not in result.output  # skipped folder
    assert (tree / "broken/Dockerfile").read_text() == PIP


def test_json_format(tree):
    import json

    result = invoke("migrate", "--check", "--format", "json", str(tree / "svc"))
    data = json.loads(result.output)
    assert data["exit_code"] == 1 and data["files"][0]["status"] == "would change"
    assert data["files"][0]["findings"][0]["code"] == "DLK101"


def test_revert_cli_round_trip(tree):
    original = (tree / "svc/Dockerfile").read_bytes()
    assert invoke("migrate", str(tree / "svc")).exit_code == 0
    result = invoke("revert", str(tree / "svc"))
    assert result.exit_code == 0 and "reverted 1 stanza" in result.output
    assert (tree / "svc/Dockerfile").read_bytes() == original


def test_revert_refuses_edited_region_unless_forced(tree):
    invoke("migrate", str(tree / "svc"))
    path = tree / "svc/Dockerfile"
    path.write_text(path.read_text().replace("--compile-bytecode", "--compile-bytecode --reinstall"))
    edited = path.read_bytes()
    result = invoke("revert", str(tree / "svc"))
    assert result.exit_code == 2 and "edited after migration" in result.output
    assert path.read_bytes() == edited
    forced = invoke("revert", "--force", str(tree / "svc"))
    assert forced.exit_code == 0 and path.read_text() == PIP


@pytest.mark.parametrize("command", ["migrate", "revert"])
def test_help_lists_every_option(command):
    result = invoke(command, "--help")
    options = {"migrate": ["--diff", "--check", "--context", "--lock", "--no-lock-check", "--include-gpu",
                           "--uv-version", "--uv-digest", "--uv-source", "--no-record", "--format", "--color",
                           "--quiet", "--verbose", "--config"],
               "revert": ["--diff", "--check", "--force", "--context", "--format", "--quiet", "--verbose"]}
    for option in options[command]:
        assert option in result.output, option


def test_version_is_fast_and_plain():
    out = subprocess.run([sys.executable, "-m", "dockerlock", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("dockerlock ")


def test_machine_formats_print_a_report_even_when_no_dockerfile_is_found(tmp_path):
    import json

    result = invoke("migrate", "--check", "--format", "json", str(tmp_path))
    assert result.exit_code == 0 and json.loads(result.stdout)["files"] == []


def test_flags_override_config_both_ways(tree):
    (tree / "pyproject.toml").write_text("[tool.dockerlock]\nrecord = false\n")
    out = invoke("migrate", "--config", str(tree / "pyproject.toml"), "--diff", "--no-color", str(tree / "svc"))
    assert "# dockerlock: replaced" not in out.output
    out = invoke("migrate", "--config", str(tree / "pyproject.toml"), "--record", "--diff", "--no-color",
                 str(tree / "svc"))
    assert "# dockerlock: replaced `" in out.output
