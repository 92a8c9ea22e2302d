"""`dockerlock lock`: which locks it plans (requirements files, Dockerfiles), and the command itself.

Planning tests feed ``plan_dockerfile_locks`` hand-made ``LockTarget`` values (the contract with the
rules), so they hold whatever rule engine produces the targets. CLI tests run a fake uv found on
PATH; tests marked ``network`` run the real uv, among them the omi pusher acceptance test.
"""

from __future__ import annotations

import io
import json
import re
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockerlock.cli import build_app
from dockerlock.diagnostics import ConfigError
from dockerlock.lock_targets import LockTarget
from dockerlock.lockfile import load_lock
from dockerlock.locking import ImageTarget, PlatformChoice, plan_dockerfile_locks, plan_requirements_lock
from dockerlock.settings import Settings

LOCKS = Path(__file__).parent / "fixtures" / "locks"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "omi"
runner = CliRunner()

FAKE_UV = textwrap.dedent('''
    import json, os, shutil, sys
    args = sys.argv[1:]
    with open(os.environ["FAKE_UV_LOG"], "a") as log:
        log.write(json.dumps({"args": args, "cwd": os.getcwd()}) + "\\n")
    shutil.copyfile(os.environ["FAKE_UV_LOCK"], args[args.index("-o") + 1])
''')


@pytest.fixture
def fake_uv(tmp_path, monkeypatch):
    """A `uv` on PATH that logs each call and writes the FAKE_UV_LOCK fixture as the lock."""
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "uv").write_text(f"#!{sys.executable}\n{FAKE_UV}")
    (tools / "uv").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_UV_LOG", str(tools / "calls.jsonl"))
    monkeypatch.setenv("FAKE_UV_LOCK", str(LOCKS / "pylock.minimal.toml"))

    def calls() -> list[dict]:
        log = tools / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    monkeypatch.chdir(root)
    return root


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def lock(*args: str):
    return runner.invoke(build_app(), ["lock", *args])


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


# --------------------------------------------------------------------------------------------------
# Planning: requirements files


def test_python_comes_from_the_nearest_python_version_up_to_the_repository_root(repo, tmp_path):
    write(repo, {".python-version": "3.12\n", "svc/requirements.txt": "six\n"})
    job = plan_requirements_lock([repo / "svc/requirements.txt"])
    assert job.target == ImageTarget("3.12") and job.output == repo / "svc/pylock.toml"
    assert job.header == "dockerlock lock requirements.txt"  # run from the lock's folder
    write(repo, {"svc/.python-version": "cpython-3.11.9\n"})
    assert plan_requirements_lock([repo / "svc/requirements.txt"]).target.python == "3.11.9"
    # the flag wins and is part of the command that remakes the lock
    flagged = plan_requirements_lock([repo / "svc/requirements.txt"], python="3.10",
                                     choice=PlatformChoice("linux/arm64"))
    assert flagged.target == ImageTarget("3.10", "linux/arm64")
    assert flagged.header == "dockerlock lock requirements.txt --python-version 3.10 --python-platform linux/arm64"
    # outside a repository only the lock's own folder counts: a stray file above is not the project's
    write(tmp_path, {".python-version": "3.12\n", "loose/requirements.txt": "six\n"})
    with pytest.raises(ConfigError) as caught:
        plan_requirements_lock([tmp_path / "loose/requirements.txt"])
    assert caught.value.reason == "no Python version to lock for"
    assert caught.value.hint == "pass --python-version X.Y (the image's Python), or add a .python-version file"
    assert plan_requirements_lock([tmp_path / "loose/requirements.txt"],
                                  choice=PlatformChoice(universal=True)).target.universal


def test_several_files_plan_one_lock_beside_them(repo):
    write(repo, {"requirements.txt": "six\n", "requirements-dev.txt": "idna\n"})
    job = plan_requirements_lock([Path("requirements.txt"), Path("./requirements-dev.txt"), Path("requirements.txt")],
                                 python="3.11")
    assert job.output == Path("pylock.dev+requirements.toml")
    assert job.requirements == (Path("requirements.txt"), Path("requirements-dev.txt"))


# --------------------------------------------------------------------------------------------------
# Planning: Dockerfiles (the targets stand in for the rules)


def targets_for(monkeypatch, table: dict[str, list[LockTarget]]) -> None:
    monkeypatch.setattr("dockerlock.lock_targets.lock_targets",
                        lambda df, context, settings: table[df.source.path])


def target(dockerfile: str, line: int = 3, *, python: str | None = "3.11", lock: str = "pylock.toml",
           requirements=("requirements.txt",), platform="linux/amd64", refusal=None) -> LockTarget:
    return LockTarget(dockerfile, line, tuple(requirements), (), lock, python, platform, refusal)


DOCKERFILE = "FROM python:3.11-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"


def test_installs_sharing_a_lock_with_the_same_inputs_are_locked_once(repo, monkeypatch):
    write(repo, {"a/Dockerfile": DOCKERFILE, "b/Dockerfile": DOCKERFILE, "requirements.txt": "six\n"})
    targets_for(monkeypatch, {"a/Dockerfile": [target("a/Dockerfile")], "b/Dockerfile": [target("b/Dockerfile", 7)]})
    plan = plan_dockerfile_locks([Path("a/Dockerfile"), Path("b/Dockerfile")], Settings(context=repo))
    assert plan.errors == [] and plan.skipped == []
    [job] = plan.jobs
    assert job.sources == ("a/Dockerfile:3", "b/Dockerfile:7")
    assert job.output == repo / "pylock.toml" and job.cwd == repo
    assert job.requirements == (repo / "requirements.txt",) and job.target == ImageTarget("3.11")


def test_different_inputs_for_one_lock_path_are_an_error_naming_both(repo, monkeypatch):
    write(repo, {"a/Dockerfile": DOCKERFILE, "b/Dockerfile": DOCKERFILE, "c/Dockerfile": DOCKERFILE,
                 "requirements.txt": "six\n", "requirements-dev.txt": "idna\n"})
    targets_for(monkeypatch, {
        "a/Dockerfile": [target("a/Dockerfile"), target("a/Dockerfile", 9, lock="pylock.dev.toml",
                                                        requirements=["requirements-dev.txt"])],
        "b/Dockerfile": [target("b/Dockerfile", python="3.12")],
        "c/Dockerfile": [target("c/Dockerfile", requirements=["requirements.txt", "requirements-dev.txt"])]})
    plan = plan_dockerfile_locks([Path("a/Dockerfile"), Path("b/Dockerfile")], Settings(context=repo))
    [error] = plan.errors
    assert error.reason == ("a/Dockerfile:3 and b/Dockerfile:3 need different locks at one path, pylock.toml "
                            "(Python 3.11 on linux/amd64 vs Python 3.12 on linux/amd64); neither was locked")
    assert "[tool.dockerlock] locks" in error.hint
    assert [job.output.name for job in plan.jobs] == ["pylock.dev.toml"]   # the other lock still goes ahead
    files = plan_dockerfile_locks([Path("a/Dockerfile"), Path("c/Dockerfile")], Settings(context=repo)).errors
    assert "(requirements requirements.txt vs requirements-dev.txt, requirements.txt)" in files[0].reason


def test_refused_installs_are_skipped_with_their_reason(repo, monkeypatch):
    write(repo, {"Dockerfile": DOCKERFILE, "requirements.txt": "six\n"})
    targets_for(monkeypatch, {"Dockerfile": [
        target("Dockerfile", 4, refusal="deferred: a GPU image"), target("Dockerfile", 6)]})
    plan = plan_dockerfile_locks([Path("Dockerfile")], Settings(context=repo))
    assert [(s.where, s.reason) for s in plan.skipped] == [("Dockerfile:4", "deferred: a GPU image")]
    assert [job.sources for job in plan.jobs] == [("Dockerfile:6",)]


@pytest.mark.parametrize(("image", "flag", "expected"), [
    ("3.11", None, "3.11"), (None, "3.10", "3.10"), ("3", "3.12", "3.12"), ("3.11", "3.11.9", "3.11.9"),
    ("3.11.9", "3.11", "3.11.9"),
])
def test_python_version_flag_fills_in_what_the_image_leaves_open(repo, monkeypatch, image, flag, expected):
    write(repo, {"Dockerfile": DOCKERFILE, "requirements.txt": "six\n"})
    targets_for(monkeypatch, {"Dockerfile": [target("Dockerfile", python=image)]})
    plan = plan_dockerfile_locks([Path("Dockerfile")], Settings(context=repo), python=flag)
    assert plan.errors == [] and plan.jobs[0].target.python == expected


@pytest.mark.parametrize(("image", "flag", "fragment", "hint"), [
    (None, None, "no Python version for this image", "--python-version X.Y"),
    ("3.12", "3.11", "--python-version 3.11 contradicts the image's Python 3.12", "the image decides"),
    ("3", None, "Python 3 names no minor version", "--python-version X.Y"),
])
def test_missing_or_contradicted_python_is_an_error_at_the_install(repo, monkeypatch, image, flag, fragment, hint):
    write(repo, {"Dockerfile": DOCKERFILE, "requirements.txt": "six\n"})
    targets_for(monkeypatch, {"Dockerfile": [target("Dockerfile", 5, python=image)]})
    plan = plan_dockerfile_locks([Path("Dockerfile")], Settings(context=repo), python=flag)
    [error] = plan.errors
    assert plan.jobs == [] and fragment in error.reason and hint in error.hint
    assert (error.path, error.line) == ("Dockerfile", 5)


def test_platform_comes_from_the_image_unless_the_command_line_says(repo, monkeypatch):
    write(repo, {"Dockerfile": DOCKERFILE, "requirements.txt": "six\n"})
    targets_for(monkeypatch, {"Dockerfile": [target("Dockerfile", platform="linux/arm64")]})
    settings = Settings(context=repo)
    assert plan_dockerfile_locks([Path("Dockerfile")], settings).jobs[0].target.platform == "linux/arm64"
    chosen = plan_dockerfile_locks([Path("Dockerfile")], settings, choice=PlatformChoice("linux/amd64"))
    assert chosen.jobs[0].target.uv_platform == "x86_64-unknown-linux-gnu"
    assert chosen.jobs[0].header.endswith("--python-platform linux/amd64")


def test_real_targets_lock_from_the_build_context_root(repo):
    # the omi layout: the context is the repository root, the Dockerfile copies backend/ files
    write(repo, {"backend/Dockerfile": "FROM python:3.11 AS builder\nCOPY backend/requirements.txt /tmp/\n"
                                       "RUN pip install -r /tmp/requirements.txt\n",
                 "backend/requirements.txt": "six\n"})
    plan = plan_dockerfile_locks([Path("backend")], Settings())
    assert plan.errors == [] and plan.skipped == []
    [job] = plan.jobs
    assert job.cwd == repo and job.output == repo / "backend/pylock.toml" and job.label == "backend/pylock.toml"
    assert job.requirements == (repo / "backend/requirements.txt",)
    assert job.target == ImageTarget("3.11") and job.sources == ("backend/Dockerfile:3",)
    assert job.header == "dockerlock lock Dockerfile"


def test_nothing_to_lock_is_an_error(repo):
    write(repo, {"Dockerfile": "FROM python:3.11\nRUN echo hi\n", "empty/README": ""})
    assert "no pip requirements install found in Dockerfile" in plan_dockerfile_locks(
        [Path("Dockerfile")], Settings()).errors[0].reason
    assert plan_dockerfile_locks([Path("empty")], Settings()).errors[0].reason == "no Dockerfiles found under empty"


# --------------------------------------------------------------------------------------------------
# The command, with a fake uv

WROTE = re.compile(r"wrote (\S+) for (Python [\d.]+ on \S+) \((\d+) packages?, \d+\.\d s\)")


def test_several_files_one_call_one_lock(repo, fake_uv):
    write(repo, {".python-version": "3.11\n", "requirements.txt": "six\n", "requirements-dev.txt": "idna\n"})
    result = lock("requirements.txt", "requirements-dev.txt")
    assert result.exit_code == 0, result.output
    assert WROTE.fullmatch(result.stdout.strip()).groups() == (
        "pylock.dev+requirements.toml", "Python 3.11 on linux/amd64", "1")
    assert "(1 package, " in result.stdout  # one package, not "1 packages"
    assert result.stderr == ""                      # no terminal: no progress display
    [call] = fake_uv()                              # one lock, not one per file
    assert call["args"][2:4] == [str(repo / "requirements.txt"), str(repo / "requirements-dev.txt")]
    assert option(call["args"], "--custom-compile-command") == "dockerlock lock requirements.txt requirements-dev.txt"
    assert sorted(p.name for p in repo.glob("pylock*")) == ["pylock.dev+requirements.toml"]
    table = tomllib.loads((repo / "pylock.dev+requirements.toml").read_text())["tool"]["dockerlock"]
    assert table["requirements"] == ["requirements.txt", "requirements-dev.txt"]


def test_paths_are_shown_as_the_user_gave_them(repo, fake_uv, monkeypatch):
    write(repo, {"svc/requirements.txt": "six\n"})
    monkeypatch.chdir(repo / "svc")
    assert WROTE.fullmatch(lock("requirements.txt", "--python-version", "3.12").stdout.strip()).group(1) == "pylock.toml"
    monkeypatch.chdir(repo)
    assert WROTE.fullmatch(lock("svc/requirements.txt", "--python-version", "3.12").stdout.strip()).group(1) == \
        "svc/pylock.toml"
    shown = lock(str(repo / "svc/requirements.txt"), "--python-version", "3.12").stdout.strip()
    assert WROTE.fullmatch(shown).group(1) == str(repo / "svc/pylock.toml")


def test_quiet_prints_only_errors(repo, fake_uv):
    write(repo, {"requirements.txt": "six\n", "other/requirements.txt": "idna\n"})
    ok = lock("-q", "requirements.txt", "--python-version", "3.11")
    assert ok.exit_code == 0 and ok.stdout == "" and ok.stderr == ""
    failed = lock("-q", "requirements.txt", "other/requirements.txt", "--python-version", "3.11")
    assert failed.exit_code == 2 and failed.stdout == ""
    assert failed.stderr.startswith("error: the requirements files live in different folders "
                                    "(requirements.txt, other/requirements.txt)")
    assert "(hint: pass --output to say where the lock goes)" in failed.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["requirements.txt"], "error: no Python version to lock for (hint: pass --python-version X.Y"),
    (["requirements.txt", "-o", "pylock.a.b.toml", "--python-version", "3.11"], "not a pylock file name"),
    (["requirements.txt", "Dockerfile"], "pass requirements files, or Dockerfiles and folders, not both"),
    (["Dockerfile", "-o", "pylock.x.toml"], "--output names one lock"),
    (["requirements.txt", "--universal", "--python-platform", "linux/arm64"], "leave out --python-platform"),
    (["requirements.txt", "--python-version", "3.11", "--python-platform", "linux/s390x"], "uv cannot resolve for"),
])
def test_usage_errors_exit_2_before_uv_runs(repo, fake_uv, args, message):
    write(repo, {"requirements.txt": "six\n", "Dockerfile": DOCKERFILE})
    result = lock(*args)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""
    assert fake_uv() == []


def test_output_option_names_the_lock(repo, fake_uv):
    write(repo, {"a/requirements.txt": "six\n", "b/requirements.txt": "idna\n"})
    result = lock("a/requirements.txt", "b/requirements.txt", "-o", "pylock.all.toml", "--python-version", "3.11")
    assert result.exit_code == 0, result.output
    assert WROTE.fullmatch(result.stdout.strip()).group(1) == "pylock.all.toml"
    assert load_lock(repo / "pylock.all.toml").origin.requirements == ("a/requirements.txt", "b/requirements.txt")


def test_lock_a_dockerfile_says_what_it_skipped(repo, fake_uv):
    write(repo, {"Dockerfile": "FROM python:3.12-slim\nCOPY requirements.txt /app/\n"
                               "RUN pip install -r /app/requirements.txt\n"
                               "RUN pip install -r /app/requirements.txt gunicorn\n",
                 "requirements.txt": "six\n"})
    result = lock("Dockerfile")
    assert result.exit_code == 0, result.output
    assert WROTE.fullmatch(result.stdout.strip()).groups()[:2] == ("pylock.toml", "Python 3.12 on linux/amd64")
    assert result.stderr.startswith("Dockerfile:4: skipped: ") and "gunicorn" in result.stderr
    [call] = fake_uv()
    assert option(call["args"], "--python-version") == "3.12" and call["cwd"] == str(repo)
    assert option(call["args"], "--custom-compile-command") == "dockerlock lock Dockerfile"
    assert lock("-q", "Dockerfile").stderr == ""    # skipping is not an error


def test_conflicting_installs_exit_2_and_lock_nothing_there(repo, fake_uv):
    write(repo, {"a/Dockerfile": "FROM python:3.11\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
                 "b/Dockerfile": "FROM python:3.12\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
                 "requirements.txt": "six\n"})
    result = lock("a/Dockerfile", "b/Dockerfile", "--context", ".")
    assert result.exit_code == 2 and result.stdout == ""
    assert "a/Dockerfile:3 and b/Dockerfile:3 need different locks at one path, pylock.toml" in result.stderr
    assert fake_uv() == [] and not (repo / "pylock.toml").exists()


def test_check_reports_up_to_date_stale_and_missing(repo, fake_uv, monkeypatch):
    write(repo, {"requirements.txt": "six\n", ".python-version": "3.11\n"})
    missing = lock("--check", "requirements.txt")
    assert missing.exit_code == 1
    assert missing.stdout == "pylock.toml does not exist yet: run the same command without --check to write it\n"
    assert lock("requirements.txt").exit_code == 0
    written = (repo / "pylock.toml").read_bytes()
    fresh = lock("--check", "requirements.txt")
    assert fresh.exit_code == 0 and fresh.stdout == "pylock.toml is up to date for Python 3.11 on linux/amd64\n"
    monkeypatch.setenv("FAKE_UV_LOCK", str(LOCKS / "pylock.drift.toml"))  # uv now resolves more
    stale = lock("--check", "requirements.txt")
    assert stale.exit_code == 1
    lines = stale.stdout.splitlines()
    assert lines[0] == "pylock.toml is stale for Python 3.11 on linux/amd64 (re-lock: the same command without --check):"
    assert "  + idna 3.7" in lines and "  + numpy 1.26.4, 2.1.0" in lines
    assert (repo / "pylock.toml").read_bytes() == written                # --check writes nothing
    (repo / ".python-version").write_text("3.12\n")
    assert "  ~ requires-python <3.12,>=3.11 -> <3.13,>=3.12" in lock("--check", "requirements.txt").stdout


def test_progress_display_on_a_terminal_only():
    from rich.console import Console

    from dockerlock.cli.lock import progress

    stream = io.StringIO()
    terminal = Console(file=stream, force_terminal=True, width=120)
    with progress(terminal, True, "locking backend/pylock.toml for Python 3.11 on linux/amd64"):
        time.sleep(0.3)
    shown = stream.getvalue()
    assert "locking backend/pylock.toml for Python 3.11 on linux/amd64" in shown and "0:00:0" in shown
    silent = io.StringIO()
    with progress(Console(file=silent, force_terminal=True), False, "locking"):
        pass
    assert silent.getvalue() == ""


# --------------------------------------------------------------------------------------------------
# The real uv


@pytest.fixture(scope="module")
def index_reachable(tmp_path_factory) -> None:
    from dockerlock.diagnostics import DockerlockError
    from dockerlock.locking import compile_lock

    probe = tmp_path_factory.mktemp("probe")
    (probe / "requirements.txt").write_text("six==1.16.0\n")
    try:
        compile_lock(probe / "requirements.txt", target=ImageTarget("3.11"), timeout=60)
    except DockerlockError as error:
        pytest.skip(f"uv or the package index is unavailable: {error.reason[-300:]}")


@pytest.mark.network
def test_lock_dockerfile_then_migrate_uses_that_lock(repo, index_reachable):
    write(repo, {"backend/Dockerfile": "FROM python:3.12-slim\nCOPY backend/requirements.txt /tmp/\n"
                                       "RUN pip install -r /tmp/requirements.txt\n",
                 "backend/requirements.txt": "six==1.16.0\n"})
    result = lock("backend/Dockerfile")
    assert result.exit_code == 0, result.output
    assert WROTE.fullmatch(result.stdout.strip()).groups() == (
        "backend/pylock.toml", "Python 3.12 on linux/amd64", "1")
    written = load_lock(repo / "backend/pylock.toml")
    assert str(written.requires_python) == "<3.13,>=3.12"
    assert (repo / "backend/pylock.toml").read_text().startswith(
        "# This file was autogenerated by uv via the following command:\n#    dockerlock lock Dockerfile\n")
    assert lock("--check", "backend").exit_code == 0
    migrated = runner.invoke(build_app(), ["migrate", "--check", "backend"])
    assert migrated.exit_code == 1 and "would convert 1 stanza" in migrated.output


@pytest.mark.network
@pytest.mark.skipif(not list(CORPUS.glob("*pusher--requirements.txt")), reason="omi corpus not found")
def test_omi_pusher_requirements_lock_for_python_311_slim(repo, index_reachable):
    # issue 11: --universal fails here (langchain-community needs numpy >= 2.1 on 3.13, the file pins
    # 1.26.4); the image runs 3.11 only, and a lock for that image resolves
    sample = sorted(CORPUS.glob("*pusher--requirements.txt"))[0].read_text()
    requirements = "".join(line for line in sample.splitlines(keepends=True) if "git+" not in line)
    write(repo, {"pusher/requirements.txt": requirements,
                 "pusher/Dockerfile": "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
                                      "RUN pip install --no-cache-dir -r requirements.txt\n"})
    result = lock("pusher/Dockerfile")
    assert result.exit_code == 0, result.output
    written = load_lock(repo / "pusher/pylock.toml")
    assert written.by_name("langchain-community")
    assert [str(p.version) for p in written.by_name("numpy")] == ["1.26.4"]
    assert str(written.requires_python) == "<3.12,>=3.11"
    assert written.origin.python == "3.11" and written.origin.platform == "linux/amd64"


def test_dockerfiles_sharing_a_lock_lock_it_once(repo, fake_uv):
    stanza = "FROM python:3.11-slim\nCOPY requirements.txt /app/\nRUN pip install -r /app/requirements.txt\n"
    write(repo, {"api/Dockerfile": stanza, "worker/Dockerfile": stanza, "requirements.txt": "six\n"})
    result = lock(".", "--context", ".")
    assert result.exit_code == 0, result.output
    assert len(fake_uv()) == 1 and len(result.stdout.splitlines()) == 1
    assert WROTE.fullmatch(result.stdout.strip()).group(1) == "pylock.toml"


def test_an_alpine_image_is_locked_for_musl(repo, fake_uv):
    """python:3.12-alpine installs musllinux wheels: uv is asked for the musl triple, and the lock
    records musl, so migrate can tell it from a glibc lock."""
    write(repo, {"Dockerfile": "FROM python:3.12-alpine\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
                 "requirements.txt": "six\n"})
    result = lock("Dockerfile")
    assert result.exit_code == 0, result.output
    assert "for Python 3.12 on linux/amd64 (musl)" in result.stdout
    [call] = fake_uv()
    assert option(call["args"], "--python-platform") == "x86_64-unknown-linux-musl"
    table = tomllib.loads((repo / "pylock.toml").read_text())["tool"]["dockerlock"]
    assert (table["platform"], table["libc"]) == ("linux/amd64", "musl")


def test_a_dockerfiles_index_options_are_resolved_from_and_recorded(repo, fake_uv):
    """The lock comes from the sources pip used, searched the way pip searches (the best version
    on any index), and records them, so migrate can check it (DLK122)."""
    index = "https://pypi.example.org/simple"
    write(repo, {"Dockerfile": "FROM python:3.11-slim\nCOPY requirements.txt .\n"
                               f"RUN pip install -r requirements.txt --extra-index-url {index}\n"
                               "ARG PIP_INDEX_URL\nRUN pip install -r requirements.txt\n",
                 "requirements.txt": "six\n"})
    result = lock("Dockerfile")
    assert result.exit_code == 0, result.output
    assert "Dockerfile:5: skipped: pip's package sources are only known at build time (PIP_INDEX_URL comes " \
           "from the build (ARG on line 4)); lock with the same sources yourself" in result.stderr
    [call] = fake_uv()
    assert option(call["args"], "--extra-index-url") == index
    assert option(call["args"], "--index-strategy") == "unsafe-best-match"
    table = tomllib.loads((repo / "pylock.toml").read_text())["tool"]["dockerlock"]
    assert table["indexes"] == ["--extra-index-url", index]
