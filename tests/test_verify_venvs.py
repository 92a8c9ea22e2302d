"""Verification in host venvs: comparison logic (pure) and real pip vs uv runs (network)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockerlock.diagnostics import ConfigError, DockerlockError
from dockerlock.verify import (
    Difference, InstalledDist, Timing, VerifyError, compare_installed, normalise_name, parse_distributions,
    ratio, run_process,
)
from dockerlock.verify.venvs import (
    VENV_SEEDS, PipStep, UvStep, plan_venvs, resolve_python, verify_in_venvs,
)


def dist(name: str, version: str, commit: str | None = None) -> InstalledDist:
    return InstalledDist(name, version, commit)


# --------------------------------------------------------------------------- comparison

def test_identical_sets_have_no_differences():
    side = {"six": dist("six", "1.16.0"), "idna": dist("idna", "3.7")}
    assert compare_installed(side, dict(side)) == []


def test_version_difference():
    found = compare_installed({"idna": dist("idna", "3.7")}, {"idna": dist("idna", "3.6")})
    assert found == [Difference("idna", dist("idna", "3.7"), dist("idna", "3.6"), "version")]
    assert "3.7 (original) vs 3.6 (migrated)" in found[0].describe()


def test_only_one_side_in_both_directions_sorted_by_name():
    pip_side = {"zope-interface": dist("zope-interface", "6.0"), "six": dist("six", "1.16.0")}
    uv_side = {"six": dist("six", "1.16.0"), "attrs": dist("attrs", "23.1.0")}
    found = compare_installed(pip_side, uv_side)
    assert [(d.name, d.kind) for d in found] == [("attrs", "only-uv"), ("zope-interface", "only-pip")]
    assert found[0].pip_side is None and found[0].uv_side == dist("attrs", "23.1.0")
    assert found[1].uv_side is None


def test_vcs_commit_difference_with_equal_versions():
    pip_side = {"pyogg": dist("pyogg", "0.6.14a1", "6871a4f" + "0" * 33)}
    uv_side = {"pyogg": dist("pyogg", "0.6.14a1", "1234abc" + "0" * 33)}
    (found,) = compare_installed(pip_side, uv_side)
    assert found.kind == "vcs-commit"
    assert "6871a4f" in found.describe() and "1234abc" in found.describe()


def test_vcs_install_against_index_install_is_a_commit_difference():
    (found,) = compare_installed({"pyogg": dist("pyogg", "0.6", "a" * 40)}, {"pyogg": dist("pyogg", "0.6")})
    assert found.kind == "vcs-commit"


def test_version_wins_over_commit_when_both_differ():
    (found,) = compare_installed({"x": dist("x", "1.0", "a" * 40)}, {"x": dist("x", "2.0", "b" * 40)})
    assert found.kind == "version"


def test_unchanged_seeds_are_left_out_but_changed_seeds_are_compared():
    seeds = {"pip": dist("pip", "23.2.1"), "setuptools": dist("setuptools", "65.5.0")}
    pip_side = {"pip": dist("pip", "23.2.1"), "setuptools": dist("setuptools", "70.0.0"),
                "six": dist("six", "1.16.0")}
    uv_side = {"pip": dist("pip", "23.2.1"), "setuptools": dist("setuptools", "65.5.0"),
               "six": dist("six", "1.16.0")}
    found = compare_installed(pip_side, uv_side, seeds=seeds)
    assert [(d.name, d.kind) for d in found] == [("setuptools", "version")]
    # a step that removes a seed (e.g. `uv pip sync` against a lock without it) is reported
    del uv_side["setuptools"]
    pip_side["setuptools"] = seeds["setuptools"]
    assert [(d.name, d.kind) for d in compare_installed(pip_side, uv_side, seeds=seeds)] == [
        ("setuptools", "only-pip")]


names = st.sampled_from(["six", "idna", "attrs", "pip", "requests", "zipp"])
dists = st.builds(dist, names, st.sampled_from(["1.0", "2.0"]),
                  st.one_of(st.none(), st.sampled_from(["a" * 40, "b" * 40])))
installed_sets = st.lists(dists).map(lambda items: {d.name: d for d in items})


@given(installed_sets, installed_sets)
def test_comparison_is_mirror_symmetric(left, right):
    mirror = {"only-pip": "only-uv", "only-uv": "only-pip", "version": "version",
              "vcs-commit": "vcs-commit"}
    forward = compare_installed(left, right)
    backward = compare_installed(right, left)
    assert [(d.name, mirror[d.kind]) for d in forward] == [(d.name, d.kind) for d in backward]
    assert compare_installed(left, left) == []
    assert {d.name for d in forward} == {n for n in set(left) | set(right) if left.get(n) != right.get(n)}


def test_parse_distributions_reads_the_last_json_list_and_normalises():
    output = "warning: something\n" + '[{"name": "Typing_Extensions", "version": "4.12.2", ' \
             '"vcs_commit": null}, {"name": "pyogg", "version": "0.6", "vcs_commit": "abc"}]\n'
    assert parse_distributions(output) == {
        "typing-extensions": dist("typing-extensions", "4.12.2"),
        "pyogg": dist("pyogg", "0.6", "abc")}
    with pytest.raises(ValueError):
        parse_distributions("no json here\n")


@pytest.mark.parametrize("raw, expected", [("Typing_Extensions", "typing-extensions"),
                                           ("zope.interface", "zope-interface"),
                                           ("A__b-.C", "a-b-c")])
def test_normalise_name(raw, expected):
    assert normalise_name(raw) == expected


# --------------------------------------------------------------------------- errors, processes

def test_verify_error_is_a_dockerlock_error_with_command_and_tail():
    err = VerifyError("pip-cold: the original step failed (exit code 1)",
                      command=["python", "-m", "pip", "install", "-r", "requirements file.txt"],
                      output_tail="line 1\nERROR: no matching distribution")
    assert isinstance(err, DockerlockError)
    text = str(err)
    assert text.startswith("pip-cold: the original step failed")
    assert "'requirements file.txt'" in text          # shell-quoted
    assert "    ERROR: no matching distribution" in text
    assert "<input>" not in text


def test_run_process_timeout_kills_and_reports():
    started = time.monotonic()
    with pytest.raises(VerifyError) as caught:
        run_process([sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"],
                    timeout=1)
    assert time.monotonic() - started < 15
    assert "timed out after 1 s" in str(caught.value)
    assert "started" in caught.value.output_tail


def test_run_process_merges_output_and_keeps_exit_code():
    done = run_process([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); "
                        "sys.exit(3)"], timeout=30)
    assert done.returncode == 3 and "out" in done.output and "err" in done.output


def test_missing_program_is_a_verify_error():
    with pytest.raises(VerifyError, match="cannot start"):
        run_process(["/nonexistent/dockerlock-test-program"], timeout=5)


# --------------------------------------------------------------------------- planning (no processes)

def _steps(tmp_path: Path, pip_options=(), uv_options=(), mode="sync"):
    req = tmp_path / "requirements.txt"
    req.write_text("six==1.16.0\n")
    return (PipStep((req,), options=tuple(pip_options)),
            UvStep(tmp_path / "pylock.toml", mode, tuple(uv_options)))


def test_plan_isolates_source_settings_but_keeps_transport(tmp_path):
    pip_step, uv_step = _steps(tmp_path)
    environ = {"PIP_FIND_LINKS": "/opt/wheels", "PIP_INDEX_URL": "https://files.example.org/simple",
               "PIP_CERT": "/etc/ssl/ca.pem", "UV_INDEX_URL": "https://files.example.org/simple",
               "UV_HTTP_TIMEOUT": "30", "PYTHONPATH": "/somewhere", "HOME": "/root"}
    plan = plan_venvs(pip_step, uv_step, workdir=tmp_path / "w", python=sys.executable,
                      uv=["uv"], environ=environ)
    assert set(plan.removed_env) == {"PIP_FIND_LINKS", "PIP_INDEX_URL", "UV_INDEX_URL", "PYTHONPATH"}
    assert plan.pip_env["PIP_CONFIG_FILE"] == os.devnull and plan.uv_env["UV_NO_CONFIG"] == "1"
    assert plan.uv_env["UV_PREVIEW_FEATURES"] == "pylock"
    assert plan.uv_env["UV_PYTHON_DOWNLOADS"] == "never"
    pip_env = plan.environment("pip", environ)
    assert pip_env["PIP_CERT"] == "/etc/ssl/ca.pem" and "PIP_FIND_LINKS" not in pip_env
    assert plan.environment("uv", environ)["UV_HTTP_TIMEOUT"] == "30"
    # the cold and warm runs of a side share one cache directory; pre-installs (pip, on both
    # sides) are isolated the same way but keep the pip step's cache empty for its cold run
    assert plan.pip_env["PIP_CACHE_DIR"] != plan.uv_env["UV_CACHE_DIR"]
    preinstall_env = plan.environment("preinstall", environ)
    assert preinstall_env["PIP_CONFIG_FILE"] == os.devnull and "PIP_FIND_LINKS" not in preinstall_env
    assert preinstall_env["PIP_CACHE_DIR"] != plan.pip_env["PIP_CACHE_DIR"]

    shared = plan_venvs(pip_step, uv_step, workdir=tmp_path / "w", python=sys.executable,
                        uv=["uv"], environ=environ, isolated=False)
    assert shared.removed_env == ("PYTHONPATH",)
    assert "PIP_CONFIG_FILE" not in shared.pip_env


def test_plan_commands_and_runs(tmp_path):
    pip_step, uv_step = _steps(tmp_path, pip_options=["--no-cache-dir", "--index-url",
                                                      "https://files.example.org/simple"],
                               uv_options=["--no-cache", "--compile-bytecode"], mode="install")
    plan = plan_venvs(pip_step, uv_step, workdir=tmp_path / "w", python=sys.executable, uv=["uv"],
                      environ={})
    # the sides alternate, so a slow moment of the network or the machine hits both alike
    assert [r.label for r in plan.runs] == ["pip-cold", "uv-cold", "pip-warm", "uv-warm"]
    pip_install = plan.runs[0].install
    assert pip_install[1:4] == ["-m", "pip", "install"]
    assert "--no-cache-dir" not in pip_install
    assert pip_install[-2:] == ["-r", str(tmp_path / "requirements.txt")]
    assert "https://files.example.org/simple" in pip_install
    uv_install = plan.runs[1].install
    assert uv_install[:5] == ["uv", "pip", "install", "-r", str(tmp_path / "pylock.toml")]
    assert uv_install[uv_install.index("--python") + 1] == str(plan.runs[1].venv / "bin" / "python")
    assert "--no-cache" not in uv_install and "--compile-bytecode" in uv_install
    assert any("--no-cache-dir" in note for note in plan.notes)
    assert plan.commands[0] == [sys.executable, "-m", "venv", str(plan.template)]

    warm_only = plan_venvs(pip_step, uv_step, workdir=tmp_path / "w", python=sys.executable,
                           uv=["uv"], runs=("warm",), environ={})
    assert [(r.label, r.timed) for r in warm_only.runs] == [
        ("pip-prime", False), ("uv-prime", False), ("pip-warm", True), ("uv-warm", True)]
    # the priming run fills the cache the warm run then reads
    assert warm_only.runs[0].cache == warm_only.runs[2].cache


def test_repeated_runs_each_cold_run_starts_from_an_empty_cache(tmp_path):
    pip_step, uv_step = _steps(tmp_path)
    plan = plan_venvs(pip_step, uv_step, workdir=tmp_path / "w", python=sys.executable, uv=["uv"],
                      environ={}, repeat=3)
    assert [r.name for r in plan.runs] == [
        "pip-cold", "uv-cold", "pip-cold #2", "uv-cold #2", "pip-cold #3", "uv-cold #3",
        "pip-warm", "uv-warm", "pip-warm #2", "uv-warm #2", "pip-warm #3", "uv-warm #3"]
    cold = [r for r in plan.runs if r.label == "pip-cold"]
    warm = [r for r in plan.runs if r.label == "pip-warm"]
    assert len({r.cache for r in cold}) == 3                  # a cache of its own per cold run
    assert {r.cache for r in warm} == {cold[0].cache}          # warm runs read the first cold run's
    assert len({r.venv for r in plan.runs}) == len(plan.runs)  # every run gets a fresh venv
    env = plan.environment("uv", {}, cache=plan.runs[3].cache)
    assert env["UV_CACHE_DIR"] == str(plan.runs[3].cache) != plan.uv_env["UV_CACHE_DIR"]
    with pytest.raises(ConfigError, match="at least 1"):
        plan_venvs(pip_step, uv_step, workdir=tmp_path / "w", python=sys.executable, uv=["uv"], repeat=0)


def test_timing_is_the_median_with_the_spread():
    timing = Timing((9.6, 54.7, 13.1))
    assert (timing.median, timing.low, timing.high) == (13.1, 9.6, 54.7)
    assert timing.describe(1) == "13.1 (9.6-54.7)"
    assert Timing((2.0, 4.0)).median == 3.0
    assert Timing((7.25,)).describe() == "7.25"               # one run: no spread to show
    assert ratio(Timing((10.0, 30.0, 20.0)), Timing((2.0, 1.0, 3.0))) == 10.0
    assert ratio(Timing((1.0,)), None) is None and ratio(Timing((1.0,)), Timing((0.0,))) is None


@pytest.mark.parametrize("pip_options, uv_options", [
    (["--target", "/x"], []), (["--user"], []), ([], ["--system"]), ([], ["--python=/usr/bin/python3"]),
])
def test_plan_rejects_options_that_leave_the_venv(tmp_path, pip_options, uv_options):
    pip_step, uv_step = _steps(tmp_path, pip_options, uv_options)
    with pytest.raises(ConfigError, match="outside the verification venv"):
        plan_venvs(pip_step, uv_step, workdir=tmp_path, python=sys.executable, uv=["uv"])


def test_plan_rejects_unknown_runs(tmp_path):
    pip_step, uv_step = _steps(tmp_path)
    with pytest.raises(ConfigError, match="cold"):
        plan_venvs(pip_step, uv_step, workdir=tmp_path, python=sys.executable, uv=["uv"],
                   runs=("hot",))


def test_seeds_are_explicit():
    assert VENV_SEEDS == {"pip", "setuptools", "wheel"}


# --------------------------------------------------------------------------- real pip and uv

# uv_command (the uv to run, or a skip) comes from conftest.py.

@pytest.fixture(scope="session")
def index_reachable(uv_command) -> None:
    """Probe the package index once per session (fresh cache, short timeouts)."""
    with tempfile.TemporaryDirectory(prefix="dockerlock-probe-") as tmp:
        req = Path(tmp, "requirements.txt")
        req.write_text("six==1.16.0\n")
        env = dict(os.environ, UV_CACHE_DIR=str(Path(tmp, "cache")), UV_HTTP_TIMEOUT="10",
                   UV_HTTP_RETRIES="0", UV_NO_CONFIG="1")
        try:
            done = subprocess.run([*uv_command, "pip", "compile", "--quiet", str(req)], env=env,
                                  capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.skip("the package index is unreachable (probe timed out after 30 s)")
        if done.returncode != 0:
            pytest.skip("the package index is unreachable: " + done.stderr.strip()[-300:])


def compile_lock(uv_command: list[str], requirements: str, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "lock-input.txt"
    source.write_text(requirements)
    lock = directory / "pylock.toml"
    subprocess.run([*uv_command, "pip", "compile", "--quiet", "--format", "pylock.toml", "--universal",
                    str(source), "-o", str(lock)], check=True, timeout=300,
                   env=dict(os.environ, UV_NO_CONFIG="1"))
    return lock


def write_requirements(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "requirements.txt"
    path.write_text(text)
    return path


def test_resolve_python_by_version(uv_command):
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    found = resolve_python(version, uv_command)
    out = subprocess.run([found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == version
    with pytest.raises(VerifyError, match="no Python 2.1"):
        resolve_python("2.1", uv_command, which=lambda name: None)


@pytest.mark.network
def test_same_packages_from_pip_and_uv_with_timings(tmp_path, uv_command, index_reachable):
    requirements = write_requirements(tmp_path / "ctx", "six==1.16.0\nidna==3.7\n")
    lock = compile_lock(uv_command, requirements.read_text(), tmp_path / "lock")
    messages: list[str] = []
    result = verify_in_venvs(PipStep((requirements,)), UvStep(lock, "sync"), uv=uv_command,
                             progress=messages.append)

    assert result.ok and result.differences == []
    expected = {"six": dist("six", "1.16.0"), "idna": dist("idna", "3.7")}
    assert result.pip_packages == expected
    assert result.uv_packages == expected
    assert "pip" in result.seeds                      # what venv seeded, left out of the sets
    assert set(result.timings) == {"pip-cold", "pip-warm", "uv-cold", "uv-warm"}
    assert all(seconds > 0 for seconds in result.timings.values())
    assert result.ratio_cold == pytest.approx(result.timings["pip-cold"] / result.timings["uv-cold"])
    assert result.ratio_warm is not None and result.ratio_warm > 0
    # everything run is announced before the first command starts
    announced = [m for m in messages if m.startswith("will run: ")]
    first_action = next(i for i, m in enumerate(messages) if not m.startswith(("will run: ", "note: ")))
    assert len(announced) == len(result.commands)
    assert all(messages.index(m) < first_action for m in announced)
    uv_runs = [c for c in result.commands if c[:len(uv_command) + 2] == [*uv_command, "pip", "sync"]]
    assert len(uv_runs) == 2 and all(str(lock) in c for c in uv_runs)


@pytest.mark.network
def test_lock_pinned_to_another_version_is_a_version_difference(tmp_path, uv_command, index_reachable):
    requirements = write_requirements(tmp_path / "ctx", "six==1.16.0\nidna==3.7\n")
    lock = compile_lock(uv_command, "six==1.16.0\nidna==3.6\n", tmp_path / "lock")
    result = verify_in_venvs(PipStep((requirements,)), UvStep(lock, "sync"), uv=uv_command,
                             runs=("cold",))
    assert not result.ok
    assert result.differences == [
        Difference("idna", dist("idna", "3.7"), dist("idna", "3.6"), "version")]
    assert set(result.timings) == {"pip-cold", "uv-cold"} and result.ratio_warm is None


@pytest.mark.network
def test_sync_removes_what_an_earlier_step_installed_but_install_keeps_it(tmp_path, uv_command,
                                                                          index_reachable):
    requirements = write_requirements(tmp_path / "ctx", "idna==3.7\n")
    lock = compile_lock(uv_command, "idna==3.7\n", tmp_path / "lock")
    pip_step = PipStep((requirements,), preinstall=("six==1.16.0",))
    synced = verify_in_venvs(pip_step, UvStep(lock, "sync"), uv=uv_command, runs=("cold",))
    assert [(d.name, d.kind) for d in synced.differences] == [("six", "only-pip")]
    installed = verify_in_venvs(pip_step, UvStep(lock, "install"), uv=uv_command, runs=("cold",))
    assert installed.ok
    assert set(installed.uv_packages) == {"idna", "six"}


def test_failing_pip_step_raises_with_command_and_output(tmp_path, uv_command):
    requirements = write_requirements(tmp_path / "ctx", "./no-such-project-dir\n")
    lock = tmp_path / "pylock.toml"
    lock.write_text('lock-version = "1.0"\ncreated-by = "test"\npackages = []\n')
    with pytest.raises(VerifyError) as caught:
        verify_in_venvs(PipStep((requirements,)), UvStep(lock, "sync"), uv=uv_command, runs=("cold",))
    err = caught.value
    assert err.reason.startswith("pip-cold: the original step (pip install) failed")
    assert err.command[-2:] == ["-r", str(requirements)]
    assert "no-such-project-dir" in err.output_tail
    assert len(err.output_tail.splitlines()) <= 20


# --------------------------------------------------------------------------- the image's interpreter

def fake_python(directory: Path, name: str, version: str) -> Path:
    """An executable that answers the version probe like a Python ``version`` would."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)
    return path


def fake_uv_finding(directory: Path, found: Path | None) -> list[str]:
    """A uv whose `python find` prints ``found`` (or fails), logging its arguments."""
    script = directory / "fake-uv"
    log = directory / "fake-uv.log"
    answer = f"echo {found}" if found else "echo 'error: No interpreter found' >&2; exit 2"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n{answer}\n")
    script.chmod(0o755)
    return [str(script)]


def test_interpreter_for_prefers_path_then_asks_uv(tmp_path):
    from dockerlock.verify.venvs import interpreter_for

    on_path = fake_python(tmp_path / "bin", "python3.99", "3.99.4")
    which = {"python3.99": str(on_path)}.get
    uv = fake_uv_finding(tmp_path, fake_python(tmp_path / "managed", "python", "3.99.1"))
    assert interpreter_for("3.99", uv, which=which) == str(on_path)
    assert not (tmp_path / "fake-uv.log").exists()           # PATH answered; uv not asked
    # a patch release the PATH interpreter is not: uv's discovery, downloads disabled
    assert interpreter_for("3.99.1", uv, which=which) == str(tmp_path / "managed" / "python")
    assert (tmp_path / "fake-uv.log").read_text().split() == ["python", "find", "--no-python-downloads", "3.99.1"]


def test_interpreter_for_names_what_it_tried_and_the_hint(tmp_path):
    from dockerlock.verify.venvs import interpreter_for

    liar = fake_python(tmp_path / "bin", "python3.98", "3.11.2")   # a python3.98 that is not 3.98
    with pytest.raises(VerifyError) as caught:
        interpreter_for("3.98", fake_uv_finding(tmp_path, None), which={"python3.98": str(liar)}.get)
    err = caught.value
    assert err.reason.startswith("no Python 3.98 found on this machine (looked for python3.98 on PATH and "
                                 "asked `uv python find 3.98`)")
    assert f"{liar} is 3.11.2" in err.reason
    assert err.hint == "pass --python /path/to/python3.98"
