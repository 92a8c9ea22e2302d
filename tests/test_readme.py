"""The README's quick start, kept in step with CI and with what the CLI prints.

The quick start has two commands: install and preview the bundled example, and install
the test extra and run the suite. ``.ci/run`` runs the second one in a fresh virtual
environment; the first one's output is the README's top diff, a docs example
(``tests/docs_examples.py``) regenerated from the CLI. The last test installs into a
fresh virtual environment for real, as a new user would.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def quick_start() -> list[str]:
    section = (ROOT / "README.md").read_text("utf-8").split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_quick_start_has_the_two_commands():
    preview, tests = quick_start()
    assert preview == "python3 -m pip install . && dockerlock migrate --diff examples/omi"
    assert tests == "python3 -m pip install -e '.[test]' && python3 -m pytest"


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text("utf-8")
    _, tests = quick_start()
    assert tests.replace("python3 ", "python ") in script.splitlines()


def test_the_top_diff_is_generated_from_the_quick_start_command():
    readme = (ROOT / "README.md").read_text("utf-8")
    preview, _ = quick_start()
    command = preview.split(" && ", 1)[1]
    marker = re.search(r"<!-- docs-example [^:]*: (.*?) -->\n```diff\n", readme)
    assert marker and marker.group(1) == command  # tests/test_docs_examples.py compares its output


@pytest.mark.network
def test_quick_start_in_a_fresh_virtual_environment(tmp_path):
    """``pip install .`` into a new venv, then the preview command from a copy of the clone."""
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.egg-info",
                                                               "build", "dist", ".pytest_cache"))
    (clone / ".git").mkdir()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "."], cwd=clone, capture_output=True,
                             text=True, timeout=600)
    if install.returncode != 0:
        pytest.skip(f"pip install . failed (no package index?): {install.stderr.strip()[-300:]}")
    preview, _ = quick_start()
    argv = shlex.split(preview.split(" && ", 1)[1])
    run = subprocess.run([str(venv / "bin" / argv[0]), *argv[1:]], cwd=clone, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1, run.stderr
    assert run.stdout.startswith("--- a/examples/omi/backend/Dockerfile\n+++ b/examples/omi/backend/Dockerfile\n")
    assert "+RUN uv pip sync /tmp/pylock.toml --python /opt/venv/bin/python" in run.stdout
    assert run.stderr == ("examples/omi/backend/Dockerfile: would convert 1 stanza\n"
                          "1 file would be converted (1 stanza), 0 unchanged, 0 stanzas skipped, 0 errors\n")
