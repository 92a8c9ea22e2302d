"""Tests for dockerlock.lockfile: reading pylock files and checking them against the image.

The fixtures in tests/fixtures/locks are hand-written, small, and use placeholder URLs; each
invalid one is broken in exactly one way so that its test can insist on the key path and package
the error names. Hostile-input tests build their input in tmp_path and must stay fast.
"""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.tags import Tag

from dockerlock.diagnostics import ConfigError, Finding, Level, LockError
from dockerlock.lockfile import (
    CHECKS,
    MAX_LOCK_BYTES,
    check_drift,
    check_platform,
    check_python,
    load_lock,
    marker_environment,
    parse_python_version_file,
    python_from_image,
    read_requirements,
    stale_packages,
    target_tags,
)

LOCKS = Path(__file__).parent / "fixtures" / "locks"


def lock(name: str):
    return load_lock(LOCKS / f"pylock.{name}.toml")


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def by_package(findings: list[Finding]) -> dict[str, Finding]:
    """Findings keyed by the package name their message starts with."""
    return {f.message.split(" ", 1)[0]: f for f in findings}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


# --------------------------------------------------------------------------------------------------
# Loading valid locks


def test_minimal_lock_model():
    result = lock("minimal")
    assert result.created_by == "uv"
    assert str(result.requires_python) == ">=3.11"
    assert result.environments == ()
    [six] = result.packages
    assert (six.name, six.normalized_name, str(six.version)) == ("six", "six", "1.16.0")
    assert six.source_kind == "sdist+wheels"
    assert six.has_sdist
    assert six.wheel_files == ("six-1.16.0-py2.py3-none-any.whl",)
    assert Tag("py3", "none", "any") in six.wheel_tags[0]
    assert six.line == 6  # the [[packages]] header
    assert not result.has_vcs and not result.has_directory and result.local_paths == ()
    assert result.raw["packages"][0]["name"] == "six"  # the raw tomllib dict is kept


def test_source_kinds_and_local_paths():
    result = lock("sources")
    kinds = {p.name: p.source_kind for p in result.packages}
    assert kinds == {"pyogg": "vcs", "omi-utils": "directory", "lc3py": "archive",
                     "opuslib": "archive", "six": "wheels"}
    pyogg = result.by_name("PyOgg")[0]  # lookups normalise the name
    assert pyogg.vcs_commit == "6871a4f234e8a3a346c4874a12509bfa02c4c63a"
    assert pyogg.vcs_url.endswith("/TeamPyOgg/PyOgg.git")
    assert result.has_vcs and result.has_directory
    # Paths the Dockerfile has to COPY next to the lock; URL archives are not among them.
    assert result.local_paths == (
        "libs/omi-utils",
        "wheels/lc3py-1.1.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    )


def test_by_name_returns_every_marker_split_entry():
    numpy = lock("drift").by_name("NumPy")
    assert [str(p.version) for p in numpy] == ["1.26.4", "2.1.0"]
    assert all(p.marker is not None for p in numpy)


def test_package_lines_point_at_each_entry():
    result = lock("platforms")
    text = (LOCKS / "pylock.platforms.toml").read_text().splitlines()
    for package in result.packages:
        assert text[package.line - 1] == "[[packages]]"
        assert text[package.line] == f'name = "{package.name}"'


def test_inline_packages_array_still_gets_lines(tmp_path):
    path = write(tmp_path / "pylock.toml", """
        lock-version = "1.0"
        created-by = "hand"
        packages = [
          { name = "six", version = "1.16.0", wheels = [{ name = "six-1.16.0-py2.py3-none-any.whl", url = "https://files.example.org/six-1.16.0-py2.py3-none-any.whl", hashes = { sha256 = "00" } }] },
          { name = "idna", version = "3.7", archive = { url = "https://files.example.org/idna-3.7.tar.gz", hashes = { sha256 = "00" } } },
        ]
        """)
    result = load_lock(path)
    assert [p.line for p in result.packages] == [4, 5]


# --------------------------------------------------------------------------------------------------
# Invalid locks: one fixture per way of being broken


@pytest.mark.parametrize(("fixture", "expected", "line"), [
    ("missing-version", ["lock-version", "Missing required value"], None),
    ("future-version", ["unsupported lock-version", "2.0"], 1),
    ("empty-hashes", ["packages[1].wheels[1].hashes", "'numpy'", "At least one hash"], 15),
    ("name-type", ["packages[1].name", "Unexpected type int", "package #2"], 11),
    ("packages-type", ["packages", "Unexpected type str"], 4),
    ("two-sources", ["packages[1]", "'pyogg'", "None of vcs, directory, archive"], 10),
    ("wheel-version", ["packages[1].wheels[0]", "'idna'", "idna-3.6-py3-none-any.whl"], 13),
    ("unnormalized", ["packages[0].name", "'PyYAML'", "not normalized"], 6),
    ("marker", ["packages[1].marker", "'colorama'"], 13),
    ("syntax", ["not valid TOML"], 12),
])
def test_invalid_lock_names_file_key_package_and_line(fixture, expected, line):
    path = LOCKS / f"pylock.invalid-{fixture}.toml"
    with pytest.raises(LockError) as caught:
        load_lock(path)
    error = caught.value
    assert error.path == str(path)
    for fragment in expected:
        assert fragment in error.reason
    assert error.line == line
    assert str(path) in str(error)


@pytest.mark.parametrize("name", ["pylock.a.b.toml", "lock.toml", "pylock.TOML", "requirements.txt",
                                  "pylock..toml"])
def test_file_name_must_be_a_pylock_name(tmp_path, name):
    path = tmp_path / name
    path.write_bytes((LOCKS / "pylock.minimal.toml").read_bytes())
    with pytest.raises(LockError, match="not a pylock file name"):
        load_lock(path)


def test_named_pylock_file_is_accepted(tmp_path):
    path = tmp_path / "pylock.runtime.toml"
    path.write_bytes((LOCKS / "pylock.minimal.toml").read_bytes())
    assert load_lock(path).path == path


def test_missing_lock(tmp_path):
    with pytest.raises(LockError, match="not found"):
        load_lock(tmp_path / "pylock.toml")


# --------------------------------------------------------------------------------------------------
# Hostile input: clean LockError, quickly


def assert_fast_lock_error(path: Path, fragment: str, budget: float = 2.0) -> LockError:
    started = time.monotonic()
    with pytest.raises(LockError) as caught:
        load_lock(path)
    assert time.monotonic() - started < budget
    assert fragment in caught.value.reason
    return caught.value


def test_huge_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "pylock.toml"
    with open(path, "wb") as handle:  # sparse: instant to create, 60 MB by size
        handle.truncate(60 * 1024 * 1024)
    assert path.stat().st_size > MAX_LOCK_BYTES
    error = assert_fast_lock_error(path, "too large", budget=0.5)
    assert "50 MiB" in error.reason


def test_deeply_nested_arrays(tmp_path):
    path = tmp_path / "pylock.toml"
    path.write_text('lock-version = "1.0"\ncreated-by = "x"\npackages = []\nx = '
                    + "[" * 10_000 + "]" * 10_000 + "\n")
    assert_fast_lock_error(path, "nested too deeply")


def test_deeply_nested_inline_tables(tmp_path):
    path = tmp_path / "pylock.toml"
    path.write_text('lock-version = "1.0"\ncreated-by = "x"\npackages = []\nx = '
                    + "{a = " * 5_000 + "1" + " }" * 5_000 + "\n")
    assert_fast_lock_error(path, "nested too deeply")


def test_deep_tool_table_that_tomllib_accepts(tmp_path):
    # Dotted keys parse without recursion, but packaging's validate() deep-copies [tool].
    path = tmp_path / "pylock.toml"
    path.write_text('lock-version = "1.0"\ncreated-by = "x"\npackages = []\n[tool.'
                    + ".".join(["a"] * 20_000) + "]\nb = 1\n")
    assert_fast_lock_error(path, "nested too deeply", budget=5.0)


@pytest.mark.parametrize(("body", "fragment"), [
    ('lock-version = "1.0"\ncreated-by = "x"\npackages = "x"\n', "packages: Unexpected type str"),
    ('lock-version = 1\ncreated-by = "x"\npackages = []\n', "lock-version"),
    ('lock-version = "1.0"\npackages = []\n', "created-by"),
    ('lock-version = "1.0"\ncreated-by = "x"\n', "packages: Missing required value"),
    ('lock-version = "1.0"\ncreated-by = "x"\nrequires-python = 3.11\npackages = []\n', "requires-python"),
    ('lock-version = "1.0"\ncreated-by = "x"\npackages = [1, 2]\n', "packages[0]"),
    ('lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "x"\nwheels = "x.whl"\n', "packages[0].wheels"),
    ('lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "x"\nversion = "not a version"\n'
     'directory = { path = "." }\n', "packages[0].version"),
    ('lock-version = "1.0"\ncreated-by = "x"\nenvironments = ["os_name =="]\npackages = []\n', "environments[0]"),
    ('lock-version = "banana"\ncreated-by = "x"\npackages = []\n', "lock-version"),
])
def test_wrong_types_and_values(tmp_path, body, fragment):
    path = tmp_path / "pylock.toml"
    path.write_text(body)
    assert_fast_lock_error(path, fragment)


def test_binary_file(tmp_path):
    path = tmp_path / "pylock.toml"
    path.write_bytes(b'lock-version = "1.0"\n\xff\xfe\x00garbage')
    error = assert_fast_lock_error(path, "not UTF-8")
    assert error.line == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_does_not_hang(tmp_path):
    path = tmp_path / "pylock.toml"
    os.mkfifo(path)  # opening it for reading blocks until a writer appears
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            load_lock(path)
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            outcome.append(error)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # the regression: unblock the reader so the test fails instead of hanging
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
        pytest.fail("load_lock blocked on a FIFO")
    assert isinstance(outcome[0], LockError) and "not a regular file" in outcome[0].reason


def test_directory_named_like_a_lock(tmp_path):
    (tmp_path / "pylock.toml").mkdir()
    assert_fast_lock_error(tmp_path / "pylock.toml", "not a regular file")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list('[]{}="\'.,#\n abc123-_lockversionpackagesname')),
                    max_size=300))
def test_arbitrary_text_is_a_lock_or_a_lock_error(tmp_path, text):
    path = tmp_path / "pylock.toml"
    path.write_text(text)
    try:
        load_lock(path)
    except LockError as error:
        assert error.path == str(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_fixture_is_a_lock_or_a_lock_error(tmp_path, data):
    lines = (LOCKS / "pylock.platforms.toml").read_text().splitlines()
    index = data.draw(st.integers(0, len(lines) - 1))
    replacement = data.draw(st.sampled_from(["", "name = 3", 'version = "x"', "wheels = []",
                                             'marker = "os_name"', "[[packages]]", "hashes = {}",
                                             'requires-python = "=>3"', lines[index][: len(lines[index]) // 2]]))
    lines[index] = replacement
    path = tmp_path / "pylock.toml"
    path.write_text("\n".join(lines))
    try:
        load_lock(path)
    except LockError as error:
        assert "not" in error.reason  # "not a valid pylock" / "not valid TOML"


# --------------------------------------------------------------------------------------------------
# Python version sources


@pytest.mark.parametrize(("content", "expected"), [
    ("3.11\n", "3.11"),
    ("3.11.9\n", "3.11.9"),
    ("cpython-3.11\n", "3.11"),
    ("cpython-3.12.4-linux-x86_64-gnu\n", "3.12.4"),
    ("3.11\r\n", "3.11"),
    ("\ufeff3.10\n", "3.10"),
    ("# pinned for the image\n\n3.12\n3.11\n", "3.12"),
    ("  3.13  \n", "3.13"),
    ("pypy3.10\n", None),
    ("system\n", None),
    ("3.13t\n", None),
    ("", None),
    ("# only a comment\n", None),
])
def test_parse_python_version_file(tmp_path, content, expected):
    path = tmp_path / ".python-version"
    path.write_bytes(content.encode())
    assert parse_python_version_file(path) == expected


def test_parse_python_version_file_missing(tmp_path):
    assert parse_python_version_file(tmp_path / ".python-version") is None


@pytest.mark.parametrize(("image", "expected"), [
    ("python:3.11-slim", "3.11"),
    ("python:3.11.9-bookworm", "3.11.9"),
    ("docker.io/library/python:3.12-slim-forky", "3.12"),
    ("gcr.io/x/python:3.11-slim-forky", "3.11"),
    ("python:3.11@sha256:" + "a" * 64, "3.11"),
    ("localhost:5000/python:3.10-alpine", "3.10"),
    ("tiangolo/uvicorn-gunicorn-fastapi:python3.11", "3.11"),
    ("ghcr.io/astral-sh/uv:python3.12-bookworm-slim", "3.12"),
    ("ghcr.io/astral-sh/uv:0.8-python3.13-alpine", "3.13"),
    ("pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime", None),
    ("python:3", "3"),
    ("python:3-slim", "3"),
    ("python:3.15.0a8-slim-trixie", "3.15"),  # a pre-release: the series a lock is made for
    ("python:3.14.0rc2", "3.14"),
    ("python:latest", None),
    ("python", None),
    ("python@sha256:" + "b" * 64, None),
    ("python:${PYTHON_VERSION}-slim", None),
    ("mcr.microsoft.com/devcontainers/python:1-3.11-bookworm", None),
    ("ubuntu:22.04", None),
])
def test_python_from_image(image, expected):
    assert python_from_image(image) == expected


# --------------------------------------------------------------------------------------------------
# check_python


def test_lock_requires_python_outside_image():
    findings = check_python(lock("python"), "3.10", source="FROM python:3.10-slim")
    assert codes(findings) == ["DLK201"]  # package checks would only repeat it
    assert findings[0].level is Level.ERROR
    assert "FROM python:3.10-slim" in findings[0].message
    assert findings[0].line == 4  # the requires-python line
    assert findings[0].path == str(LOCKS / "pylock.python.toml")


def test_upper_bound_of_lock_requires_python():
    assert codes(check_python(lock("python"), "3.14", source="image")) == ["DLK201"]


def test_minor_series_with_patch_level_package_requirement_is_a_warning():
    found = by_package(check_python(lock("python"), "3.11", source="image"))
    assert set(found) == {"needs312", "needs3115"}  # not attrs, not the marker-excluded legacy
    assert (found["needs312"].code, found["needs312"].level) == ("DLK203", Level.ERROR)
    assert (found["needs3115"].code, found["needs3115"].level) == ("DLK204", Level.WARNING)
    assert "3.11.5 and later" in found["needs3115"].message


@pytest.mark.parametrize(("version", "expected"), [
    ("3.11.2", {"needs312": "DLK203", "needs3115": "DLK203"}),
    ("3.11.9", {"needs312": "DLK203"}),
    ("3.12", {}),
    ("3.13.1", {}),
])
def test_exact_versions(version, expected):
    found = by_package(check_python(lock("python"), version, source="image"))
    assert {name: f.code for name, f in found.items()} == expected


def test_floating_major_tag_warns():
    findings = check_python(lock("python"), "3", source="FROM python:3")
    assert codes(findings)[0] == "DLK202"
    assert findings[0].level is Level.WARNING
    assert "3.11 to 3.13" in findings[0].message
    assert all(f.level is Level.WARNING for f in findings)


def test_lock_without_requires_python(tmp_path):
    path = write(tmp_path / "pylock.toml", """
        lock-version = "1.0"
        created-by = "x"
        packages = []
        """)
    assert check_python(load_lock(path), "2.7", source="image") == []


def test_check_python_rejects_a_bad_version():
    with pytest.raises(ConfigError):
        check_python(lock("python"), "three", source="image")


# --------------------------------------------------------------------------------------------------
# Platform


def test_target_tags_glibc_x86_64():
    tags = {str(t) for t in target_tags("linux/amd64", "3.11")}
    for expected in ["cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64",
                     "cp311-cp311-manylinux1_x86_64", "cp311-cp311-manylinux2010_x86_64",
                     "cp311-cp311-manylinux_2_40_x86_64", "cp39-abi3-manylinux_2_28_x86_64",
                     "py3-none-any", "py311-none-any", "cp311-none-any", "py3-none-manylinux_2_17_x86_64"]:
        assert expected in tags
    for unexpected in ["cp311-cp311-linux_x86_64", "cp311-cp311-manylinux_2_41_x86_64",
                       "cp312-cp312-manylinux_2_17_x86_64", "cp312-abi3-manylinux_2_17_x86_64",
                       "cp311-cp311-musllinux_1_2_x86_64", "cp311-cp311-manylinux_2_17_aarch64"]:
        assert unexpected not in tags


def test_target_tags_arm64_and_musl():
    arm = {str(t) for t in target_tags("linux/arm64", "3.12")}
    assert "cp312-cp312-manylinux_2_17_aarch64" in arm and "cp312-cp312-manylinux2014_aarch64" in arm
    assert not any("manylinux1" in t or "manylinux2010" in t or "x86_64" in t for t in arm)
    musl = {str(t) for t in target_tags("linux/amd64", "3.12", "musl")}
    assert "cp312-cp312-musllinux_1_2_x86_64" in musl and "cp312-cp312-musllinux_1_0_x86_64" in musl
    assert not any("manylinux" in t for t in musl)


@pytest.mark.parametrize("platform", ["windows/amd64", "linux/sparc", "amd64", ""])
def test_unknown_platform_is_a_config_error(platform):
    with pytest.raises(ConfigError):
        target_tags(platform, "3.11")


def test_marker_environment_is_the_image_not_the_host():
    env = marker_environment("linux/arm64", "3.12")
    assert env["platform_machine"] == "aarch64" and env["sys_platform"] == "linux"
    assert env["python_version"] == "3.12" and env["python_full_version"] == "3.12.0"
    assert env["implementation_name"] == "cpython" and env["os_name"] == "posix"


def test_platform_amd64_glibc():
    found = by_package(check_platform(lock("platforms"), "linux/amd64", python_version="3.11"))
    # numpy, attrs, pydantic-core, cryptography (abi3) and newglibc (2_39 <= 2_40) are fine;
    # pywin32 and armonly are excluded by their markers.
    assert {name: f.code for name, f in found.items()} == {
        "webrtcvad": "DLK212", "orjson": "DLK211", "localbuilt": "DLK211"}
    assert found["webrtcvad"].level is Level.WARNING and "compiler" in found["webrtcvad"].message
    assert found["orjson"].level is Level.ERROR and "musllinux" in found["orjson"].hint
    assert "linux_<arch>" in found["localbuilt"].hint
    assert found["orjson"].line == lock("platforms").by_name("orjson")[0].line


def test_platform_x86_64_only_wheels_fail_on_arm64():
    found = by_package(check_platform(lock("platforms"), "linux/arm64", python_version="3.11"))
    assert found["numpy"].code == "DLK211"
    assert "manylinux_2_17_x86_64" in found["numpy"].message
    assert found["newglibc"].code == "DLK211"
    for fine in ["attrs", "pydantic-core", "cryptography", "pywin32"]:
        assert fine not in found
    # armonly applies on arm64 and has an aarch64 wheel: no finding either.
    assert "armonly" not in found


def test_platform_musl_rejects_manylinux():
    found = by_package(check_platform(lock("platforms"), "linux/amd64", python_version="3.11", libc="musl"))
    assert "orjson" not in found
    for name in ["numpy", "pydantic-core", "cryptography"]:
        assert found[name].code == "DLK211"
        assert "glibc" in found[name].hint


def test_platform_python_version_selects_cp_tags():
    found = by_package(check_platform(lock("platforms"), "linux/amd64", python_version="3.13"))
    assert found["numpy"].code == "DLK211"  # cp311/cp312 wheels only
    assert "CPython 3.13" in found["numpy"].hint
    assert "cryptography" not in found  # abi3 serves 3.13 too


def test_platform_older_glibc():
    assert "newglibc" not in by_package(check_platform(lock("platforms"), python_version="3.11"))
    older = by_package(check_platform(lock("platforms"), python_version="3.11", glibc_version=(2, 36)))
    assert older["newglibc"].code == "DLK211"


def test_platform_sources_notes():
    found = by_package(check_platform(lock("sources"), "linux/amd64", python_version="3.11"))
    assert (found["pyogg"].code, found["pyogg"].level) == ("DLK213", Level.NOTE)
    assert "git" in found["pyogg"].message
    assert (found["omi-utils"].code, found["omi-utils"].level) == ("DLK214", Level.NOTE)
    assert found["opuslib"].code == "DLK212"  # a source archive builds in the image
    assert "lc3py" not in found  # its archive is a compatible wheel
    assert by_package(check_platform(lock("sources"), "linux/arm64", python_version="3.11"))["lc3py"].code == "DLK211"


def test_environments_excluding_linux():
    findings = check_platform(lock("environments"), "linux/amd64", python_version="3.11")
    assert codes(findings) == ["DLK210"]
    assert findings[0].level is Level.ERROR
    assert "darwin" in findings[0].message


def test_environments_including_linux(tmp_path):
    text = (LOCKS / "pylock.environments.toml").read_text().replace(
        "sys_platform == 'win32'", "sys_platform == 'linux' and platform_machine == 'x86_64'")
    path = write(tmp_path / "pylock.toml", text)
    assert check_platform(load_lock(path), "linux/amd64", python_version="3.11") == []
    assert codes(check_platform(load_lock(path), "linux/arm64", python_version="3.11")) == ["DLK210"]


def test_platform_major_only_python_skips_wheels():
    findings = check_platform(lock("platforms"), "linux/amd64", python_version="3")
    assert codes(findings) == ["DLK215"]


def test_full_version_marker_is_evaluated_over_the_series(tmp_path):
    # Installed only on 3.11.0-3.11.3, and with no wheel for linux: python 3.11 (floating) must
    # still check it; 3.11.9 must not.
    path = write(tmp_path / "pylock.toml", """
        lock-version = "1.0"
        created-by = "x"
        [[packages]]
        name = "backport"
        version = "1.0"
        marker = "python_full_version < '3.11.4'"
        wheels = [{ url = "https://files.example.org/backport-1.0-cp311-cp311-win_amd64.whl", hashes = { sha256 = "00" } }]
        """)
    assert codes(check_platform(load_lock(path), python_version="3.11")) == ["DLK211"]
    assert check_platform(load_lock(path), python_version="3.11.9") == []
    # The other side of the boundary: false on 3.11.0, true on later patches of the series.
    late = write(tmp_path / "pylock.late.toml", path.read_text().replace("< '3.11.4'", ">= '3.11.4'"))
    assert codes(check_platform(load_lock(late), python_version="3.11")) == ["DLK211"]
    assert check_platform(load_lock(late), python_version="3.11.2") == []


def test_package_requires_python_only_where_its_marker_installs_it(tmp_path):
    # uv splits a package by python_full_version; each half's requires-python holds where it installs.
    path = write(tmp_path / "pylock.toml", """
        lock-version = "1.0"
        created-by = "x"
        [[packages]]
        name = "split"
        version = "1.0"
        marker = "python_full_version < '3.11.4'"
        requires-python = "<3.11.4"
        directory = { path = "a" }
        [[packages]]
        name = "split"
        version = "2.0"
        marker = "python_full_version >= '3.11.4'"
        requires-python = ">=3.11.4"
        directory = { path = "b" }
        """)
    assert check_python(load_lock(path), "3.11", source="image") == []
    assert check_python(load_lock(path), "3.11.7", source="image") == []


# --------------------------------------------------------------------------------------------------
# Requirements files


def test_read_requirements_format(tmp_path):
    write(tmp_path / "common.txt", """
        idna==3.7  # shared
        """)
    write(tmp_path / "constraints.txt", """
        urllib3<2
        """)
    main = write(tmp_path / "requirements.txt", """
        # comment line \\
        six==1.16.0 \\
            --hash=sha256:aaaa \\
            --hash=sha256:bbbb
        -r common.txt
        -c constraints.txt
        --index-url https://files.example.org/simple
        -e ./libs/omi-utils
        PyOgg @ git+https://git.example.org/TeamPyOgg/PyOgg@6871a4f234e8a3a346c4874a12509bfa02c4c63a
        private @ https://${TOKEN}@files.example.org/private-1.0.tar.gz
        colorama; sys_platform == "win32"
        ./vendor/thing
        Flask_Cors[extra]>=4 ; python_version >= "3.8"
        """)
    lines = read_requirements(main)
    by = {(l.name or l.option or l.path): l for l in lines}
    six = by["six"]
    assert (six.line, six.hashes, str(six.requirement.specifier)) == (2, ("sha256:aaaa", "sha256:bbbb"), "==1.16.0")
    assert by["idna"].file == tmp_path / "common.txt" and by["idna"].line == 1
    assert by["urllib3"].is_constraint and not six.is_constraint
    assert by["--index-url https://files.example.org/simple"].requirement is None
    assert by["./libs/omi-utils"].editable and by["./libs/omi-utils"].requirement is None
    assert by["pyogg"].requirement.url.startswith("git+https://")
    assert by["private"].unresolved_vars == ("TOKEN",)
    assert str(by["colorama"].requirement.marker) == 'sys_platform == "win32"'
    assert by["./vendor/thing"].path == "./vendor/thing"
    assert by["flask-cors"].requirement.extras == {"extra"}
    assert all(l.error is None for l in lines)


def test_read_requirements_include_cycle_and_nesting(tmp_path):
    write(tmp_path / "a.txt", "-r sub/b.txt\nsix\n")
    write(tmp_path / "sub" / "b.txt", "--requirement ../a.txt\n--constraint=c.txt\nidna\n")
    write(tmp_path / "sub" / "c.txt", "-r d.txt\nidna<4\n")  # -r inside a constraints file: requirements (pip)
    write(tmp_path / "sub" / "d.txt", "packaging\n")
    lines = read_requirements(tmp_path / "a.txt")
    assert [(l.name, l.is_constraint, l.file.name) for l in lines] == [
        ("packaging", False, "d.txt"), ("idna", True, "c.txt"), ("idna", False, "b.txt"),
        ("six", False, "a.txt")]


def test_read_requirements_bad_lines_are_values(tmp_path):
    main = write(tmp_path / "requirements.txt", """
        six==1.16.0
        -r missing.txt
        this is not a requirement!
        ${PACKAGE}==1.0
        -r ${OTHER}.txt
        """)
    lines = read_requirements(main)
    errors = {l.line: l.error for l in lines if l.error}
    assert set(errors) == {2, 3, 4, 5}
    assert "missing.txt" in errors[2]
    findings = check_drift(lines, lock("minimal"))
    # A ${VAR} include is a warning (it may be fine once expanded), a missing file an error.
    assert {(f.line, f.code) for f in findings} == {(2, "DLK228"), (3, "DLK228"), (4, "DLK226"), (5, "DLK226")}


def test_read_requirements_missing_file(tmp_path):
    with pytest.raises(LockError, match="not found"):
        read_requirements(tmp_path / "requirements.txt")


@pytest.mark.corpus
def test_read_corpus_requirements():
    corpus = Path(__file__).parents[2] / "shared" / "corpus" / "omi"
    files = sorted(corpus.glob("*requirements.txt")) if corpus.is_dir() else []
    if not files:
        pytest.skip("shared corpus not available")
    for path in files:
        lines = read_requirements(path)
        assert lines and all(l.error is None or "-r" in l.text for l in lines)
    vcs = [l for path in files for l in read_requirements(path) if l.name == "pyogg"]
    assert vcs and vcs[0].requirement.url.endswith("6871a4f234e8a3a346c4874a12509bfa02c4c63a")


# --------------------------------------------------------------------------------------------------
# Drift


DRIFT_OK = """
    six==1.16.0
    idna>=3.6
    numpy>=1.26
    colorama; sys_platform == "win32"
    PyOgg @ git+https://git.example.org/TeamPyOgg/PyOgg.git@6871a4f234e8a3a346c4874a12509bfa02c4c63a
    opuslib @ https://files.example.org/direct/opuslib-3.0.1.tar.gz#sha256=00
    langsmith>=0.2.0rc1
    """


def test_no_drift(tmp_path):
    requirements = read_requirements(write(tmp_path / "requirements.txt", DRIFT_OK))
    assert check_drift(requirements, lock("drift")) == []
    env = marker_environment("linux/amd64", "3.11")
    assert check_drift(requirements, lock("drift"), environment=env) == []


@pytest.mark.parametrize(("line", "code", "fragment"), [
    ("six==1.15.0", "DLK221", "1.16.0"),
    ("idna<3", "DLK221", "3.7"),
    ("requests==2.32.3", "DLK220", "not in pylock.drift.toml"),
    ("PyOgg @ git+https://git.example.org/TeamPyOgg/PyOgg@0123456789abcdef", "DLK222", "commit"),
    ("PyOgg @ git+https://git.example.org/someone-else/PyOgg@6871a4f", "DLK222", "someone-else"),
    ("six @ git+https://git.example.org/benjaminp/six", "DLK222", "not from git"),
    ("opuslib @ https://files.example.org/direct/opuslib-3.0.2.tar.gz", "DLK223", "opuslib-3.0.1"),
    ("langsmith>=0.1", "DLK227", "pre-release"),
    ("six[extra]==1.16.0", "DLK225", "extras"),
])
def test_drift_detected(tmp_path, line, code, fragment):
    path = write(tmp_path / "requirements.txt", "six==1.16.0\n" + line + "\n")
    findings = check_drift(read_requirements(path), lock("drift"))
    assert codes(findings) == [code]
    assert findings[0].path == str(path) and findings[0].line == 2
    assert fragment in findings[0].message
    assert findings[0].level is {"DLK227": Level.WARNING}.get(code, Level.ERROR)


def test_vcs_commit_prefix_and_url_spelling_match(tmp_path):
    path = write(tmp_path / "requirements.txt",
                 "pyogg @ git+https://GIT.example.org/TeamPyOgg/PyOgg.git/@6871a4f2#egg=pyogg\n")
    assert check_drift(read_requirements(path), lock("drift")) == []


def test_marker_split_entries(tmp_path):
    # numpy is 1.26.4 on 3.11 and 2.1.0 on 3.12.
    path = write(tmp_path / "requirements.txt", "numpy<2\n")
    lines = read_requirements(path)
    assert check_drift(lines, lock("drift")) == []  # universal: one satisfying entry is enough
    assert check_drift(lines, lock("drift"), environment=marker_environment("linux/amd64", "3.11")) == []
    on_312 = check_drift(lines, lock("drift"), environment=marker_environment("linux/amd64", "3.12"))
    assert codes(on_312) == ["DLK221"] and "2.1.0" in on_312[0].message


def test_environment_skips_requirements_whose_marker_is_false(tmp_path):
    path = write(tmp_path / "requirements.txt", 'pywin32==306; sys_platform == "win32"\n')
    lines = read_requirements(path)
    assert codes(check_drift(lines, lock("drift"))) == ["DLK220"]
    assert check_drift(lines, lock("drift"), environment=marker_environment()) == []


def test_entry_locked_only_for_another_environment(tmp_path):
    path = write(tmp_path / "requirements.txt", "colorama\n")
    findings = check_drift(read_requirements(path), lock("drift"), environment=marker_environment())
    assert codes(findings) == ["DLK220"]
    assert "only for other environments" in findings[0].message


def test_constraints(tmp_path):
    write(tmp_path / "constraints.txt", "six<1.16\nidna<4\nrequests<2\n")
    path = write(tmp_path / "requirements.txt", "-c constraints.txt\nsix\n")
    findings = check_drift(read_requirements(path), lock("drift"))
    # six violates its constraint; requests is constrained but absent, which is fine.
    assert codes(findings) == ["DLK224"]
    assert findings[0].path == str(tmp_path / "constraints.txt") and findings[0].line == 1


def test_unchecked_lines_are_reported_not_failed(tmp_path):
    path = write(tmp_path / "requirements.txt", """
        -e ./libs/omi-utils
        opuslib @ https://${TOKEN}@files.example.org/direct/other.tar.gz
        --extra-index-url https://files.example.org/simple
        """)
    findings = check_drift(read_requirements(path), lock("drift"))
    assert [(f.code, f.level) for f in findings] == [("DLK229", Level.NOTE), ("DLK226", Level.WARNING)]


def test_stale_packages_needs_dependency_data(tmp_path):
    path = write(tmp_path / "requirements.txt", "requests\n")
    lines = read_requirements(path)
    assert stale_packages(lines, lock("drift")) is None  # like uv's output: no `dependencies`
    findings = stale_packages(lines, lock("dependencies"))
    assert [f.message.split(" ")[0] for f in findings] == ["leftover"]
    assert findings[0].code == "DLK230" and findings[0].line == lock("dependencies").by_name("leftover")[0].line


def test_every_emitted_code_is_documented():
    all_findings = [
        *check_python(lock("python"), "3", source="s"),
        *check_python(lock("python"), "3.10", source="s"),
        *check_python(lock("python"), "3.11", source="s"),
        *check_platform(lock("platforms"), "linux/arm64", python_version="3.11"),
        *check_platform(lock("sources"), "linux/amd64", python_version="3.11"),
        *check_platform(lock("environments"), "linux/amd64", python_version="3"),
    ]
    for finding in all_findings:
        assert finding.code in CHECKS
    assert all(code.startswith("DLK2") and text.endswith(".") for code, text in CHECKS.items())
    assert sys.modules["dockerlock.lockfile"].__doc__


def test_every_public_name_of_the_lock_package_loads_from_its_module():
    import dockerlock.lockfile as lockfile

    # the lazily loaded names (their table) and the public list (for linters) must agree
    assert sorted(lockfile.__all__) == sorted(["CHECKS", *lockfile._HOMES])
    for name in lockfile.__all__:
        value = getattr(lockfile, name)
        assert value is not None, name
        if callable(value) and not isinstance(value, type):
            assert value.__module__.startswith("dockerlock.lockfile."), name
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        lockfile.nothing_here  # noqa: B018
