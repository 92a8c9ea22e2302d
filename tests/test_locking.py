"""Tests for dockerlock.locking: making locks with uv, for the image, and telling whether they are stale.

Two kinds of test. A fake uv (a small Python script standing in for the binary) pins down what
dockerlock asks of uv and how it treats the result: the command line, the child environment, the
atomic replacement, the requires-python and ``[tool.dockerlock]`` it adds, and what happens when uv
fails, hangs or writes garbage. These run anywhere. Tests marked ``network`` run the real uv against
a package index to prove the behaviour the design relies on; they skip with a reason when uv or the
index is unavailable.
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
import tomllib
from pathlib import Path

import pytest
from packaging.version import Version

from dockerlock.diagnostics import ConfigError, DockerlockError, Level, LockError
from dockerlock.lock_names import LockOrigin, content_digest
from dockerlock.lockfile import (
    check_drift,
    check_platform,
    check_python,
    load_lock,
    marker_environment,
    read_requirements,
)
from dockerlock.locking import (
    ImageTarget,
    PackageChange,
    PlatformChoice,
    compare_locks,
    compile_lock,
    find_uv,
    lock_is_stale,
    parse_platform,
    resolve_check,
    uv_environment,
)
from dockerlock.locking.compare import describe_origin

LOCKS = Path(__file__).parent / "fixtures" / "locks"
PY311 = ImageTarget("3.11")

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
    if mode == "nothing":
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


def tool_table(path: Path) -> dict:
    return tomllib.loads(path.read_text())["tool"]["dockerlock"]


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
# The target: the image's Python and platform


@pytest.mark.parametrize(("platform", "triple"), [
    ("linux/amd64", "x86_64-unknown-linux-gnu"),
    ("linux/arm64", "aarch64-unknown-linux-gnu"),
    ("linux/arm64/v8", "aarch64-unknown-linux-gnu"),
    ("linux/riscv64", "riscv64-unknown-linux"),
])
def test_target_options_for_the_image(platform, triple):
    target = ImageTarget("3.11", platform)
    assert target.compile_options() == ["--python-platform", triple, "--python-version", "3.11"]
    assert target.requires_python() == ">=3.11,<3.12"
    assert target.describe() == f"Python 3.11 on {platform}"


def test_target_requires_python_admits_exactly_the_series():
    assert ImageTarget("3.9").requires_python() == ">=3.9,<3.10"
    assert ImageTarget("3.12.4").requires_python() == ">=3.12.4,<3.13"
    assert ImageTarget("3.11.0").origin_python == "3.11"


def test_universal_target_keeps_uvs_requires_python():
    target = ImageTarget("3.11", universal=True)
    assert target.compile_options() == ["--universal", "--python-version", "3.11"]
    assert target.requires_python() is None
    assert target.origin_platform == "universal"
    assert target.describe() == "Python 3.11 and later on every platform (universal)"
    assert ImageTarget(None, universal=True).compile_options() == ["--universal"]


@pytest.mark.parametrize(("python", "platform", "fragment", "hint"), [
    ("3.11", "linux/386", "uv cannot resolve for linux/386 (i686) alone", "--universal"),
    ("3.11", "linux/ppc64le", "uv cannot resolve for linux/ppc64le", "--universal"),
    ("3.11", "windows/amd64", "unsupported platform 'windows/amd64'", None),
    ("3", "linux/amd64", "Python 3 names no minor version", "--python-version X.Y"),
    (None, "linux/amd64", "no Python version to lock for", ".python-version"),
    ("3.x", "linux/amd64", "not a Python version", None),
])
def test_targets_uv_cannot_lock_for_one_image_are_refused_clearly(python, platform, fragment, hint):
    with pytest.raises(ConfigError) as caught:
        ImageTarget(python, platform)
    assert fragment in caught.value.reason
    if hint:
        assert hint in caught.value.hint


def test_parse_platform_accepts_dockers_spelling_and_uv_linux_values():
    assert parse_platform("linux/arm64") == ("linux/arm64", "aarch64-unknown-linux-gnu")
    assert parse_platform("x86_64-manylinux_2_28") == ("linux/amd64", "x86_64-manylinux_2_28")
    assert parse_platform("aarch64-unknown-linux-musl") == ("linux/arm64", "aarch64-unknown-linux-musl")
    target = ImageTarget("3.12", "linux/amd64", uv_platform="x86_64-manylinux_2_28")
    assert option(target.compile_options(), "--python-platform") == "x86_64-manylinux_2_28"
    assert target.describe() == "Python 3.12 on linux/amd64 (x86_64-manylinux_2_28)"
    for value in ("macos", "x86_64-pc-windows-msvc", "aarch64-apple-darwin"):
        with pytest.raises(ConfigError, match="not an image platform"):
            parse_platform(value)


# --------------------------------------------------------------------------------------------------
# compile_lock with a fake uv


def test_compile_command_environment_and_result(project, fake_uv):
    result = compile_lock(project / "requirements.txt", target=PY311, uv=fake_uv.command, env=fake_uv.env(),
                          custom_compile_command="dockerlock lock requirements.txt")
    call = fake_uv.call()
    args = call["args"]
    assert args[:3] == ["pip", "compile", str(project / "requirements.txt")]
    assert option(args, "--format") == "pylock.toml"
    assert option(args, "--python-version") == "3.11"
    assert option(args, "--python-platform") == "x86_64-unknown-linux-gnu"
    assert "--universal" not in args and "--quiet" in args  # uv refuses --universal with a platform
    temporary = Path(option(args, "-o"))
    assert temporary.parent == project and temporary.name.startswith("pylock.")  # same directory
    assert call["env"] == {"UV_PYTHON_DOWNLOADS": "never", "UV_PREVIEW_FEATURES": "pylock", "NO_COLOR": "1"}
    assert call["previous"] is None
    assert option(args, "--custom-compile-command") == "dockerlock lock requirements.txt"
    assert result.output == project / "pylock.toml"
    assert result.lock.path == result.output and result.lock.packages[0].name == "six"
    assert result.packages == 1 and result.duration >= 0 and result.target == PY311
    assert listing(project) == ["pylock.toml", "requirements.txt"]


def test_written_lock_admits_the_series_and_records_its_origin(project, fake_uv):
    compile_lock(project / "requirements.txt", target=PY311, uv=fake_uv.command, env=fake_uv.env())
    written = (project / "pylock.toml").read_text()
    uv_wrote = (LOCKS / "pylock.minimal.toml").read_text()
    # requires-python says exactly the image's series; everything else uv wrote is kept as it was
    assert written.startswith(uv_wrote.replace('requires-python = ">=3.11"', 'requires-python = ">=3.11,<3.12"'))
    digest = content_digest((project / "requirements.txt").read_text())
    assert written[len(uv_wrote) + len(",<3.12"):] == textwrap.dedent(f"""
        [tool.dockerlock]
        requirements = ["requirements.txt"]
        python = "3.11"
        platform = "linux/amd64"
        indexes = []

        [tool.dockerlock.inputs]
        "requirements.txt" = "{digest}"
        """)
    lock = load_lock(project / "pylock.toml")
    assert str(lock.requires_python) == "<3.12,>=3.11"
    # indexes = []: resolved from PyPI alone (no index options), which migrate compares with the step's
    assert lock.origin == LockOrigin(("requirements.txt",), "3.11", "linux/amd64", (("requirements.txt", digest),),
                                     indexes=())


def test_several_files_make_one_lock_named_after_them(project, fake_uv):
    (project / "requirements-dev.txt").write_text("idna\n")
    (project / "constraints.txt").write_text("six<2\n")
    result = compile_lock([project / "requirements.txt", project / "requirements-dev.txt"],
                          constraints=[project / "constraints.txt"], target=ImageTarget("3.12", "linux/arm64"),
                          uv=fake_uv.command, env=fake_uv.env(), cwd=project)
    args = fake_uv.call()["args"]
    assert args[2:6] == [str(project / "requirements.txt"), str(project / "requirements-dev.txt"),
                         "-c", str(project / "constraints.txt")]
    assert option(args, "--python-platform") == "aarch64-unknown-linux-gnu"
    assert result.output == project / "pylock.dev+requirements.toml"
    assert listing(project) == ["constraints.txt", "pylock.dev+requirements.toml", "requirements-dev.txt",
                                "requirements.txt"]
    assert tool_table(result.output) == {"requirements": ["requirements.txt", "requirements-dev.txt"],
                                         "python": "3.12", "platform": "linux/arm64", "indexes": [],
                                         "constraints": ["constraints.txt"],
                                         "inputs": {name: content_digest((project / name).read_text())
                                                    for name in ("requirements.txt", "requirements-dev.txt")}}


def test_files_in_different_folders_need_an_output(tmp_path, fake_uv):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "requirements.txt").write_text("six\n")
    files = [tmp_path / "a/requirements.txt", tmp_path / "b/requirements.txt"]
    with pytest.raises(ConfigError) as caught:
        compile_lock(files, target=PY311, uv=fake_uv.command, env=fake_uv.env())
    assert "live in different folders" in caught.value.reason and str(files[1]) in caught.value.reason
    assert caught.value.hint == "pass --output to say where the lock goes"
    assert not fake_uv.log.exists()
    result = compile_lock(files, output=tmp_path / "pylock.both.toml", target=PY311, uv=fake_uv.command,
                          env=fake_uv.env())
    assert tool_table(result.output)["requirements"] == ["a/requirements.txt", "b/requirements.txt"]


def test_relative_paths_survive_uv_running_elsewhere(project, fake_uv, monkeypatch):
    # uv runs in the build context root; the files named relative to where the user stands
    monkeypatch.chdir(project)
    compile_lock([Path("requirements.txt")], target=PY311, uv=fake_uv.command, env=fake_uv.env(),
                 cwd=project.parent)
    call = fake_uv.call()
    assert call["cwd"] == str(project.parent)
    assert call["args"][2] == str(project / "requirements.txt")
    assert Path(option(call["args"], "-o")).is_absolute()
    assert (project / "pylock.toml").is_file()


def test_universal_lock_keeps_requires_python_as_uv_wrote_it(project, fake_uv):
    compile_lock(project / "requirements.txt", target=ImageTarget("3.11", universal=True),
                 uv=fake_uv.command, env=fake_uv.env())
    assert "--universal" in fake_uv.call()["args"]
    assert str(load_lock(project / "pylock.toml").requires_python) == ">=3.11"
    assert tool_table(project / "pylock.toml")["platform"] == "universal"


def test_existing_lock_is_given_to_uv_as_previous_output(project, fake_uv):
    existing = (LOCKS / "pylock.drift.toml").read_text()
    (project / "pylock.toml").write_text(existing)
    (project / "pylock.toml").chmod(0o640)
    result = compile_lock(project / "requirements.txt", target=PY311, uv=fake_uv.command, env=fake_uv.env())
    assert fake_uv.call()["previous"] == existing
    assert result.kept_pins_from == project / "pylock.toml"
    assert stat.S_IMODE((project / "pylock.toml").stat().st_mode) == 0o640  # mode survives the rename
    assert [p.name for p in load_lock(project / "pylock.toml").packages] == ["six"]


def test_invalid_existing_lock_is_not_given_to_uv(project, fake_uv):
    # uv aborts on an unreadable previous output, so a broken lock could never be regenerated.
    (project / "pylock.toml").write_text("not toml [")
    result = compile_lock(project / "requirements.txt", target=PY311, uv=fake_uv.command, env=fake_uv.env())
    assert fake_uv.call()["previous"] is None and result.kept_pins_from is None
    assert load_lock(project / "pylock.toml").packages[0].name == "six"


def test_new_lock_gets_the_umask_mode(project, fake_uv):
    umask = os.umask(0o022)
    os.umask(umask)
    compile_lock(project / "requirements.txt", target=PY311, uv=fake_uv.command, env=fake_uv.env())
    # Not mkstemp's 0600: the fake uv (like uv) created the file itself.
    assert stat.S_IMODE((project / "pylock.toml").stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize(("mode", "fragment"), [
    ("fail", "No solution found"),
    ("garbage", "uv wrote an invalid lock"),
    ("nothing", "uv exited 0 but wrote no lock"),
])
def test_failure_leaves_the_existing_lock_untouched(project, fake_uv, mode, fragment):
    original = (LOCKS / "pylock.drift.toml").read_bytes()
    (project / "pylock.toml").write_bytes(original)
    if mode == "nothing":
        (project / "pylock.toml").write_bytes(b"not a lock")  # not offered to uv: nothing to copy
        original = b"not a lock"
    before = listing(project)
    with pytest.raises(LockError) as caught:
        compile_lock(project / "requirements.txt", target=PY311, uv=fake_uv.command, env=fake_uv.env(mode))
    assert fragment in caught.value.reason
    assert caught.value.path == str(project / "requirements.txt")
    assert (project / "pylock.toml").read_bytes() == original
    assert listing(project) == before  # no temporary file left behind


def test_failure_message_quotes_the_stderr_tail(project, fake_uv):
    with pytest.raises(LockError) as caught:
        compile_lock(project / "requirements.txt", target=PY311, uv=fake_uv.command, env=fake_uv.env("fail"))
    assert "exit 1" in caught.value.reason
    assert "six==99 cannot be satisfied" in caught.value.reason
    assert not (project / "pylock.toml").exists()


def test_hanging_uv_times_out(project, fake_uv):
    started = time.monotonic()
    with pytest.raises(LockError, match="did not finish within 1 s"):
        compile_lock(project / "requirements.txt", target=PY311, uv=fake_uv.command, env=fake_uv.env("sleep"),
                     timeout=1)
    assert time.monotonic() - started < 20
    assert listing(project) == ["requirements.txt"]


def test_uv_command_that_cannot_run(project):
    with pytest.raises(DockerlockError, match="cannot run"):
        compile_lock(project / "requirements.txt", target=PY311, uv=[str(project / "no-such-uv")])


@pytest.mark.parametrize("name", ["pylock.a.b.toml", "requirements.lock", "pylock.toml.new"])
def test_output_name_must_be_a_pylock_name(project, fake_uv, name):
    with pytest.raises(ConfigError, match="not a pylock file name"):
        compile_lock(project / "requirements.txt", output=project / name, target=PY311, uv=fake_uv.command,
                     env=fake_uv.env())
    assert not fake_uv.log.exists()


def test_bad_arguments_fail_before_running_uv(project, fake_uv):
    with pytest.raises(LockError, match="requirements file not found"):
        compile_lock(project / "missing.txt", target=PY311, uv=fake_uv.command, env=fake_uv.env())
    with pytest.raises(LockError, match="constraints file not found"):
        compile_lock(project / "requirements.txt", constraints=[project / "c.txt"], target=PY311,
                     uv=fake_uv.command, env=fake_uv.env())
    with pytest.raises(ConfigError, match="no requirements file"):
        compile_lock([], target=PY311, uv=fake_uv.command, env=fake_uv.env())
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
    assert result.requires_python is None and result.origin is None


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


def with_origin(path: Path, origin: LockOrigin) -> Path:
    text = (LOCKS / "pylock.minimal.toml").read_text() + "\n[tool.dockerlock]\n" + "".join(
        f"{key} = {json.dumps(value)}\n" for key, value in origin.as_table().items())
    path.write_text(text)
    return path


def test_compare_locks_sees_another_target_or_other_files(tmp_path):
    amd64 = load_lock(with_origin(tmp_path / "pylock.a.toml", LockOrigin(("requirements.txt",), "3.11", "linux/amd64")))
    arm64 = load_lock(with_origin(tmp_path / "pylock.b.toml", LockOrigin(("requirements.txt",), "3.11", "linux/arm64")))
    both = load_lock(with_origin(tmp_path / "pylock.c.toml",
                                 LockOrigin(("requirements.txt", "requirements-dev.txt"), "3.11", "linux/amd64")))
    assert not compare_locks(amd64, amd64).stale
    # the same versions, but wheels for another machine: stale
    platform = compare_locks(amd64, arm64)
    assert platform.stale and platform.added == platform.removed == platform.changed == ()
    assert platform.describe() == ["~ made from requirements.txt for Python 3.11 on linux/amd64 -> "
                                   "requirements.txt for Python 3.11 on linux/arm64"]
    assert compare_locks(amd64, both).describe() == [
        "~ made from requirements.txt for Python 3.11 on linux/amd64 -> requirements.txt, requirements-dev.txt "
        "for Python 3.11 on linux/amd64"]
    # a lock made by hand gains the record when dockerlock makes it: that is a change too
    by_hand = load_lock(LOCKS / "pylock.minimal.toml")
    assert compare_locks(by_hand, amd64).describe() == [
        "~ made from (no [tool.dockerlock] record) -> requirements.txt for Python 3.11 on linux/amd64"]
    assert not compare_locks(amd64, by_hand).stale  # nothing to compare the record with


def test_lock_is_stale_with_fake_uv_never_writes_the_lock(project, fake_uv):
    (project / "pylock.toml").write_bytes((LOCKS / "pylock.drift.toml").read_bytes())
    before = listing(project)
    result = lock_is_stale(project / "requirements.txt", project / "pylock.toml", target=PY311,
                           uv=fake_uv.command, env=fake_uv.env(lock="minimal"))
    assert result.stale
    assert [c.name for c in result.removed] == ["colorama", "idna", "langsmith", "numpy", "opuslib", "pyogg"]
    assert result.requires_python == (">=3.11", "<3.12,>=3.11")
    digest = content_digest((project / "requirements.txt").read_text())
    assert result.origin == (None, LockOrigin(("requirements.txt",), "3.11", "linux/amd64",
                                              (("requirements.txt", digest),), indexes=()))
    assert result.lock_path == project / "pylock.toml"
    assert (project / "pylock.toml").read_bytes() == (LOCKS / "pylock.drift.toml").read_bytes()
    assert listing(project) == before
    call = fake_uv.call()
    assert call["previous"] == (LOCKS / "pylock.drift.toml").read_text()  # pins offered to uv
    assert Path(option(call["args"], "-o")).parent != project


def test_lock_made_by_dockerlock_is_not_stale_against_the_same_resolution(project, fake_uv):
    compile_lock(project / "requirements.txt", target=PY311, uv=fake_uv.command, env=fake_uv.env())
    assert not lock_is_stale(project / "requirements.txt", project / "pylock.toml", target=PY311,
                             uv=fake_uv.command, env=fake_uv.env())
    other = lock_is_stale(project / "requirements.txt", project / "pylock.toml",
                          target=ImageTarget("3.11", "linux/arm64"), uv=fake_uv.command, env=fake_uv.env())
    assert other.stale and other.origin is not None


def test_lock_is_stale_needs_an_existing_lock(project, fake_uv):
    with pytest.raises(LockError, match="not found"):
        lock_is_stale(project / "requirements.txt", project / "pylock.toml", target=PY311, uv=fake_uv.command,
                      env=fake_uv.env())


# --------------------------------------------------------------------------------------------------
# check --resolve: what the lock holds that the requirements no longer pull in


def test_resolve_check_uses_the_recorded_files_and_target(project, fake_uv):
    (project / "requirements-test.txt").write_text("idna\n")
    (project / "pylock.toml").write_text((LOCKS / "pylock.drift.toml").read_text() + textwrap.dedent("""
        [tool.dockerlock]
        requirements = ["requirements.txt", "requirements-test.txt"]
        python = "3.12"
        platform = "linux/arm64"
        """))
    report = resolve_check(project / "pylock.toml", requirements=[project / "requirements.txt"],
                           uv=fake_uv.command, env=fake_uv.env(lock="minimal"))
    args = fake_uv.call()["args"]
    assert args[2] == str(project / "requirements.txt") and "requirements-test.txt" not in " ".join(args)
    assert option(args, "--python-version") == "3.12"
    assert option(args, "--python-platform") == "aarch64-unknown-linux-gnu"
    assert fake_uv.call()["previous"] is not None  # the lock's pins offered to uv
    assert [c.name for c in report.unneeded] == ["colorama", "idna", "langsmith", "numpy", "opuslib", "pyogg"]
    assert report.missing == () and report.changed == () and not report.ok
    assert "not needed by the requirements: idna 3.7" in report.describe()
    assert report.target == ImageTarget("3.12", "linux/arm64")
    # with no files given, the recorded ones are resolved
    resolve_check(project / "pylock.toml", uv=fake_uv.command, env=fake_uv.env(lock="minimal"))
    assert fake_uv.call()["args"][2:4] == [str(project / "requirements.txt"), str(project / "requirements-test.txt")]
    assert Path(fake_uv.call()["cwd"]) == project


def test_resolve_check_needs_the_files_and_the_target_from_somewhere(project, fake_uv):
    (project / "pylock.toml").write_text((LOCKS / "pylock.minimal.toml").read_text())
    with pytest.raises(ConfigError, match="does not record which requirements"):
        resolve_check(project / "pylock.toml", uv=fake_uv.command, env=fake_uv.env())
    with pytest.raises(ConfigError, match="does not record the Python"):
        resolve_check(project / "pylock.toml", requirements=[project / "requirements.txt"], uv=fake_uv.command,
                      env=fake_uv.env())
    report = resolve_check(project / "pylock.toml", requirements=[project / "requirements.txt"], target=PY311,
                           uv=fake_uv.command, env=fake_uv.env())
    assert report.ok and report.describe() == []
    assert (project / "pylock.toml").read_text() == (LOCKS / "pylock.minimal.toml").read_text()


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
        compile_lock(probe / "requirements.txt", target=PY311, uv=command, timeout=60)
    except LockError as error:
        pytest.skip(f"package index unreachable (uv pip compile six==1.16.0 failed): {error.reason[-300:]}")
    return command


def write_requirements(directory: Path, text: str, name: str = "requirements.txt") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


@pytest.mark.network
def test_universal_lock_keeps_marker_gated_packages(real_uv, project):
    requirements = write_requirements(project, """
        six==1.16.0
        idna
        packaging
        colorama; sys_platform == "win32"
        """)
    universal = ImageTarget("3.11", universal=True)
    compile_lock(requirements, target=universal, uv=real_uv)
    lock = load_lock(project / "pylock.toml")
    assert str(lock.requires_python) == ">=3.11"
    colorama = lock.by_name("colorama")
    assert colorama and "win32" in str(colorama[0].marker)
    assert str(lock.by_name("six")[0].version) == "1.16.0"
    lines = read_requirements(requirements)
    assert check_drift(lines, lock) == []
    assert check_drift(lines, lock, environment=marker_environment("linux/arm64", "3.11")) == []
    assert check_python(lock, "3.11", source="python:3.11-slim") == []
    for platform in ["linux/amd64", "linux/arm64"]:
        assert [f for f in check_platform(lock, platform, python_version="3.11") if f.level is Level.ERROR] == []
    assert lock_is_stale(requirements, project / "pylock.toml", target=universal, uv=real_uv).stale is False


@pytest.mark.network
def test_image_lock_drops_marker_gated_packages_and_fits_the_image(real_uv, project):
    requirements = write_requirements(project, """
        six==1.16.0
        colorama; sys_platform == "win32"
        """)
    compile_lock(requirements, target=PY311, uv=real_uv)
    lock = load_lock(project / "pylock.toml")
    assert lock.by_name("colorama") == []
    assert str(lock.requires_python) == "<3.12,>=3.11"
    assert check_python(lock, "3.11", source="python:3.11-slim") == []
    assert [f.code for f in check_python(lock, "3.12", source="python:3.12-slim")] == ["DLK201"]
    findings = check_drift(read_requirements(requirements), lock)
    assert [(f.code, f.line) for f in findings] == [("DLK220", 2)]


@pytest.mark.network
def test_several_files_make_one_lock_that_holds_both(real_uv, project):
    runtime = write_requirements(project, "six==1.16.0\n")
    dev = write_requirements(project, "idna==3.7\n", name="requirements-dev.txt")
    result = compile_lock([runtime, dev], target=PY311, uv=real_uv)
    assert result.output == project / "pylock.dev+requirements.toml"
    lock = load_lock(result.output)
    assert {p.name: str(p.version) for p in lock.packages} == {"six": "1.16.0", "idna": "3.7"}
    assert lock.origin == LockOrigin(("requirements.txt", "requirements-dev.txt"), "3.11", "linux/amd64",
                                     tuple((p.name, content_digest(p.read_text())) for p in (runtime, dev)),
                                     indexes=())
    # uv reads the lock with dockerlock's record as its previous output: a re-lock keeps the pins
    write_requirements(project, "idna\n", name="requirements-dev.txt")
    again = compile_lock([runtime, dev], target=PY311, uv=real_uv)
    assert again.kept_pins_from == result.output and str(again.lock.by_name("idna")[0].version) == "3.7"
    assert again.lock.origin.requirements == lock.origin.requirements  # (dev's recorded digest follows its edit)
    # check --resolve for the runtime file alone: idna is in the lock but not needed
    report = resolve_check(result.output, requirements=[runtime], uv=real_uv)
    assert [c.name for c in report.unneeded] == ["idna"] and report.missing == report.changed == ()
    assert resolve_check(result.output, uv=real_uv).ok   # the recorded files: nothing extra


@pytest.mark.network
def test_edited_requirements_drift_and_staleness(real_uv, project):
    requirements = write_requirements(project, "six==1.16.0\nidna==3.7\n")
    compile_lock(requirements, target=PY311, uv=real_uv)
    lock_path = project / "pylock.toml"
    original = lock_path.read_bytes()
    write_requirements(project, "six==1.15.0\nidna==3.7\n")
    findings = check_drift(read_requirements(requirements), load_lock(lock_path))
    assert [(f.code, f.line) for f in findings] == [("DLK221", 1)]
    stale = lock_is_stale(requirements, lock_path, target=PY311, uv=real_uv)
    assert stale.stale
    assert stale.changed == (PackageChange("six", ("1.16.0",), ("1.15.0",)),)
    assert stale.added == () and stale.removed == () and stale.origin is None
    assert lock_path.read_bytes() == original  # checking never rewrites the lock
    assert listing(project) == ["pylock.toml", "requirements.txt"]


@pytest.mark.network
def test_relock_keeps_pins_unless_upgrading(real_uv, project):
    requirements = write_requirements(project, "idna==3.6\n")
    compile_lock(requirements, target=PY311, uv=real_uv)
    write_requirements(project, "idna\n")  # unpinned now: the lock's 3.6 still satisfies it
    kept = compile_lock(requirements, target=PY311, uv=real_uv)
    assert kept.kept_pins_from == project / "pylock.toml"
    assert str(kept.lock.by_name("idna")[0].version) == "3.6"
    assert not lock_is_stale(requirements, project / "pylock.toml", target=PY311, uv=real_uv)
    upgraded = compile_lock(requirements, target=PY311, extra_args=["--upgrade"], uv=real_uv)
    assert upgraded.lock.by_name("idna")[0].version > Version("3.6")


@pytest.mark.network
def test_python_version_change_makes_the_lock_stale(real_uv, project):
    requirements = write_requirements(project, "six==1.16.0\n")
    compile_lock(requirements, target=PY311, uv=real_uv)
    stale = lock_is_stale(requirements, project / "pylock.toml", target=ImageTarget("3.12"), uv=real_uv)
    assert stale.requires_python == ("<3.12,>=3.11", "<3.13,>=3.12")
    assert stale.origin[1].python == "3.12"


@pytest.mark.network
def test_real_uv_failure_keeps_the_lock(real_uv, project):
    requirements = write_requirements(project, "six==1.16.0\n")
    compile_lock(requirements, target=PY311, uv=real_uv)
    original = (project / "pylock.toml").read_bytes()
    write_requirements(project, "six==1.16.0\nsix==1.15.0\n")  # unsatisfiable
    with pytest.raises(LockError) as caught:
        compile_lock(requirements, target=PY311, uv=real_uv)
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
    compile_lock(requirements, target=PY311, uv=real_uv, cwd=project)
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
    compile_lock(requirements, target=PY311, uv=real_uv)
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
    stale = lock_is_stale(requirements, project / "pylock.toml", target=PY311, uv=real_uv)
    assert [c.name for c in stale.changed] == ["localpkg"]
    assert f"git {second[:7]}" in stale.changed[0].new[0]


def test_an_alpine_target_is_compiled_for_musl_and_says_so():
    """Alpine images take musllinux wheels and no manylinux one: their locks are compiled for musl,
    and the lock records it so migrate can tell a glibc lock from a musl one."""
    target = ImageTarget("3.12", "linux/amd64", libc="musl")
    assert target.compile_options() == ["--python-platform", "x86_64-unknown-linux-musl", "--python-version", "3.12"]
    assert target.describe() == "Python 3.12 on linux/amd64 (musl)"
    assert target.origin_libc == "musl" and ImageTarget("3.12").origin_libc is None
    assert ImageTarget("3.12", "linux/arm64", libc="musl").uv_platform == "aarch64-unknown-linux-musl"
    with pytest.raises(ConfigError, match=r"uv cannot resolve for linux/riscv64 \(riscv64, musl\) alone"):
        ImageTarget("3.12", "linux/riscv64", libc="musl")
    # Docker's spelling on the command line keeps the image's C library; a uv value names its own
    assert PlatformChoice("linux/arm64").target("3.12", "linux/amd64", "musl").uv_platform == \
        "aarch64-unknown-linux-musl"
    assert PlatformChoice("x86_64-unknown-linux-musl").target("3.12").libc == "musl"
    assert PlatformChoice("x86_64-manylinux_2_28").target("3.12", "linux/amd64", "musl").libc == "glibc"
    assert ImageTarget.from_origin(LockOrigin(("requirements.txt",), "3.12", "linux/amd64", libc="musl")) == target


def test_a_musl_lock_is_another_target_than_a_glibc_one(tmp_path):
    glibc = LockOrigin(("requirements.txt",), "3.12", "linux/amd64")
    musl = LockOrigin(("requirements.txt",), "3.12", "linux/amd64", libc="musl")
    assert musl.as_table()["libc"] == "musl" and "libc" not in glibc.as_table()
    old = load_lock(with_origin(tmp_path / "pylock.a.toml", glibc))
    new = load_lock(with_origin(tmp_path / "pylock.b.toml", musl))
    assert new.origin == musl  # read back from [tool.dockerlock]
    assert compare_locks(old, new).stale and not compare_locks(new, new).stale
    assert describe_origin(musl) == "requirements.txt for Python 3.12 on linux/amd64 (musl)"
