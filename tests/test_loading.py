"""The loader's build-context root: walk up from the Dockerfile's real folder until the COPY
sources exist, stopping at the repository root; what one file learns about the disk serves the
next (``DiskMemo``) without changing any answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockerlock.loading import DiskMemo, infer_root, repository_root


def _tree(root: Path, files: list[str]) -> None:
    (root / ".git").mkdir(parents=True, exist_ok=True)
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not name.endswith("/"):
            path.write_text("")


def test_walks_up_to_the_folder_that_holds_every_source(tmp_path):
    _tree(tmp_path, ["backend/Dockerfile", "backend/requirements.txt", "backend/main.py"])
    root, inferred = infer_root(tmp_path / "backend" / "Dockerfile", ["backend/requirements.txt", "backend/"])
    assert (root, inferred) == (tmp_path.resolve(), True)


def test_stays_in_the_dockerfile_folder_when_its_sources_are_there(tmp_path):
    _tree(tmp_path, ["svc/Dockerfile", "svc/requirements.txt", "requirements.txt"])
    assert infer_root(tmp_path / "svc" / "Dockerfile", ["requirements.txt"])[0] == (tmp_path / "svc").resolve()


def test_a_wildcard_source_in_a_folder_whose_name_has_glob_characters(tmp_path):
    # The parent holds every source too; only a correctly read wildcard keeps the folder itself.
    _tree(tmp_path, ["svc[1]/Dockerfile", "svc[1]/a.txt", "svc[1]/app/", "svc[1]/main.py",
                     "x.txt", "app/", "main.py"])
    root, _ = infer_root(tmp_path / "svc[1]" / "Dockerfile", ["*.txt", "app/", "main.py"])
    assert root == (tmp_path / "svc[1]").resolve()


def test_the_folder_is_the_real_one_behind_a_symlink(tmp_path):
    _tree(tmp_path, ["real/svc/Dockerfile", "real/svc/requirements.txt"])
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "real" / "other").mkdir()
    (tmp_path / "file-link").symlink_to(tmp_path / "real" / "svc" / "Dockerfile")
    via_folder = tmp_path / "link" / "svc" / "Dockerfile"
    dotdot = tmp_path / "link" / "other" / ".." / "svc" / "Dockerfile"
    for path in (via_folder, dotdot, tmp_path / "file-link"):
        assert infer_root(path, [])[0] == path.resolve().parent, path


def test_outside_a_repository_it_looks_three_folders_up_at_most(tmp_path):
    if repository_root(tmp_path) is not None:
        pytest.skip("the temporary folder is inside a repository here")
    deep = tmp_path / "a" / "b" / "c" / "d"
    deep.mkdir(parents=True)
    (deep / "Dockerfile").write_text("")
    (tmp_path / "a" / "b" / "src").mkdir()
    assert infer_root(deep / "Dockerfile", ["src/"])[0] == (tmp_path / "a" / "b").resolve()
    (tmp_path / "lib").mkdir()  # four folders up: too far, so no folder has it and the start stays
    assert infer_root(deep / "Dockerfile", ["lib/"])[0] == deep.resolve()


def test_what_one_file_learns_serves_the_next_with_the_same_answers(tmp_path):
    files = []
    for i in range(4):
        files += [f"svc{i}/Dockerfile", f"svc{i}/requirements.txt"]
    _tree(tmp_path, files + ["shared/common.txt"])
    memo = DiskMemo()
    sources = ["requirements.txt", "shared/common.txt", "*.txt"]
    for i in range(4):
        dockerfile = tmp_path / f"svc{i}" / "Dockerfile"
        assert infer_root(dockerfile, sources, memo=memo) == infer_root(dockerfile, sources)
    assert memo.repositories[str(tmp_path.resolve())] == str(tmp_path.resolve())
    assert (str(tmp_path.resolve()), "shared/common.txt") in memo.exists


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_a_symlink_loop_folder_does_not_hang(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("")
    assert infer_root(tmp_path / "svc" / "Dockerfile", ["loop/x"])[0] == (tmp_path / "svc").resolve()


def test_discovery_walks_in_name_order_and_passes_over_venvs_links_and_excluded_folders(tmp_path):
    from dockerlock.runner import discover
    from dockerlock.settings import Settings

    names = ["Dockerfile", "b/Dockerfile", "a/z/api.Dockerfile", "a/Dockerfile.dev", "a/README.md",
             "venv-like/pyvenv.cfg", "venv-like/Dockerfile", "venv-like/sub/Dockerfile",
             "node_modules/x/Dockerfile", "real/Dockerfile", "skip/Dockerfile"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("FROM x\n")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)  # listed, not entered
    (tmp_path / "not-venv").mkdir()
    (tmp_path / "not-venv" / "pyvenv.cfg").symlink_to(tmp_path / "missing")  # dangling: no venv
    (tmp_path / "not-venv" / "Dockerfile").write_text("FROM x\n")
    found = discover([tmp_path], Settings(exclude=("skip",)))
    assert [p.relative_to(tmp_path).as_posix() for p in found.files] == [
        "Dockerfile", "a/Dockerfile.dev", "a/z/api.Dockerfile", "b/Dockerfile", "not-venv/Dockerfile",
        "real/Dockerfile"]
    assert found.unsearchable == []


def test_a_lock_is_checked_against_its_own_folder_s_requirements_when_the_folder_name_has_glob_characters(
        tmp_path):
    """With the folder's name read as a pattern, the wildcard source was not found there and the
    parent (whose own lock matches its own requirements) became the context: the file converted
    against the wrong pair. Read as a name, the folder is the context, and its lock, which does not
    cover its requirements, stops the file."""
    from migrate_helpers import placeholder_lock, write_tree

    from dockerlock.engine import migrate_dockerfile
    from dockerlock.loading import ContextLoader
    from dockerlock.model import Dockerfile
    from dockerlock.settings import Settings

    text = ("FROM python:3.12-slim\nCOPY *.txt /app/\nCOPY app/ /app/\n"
            "RUN pip install --no-cache-dir -r /app/requirements.txt\n")
    write_tree(tmp_path, {
        "requirements.txt": "six==1.16.0\n", "pylock.toml": placeholder_lock(), "app/main.py": "",
        "svc[1]/Dockerfile": text, "svc[1]/requirements.txt": "requests==2.32.0\n",
        "svc[1]/pylock.toml": placeholder_lock(), "svc[1]/app/main.py": ""})
    (tmp_path / ".git").mkdir()
    path = tmp_path / "svc[1]" / "Dockerfile"
    df = Dockerfile.from_text(text, str(path))
    ctx = ContextLoader().load(path, df, Settings(record=False))
    assert ctx.root == (tmp_path / "svc[1]").resolve()
    result = migrate_dockerfile(df, ctx, Settings(record=False))
    assert result.new_text is None
    assert result.error is not None and result.error.code == "DLK107"
    assert "requests" in result.error.reason
