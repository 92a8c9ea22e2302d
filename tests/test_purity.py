"""Rules and facts are pure: once the build context is loaded, planning touches no file system.

Issue 12: "a test runs planning with file system calls patched to raise". The loader reads
everything first; then every way Python reaches the disk or starts a process is made to fail,
and migrate, check and revert must still plan exactly what they planned with the disk there.
"""

from __future__ import annotations

import builtins
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dockerlock.engine import check_dockerfile, migrate_dockerfile
from dockerlock.loading import ContextLoader
from dockerlock.model import Dockerfile
from dockerlock.rules.revert import revert_dockerfile
from dockerlock.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


class TouchedTheDisk(AssertionError):
    pass


def _forbid(monkeypatch) -> list[str]:
    calls: list[str] = []

    def refuse(name):
        def fail(*args, **kwargs):
            calls.append(f"{name}{args[:1]!r}")
            raise TouchedTheDisk(f"planning called {name}{args[:1]!r}")
        return fail

    for name in ("stat", "lstat", "open", "listdir", "scandir", "walk", "readlink", "access", "getcwd"):
        monkeypatch.setattr(os, name, refuse(f"os.{name}"))
    monkeypatch.setattr(os.path, "exists", refuse("os.path.exists"))
    monkeypatch.setattr(os.path, "isfile", refuse("os.path.isfile"))
    monkeypatch.setattr(os.path, "isdir", refuse("os.path.isdir"))
    monkeypatch.setattr(builtins, "open", refuse("open"))
    monkeypatch.setattr(subprocess, "Popen", refuse("subprocess.Popen"))
    for method in ("exists", "is_file", "is_dir", "resolve", "stat", "read_text", "read_bytes", "iterdir", "glob"):
        monkeypatch.setattr(Path, method, refuse(f"Path.{method}"))
    return calls


@pytest.fixture()
def omi(tmp_path):
    shutil.copytree(ROOT / "examples/omi", tmp_path / "omi")
    (tmp_path / ".git").mkdir()
    return tmp_path / "omi/backend/Dockerfile"


def _plan(path: Path, df: Dockerfile, ctx, settings):
    migrated = migrate_dockerfile(df, ctx, settings)
    checked = check_dockerfile(df, ctx, settings)
    after = Dockerfile.from_text(migrated.new_text, str(path))
    reverted = revert_dockerfile(after, ctx, settings)
    return ((migrated.new_text, [(f.code, f.line, f.message) for f in migrated.findings]),
            [(f.code, f.line, f.message) for f in checked.findings], reverted.new_text)


def test_migrate_check_and_revert_plan_without_the_disk(omi, monkeypatch):
    settings = Settings()
    df = Dockerfile.from_bytes(omi.read_bytes(), str(omi))
    ctx = ContextLoader().load(omi, df, settings)  # the one place that reads
    with_disk = _plan(omi, df, ctx, settings)
    assert with_disk[0][0] is not None and with_disk[2] == df.source.text  # converted, and reverts exactly
    fresh = Dockerfile.from_bytes(df.source.to_bytes(), str(omi))  # no cached facts from the first run
    calls = _forbid(monkeypatch)
    try:
        without = _plan(omi, fresh, ctx, settings)
    except TouchedTheDisk:
        without = None
    finally:
        monkeypatch.undo()  # before pytest reports anything
    assert calls == []
    assert without == with_disk
