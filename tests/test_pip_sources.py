"""Where a pip step takes its packages from, and migrate's check that the lock came from there too.

The same version from another index can be another build (torch 2.3.0 from PyPI pulls CUDA,
2.3.0+cpu from PyTorch's index does not), which the requirements check cannot see: a step with
its own indexes needs a lock that records being resolved from them (DLK122).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dockerlock.context import BuildContext, FileIndex
from dockerlock.facts.pip_sources import pip_sources, same_sources
from dockerlock.facts.stanzas import pip_stanzas
from dockerlock.model import Dockerfile
from dockerlock.settings import Settings
from migrate_helpers import placeholder_lock, run_migrate

TORCH_CPU = "https://download.pytorch.org/whl/cpu"


def sources_of(text: str):
    df = Dockerfile.from_text(text, "Dockerfile")
    ctx = BuildContext(Path("/nonexistent"), True, FileIndex(complete=False))
    [stanza] = pip_stanzas(df, ctx, Settings())
    return pip_sources(df, stanza)


HEAD = "FROM python:3.11-slim\nCOPY requirements.txt .\n"


@pytest.mark.parametrize(("body", "args"), [
    ("RUN pip install -r requirements.txt", ()),
    (f"RUN pip install -r requirements.txt --extra-index-url {TORCH_CPU}", ("--extra-index-url", TORCH_CPU)),
    ("RUN pip install -i https://pypi.example.org/simple/ -r requirements.txt",
     ("--index-url", "https://pypi.example.org/simple")),
    (f"ARG INDEX={TORCH_CPU}\nRUN pip install -r requirements.txt --extra-index-url=$INDEX",
     ("--extra-index-url", TORCH_CPU)),
    ('ENV PIP_EXTRA_INDEX_URL="https://a.example.org/simple https://b.example.org/simple"\n'
     "RUN pip install -r requirements.txt",
     ("--extra-index-url", "https://a.example.org/simple", "--extra-index-url", "https://b.example.org/simple")),
    ("RUN PIP_INDEX_URL=https://pypi.example.org/simple pip install -r requirements.txt",
     ("--index-url", "https://pypi.example.org/simple")),
    ("ENV PIP_NO_INDEX=0\nRUN pip install -r requirements.txt", ()),
    # the canonical order: the index first, extra indexes sorted, whatever order they were written in
    (f"RUN pip install --extra-index-url {TORCH_CPU} -r requirements.txt -i https://pypi.example.org/simple",
     ("--index-url", "https://pypi.example.org/simple", "--extra-index-url", TORCH_CPU)),
])
def test_the_sources_pip_reads_are_the_steps_sources(body, args):
    found = sources_of(HEAD + body + "\n")
    assert (found.args, found.unknown) == (args, None)


@pytest.mark.parametrize(("body", "why"), [
    ("ARG PIP_INDEX_URL\nRUN pip install -r requirements.txt", "PIP_INDEX_URL comes from the build (ARG on line 3)"),
    ("ARG TOKEN\nRUN pip install -r requirements.txt --index-url https://u:${TOKEN}@pypi.example.org/simple",
     "--index-url https://u:${TOKEN}@pypi.example.org/simple is set at build time"),
    ("COPY pip.conf /etc/pip.conf\nRUN pip install -r requirements.txt",
     "a pip configuration file is put into the image on line 3"),
    ("COPY config/ /root/.config/pip/\nRUN pip install -r requirements.txt",
     "a pip configuration file is put into the image on line 3"),
    ("RUN pip config set global.index-url https://pypi.example.org/simple\nRUN pip install -r requirements.txt",
     "line 3 writes pip's configuration"),
    ("ENV PIP_CONFIG_FILE=/app/pip.conf\nRUN pip install -r requirements.txt",
     "pip reads the configuration file PIP_CONFIG_FILE names (ENV on line 3)"),
    ("RUN pip install --no-index --find-links /wheels -r requirements.txt",
     "--find-links /wheels is a folder in the image"),
])
def test_sources_known_only_at_build_time_are_unknown(body, why):
    assert sources_of(HEAD + body + "\n").unknown == why


def test_same_sources_ignores_order_of_extra_indexes_and_trailing_slashes():
    a = ("--extra-index-url", "https://a.example.org/simple/", "--extra-index-url", "https://b.example.org/simple")
    b = ("--extra-index-url", "https://b.example.org/simple", "--extra-index-url", "https://a.example.org/simple")
    assert same_sources(a, b)
    assert not same_sources(a, a[:2])
    assert not same_sources((), ("--no-index",))


# --------------------------------------------------------------------------------------------------
# DLK122: the lock must come from the same sources

STEP = HEAD + f"RUN pip install -r requirements.txt --extra-index-url {TORCH_CPU}\n"
FILES = {"requirements.txt": "six==1.16.0\n"}


def recorded(indexes: list[str] | None) -> str:
    record = '\n[tool.dockerlock]\nrequirements = ["requirements.txt"]\npython = "3.11"\nplatform = "linux/amd64"\n'
    if indexes is not None:
        record += "indexes = [" + ", ".join(f'"{i}"' for i in indexes) + "]\n"
    return placeholder_lock(extra=record)


def test_a_lock_without_a_record_of_its_sources_does_not_stand_in_for_another_index():
    result = run_migrate(STEP, {**FILES, "pylock.toml": placeholder_lock()})
    assert result.new_text is None and result.error is not None and result.error.code == "DLK122"
    assert result.error.reason.startswith(f"pip installs from --extra-index-url {TORCH_CPU}, and ")
    assert result.error.reason.endswith("/pylock.toml does not record which indexes it was resolved from; make a "
                                        "lock from the same sources with `dockerlock lock Dockerfile` (or pass "
                                        "--allow-drift)")


def test_a_lock_that_records_the_same_sources_converts():
    result = run_migrate(STEP, {**FILES, "pylock.toml": recorded(["--extra-index-url", TORCH_CPU + "/"])})
    assert result.error is None and result.new_text is not None
    assert f"--extra-index-url {TORCH_CPU}" in result.new_text  # uv is given the same sources


@pytest.mark.parametrize(("step", "indexes", "fragment"), [
    (STEP, [], f"pip installs from --extra-index-url {TORCH_CPU}, but "),
    (HEAD + "RUN pip install -r requirements.txt\n", ["--extra-index-url", TORCH_CPU],
     "pip installs from PyPI (pip's default index), but "),
])
def test_a_lock_from_other_sources_stops_the_file(step, indexes, fragment):
    result = run_migrate(step, {**FILES, "pylock.toml": recorded(indexes)})
    assert result.error is not None and result.error.code == "DLK122"
    assert result.error.reason.startswith(fragment)
    assert " was resolved from " in result.error.reason


def test_sources_known_only_at_build_time_stop_the_file_with_what_to_do():
    step = HEAD + "ARG PIP_EXTRA_INDEX_URL\nRUN pip install -r requirements.txt\n"
    result = run_migrate(step, {**FILES, "pylock.toml": recorded([])})
    assert result.error is not None and result.error.code == "DLK122"
    assert result.error.reason.startswith("pip's package sources are only known at build time "
                                          "(PIP_EXTRA_INDEX_URL comes from the build (ARG on line 3)), so ")
    assert result.error.reason.endswith("lock with the same sources yourself and pass --allow-drift")


def test_allow_drift_converts_with_a_warning():
    result = run_migrate(STEP, {**FILES, "pylock.toml": placeholder_lock()}, Settings(record=False, allow_drift=True))
    assert result.error is None and result.new_text is not None
    assert [f.code for f in result.findings if f.code.startswith("DLK12")] == ["DLK123"]
    warning = next(f for f in result.findings if f.code == "DLK123")
    assert warning.message.endswith("does not record which indexes it was resolved from; converted anyway "
                                    "(--allow-drift): the image will install what the lock names")
    assert warning.hint is None


def test_a_pypi_step_and_a_lock_without_a_record_convert_as_before():
    result = run_migrate(HEAD + "RUN pip install -r requirements.txt\n", {**FILES, "pylock.toml": placeholder_lock()})
    assert result.error is None and result.new_text is not None
