"""The ``--user``, ``--prefix`` and ``--target`` conversions, built for real (``@pytest.mark.build``).

Each test runs migrate in-process on a pip Dockerfile (with a lock uv makes now), builds the
original and the migrated Dockerfile with dockerlock's own build verification, and asserts that
both images hold the same distributions in the same directory, that the same imports work, and
that the console script (``tabulate``) lands where pip put it and runs.

The harness's ``python:3.11-slim`` is Debian's python3, and Debian's ``--prefix`` layout is not
the one the real image has: its ``posix_local`` scheme puts packages in
``PREFIX/local/lib/python3.11/dist-packages``, where python.org's build (the real
``python:3.11-slim``, installed in /usr/local) uses ``PREFIX/lib/python3.11/site-packages``. So
the forms are built on ``python_org_layout``, a stand-in with python.org's layout (a venv at
/usr/local: sys.prefix /usr/local, the prefix scheme, the user site on); the Dockerfiles say
``FROM python:3.11-slim`` as users write them and only the built copies name the stand-in.
Debian's own python3 is built as well, for ``--user`` (same layout as python.org's) and for
``--prefix`` (a different one: see ``test_prefix_on_debian_python``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from build_harness import unavailable
from dockerlock.engine import migrate_dockerfile
from dockerlock.loading import context_at
from dockerlock.model import Dockerfile
from dockerlock.settings import Settings
from dockerlock.verify.builds import BuildVerification, verify_builds

pytestmark = [pytest.mark.build, pytest.mark.network]

#: Small pure-Python distributions: tabulate has a console script, python-dateutil depends on six.
PINS = {"tabulate": "0.9.0", "python-dateutil": "2.9.0.post0", "six": "1.17.0", "idna": "3.10"}
MODULES = {"tabulate", "dateutil", "six", "idna"}
#: What ``tabulate -f plain`` prints for "a 1 / bb 22": text left-aligned, numbers right-aligned,
#: columns two spaces apart.
TABLE_INPUT, TABLE = r"a 1\nbb 22\n", "a    1\nbb  22"
DEBIAN_PYTHON = "python:3.11-slim"      # the harness's base: Debian bookworm's python3 and python3-pip
SITE = "lib/python3.11/site-packages"


@pytest.fixture(scope="module")
def forms_context(tmp_path_factory, uv_command) -> Path:
    """A build context with the pinned requirements and a pylock.toml uv makes from them now."""
    context = tmp_path_factory.mktemp("forms") / "context"
    context.mkdir()
    (context / "requirements.txt").write_text("".join(f"{n}=={v}\n" for n, v in PINS.items()))
    (context / ".python-version").write_text("3.11\n")
    done = subprocess.run([*uv_command, "pip", "compile", "--quiet", "--format", "pylock.toml",
                           "--universal", "--python-version", "3.11", str(context / "requirements.txt"),
                           "-o", str(context / "pylock.toml")],
                          timeout=300, env=dict(os.environ, UV_NO_CONFIG="1"), capture_output=True, text=True)
    if done.returncode != 0:
        unavailable("cannot generate the lock (package index unreachable?): " + done.stderr.strip()[-300:])
    return context


@pytest.fixture(scope="module")
def python_org_layout(podman, tmp_path_factory) -> str:
    """A stand-in for the real python:3.11-slim's layout, built from the harness's Debian base.

    A venv at /usr/local (with the system site, which keeps the user site on, as python.org's
    build has it) gives sys.prefix /usr/local, packages in /usr/local/lib/python3.11/site-packages
    and the prefix scheme for ``pip --prefix``, as python.org's build installed in /usr/local does.
    """
    tag = "localhost/dlk-forms-python-org-layout:3.11-slim"
    context = tmp_path_factory.mktemp("python-org-layout")
    (context / "Dockerfile").write_text(
        f"FROM {DEBIAN_PYTHON}\n"
        "RUN rm /usr/local/bin/python /usr/local/bin/python3 /usr/local/bin/pip /usr/local/bin/pip3 \\\n"
        " && /usr/bin/python3 -m venv --system-site-packages /usr/local\n")
    podman.build(context, context / "Dockerfile", tag, no_cache=True)
    yield tag
    podman.remove(tag)


def migrate(text: str, context: Path) -> str:
    """dockerlock's migrate output for ``text`` in ``context`` (default settings, as users run it)."""
    df = Dockerfile.from_text(text, "Dockerfile")
    result = migrate_dockerfile(df, context_at(context, df, Settings()), Settings())
    assert result.error is None and result.new_text is not None, (result.error, result.findings)
    return result.new_text


def on_base(text: str, base: str) -> str:
    """``text`` with its ``FROM python:3.11-slim`` lines naming ``base`` (the copy that is built)."""
    built, count = re.subn(r"(?m)^FROM python:3\.11-slim\b", f"FROM {base}", text)
    assert count >= 1
    return built


@dataclass(frozen=True)
class Built:
    """Both images of a verification (kept while the test inspects them)."""

    verification: BuildVerification
    tags: dict[str, str]                # "original" / "migrated" -> image tag


@contextlib.contextmanager
def built_pair(podman, context: Path, original: str, migrated: str, workdir: Path):
    """Build both Dockerfiles with ``verify_builds``; remove the images afterwards.

    The images are kept past ``verify_builds`` for the checks it does not make (where the
    distributions are, the original's imports, the console script). Should a build fail, what it
    made stays until the session's harness is removed.
    """
    original_path = workdir / "Dockerfile.original"     # outside the context, like the migrated one
    original_path.write_text(original)
    verification = verify_builds(original_path, migrated, context, builder=podman, keep_images=True)
    tags, labels = {}, set()
    for side, build in (("original", verification.original_build), ("migrated", verification.migrated_build)):
        argv = list(build.command)
        tags[side] = argv[argv.index("-t") + 1]
        labels.add(argv[argv.index("--label") + 1])
    try:
        yield Built(verification, tags)
    finally:
        for label in labels:
            podman.remove_labelled(label)


WHERE_SCRIPT = r"""
import importlib.metadata as md, json, os, re
seen = {}
for dist in md.distributions():   # in sys.path order: the first one is the one imports use
    name = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
    seen.setdefault(name, os.path.abspath(dist.locate_file("")))   # "" on sys.path: the WORKDIR
print(json.dumps(seen))
"""


def install_dirs(podman, tag: str) -> dict[str, str]:
    """Distribution name -> the directory its metadata is in, as the image's Python sees it."""
    output = podman.run_python(tag, WHERE_SCRIPT).output
    return json.loads(next(line for line in reversed(output.splitlines()) if line.startswith("{")))


def run_shell(podman, tag: str, command: str) -> tuple[int | None, str]:
    result = podman.smoke(tag, [], command)
    return result.command_returncode, result.command_output


def assert_same_install(podman, built: Built, directory: str, script: str) -> None:
    """Same distributions in ``directory`` on both sides, same imports, ``script`` runs in both."""
    verification = built.verification
    assert verification.differences == [], [d.describe() for d in verification.differences]
    assert verification.ok and verification.smoke_regressions == {}
    for side, packages in (("original", verification.original_packages),
                           ("migrated", verification.migrated_packages)):
        installed = {name: dist.version for name, dist in packages.items()}
        assert PINS.items() <= installed.items(), side          # not vacuous: the pins are there
        where = install_dirs(podman, built.tags[side])
        assert {name: where[name] for name in PINS} == {name: directory for name in PINS}, side
    # the same import smoke test (the migrated image's modules) passes in both images
    assert MODULES <= set(verification.smoke.modules) and verification.smoke.ok
    assert podman.smoke(built.tags["original"], verification.smoke.modules).failed == {}
    for side, tag in built.tags.items():
        returncode, output = run_shell(podman, tag, f"test -x {script} && printf '{TABLE_INPUT}' | {script} -f plain")
        assert returncode == 0 and TABLE in output, (side, output)


# --------------------------------------------------------------------------- --user

USER_FORMS = {
    # name: (Dockerfile, the uv words that stand for --user, the user base it must resolve to)
    "root": (
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
        "RUN pip install --user -r requirements.txt\n",
        '--prefix "$(python3 -m site --user-base)" --python python3', "/root/.local"),
    "non-root USER": (
        "FROM python:3.11-slim\nRUN useradd --create-home app\nUSER app\nWORKDIR /home/app\n"
        "COPY requirements.txt .\nRUN pip install --user --no-cache-dir -r requirements.txt\n",
        '--prefix "$(python3 -m site --user-base)" --python python3', "/home/app/.local"),
    "PYTHONUSERBASE, python -m pip": (
        "FROM python:3.11-slim\nENV PYTHONUSERBASE=/opt/pyuser\nWORKDIR /app\nCOPY requirements.txt .\n"
        "RUN python -m pip install --user -r requirements.txt\n",
        '--prefix "$(python -m site --user-base)" --python python', "/opt/pyuser"),
}


# Debian's user scheme is python.org's (only its prefix scheme differs): one form is enough there.
@pytest.mark.parametrize(("form", "base"), [*((form, "python.org layout") for form in USER_FORMS),
                                            ("root", "Debian python3")])
def test_user_scheme_installs_the_same_distributions_in_the_user_site(
        form, base, request, podman, forms_context, tmp_path):
    text, uv_words, user_base = USER_FORMS[form]
    image = request.getfixturevalue("python_org_layout") if base == "python.org layout" else DEBIAN_PYTHON
    after = migrate(text, forms_context)
    assert f"RUN uv pip install -r pylock.toml {uv_words} " in after
    with built_pair(podman, forms_context, on_base(text, image), on_base(after, image), tmp_path) as built:
        assert_same_install(podman, built, f"{user_base}/{SITE}", f"{user_base}/bin/tabulate")


# --------------------------------------------------------------------------- --prefix

PREFIX_BUILDER = (
    "FROM python:3.11-slim AS builder\n"
    "WORKDIR /app\n"
    "COPY requirements.txt .\n"
    "RUN pip install --prefix=/install -r requirements.txt\n\n"
    "FROM python:3.11-slim\n"
    "COPY --from=builder /install /usr/local\n"
    "WORKDIR /app\n")


def test_prefix_builder_pattern_installs_the_same_distributions(podman, python_org_layout, forms_context, tmp_path):
    after = migrate(PREFIX_BUILDER, forms_context)
    assert "RUN uv pip install -r pylock.toml --prefix /install " in after
    assert after.endswith("FROM python:3.11-slim\nCOPY --from=builder /install /usr/local\nWORKDIR /app\n")
    with built_pair(podman, forms_context, on_base(PREFIX_BUILDER, python_org_layout),
                    on_base(after, python_org_layout), tmp_path) as built:
        # the final stage's Python sees what the builder stage put under /install
        assert_same_install(podman, built, f"/usr/local/{SITE}", "/usr/local/bin/tabulate")


def test_prefix_on_debian_python(podman, forms_context, tmp_path):
    """On Debian's python3, the conversion must keep pip's layout under the prefix, or refuse."""
    text = ("FROM debian:bookworm-slim AS builder\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends python3-pip\n"
            "WORKDIR /app\n"
            "COPY requirements.txt .\n"
            "RUN pip install --prefix=/install -r requirements.txt\n")
    df = Dockerfile.from_text(text, "Dockerfile")
    result = migrate_dockerfile(df, context_at(forms_context, df, Settings()), Settings())
    if result.new_text is None or "uv pip install" not in result.new_text:
        return                              # refused: what uv cannot express is left to pip
    layouts = {}
    label = "dockerlock.tests.forms=debian-prefix"
    try:
        for side, dockerfile in (("original", text), ("migrated", result.new_text)):
            path = tmp_path / f"Dockerfile.{side}"
            path.write_text(dockerfile.replace("FROM debian:bookworm-slim", f"FROM {DEBIAN_PYTHON}"))
            tag = f"localhost/dlk-forms-debian-prefix-{side}:1"
            podman.build(forms_context, path, tag, no_cache=False, extra_args=["--label", label])
            returncode, output = run_shell(podman, tag, "cd /install && find . -name '*.dist-info' | sort")
            assert returncode == 0, output
            layouts[side] = [line for line in output.splitlines() if line.endswith(".dist-info")]
    finally:
        podman.remove_labelled(label)
    assert len(layouts["original"]) == len(PINS)     # pip's own layout, whatever it is
    assert layouts["migrated"] == layouts["original"]


# --------------------------------------------------------------------------- --target

TARGET_FORMS = {
    "--target /deps": (
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
        "RUN pip install --target /deps -r requirements.txt\nENV PYTHONPATH=/deps\n",
        "--target /deps", "/deps"),
    "Lambda task root": (
        "FROM python:3.11-slim\nENV LAMBDA_TASK_ROOT=/var/task\nWORKDIR ${LAMBDA_TASK_ROOT}\n"
        "COPY requirements.txt ${LAMBDA_TASK_ROOT}\n"
        'RUN pip install -r requirements.txt --target "${LAMBDA_TASK_ROOT}"\n'
        "ENV PYTHONPATH=${LAMBDA_TASK_ROOT}\n",
        '--target "${LAMBDA_TASK_ROOT}"', "/var/task"),
}


@pytest.mark.parametrize("form", list(TARGET_FORMS))
def test_target_installs_the_same_distributions_in_the_directory(form, podman, python_org_layout,
                                                                 forms_context, tmp_path):
    text, uv_words, directory = TARGET_FORMS[form]
    after = migrate(text, forms_context)
    assert f"RUN uv pip install -r pylock.toml {uv_words} " in after
    with built_pair(podman, forms_context, on_base(text, python_org_layout),
                    on_base(after, python_org_layout), tmp_path) as built:
        assert_same_install(podman, built, directory, f"{directory}/bin/tabulate")
