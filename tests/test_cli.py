"""The command line through typer's runner: modes, exit codes, messages and their streams.

Standard output carries the report (the diff, ``check``'s findings, a JSON/SARIF/markdown
document); everything about the run goes to standard error, as black does. Each test here
pins the exact text and the stream it goes to.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrate_helpers import placeholder_lock, write_tree
from dockerlock.cli import build_app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
PIP = "FROM python:3.11-slim\nCOPY requirements.txt /app/\nRUN pip install -r /app/requirements.txt\n"
LOCKED = "FROM python:3.11-slim\nCOPY pylock.toml /app/\nRUN uv pip install -r /app/pylock.toml --system\n"


@pytest.fixture()
def tree(tmp_path: Path, monkeypatch) -> Path:
    """A repository; the current folder is its root, so paths in messages are relative."""
    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {"svc/Dockerfile": PIP, "svc/requirements.txt": "six\n",
                          "svc/pylock.toml": placeholder_lock(),
                          "broken/Dockerfile": PIP, "broken/requirements.txt": "six\n",
                          "node_modules/x/Dockerfile": PIP})
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str):
    return runner.invoke(build_app(), list(args), catch_exceptions=False)


def test_migrate_writes_in_place_and_reports_on_stderr(tree):
    result = invoke("migrate", "svc")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == ("svc/Dockerfile: converted 1 stanza\n"
                             "1 file converted (1 stanza), 0 unchanged, 0 stanzas skipped, 0 errors\n")
    assert "uv pip install -r /app/pylock.toml --system" in (tree / "svc/Dockerfile").read_text()
    again = invoke("migrate", "--check", "svc")
    assert again.exit_code == 0 and again.stdout == ""
    assert again.stderr == ("svc/Dockerfile: unchanged\n"
                            "0 files would be converted (0 stanzas), 1 unchanged, 0 stanzas skipped, 0 errors\n")


def test_diff_stdout_is_only_the_diff_and_git_apply_takes_it(tree):
    result = invoke("migrate", "--diff", "--no-color", "svc")
    assert result.exit_code == 1
    assert result.stdout.startswith("--- a/svc/Dockerfile\n+++ b/svc/Dockerfile\n@@ -1,3 +1,5 @@\n")
    assert "-RUN pip install -r /app/requirements.txt\n" in result.stdout
    assert "+RUN uv pip install -r /app/pylock.toml" in result.stdout
    assert "would convert" not in result.stdout and "stanzas skipped" not in result.stdout
    assert result.stderr == ("svc/Dockerfile: would convert 1 stanza\n"
                             "1 file would be converted (1 stanza), 0 unchanged, 0 stanzas skipped, 0 errors\n")
    assert (tree / "svc/Dockerfile").read_text() == PIP
    if shutil.which("git") is None:
        pytest.skip("needs git")
    (tree / ".git").rmdir()
    subprocess.run(["git", "init", "-q", "."], check=True)
    applied = subprocess.run(["git", "apply", "-"], input=result.stdout, text=True, capture_output=True)
    assert applied.returncode == 0, applied.stderr
    diffed = (tree / "svc/Dockerfile").read_text()
    (tree / "svc/Dockerfile").write_text(PIP)
    assert invoke("migrate", "svc").exit_code == 0
    assert (tree / "svc/Dockerfile").read_text() == diffed  # the piped diff is exactly the migration


def test_revert_diff_keeps_stdout_for_the_diff(tree):
    assert invoke("migrate", "svc").exit_code == 0
    result = invoke("revert", "--diff", "svc")
    assert result.exit_code == 1
    assert result.stdout.startswith("--- a/svc/Dockerfile\n") and "+RUN pip install -r /app/requirements.txt\n" \
        in result.stdout
    assert result.stderr == ("svc/Dockerfile: would revert 1 stanza\n"
                             "1 file would be reverted (1 stanza), 0 unchanged, 0 stanzas skipped, 0 errors\n")


def test_error_names_file_and_line_once_and_other_files_still_processed(tree):
    result = invoke("migrate", "--check", ".")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("broken/Dockerfile:3: error DLK104: lock file broken/pylock.toml does not exist; create it "
                               "with `dockerlock lock broken/Dockerfile`")
    assert not lines[0].startswith("broken/Dockerfile: error: broken/Dockerfile")  # one location prefix
    assert "does not exist" in lines[0]
    assert lines[1:] == ["svc/Dockerfile: would convert 1 stanza",
                         "1 file would be converted (1 stanza), 0 unchanged, 0 stanzas skipped, 1 error"]
    assert (tree / "broken/Dockerfile").read_text() == PIP


@pytest.mark.parametrize("command", ["migrate", "revert"])
def test_missing_file_message_names_it_once(tree, command):
    result = invoke(command, "nonexist")
    assert result.exit_code == 2
    assert result.stdout == ""
    noun = {"migrate": "converted", "revert": "reverted"}[command]
    assert result.stderr == (f"nonexist: error: no such file\n"
                             f"0 files {noun} (0 stanzas), 0 unchanged, 0 stanzas skipped, 1 error\n")


def test_check_missing_file_is_a_finding_on_stdout(tree):
    result = invoke("check", "nonexist")
    assert result.exit_code == 2
    assert result.stdout == "nonexist: error DLK001: no such file\n1 file(s) checked: 1 error(s), 0 warning(s)\n"
    assert result.stderr == ""


@pytest.mark.parametrize("args", [("check",), ("migrate",), ("migrate", "--check"), ("revert", "--diff")])
def test_no_dockerfile_found_fails_the_run(tree, args):
    """A CI gate pointed at the wrong folder must not pass."""
    (tree / "also-empty").mkdir()
    result = invoke(*args, "empty", "also-empty")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: no Dockerfiles found under empty, also-empty\n"


def test_machine_formats_print_their_document_even_when_no_dockerfile_is_found(tree):
    result = invoke("migrate", "--check", "--format", "json", "empty")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["files"] == [] and document["exit_code"] == 2
    assert result.stderr == "error: no Dockerfiles found under empty\n"
    sarif = json.loads(invoke("check", "--format", "sarif", "empty").stdout)
    assert sarif["runs"][0]["invocations"] == [{"executionSuccessful": False, "exitCode": 2}]
    github = invoke("check", "--format", "github", "empty")
    assert github.stdout == "::error title=dockerlock::no Dockerfiles found under empty\n"


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_formats_alone_on_stdout(tree, fmt):
    result = invoke("migrate", "--diff", "--format", fmt, "svc")
    assert result.exit_code == 1
    json.loads(result.stdout)  # the whole of stdout is one document
    assert result.stderr == ""


def test_json_format(tree):
    result = invoke("migrate", "--check", "--format", "json", "svc")
    data = json.loads(result.stdout)
    assert data["exit_code"] == 1 and data["files"][0]["status"] == "would change"
    assert data["files"][0]["findings"][0]["code"] == "DLK101"


def test_revert_cli_round_trip(tree):
    original = (tree / "svc/Dockerfile").read_bytes()
    assert invoke("migrate", "svc").exit_code == 0
    result = invoke("revert", "svc")
    assert result.exit_code == 0 and "svc/Dockerfile: reverted 1 stanza\n" in result.stderr
    assert (tree / "svc/Dockerfile").read_bytes() == original


def test_revert_refuses_edited_region_unless_forced(tree):
    invoke("migrate", "svc")
    path = tree / "svc/Dockerfile"
    path.write_text(path.read_text().replace("--compile-bytecode", "--compile-bytecode --reinstall"))
    edited = path.read_bytes()
    result = invoke("revert", "svc")
    assert result.exit_code == 2 and "edited after migration" in result.stderr
    assert result.stderr == ("svc/Dockerfile:2: error: migrated region (lines 3-5) was edited after migration; not "
                             "reverted (use --force)\n"
                             "0 files reverted (0 stanzas), 0 unchanged, 0 stanzas skipped, 1 error\n")
    assert path.read_bytes() == edited
    forced = invoke("revert", "--force", "svc")
    assert forced.exit_code == 0 and path.read_text() == PIP


def test_diff_and_check_together_is_a_usage_error(tree):
    result = invoke("migrate", "--diff", "--check", "svc")
    assert result.exit_code == 2
    assert result.stdout == "" and result.stderr == "error: --diff and --check cannot be combined\n"


def test_bad_config_is_named_once_relative_to_where_the_user_stands(tree):
    (tree / "pyproject.toml").write_text("[tool.dockerlock]\ncolour = true\n")
    result = invoke("migrate", "svc")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("pyproject.toml: error: unknown key 'colour' in [tool.dockerlock] (known: ")


# -- findings said once -----------------------------------------------------------------------------
@pytest.fixture()
def shared_lock(tree: Path) -> Path:
    """Two Dockerfiles installing one lock that drifted from its requirements."""
    write_tree(tree, {"api/Dockerfile": LOCKED, "api/Dockerfile.dev": LOCKED, "api/requirements.txt": "six==1.17.0\n",
                      "api/pylock.toml": placeholder_lock()})
    return tree


def test_findings_about_a_shared_lock_print_once(shared_lock):
    result = invoke("check", "api")
    assert result.exit_code == 1
    # the lock records nothing of its making: the hint locks the requirements file for the image's Python
    assert result.stdout == ("api/requirements.txt:1: error DLK221: six==1.17.0 is required but the lock has 1.16.0 "
                             "(packages[0], line 5) (hint: re-lock: dockerlock lock api/requirements.txt "
                             "--python-version 3.11)\n"
                             "2 file(s) checked: 1 error(s), 0 warning(s)\n")
    data = json.loads(invoke("check", "--format", "json", "api").stdout)
    assert [len(f["findings"]) for f in data["files"]] == [1, 0]  # kept where it was first reported


def test_lock_paths_are_relative_to_where_the_user_stands(shared_lock, monkeypatch):
    monkeypatch.chdir(shared_lock / "api")
    here = invoke("check", "Dockerfile")
    assert here.stdout.startswith("requirements.txt:1: error DLK221: ")
    monkeypatch.chdir(shared_lock / "empty")
    above = invoke("check", "../api/Dockerfile")
    assert above.stdout.startswith("../api/requirements.txt:1: error DLK221: ")


# -- check --strict ----------------------------------------------------------------------------------
@pytest.fixture()
def warning_only(tree: Path) -> Path:
    """omi after migration: the unlocked pygraphviz install is a warning, nothing is an error."""
    shutil.copytree(ROOT / "examples/omi", tree / "omi")
    assert invoke("migrate", "-q", "omi").exit_code == 0
    return tree


WARNING = ("omi/backend/Dockerfile:23: warning DLK241: pip install git+https://github.com/pygraphviz/pygraphviz.git "
           "installs into /opt/venv, which the lock filled: it bypasses the lock (add it to the "
           "requirements and re-lock)\n")


def test_check_strict_fails_on_warnings(warning_only):
    plain = invoke("check", "omi")
    assert plain.exit_code == 0 and plain.stdout == WARNING + "1 file(s) checked: 0 error(s), 1 warning(s)\n"
    strict = invoke("check", "--strict", "omi")
    assert strict.exit_code == 1 and strict.stdout == plain.stdout
    quiet = invoke("check", "-q", "omi")
    assert quiet.stdout == "1 file(s) checked: 0 error(s), 1 warning(s)\n"  # -q: only what fails the run
    strict_quiet = invoke("check", "--strict", "-q", "omi")
    assert strict_quiet.exit_code == 1 and strict_quiet.stdout == plain.stdout
    data = json.loads(invoke("check", "--strict", "--format", "json", "omi").stdout)
    assert data["exit_code"] == 1


def test_check_strict_from_config_and_the_flag_overrides_it(warning_only):
    (warning_only / "pyproject.toml").write_text("[tool.dockerlock]\nstrict = true\n")
    assert invoke("check", "omi").exit_code == 1
    assert invoke("check", "--no-strict", "omi").exit_code == 0
    assert invoke("migrate", "--check", "omi").exit_code == 0  # strict is about check only
    (warning_only / "pyproject.toml").write_text("[tool.dockerlock]\nstrict = \"yes\"\n")
    bad = invoke("check", "omi")
    assert bad.exit_code == 2 and "[tool.dockerlock] strict must be a boolean (true or false)" in bad.stderr


# -- options -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["migrate", "revert", "check"])
def test_help_lists_every_option(command):
    result = invoke(command, "--help")
    options = {"migrate": ["--diff", "--check", "--context", "--lock", "--no-lock-check", "--include-gpu",
                           "--uv-version", "--uv-digest", "--uv-source", "--no-record", "--format", "--color",
                           "--quiet", "--verbose", "--config"],
               "revert": ["--diff", "--check", "--force", "--context", "--format", "--quiet", "--verbose"],
               "check": ["--strict", "--no-strict", "--context", "--format", "--quiet", "--config"]}
    for option in options[command]:
        assert option in result.output, option


def test_version_is_fast_and_plain():
    out = subprocess.run([sys.executable, "-m", "dockerlock", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("dockerlock ") and out.stderr == ""
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "dockerlock", "--version"], capture_output=True,
                         text=True)
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines()[1:]}
    assert not {"typer", "rich", "dockerlock.report", "dockerlock.runner"} & imported


def test_flags_override_config_both_ways(tree):
    (tree / "pyproject.toml").write_text("[tool.dockerlock]\nrecord = false\n")
    out = invoke("migrate", "--config", "pyproject.toml", "--diff", "--no-color", "svc")
    assert "# dockerlock: replaced" not in out.stdout
    out = invoke("migrate", "--config", "pyproject.toml", "--record", "--diff", "--no-color", "svc")
    assert "# dockerlock: replaced `" in out.stdout


def test_a_stanza_with_two_reasons_counts_once(tree):
    """`pip wheel -r r.txt pkg` builds files and names packages: two reasons, one stanza skipped."""
    write_tree(tree, {"wheel/Dockerfile": "FROM python:3.11-slim\nCOPY requirements.txt /app/\n"
                                          "RUN pip wheel -w /wheels -r /app/requirements.txt gunicorn\n",
                      "wheel/requirements.txt": "six\n"})
    result = invoke("migrate", "--check", "--no-lock-check", "wheel")
    lines = result.stderr.splitlines()
    assert lines[0].startswith("wheel/Dockerfile: skipped 1 (line 3: ") and lines[0].count("line 3: ") == 2
    assert lines[1] == "0 files would be converted (0 stanzas), 1 unchanged, 1 stanza skipped, 0 errors"


def _loaded_after(tree: Path, *args: str) -> str:
    """Run the CLI in a fresh interpreter; its stderr ends with the exit code and what was imported."""
    script = ("import sys\nfrom dockerlock.cli import main\ntry:\n    main(sys.argv[1:])\n"
              "except SystemExit as exc:\n    sys.stderr.write(f'exit={exc.code} rich={\"rich\" in sys.modules} '\n"
              "                     f'lock-parser={\"dockerlock.lockfile.pylock\" in sys.modules}')\n")
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=tree,
                         env={k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")})
    return out.stderr


def test_a_run_into_a_pipe_does_not_load_rich(tree):
    """Output to a pipe is written verbatim, so rich (a tenth of the start-up) is not imported."""
    stderr = _loaded_after(tree, "migrate", "--check", "svc")
    assert stderr.startswith("svc/Dockerfile: would convert 1 stanza\n")
    assert stderr.endswith("exit=1 rich=False lock-parser=True"), stderr


def test_a_run_that_meets_no_lock_does_not_load_the_lock_parser(tree):
    stderr = _loaded_after(tree, "migrate", "--check", "--no-lock-check", "broken")
    assert stderr.startswith("broken/Dockerfile: would convert 1 stanza\n")
    assert stderr.endswith("exit=1 rich=False lock-parser=False"), stderr


@pytest.mark.parametrize("how", ["--color", "FORCE_COLOR"])
def test_colour_asked_for_still_styles_the_run_messages(tree, monkeypatch, how):
    if how == "FORCE_COLOR":
        monkeypatch.setenv("FORCE_COLOR", "1")
    result = invoke("migrate", "--check", *(["--color"] if how == "--color" else []), "svc")
    assert result.stderr.startswith("\x1b[33msvc/Dockerfile: would convert 1 stanza\x1b[0m\n")


def test_no_colour_by_default_in_a_pipe(tree, monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    result = invoke("migrate", "--check", "svc")
    assert result.stderr.startswith("svc/Dockerfile: would convert 1 stanza\n")


def test_the_cycle_collector_is_off_for_a_run_and_back_after(tree, monkeypatch):
    import gc

    from dockerlock.cli import main
    from dockerlock.cli import files

    seen = []
    real_run = files._run

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real_run(*args, **kwargs)

    monkeypatch.setattr(files, "_run", spy)
    assert gc.isenabled()
    with pytest.raises(SystemExit):
        main(["migrate", "--check", "svc"])
    assert seen == [False] and gc.isenabled()


@pytest.mark.parametrize("args, code, first_line", [
    (["migrate", "--check", "svc"], 1, "svc/Dockerfile: would convert 1 stanza"),
    (["migrate", "--check", "missing"], 2, "missing: error: no such file"),
    (["migrate", "--check", "--diff", "svc"], 2, "error: --diff and --check cannot be combined"),
])
def test_the_command_ends_with_main_s_exit_code_and_all_its_output(tree, args, code, first_line):
    """``python -m dockerlock`` (and the console script) run ``main`` and end the process: the
    exit code and every line written must survive the fast exit."""
    out = subprocess.run([sys.executable, "-m", "dockerlock", *args], capture_output=True, text=True, cwd=tree,
                         env={k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")})
    assert out.returncode == code, out
    assert out.stderr.splitlines()[0].startswith(first_line), out.stderr
    assert out.stderr.endswith("\n")
