"""Tests for dockerlock.locking: making locks with uv and telling whether they are stale.

Two kinds of test. A fake uv (a small Python script standing in for the binary) pins down what
dockerlock asks of uv and how it treats the result: the command line, the child environment, the
atomic replacement, and what happens when uv fails, hangs or writes garbage. These run anywhere.
Tests marked ``network`` run the real uv against a package index to prove the behaviour the
design relies on (``--universal`` keeping marker-gated packages, pins kept on re-lock, staleness
seen through a fresh resolution); they skip with a reason when uv or the index is unavailable.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from packaging.version import Version

from dockerlock.diagnostics import ConfigError, DockerlockError, Level, LockError
from dockerlock.lockfile import (
    check_drift,
    check_platform,
    check_python,
    load_lock,
    marker_environment,
    read_requirements,
)
from dockerlock.locking import (
    PackageChange,
    compare_locks,
    compile_lock,
    find_uv,
    lock_is_stale,
    uv_environment,
)

LOCKS = Path(__file__).parent / "fixtures" / "locks"

FAKE_UV = textwrap.dedent('''
    """Stands in for uv: logs its argv, environment and previous output, then acts per FAKE_UV_MODE."""
    import json, os, shutil, sys, time
    args = sys.argv[1:]
    out = args[args.index("-o") + 1]
    with open(os.environ["FAKE_UV_LOG"], "w") as log:
        json.dump({
            "args": args,
            "cwd": os.getcwd(),
            "env": {k: os.environ.get(k) for k in ("UV_PYTHON_DOWNLOADS", "UV_PREVIEW_FEATURES", "NO_COLOR")},
            "previous": open(out).read() if os.path.exists(out) else None,
        }, log)
    mode = os.environ.get("FAKE_UV_MODE", "ok")
    if mode == "fail":
        print("Resolved nothing", file=sys.stderr)
        print("error: No solution found when resolving dependencies:", file=sys.stderr)
        print("  cause: six==99 cannot be satisfied", file=sys.stderr)
        sys.exit(1)
    if mode == "garbage":
        with open(out, "w") as handle:
            handle.write("lock-version = [\\n")
        sys.exit(0)
    if mode == "sleep":
        time.sleep(60)
    shutil.copyfile(os.environ["FAKE_UV_LOCK"], out)
''')


class FakeUv:
    def __init__(self, root: Path) -> None:
        self.script = root / "fake_uv.py"
        self.script.write_text(FAKE_UV)
        self.log = root / "fake_uv.json"
        self.command = [sys.executable, str(self.script)]

    def env(self, mode: str = "ok", lock: str = "minimal") -> dict[str, str]:
        return dict(os.environ, FAKE_UV_MODE=mode, FAKE_UV_LOG=str(self.log),
                    FAKE_UV_LOCK=str(LOCKS / f"pylock.{lock}.toml"))

    def call(self) -> dict:
        return json.loads(self.log.read_text())


@pytest.fixture
def fake_uv(tmp_path) -> FakeUv:
    tools = tmp_path / "tools"
    tools.mkdir()
    return FakeUv(tools)


@pytest.fixture
def project(tmp_path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "requirements.txt").write_text("six==1.16.0\n")
    return app


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


# --------------------------------------------------------------------------------------------------
# find_uv and the child environment


def test_find_uv_prefers_path(tmp_path):
    binary = tmp_path / "uv"
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    assert find_uv(env={"PATH": str(tmp_path)}) == [str(binary)]


def test_find_uv_missing_everywhere(tmp_path):
    with pytest.raises(DockerlockError, match="uv not found: install it with `pip install uv`"):
        find_uv(env={"PATH": str(tmp_path)}, allow_python_package=False)


def test_find_uv_falls_back_to_the_python_package(tmp_path):
    uv_module = pytest.importorskip("uv")
    found = find_uv(env={"PATH": str(tmp_path)})
    assert found == [os.fspath(uv_module.find_uv_bin())]
    assert Path(found[0]).is_file()


def test_uv_environment():
    env = uv_environment({"PATH": "/bin", "UV_PREVIEW_FEATURES": "json-output", "UV_PYTHON_DOWNLOADS": "automatic"})
    assert env["PATH"] == "/bin"
    assert env["UV_PYTHON_DOWNLOADS"] == "never"
    assert env["UV_PREVIEW_FEATURES"] == "json-output,pylock"
    assert uv_environment({"UV_PREVIEW_FEATURES": "pylock"})["UV_PREVIEW_FEATURES"] == "pylock"


# --------------------------------------------------------------------------------------------------
# compile_lock with a fake uv


def test_compile_command_environment_and_result(project, fake_uv):
    (project / ".python-version").write_text("cpython-3.12\n")
    result = compile_lock(project / "requirements.txt", uv=fake_uv.command, env=fake_uv.env())
    call = fake_uv.call()
    args = call["args"]
    assert args[:3] == ["pip", "compile", str(project / "requirements.txt")]
    assert option(args, "--format") == "pylock.toml"
    assert option(args, "--python-version") == "3.12"  # from the sibling .python-version
    assert "--universal" in args and "--quiet" in args and "--python-platform" not in args
    temporary = Path(option(args, "-o"))
    assert temporary.parent == project and temporary.name.startswith("pylock.")  # same directory
    assert call["env"] == {"UV_PYTHON_DOWNLOADS": "never", "UV_PREVIEW_FEATURES": "pylock", "NO_COLOR": "1"}
    assert call["previous"] is None
    # The header uv writes names the real output, not the temporary file.
    header = option(args, "--custom-compile-command")
    assert header == result.display_command
    assert f"-o {project / 'pylock.toml'}" in header and temporary.name not in header
    assert result.output == project / "pylock.toml"
    assert result.lock.path == result.output and result.lock.packages[0].name == "six"
    assert result.python_version == "3.12" and result.duration >= 0
    assert (project / "pylock.toml").read_bytes() == (LOCKS / "pylock.minimal.toml").read_bytes()
    assert listing(project) == [".python-version", "pylock.toml", "requirements.txt"]


def test_compile_options(project, fake_uv):
    compile_lock(project / "requirements.txt", output=project / "pylock.runtime.toml", python_version="3.11.9",
                 python_platform="aarch64-manylinux_2_28", extra_args=["--no-annotate"],
                 uv=fake_uv.command, env=fake_uv.env(), cwd=project)
    call = fake_uv.call()
    args = call["args"]
    assert option(args, "--python-version") == "3.11.9"
    assert option(args, "--python-platform") == "aarch64-manylinux_2_28"
    assert "--universal" not in args  # uv refuses the combination
    assert "--no-annotate" in args
    assert Path(call["cwd"]) == project
    assert (project / "pylock.runtime.toml").is_file() and not (project / "pylock.toml").exists()


def test_compile_without_python_version(project, fake_uv):
    result = compile_lock(project / "requirements.txt", universal=False, uv=fake_uv.command, env=fake_uv.env())
    args = fake_uv.call()["args"]
    assert "--python-version" not in args and "--universal" not in args
    assert result.python_version is None


def test_existing_lock_is_given_to_uv_as_previous_output(project, fake_uv):
    existing = (LOCKS / "pylock.drift.toml").read_text()
    (project / "pylock.toml").write_text(existing)
    (project / "pylock.toml").chmod(0o640)
    result = compile_lock(project / "requirements.txt", uv=fake_uv.command, env=fake_uv.env())
    assert fake_uv.call()["previous"] == existing
    assert result.kept_pins_from == project / "pylock.toml"
    assert stat.S_IMODE((project / "pylock.toml").stat().st_mode) == 0o640  # mode survives the rename
    assert [p.name for p in load_lock(project / "pylock.toml").packages] == ["six"]


def test_invalid_existing_lock_is_not_given_to_uv(project, fake_uv):
    # uv aborts on an unreadable previous output, so a broken lock could never be regenerated.
    (project / "pylock.toml").write_text("not toml [")
    result = compile_lock(project / "requirements.txt", uv=fake_uv.command, env=fake_uv.env())
    assert fake_uv.call()["previous"] is None and result.kept_pins_from is None
    assert load_lock(project / "pylock.toml").packages[0].name == "six"


def test_new_lock_gets_the_umask_mode(project, fake_uv):
    umask = os.umask(0o022)
    os.umask(umask)
    compile_lock(project / "requirements.txt", uv=fake_uv.command, env=fake_uv.env())
    # Not mkstemp's 0600: the fake uv (like uv) created the file itself.
    assert stat.S_IMODE((project / "pylock.toml").stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize(("mode", "fragment"), [
    ("fail", "No solution found"),
    ("garbage", "uv wrote an invalid lock"),
])
def test_failure_leaves_the_existing_lock_untouched(project, fake_uv, mode, fragment):
    original = (LOCKS / "pylock.drift.toml").read_bytes()
    (project / "pylock.toml").write_bytes(original)
    before = listing(project)
    with pytest.raises(LockError) as caught:
        compile_lock(project / "requirements.txt", uv=fake_uv.command, env=fake_uv.env(mode))
    assert fragment in caught.value.reason
    assert caught.value.path == str(project / "requirements.txt")
    assert (project / "pylock.toml").read_bytes() == original
    assert listing(project) == before  # no temporary file left behind


def test_failure_message_quotes_the_stderr_tail(project, fake_uv):
    with pytest.raises(LockError) as caught:
        compile_lock(project / "requirements.txt", uv=fake_uv.command, env=fake_uv.env("fail"))
    assert "exit 1" in caught.value.reason
    assert "six==99 cannot be satisfied" in caught.value.reason
    assert not (project / "pylock.toml").exists()


def test_hanging_uv_times_out(project, fake_uv):
    started = time.monotonic()
    with pytest.raises(LockError, match="did not finish within 1 s"):
        compile_lock(project / "requirements.txt", uv=fake_uv.command, env=fake_uv.env("sleep"), timeout=1)
    assert time.monotonic() - started < 20
    assert listing(project) == ["requirements.txt"]


def test_uv_command_that_cannot_run(project):
    with pytest.raises(DockerlockError, match="cannot run"):
        compile_lock(project / "requirements.txt", uv=[str(project / "no-such-uv")])


@pytest.mark.parametrize("name", ["pylock.a.b.toml", "requirements.lock", "pylock.toml.new"])
def test_output_name_must_be_a_pylock_name(project, fake_uv, name):
    with pytest.raises(ConfigError, match="not a pylock file name"):
        compile_lock(project / "requirements.txt", output=project / name, uv=fake_uv.command, env=fake_uv.env())
    assert not fake_uv.log.exists()


def test_bad_arguments_fail_before_running_uv(project, fake_uv):
    with pytest.raises(LockError, match="requirements file not found"):
        compile_lock(project / "missing.txt", uv=fake_uv.command, env=fake_uv.env())
    with pytest.raises(ConfigError, match="not a Python version"):
        compile_lock(project / "requirements.txt", python_version="3.x", uv=fake_uv.command, env=fake_uv.env())
    assert not fake_uv.log.exists()


# --------------------------------------------------------------------------------------------------
# Staleness without uv: comparing two locks


def test_compare_locks():
    result = compare_locks(load_lock(LOCKS / "pylock.minimal.toml"), load_lock(LOCKS / "pylock.drift.toml"))
    assert result.stale
    assert [c.name for c in result.added] == ["colorama", "idna", "langsmith", "numpy", "opuslib", "pyogg"]
    assert result.removed == () and result.changed == ()
    assert result.added[3] == PackageChange("numpy", (), ("1.26.4", "2.1.0"))
    assert "(git 6871a4f)" in result.added[5].new[0]
    assert result.requires_python is None


def test_compare_locks_changes_and_requires_python():
    old = load_lock(LOCKS / "pylock.python.toml")
    new = load_lock(LOCKS / "pylock.minimal.toml")
    result = compare_locks(old, new)
    assert [c.name for c in result.removed] == ["attrs", "legacy", "needs3115", "needs312"]
    assert [c.name for c in result.added] == ["six"]
    assert result.requires_python == ("<3.14,>=3.11", ">=3.11")
    assert result.describe()[0] == "~ requires-python <3.14,>=3.11 -> >=3.11"
    assert "+ six 1.16.0" in result.describe()
    assert not compare_locks(old, old).stale and not compare_locks(old, old)


def test_lock_is_stale_with_fake_uv_never_writes_the_lock(project, fake_uv):
    (project / "pylock.toml").write_bytes((LOCKS / "pylock.drift.toml").read_bytes())
    before = listing(project)
    result = lock_is_stale(project / "requirements.txt", project / "pylock.toml",
                           uv=fake_uv.command, env=fake_uv.env(lock="minimal"))
    assert result.stale
    assert [c.name for c in result.removed] == ["colorama", "idna", "langsmith", "numpy", "opuslib", "pyogg"]
    assert (project / "pylock.toml").read_bytes() == (LOCKS / "pylock.drift.toml").read_bytes()
    assert listing(project) == before
    call = fake_uv.call()
    assert call["previous"] == (LOCKS / "pylock.drift.toml").read_text()  # pins offered to uv
    assert Path(option(call["args"], "-o")).parent != project


def test_lock_is_stale_needs_an_existing_lock(project, fake_uv):
    with pytest.raises(LockError, match="not found"):
        lock_is_stale(project / "requirements.txt", project / "pylock.toml", uv=fake_uv.command, env=fake_uv.env())


# --------------------------------------------------------------------------------------------------
# The real uv and a package index


@pytest.fixture(scope="session")
def real_uv(tmp_path_factory) -> list[str]:
    """uv's command, once the package index has answered; otherwise every network test skips."""
    try:
        command = find_uv()
    except DockerlockError as error:
        pytest.skip(f"uv is not installed: {error.reason}")
    probe = tmp_path_factory.mktemp("uv-probe")
    (probe / "requirements.txt").write_text("six==1.16.0\n")
    try:
        compile_lock(probe / "requirements.txt", python_version="3.11", uv=command, timeout=60)
    except LockError as error:
        pytest.skip(f"package index unreachable (uv pip compile six==1.16.0 failed): {error.reason[-300:]}")
    return command


def write_requirements(directory: Path, text: str) -> Path:
    path = directory / "requirements.txt"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


@pytest.mark.network
def test_universal_lock_keeps_marker_gated_packages(real_uv, project):
    (project / ".python-version").write_text("3.11\n")
    requirements = write_requirements(project, """
        six==1.16.0
        idna
        packaging
        colorama; sys_platform == "win32"
        """)
    result = compile_lock(requirements, uv=real_uv)
    lock = load_lock(project / "pylock.toml")
    assert result.python_version == "3.11" and str(lock.requires_python) == ">=3.11"
    colorama = lock.by_name("colorama")
    assert colorama and "win32" in str(colorama[0].marker)
    assert str(lock.by_name("six")[0].version) == "1.16.0"
    lines = read_requirements(requirements)
    assert check_drift(lines, lock) == []
    assert check_drift(lines, lock, environment=marker_environment("linux/arm64", "3.11")) == []
    assert check_python(lock, "3.11", source="python:3.11-slim") == []
    for platform in ["linux/amd64", "linux/arm64"]:
        assert [f for f in check_platform(lock, platform, python_version="3.11") if f.level is Level.ERROR] == []
    assert lock_is_stale(requirements, project / "pylock.toml", uv=real_uv).stale is False


@pytest.mark.network
def test_single_platform_lock_drops_marker_gated_packages(real_uv, project):
    requirements = write_requirements(project, """
        six==1.16.0
        colorama; sys_platform == "win32"
        """)
    compile_lock(requirements, python_version="3.11", python_platform="x86_64-manylinux_2_28", uv=real_uv)
    lock = load_lock(project / "pylock.toml")
    assert lock.by_name("colorama") == []
    findings = check_drift(read_requirements(requirements), lock)
    assert [(f.code, f.line) for f in findings] == [("DLK220", 2)]


@pytest.mark.network
def test_edited_requirements_drift_and_staleness(real_uv, project):
    requirements = write_requirements(project, "six==1.16.0\nidna==3.7\n")
    compile_lock(requirements, python_version="3.11", uv=real_uv)
    lock_path = project / "pylock.toml"
    original = lock_path.read_bytes()
    write_requirements(project, "six==1.15.0\nidna==3.7\n")
    findings = check_drift(read_requirements(requirements), load_lock(lock_path))
    assert [(f.code, f.line) for f in findings] == [("DLK221", 1)]
    stale = lock_is_stale(requirements, lock_path, python_version="3.11", uv=real_uv)
    assert stale.stale
    assert stale.changed == (PackageChange("six", ("1.16.0",), ("1.15.0",)),)
    assert stale.added == () and stale.removed == ()
    assert lock_path.read_bytes() == original  # checking never rewrites the lock
    assert listing(project) == ["pylock.toml", "requirements.txt"]


@pytest.mark.network
def test_relock_keeps_pins_unless_upgrading(real_uv, project):
    requirements = write_requirements(project, "idna==3.6\n")
    compile_lock(requirements, python_version="3.11", uv=real_uv)
    write_requirements(project, "idna\n")  # unpinned now: the lock's 3.6 still satisfies it
    kept = compile_lock(requirements, python_version="3.11", uv=real_uv)
    assert kept.kept_pins_from == project / "pylock.toml"
    assert str(kept.lock.by_name("idna")[0].version) == "3.6"
    assert not lock_is_stale(requirements, project / "pylock.toml", python_version="3.11", uv=real_uv)
    upgraded = compile_lock(requirements, python_version="3.11", extra_args=["--upgrade"], uv=real_uv)
    assert upgraded.lock.by_name("idna")[0].version > Version("3.6")


@pytest.mark.network
def test_python_version_change_makes_the_lock_stale(real_uv, project):
    requirements = write_requirements(project, "six==1.16.0\n")
    (project / ".python-version").write_text("3.11\n")
    compile_lock(requirements, uv=real_uv)
    (project / ".python-version").write_text("3.12\n")
    stale = lock_is_stale(requirements, project / "pylock.toml", uv=real_uv)
    assert stale.requires_python == (">=3.11", ">=3.12")


@pytest.mark.network
def test_real_uv_failure_keeps_the_lock(real_uv, project):
    requirements = write_requirements(project, "six==1.16.0\n")
    compile_lock(requirements, python_version="3.11", uv=real_uv)
    original = (project / "pylock.toml").read_bytes()
    write_requirements(project, "six==1.16.0\nsix==1.15.0\n")  # unsatisfiable
    with pytest.raises(LockError) as caught:
        compile_lock(requirements, python_version="3.11", uv=real_uv)
    assert "six" in caught.value.reason and "exit" in caught.value.reason
    assert (project / "pylock.toml").read_bytes() == original
    assert listing(project) == ["pylock.toml", "requirements.txt"]


def make_package(directory: Path, name: str = "localpkg", version: str = "0.1.0") -> Path:
    (directory / "src" / name).mkdir(parents=True)
    (directory / "src" / name / "__init__.py").write_text("")
    (directory / "pyproject.toml").write_text(textwrap.dedent(f"""
        [project]
        name = "{name}"
        version = "{version}"
        dependencies = []

        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        """))
    return directory


@pytest.mark.network
def test_directory_entries_are_relative_to_the_final_lock(real_uv, project):
    # uv writes directory paths relative to its output file: the temporary file must sit next to
    # the real lock or the committed path would be wrong.
    make_package(project / "libs" / "localpkg")
    requirements = write_requirements(project, "-e ./libs/localpkg\n")
    compile_lock(requirements, python_version="3.11", uv=real_uv, cwd=project)
    lock = load_lock(project / "pylock.toml")
    assert lock.by_name("localpkg")[0].directory_path == "libs/localpkg"
    assert lock.local_paths == ("libs/localpkg",)


@pytest.mark.network
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_vcs_requirement_pinned_to_a_commit(real_uv, project, tmp_path):
    repo = make_package(tmp_path / "repo")

    def commit(message: str) -> str:
        git = ["git", "-C", str(repo), "-c", "user.email=t@example.org", "-c", "user.name=t"]
        subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
        subprocess.run([*git, "commit", "-qm", message], check=True, capture_output=True)
        return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                              text=True).stdout.strip()

    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    first = commit("first")
    requirements = write_requirements(project, f"localpkg @ git+{repo.as_uri()}@{first}\n")
    compile_lock(requirements, python_version="3.11", uv=real_uv)
    lock = load_lock(project / "pylock.toml")
    [entry] = lock.by_name("localpkg")
    assert entry.source_kind == "vcs" and entry.vcs_commit == first
    assert check_drift(read_requirements(requirements), lock) == []
    assert [f.code for f in check_platform(lock, python_version="3.11")] == ["DLK213"]

    (repo / "src" / "localpkg" / "__init__.py").write_text("VALUE = 2\n")
    second = commit("second")
    write_requirements(project, f"localpkg @ git+{repo.as_uri()}@{second[:10]}\n")
    findings = check_drift(read_requirements(requirements), lock)
    assert [f.code for f in findings] == ["DLK222"] and first in findings[0].message
    stale = lock_is_stale(requirements, project / "pylock.toml", python_version="3.11", uv=real_uv)
    assert [c.name for c in stale.changed] == ["localpkg"]
    assert f"git {second[:7]}" in stale.changed[0].new[0]
