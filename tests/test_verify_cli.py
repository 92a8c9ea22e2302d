"""dockerlock verify through the CLI: venv mode on a real lock made at test time with uv."""

from __future__ import annotations

import json
import re
import sys
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockerlock.cli import build_app
from migrate_helpers import placeholder_lock

runner = CliRunner()
DOCKERFILE = ("FROM python:3.11-slim\nRUN python -m venv /opt/venv\nCOPY requirements.txt /tmp/\n"
              "RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt\n")


def _uv() -> list[str] | None:
    found = shutil.which("uv")
    if found:
        return [found]
    try:
        import uv

        return [uv.find_uv_bin()]
    except (ImportError, FileNotFoundError):
        return None


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    uv = _uv()
    if uv is None:
        pytest.skip("uv is not installed")
    root = tmp_path_factory.mktemp("verify")
    (root / ".git").mkdir()
    (root / "requirements.txt").write_text("six==1.16.0\n")
    (root / "Dockerfile").write_text(DOCKERFILE)
    made = subprocess.run(uv + ["pip", "compile", "requirements.txt", "--format", "pylock.toml", "-o",
                                "pylock.toml", "--universal", "--python-version", "3.11", "--quiet"],
                          cwd=root, capture_output=True, text=True, timeout=120)
    if made.returncode != 0:
        pytest.skip(f"no package index reachable for uv: {made.stderr.strip()[-200:]}")
    return root


@pytest.mark.network
def test_verify_venvs_same_packages_before_and_after_migration(project):
    result = runner.invoke(build_app(), ["verify", str(project / "Dockerfile"), "--format", "json",
                                         "--repeat", "2"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert result.stderr == ""                                 # JSON: nothing but the report
    stanza = report["stanzas"][0]
    assert report["ok"] and stanza["mode"] == "sync" and stanza["differences"] == []
    assert stanza["packages"] == {"pip": 1, "uv": 1}
    # each timing is the median of the repeated runs, with their spread
    assert set(stanza["timings"]) == {"pip-cold", "pip-warm", "uv-cold", "uv-warm"}
    for timing in stanza["timings"].values():
        assert len(timing["runs"]) == 2 and all(seconds > 0 for seconds in timing["runs"])
        assert timing["min"] == min(timing["runs"]) and timing["max"] == max(timing["runs"])
        assert timing["median"] == pytest.approx(sum(timing["runs"]) / 2)
    # the venvs ran on the image's Python (python:3.11-slim), found on this machine
    assert stanza["python"]["image"] == "3.11" and stanza["python"]["chosen_by"] == "image"
    assert stanza["python"]["version"].startswith("3.11.")
    # the migrated file verifies the same way (original recovered from the record)
    assert runner.invoke(build_app(), ["migrate", "-q", str(project / "Dockerfile")]).exit_code == 0
    again = runner.invoke(build_app(), ["verify", str(project / "Dockerfile"), "--format", "json", "--repeat", "1"])
    assert again.exit_code == 0 and json.loads(again.stdout)["ok"]


def test_progress_shows_the_plan_only_with_verbose():
    from io import StringIO

    from rich.console import Console

    from dockerlock.cli.verify import _progress

    for verbose, quiet, expected in [(False, False, ""), (True, False, "will run: pip install x\nnote: n\n"),
                                     (True, True, "")]:
        stream = StringIO()
        progress = _progress(Console(file=stream, no_color=True, width=200), None, quiet=quiet, verbose=verbose)
        for message in ("will run: pip install x", "note: n", "pip-cold: 1.00 s"):
            progress(message)
        assert stream.getvalue() == expected


@pytest.mark.network
def test_verify_reports_a_lock_that_disagrees_and_prints_the_plan_with_verbose(project, tmp_path):
    shutil.copytree(project, tmp_path / "p")
    (tmp_path / "p/requirements.txt").write_text("six==1.15.0\n")  # the lock still pins 1.16.0
    result = runner.invoke(build_app(), ["verify", "-v", str(tmp_path / "p/Dockerfile"), "--repeat", "1",
                                         "--no-color"])
    assert result.exit_code == 1
    assert "(pip 1, uv 1 packages)" in result.stdout and "one run each" in result.stdout
    assert re.search(r"│ six\s+│ version │ 1\.15\.0 │ 1\.16\.0 │", result.stdout)
    assert result.stdout.rstrip().endswith("verify: DIFFERENCES FOUND")
    planned = [line for line in result.stderr.splitlines() if line.startswith("will run:")]
    # the venv template and its seed listing, then install + list for 4 runs (pip/uv, cold/warm)
    assert len(planned) == 10 and "will run:" not in result.stdout


def test_json_of_a_stanza_names_both_sides_of_each_difference(tmp_path):
    from dockerlock.verify import Difference, InstalledDist, Timing
    from dockerlock.verify.results import Interpreter, StanzaResult, VenvsReport
    from dockerlock.verify.steps import StepPair
    from dockerlock.verify.venvs import PipStep, UvStep, VenvVerification

    pip_six, uv_six = InstalledDist("six", "1.15.0"), InstalledDist("six", "1.16.0")
    result = VenvVerification({"six": pip_six}, {"six": uv_six, "idna": InstalledDist("idna", "3.7")},
                              [Difference("six", pip_six, uv_six, "version"),
                               Difference("idna", None, InstalledDist("idna", "3.7"), "only-uv")],
                              {"pip-cold": Timing((3.0, 1.0, 2.0)), "uv-cold": Timing((0.5, 0.25, 1.0))}, [])
    pair = StepPair(4, PipStep((tmp_path / "requirements.txt",)), UvStep(tmp_path / "pylock.toml", "sync"), "3.11")
    stanza = StanzaResult(pair, Interpreter("/usr/bin/python3.11", "3.11.2", "3.11", "image"), result)
    report = VenvsReport(tmp_path / "Dockerfile", (stanza,), 3).to_json()
    assert report["ok"] is False and report["repeat"] == 3
    [shown] = report["stanzas"]
    assert shown["packages"] == {"pip": 1, "uv": 2} and shown["ratio_cold"] == 4.0
    assert shown["differences"] == [
        {"name": "six", "kind": "version", "pip": {"name": "six", "version": "1.15.0", "vcs_commit": None},
         "uv": {"name": "six", "version": "1.16.0", "vcs_commit": None}},
        {"name": "idna", "kind": "only-uv", "pip": None, "uv": {"name": "idna", "version": "3.7", "vcs_commit": None}}]
    assert shown["timings"]["pip-cold"] == {"median": 2.0, "min": 1.0, "max": 3.0, "runs": [3.0, 1.0, 2.0]}
    assert shown["python"] == {"image": "3.11", "interpreter": "/usr/bin/python3.11", "version": "3.11.2",
                               "chosen_by": "image"}
    assert json.loads(json.dumps(report)) == report       # plain JSON, nothing left to default=str


def test_verify_nothing_to_verify_is_an_error(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM python:3.11\nRUN echo hi\n")
    result = runner.invoke(build_app(), ["verify", str(tmp_path / "Dockerfile")])
    assert result.exit_code == 2 and "nothing to verify" in result.output


def test_verify_build_without_builder_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "requirements.txt").write_text("six\n")
    (tmp_path / "pylock.toml").write_text(placeholder_lock())
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = runner.invoke(build_app(), ["verify", "--build", str(tmp_path / "Dockerfile")])
    assert result.exit_code == 2
    assert "no container builder found" in result.output


def test_verify_missing_lock_names_file_and_line(tmp_path):
    (tmp_path / "requirements.txt").write_text("six\n")
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    result = runner.invoke(build_app(), ["verify", str(tmp_path / "Dockerfile")])
    assert result.exit_code == 2 and "Dockerfile:4:" in result.output and "does not exist" in result.output


def test_app_file_is_the_first_file_copied_after_the_install(tmp_path):
    from dockerlock.settings import Settings
    from dockerlock.verify.steps import guess_app_file, load_inputs

    (tmp_path / ".git").mkdir()
    (tmp_path / "requirements.txt").write_text("six\n")
    (tmp_path / "pylock.toml").write_text(placeholder_lock())
    (tmp_path / "app").mkdir()
    (tmp_path / "app/main.py").write_text("print(1)\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11-slim\nWORKDIR /srv\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
        "COPY --from=busybox /bin/true /true\nCOPY app/ ./app/\n")
    inputs = load_inputs(tmp_path / "Dockerfile", Settings())
    assert guess_app_file(inputs) == tmp_path / "app/main.py"
    assert "uv pip install -r pylock.toml --system" in inputs.migrated_text
    assert "pip install -r requirements.txt" in inputs.original_text


PY312 = ("FROM python:3.12-slim\nRUN python -m venv /opt/venv\nCOPY requirements.txt /tmp/\n"
         "RUN /opt/venv/bin/pip install -r /tmp/requirements.txt\n")


@pytest.fixture
def py312_project(tmp_path, monkeypatch) -> Path:
    """A python:3.12-slim file whose lock admits 3.12 only, on a machine without Python 3.12
    (PATH empty, no uv-managed interpreters), with the venv step replaced by a tripwire."""
    (tmp_path / "requirements.txt").write_text("six\n")
    (tmp_path / "pylock.toml").write_text(placeholder_lock(requires_python=">=3.12,<3.13"))
    (tmp_path / "Dockerfile").write_text(PY312)
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "empty"))
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.chdir(tmp_path)
    if _uv() is None:
        pytest.skip("uv is not installed")

    def tripwire(*args, **kwargs):
        raise AssertionError("an install started before the interpreter was settled")

    monkeypatch.setattr("dockerlock.verify.venvs.verify_in_venvs", tripwire)
    return tmp_path


def test_verify_without_the_images_python_fails_before_any_install(py312_project):
    result = runner.invoke(build_app(), ["verify", "Dockerfile"])
    assert result.exit_code == 2, result.output
    assert "error: no Python 3.12 found on this machine" in result.stderr
    assert "(hint: pass --python /path/to/python3.12)" in result.stderr
    assert result.stdout == ""


def test_verify_python_option_outside_the_locks_requires_python(py312_project):
    result = runner.invoke(build_app(), ["verify", "Dockerfile", "--python", sys.executable])
    assert result.exit_code == 2, result.output
    version = "%d.%d.%d" % sys.version_info[:3]
    assert f"is Python {version}, outside the lock's requires-python <3.13,>=3.12" in result.stderr
