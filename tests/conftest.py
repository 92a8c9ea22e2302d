"""Shared test helpers: fixture and corpus discovery.

The corpus (``../shared/corpus``, beside the repository) holds real public
Dockerfiles. Corpus tests read it when it exists and skip when it does not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# Hypothesis profiles ("ci" default, "nightly", "dev") must exist before the
# --hypothesis-profile option is applied, i.e. before test modules are imported.
import strategies  # noqa: E402,F401

# Real image builds: one harness (podman + local base images) for the whole session, shared by
# every module that builds images.
from build_harness import harness, podman, uv_command  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_dockerfiles() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.glob("*/*") if p.is_file() and p.name != "INDEX.tsv"
                  and "requirements" not in p.name and "pylock" not in p.name)


def model_fixtures() -> list[Path]:
    return sorted((FIXTURES / "model").glob("*.Dockerfile"))


def corpus_params() -> list:
    files = corpus_dockerfiles()
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"corpus not found at {CORPUS}"))]
    return [pytest.param(p, id=p.name) for p in files]


def pytest_collection_modifyitems(config, items):
    """Real image builds take minutes: CI runs them (``.ci/run`` sets DOCKERLOCK_BUILD_TESTS=1);
    a default local run skips them, so it stays under about three minutes."""
    import os

    if os.environ.get("DOCKERLOCK_BUILD_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="image builds run in CI; set DOCKERLOCK_BUILD_TESTS=1 to run them here")
    for item in items:
        if "build" in item.keywords:
            item.add_marker(skip)


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker per core, but none (one process) when image builds run, so that one
    container harness serves them all and no two podman builds race for its storage."""
    import os

    return 0 if os.environ.get("DOCKERLOCK_BUILD_TESTS") == "1" else None
