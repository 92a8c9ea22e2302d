"""Every pip requirements form uv can express (issue 13), and the paths a rewrite must get right
(issue 14): exact before/after, each also checked for a no-op second run, the same result on
CRLF, and an exact revert (``assert_migrates``)."""

from __future__ import annotations

import pytest

from migrate_helpers import UV, assert_migrates, placeholder_lock, run_migrate
from dockerlock.settings import Settings

LOCK = placeholder_lock()
FILES = {"requirements.txt": "six==1.16.0\n", "pylock.toml": LOCK, ".python-version": "3.11\n"}
FLAGS = "--compile-bytecode --require-hashes --no-cache"
SYSTEM = f"--system {FLAGS}"


def test_docker_init_template_binds_the_lock():
    before = ("# syntax=docker/dockerfile:1\n"
              "ARG PYTHON_VERSION=3.11\n"
              "FROM python:${PYTHON_VERSION}-slim AS base\n"
              "WORKDIR /app\n"
              "RUN --mount=type=cache,target=/root/.cache/pip \\\n"
              "    --mount=type=bind,source=requirements.txt,target=requirements.txt \\\n"
              "    python -m pip install -r requirements.txt\n"
              "COPY . .\n")
    after = ("# syntax=docker/dockerfile:1\n"
             "ARG PYTHON_VERSION=3.11\n"
             "FROM python:${PYTHON_VERSION}-slim AS base\n"
             "WORKDIR /app\n"
             f"{UV}\n"
             "RUN --mount=type=cache,target=/root/.cache/uv \\\n"
             "    --mount=type=bind,source=pylock.toml,target=pylock.toml \\\n"
             "    UV_LINK_MODE=copy uv pip install -r pylock.toml --system --compile-bytecode --require-hashes\n"
             "COPY . .\n")
    assert_migrates(before, after, FILES)


def test_lambda_target_keeps_the_base_images_variable():
    before = ("FROM public.ecr.aws/lambda/python:3.12\n"
              "COPY requirements.txt ${LAMBDA_TASK_ROOT}\n"
              'RUN pip install -r requirements.txt --target "${LAMBDA_TASK_ROOT}"\n'
              'CMD ["app.handler"]\n')
    after = ("FROM public.ecr.aws/lambda/python:3.12\n"
             f"{UV}\n"
             "COPY pylock.toml ${LAMBDA_TASK_ROOT}/pylock.toml\n"
             f'RUN uv pip install -r pylock.toml --target "${{LAMBDA_TASK_ROOT}}" {FLAGS}\n'
             'CMD ["app.handler"]\n')
    assert_migrates(before, after, {"requirements.txt": "six==1.16.0\n",
                                    "pylock.toml": placeholder_lock(requires_python=">=3.12")})


def test_builder_prefix_then_copied_into_usr_local():
    before = ("FROM python:3.11-slim AS builder\n"
              "COPY requirements.txt .\n"
              "RUN pip install --prefix=/install -r requirements.txt\n"
              "FROM python:3.11-slim\n"
              "COPY --from=builder /install /usr/local\n")
    after = ("FROM python:3.11-slim AS builder\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version ./\n"
             f"RUN uv pip install -r pylock.toml --prefix /install {FLAGS}\n"
             "FROM python:3.11-slim\n"
             "COPY --from=builder /install /usr/local\n")
    assert_migrates(before, after, FILES)


def test_user_scheme_becomes_prefix_under_the_user_base():
    before = ("FROM python:3.11-slim\n"
              "RUN useradd -m app\n"
              "USER app\n"
              "WORKDIR /home/app\n"
              "COPY --chown=app requirements.txt .\n"
              "RUN pip install --user --no-cache-dir -r requirements.txt\n"
              "ENV PATH=/home/app/.local/bin:$PATH\n")
    after = ("FROM python:3.11-slim\n"
             "RUN useradd -m app\n"
             "USER app\n"
             "WORKDIR /home/app\n"
             f"{UV}\n"
             "COPY --chown=app pylock.toml .python-version ./\n"
             'RUN uv pip install -r pylock.toml --prefix "$(python3 -m site --user-base)" --python python3 '
             f"{FLAGS}\n"
             "ENV PATH=/home/app/.local/bin:$PATH\n")
    assert_migrates(before, after, FILES)


def test_conda_base_installs_into_the_environment_never_syncs():
    before = ("FROM continuumio/miniconda3\n"
              "WORKDIR /app\n"
              "COPY requirements.txt .\n"
              "RUN pip install -r requirements.txt\n")
    after = ("FROM continuumio/miniconda3\n"
             "WORKDIR /app\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version ./\n"
             f"RUN uv pip install -r pylock.toml {SYSTEM}\n")
    result = assert_migrates(before, after, {k: v for k, v in FILES.items() if k != ".python-version"} |
                             {".python-version": "3.11\n"})
    assert any("conda image" in f.message for f in result.findings)


@pytest.mark.parametrize("launcher,python", [
    ("python${PYTHON_VERSION} -m pip", "python${PYTHON_VERSION}"),
    ("python3.11 -m pip", "python3.11"),
    ("pip3.11", "python3.11"),
])
def test_versioned_launchers_name_their_interpreter(launcher, python):
    before = ("FROM python:3.11-slim\n"
              "ARG PYTHON_VERSION=3.11\n"
              "COPY requirements.txt /srv/\n"
              f"RUN {launcher} install -r /srv/requirements.txt\n")
    after = ("FROM python:3.11-slim\n"
             "ARG PYTHON_VERSION=3.11\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version /srv/\n"
             f"RUN uv pip install -r /srv/pylock.toml --python {python} {FLAGS}\n")
    assert_migrates(before, after, FILES)


def test_pip_launcher_in_a_variable_is_read_through_its_default():
    before = ("FROM python:3.11-slim\n"
              "ARG PIP=pip3\n"
              "COPY requirements.txt .\n"
              "RUN $PIP install -r requirements.txt\n")
    after = ("FROM python:3.11-slim\n"
             "ARG PIP=pip3\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version ./\n"
             f"RUN uv pip install -r pylock.toml {SYSTEM}\n")
    assert_migrates(before, after, FILES)
    unknown = run_migrate("FROM python:3.11-slim\nCOPY requirements.txt .\nRUN $PIP install -r requirements.txt\n",
                          FILES)
    assert unknown.new_text is None
    assert [(f.code, f.message) for f in unknown.findings] == [
        ("DLK114", "pip install -r requirements.txt left as is: the pip launcher $PIP is a variable with no known "
                   "value: give it a default (ARG/ENV) or call pip directly")]


@pytest.mark.parametrize("launcher", ["${PIP_CMD}", "$PIP_CMD", '"${PIP_CMD}"'])
def test_pip_launcher_in_a_variable_of_any_name_is_seen(launcher):
    """A launcher variable whose name does not spell ``pip`` as a word is still read."""
    before = ("FROM python:3.11-slim\n"
              "ARG PIP_CMD=pip\n"
              "COPY requirements.txt .\n"
              f"RUN {launcher} install -r requirements.txt\n")
    after = ("FROM python:3.11-slim\n"
             "ARG PIP_CMD=pip\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version ./\n"
             f"RUN uv pip install -r pylock.toml {SYSTEM}\n")
    assert_migrates(before, after, FILES)
    unknown = run_migrate(before.replace("ARG PIP_CMD=pip\n", ""), FILES)
    assert unknown.new_text is None
    assert [f.code for f in unknown.findings] == ["DLK114"]


def test_virtual_env_launcher_keeps_the_variable():
    before = ("FROM python:3.11-slim\n"
              "ENV VIRTUAL_ENV=/opt/venv\n"
              "RUN python -m venv $VIRTUAL_ENV\n"
              "COPY requirements.txt .\n"
              "RUN ${VIRTUAL_ENV}/bin/pip install -r requirements.txt\n")
    after = ("FROM python:3.11-slim\n"
             "ENV VIRTUAL_ENV=/opt/venv\n"
             "RUN python -m venv $VIRTUAL_ENV\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version ./\n"
             f"RUN uv pip sync pylock.toml --python ${{VIRTUAL_ENV}}/bin/python {FLAGS}\n")
    assert_migrates(before, after, FILES)


def test_env_wrapper_keeps_its_settings_and_drops_pips():
    before = ("FROM python:3.11-slim\n"
              "COPY requirements.txt .\n"
              "RUN env LANG=C.UTF-8 PIP_NO_CACHE_DIR=1 pip install -r requirements.txt\n")
    after = ("FROM python:3.11-slim\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version ./\n"
             f"RUN env LANG=C.UTF-8 uv pip install -r pylock.toml {SYSTEM}\n")
    result = assert_migrates(before, after, FILES)
    assert any(f.message == "dropped PIP_NO_CACHE_DIR: pip configuration" for f in result.findings)


def test_sh_c_wrapper_is_rewritten_inside_its_quotes():
    before = ("FROM python:3.11-slim\n"
              "COPY requirements.txt .\n"
              'RUN LIBRARY_PATH=/opt/lib /bin/sh -c "apt-get update && pip install -r requirements.txt && echo ok"\n')
    after = ("FROM python:3.11-slim\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version ./\n"
             f'RUN LIBRARY_PATH=/opt/lib /bin/sh -c "apt-get update && uv pip install -r pylock.toml {SYSTEM} '
             '&& echo ok"\n')
    assert_migrates(before, after, FILES)


def test_exec_form_bash_c_is_rewritten_inside_the_json_string():
    before = ("FROM python:3.11-slim\n"
              "COPY requirements.txt .\n"
              'RUN ["/bin/bash", "-c", "pip install -r requirements.txt && echo done"]\n')
    after = ("FROM python:3.11-slim\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version ./\n"
             f'RUN ["/bin/bash", "-c", "uv pip install -r pylock.toml {SYSTEM} && echo done"]\n')
    assert_migrates(before, after, FILES)


@pytest.mark.parametrize("run", [
    'RUN sh -c "pip install -r $HOME/../requirements.txt"',  # the outer shell expands first
    "RUN bash -c 'pip install -r \"/opt/my app/requirements.txt\"'",  # the step needs a ' the script cannot hold
])
def test_sh_c_wrapper_that_cannot_be_kept_exact_is_refused_not_passed_over(run):
    result = run_migrate(f"FROM python:3.11-slim\nCOPY requirements.txt '/opt/my app/'\n{run}\n", FILES)
    assert result.new_text is None and result.error is None
    assert {f.code for f in result.findings} & {"DLK113", "DLK119"}, result.findings


def test_inner_shell_variable_in_a_single_quoted_script_is_read_as_the_inner_shell_will():
    """ARGs are in the RUN's environment, so the inner shell expands $REQ: the step reads the lock
    at the absolute path the COPY put it."""
    before = ("FROM python:3.11-slim\nARG REQ=requirements.txt\nCOPY requirements.txt .\n"
              "RUN bash -c 'pip install -r \"$REQ\"'\n")
    after = (f"FROM python:3.11-slim\nARG REQ=requirements.txt\n{UV}\nCOPY pylock.toml .python-version ./\n"
             f"RUN bash -c 'uv pip install -r /pylock.toml {SYSTEM}'\n")
    assert_migrates(before, after, FILES)


def test_no_workdir_on_an_official_image_starts_in_root():
    before = "FROM python:3.11-slim\nCOPY requirements.txt /\nRUN pip install -r requirements.txt\n"
    after = (f"FROM python:3.11-slim\n{UV}\nCOPY pylock.toml .python-version ./\n"
             f"RUN uv pip install -r pylock.toml {SYSTEM}\n")
    assert_migrates(before, after, FILES)
    other = run_migrate("FROM mycorp/base:1\nCOPY requirements.txt /\nRUN pip install -r requirements.txt\n", FILES)
    assert other.new_text is None
    assert [f.code for f in other.findings] == ["DLK118"]
    assert "the working directory is unknown: mycorp/base:1 sets it and this file sets no WORKDIR" in \
        other.findings[0].message


def test_harmless_options_are_dropped_and_reported():
    before = ("FROM python:3.11-slim\nCOPY requirements.txt .\n"
              "RUN pip install --no-python-version-warning --progress-bar off --root-user-action=ignore "
              "--default-timeout=100 -r requirements.txt\n")
    after = (f"FROM python:3.11-slim\n{UV}\nCOPY pylock.toml .python-version ./\n"
             f"RUN uv pip install -r pylock.toml {SYSTEM}\n")
    result = assert_migrates(before, after, FILES)
    dropped = sorted(f.message.split(":")[0] for f in result.findings if f.message.startswith("dropped"))
    assert dropped == ["dropped --no-python-version-warning", "dropped --progress-bar", "dropped --root-user-action",
                       "dropped --timeout"]  # --default-timeout is pip's alias of --timeout


def test_arg_in_the_copy_path_is_kept_as_written():
    before = ("FROM python:3.11-slim\n"
              "ARG SERVICE=billing\n"
              "COPY ${SERVICE}/requirements.txt /app/\n"
              "RUN pip install -r /app/requirements.txt\n")
    after = ("FROM python:3.11-slim\n"
             "ARG SERVICE=billing\n"
             f"{UV}\n"
             "COPY ${SERVICE}/pylock.toml /app/pylock.toml\n"
             f"RUN uv pip install -r /app/pylock.toml {SYSTEM}\n")
    assert_migrates(before, after, {"billing/requirements.txt": "six==1.16.0\n", "billing/pylock.toml": LOCK})


def test_uv_version_from_an_existing_arg_names_the_uv_image_in_a_stage():
    before = ("ARG UV_VERSION=0.11.13\n"
              "FROM python:3.11-slim AS builder\n"
              "RUN python -m venv /opt/venv\n"
              "COPY requirements.txt /tmp/\n"
              "RUN /opt/venv/bin/pip install -r /tmp/requirements.txt\n")
    after = ("ARG UV_VERSION=0.11.13\n"
             "FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv\n"
             "FROM python:3.11-slim AS builder\n"
             "RUN python -m venv /opt/venv\n"
             "COPY --from=uv /uv /uvx /bin/\n"
             "COPY pylock.toml .python-version /tmp/\n"
             f"RUN uv pip sync /tmp/pylock.toml --python /opt/venv/bin/python {FLAGS}\n")
    assert_migrates(before, after, FILES, Settings(record=False, uv_version="${UV_VERSION}"))
    undeclared = run_migrate(before.replace("ARG UV_VERSION=0.11.13\n", ""), FILES,
                             Settings(record=False, uv_version="${UV_VERSION}"))
    assert undeclared.new_text is None and [f.code for f in undeclared.findings] == ["DLK119"]
    assert "add `ARG UV_VERSION=<version>` at the top" in undeclared.findings[0].message


# -- issue 14: the path the step reads is the path the lock was copied to --------------------------------
def test_quoted_requirements_path_gives_an_unquoted_lock_path():
    before = ('FROM python:3.11-slim\nCOPY requirements.txt /tmp/requirements.txt\n'
              'RUN pip install -r "/tmp/requirements.txt"\n')
    after = (f"FROM python:3.11-slim\n{UV}\nCOPY pylock.toml .python-version /tmp/\n"
             f"RUN uv pip install -r /tmp/pylock.toml {SYSTEM}\n")
    assert_migrates(before, after, FILES)


def test_path_with_a_space_is_quoted_for_the_shell_and_the_copy():
    before = ('FROM python:3.11-slim\nCOPY requirements.txt "/opt/my app/requirements.txt"\n'
              'RUN pip install -r "/opt/my app/requirements.txt"\n')
    after = (f'FROM python:3.11-slim\n{UV}\nCOPY ["pylock.toml", ".python-version", "/opt/my app/"]\n'
             f"RUN uv pip install -r '/opt/my app/pylock.toml' {SYSTEM}\n")
    assert_migrates(before, after, FILES)


def test_literal_dollar_paren_path_is_never_turned_into_a_substitution():
    text = ("FROM python:3.11-slim\nCOPY requirements.txt '/tmp/$(touch pwn)/requirements.txt'\n"
            "RUN pip install -r '/tmp/$(touch pwn)/requirements.txt'\n")
    result = run_migrate(text, FILES)
    if result.new_text is not None:  # converting is fine only if the path stays a literal
        assert "'/tmp/$(touch pwn)/pylock.toml'" in result.new_text
        assert '"/tmp/$(touch' not in result.new_text and " /tmp/$(touch" not in result.new_text
    else:
        assert [f.code for f in result.findings] == ["DLK119"]


def test_requirements_path_in_a_variable_reads_the_copied_lock():
    before = ("FROM python:3.11-slim\nWORKDIR /app\nARG REQ=/tmp/requirements.txt\n"
              "COPY requirements.txt /tmp/requirements.txt\nRUN pip install -r $REQ\n")
    after = ("FROM python:3.11-slim\nWORKDIR /app\nARG REQ=/tmp/requirements.txt\n"
             f"{UV}\nCOPY pylock.toml .python-version /tmp/\n"
             f"RUN uv pip install -r /tmp/pylock.toml {SYSTEM}\n")
    assert_migrates(before, after, FILES)


def test_named_requirements_file_gets_its_named_lock():
    before = "FROM python:3.11-slim AS test\nCOPY requirements-test.txt .\nRUN pip install -r requirements-test.txt\n"
    after = (f"FROM python:3.11-slim AS test\n{UV}\nCOPY pylock.test.toml .python-version ./\n"
             f"RUN uv pip install -r pylock.test.toml {SYSTEM}\n")
    assert_migrates(before, after, {**FILES, "requirements-test.txt": "six==1.16.0\n", "pylock.test.toml": LOCK})


def test_fallback_to_the_sibling_lock_only_when_it_covers_the_requirements():
    text = "FROM python:3.11-slim AS test\nCOPY requirements-test.txt .\nRUN pip install -r requirements-test.txt\n"
    refused = run_migrate(text, {**FILES, "requirements-test.txt": "six==1.16.0\npytest==8.0.0\n"})
    assert refused.new_text is None and refused.error is not None and refused.error.line == 3
    assert refused.error.reason.startswith("pylock.test.toml does not exist, and the sibling ")
    assert "pytest==8.0.0 is required but pytest is not in pylock.toml" in refused.error.reason
    assert "`dockerlock lock Dockerfile`" in refused.error.reason
    covered = run_migrate(text, {**FILES, "requirements-test.txt": "six==1.16.0\n"})
    assert covered.error is None and "uv pip install -r pylock.toml" in covered.new_text
    assert any("the sibling pylock.toml stands in only if it covers the requirements; it does" in f.message
               for f in covered.findings)


def test_lock_configured_outside_the_build_context_is_refused():
    text = "FROM python:3.11\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    checked = run_migrate(text, FILES, Settings(record=False, lock="../../etc/pylock.toml"))
    assert checked.new_text is None and checked.error is not None
    assert "the configured lock ../../etc/pylock.toml leaves the build context" in checked.error.reason
    preview = run_migrate(text, FILES, Settings(record=False, lock="../../etc/pylock.toml", lock_check=False))
    assert preview.new_text is None and [f.code for f in preview.findings] == ["DLK119"]


def test_two_steps_sharing_a_cache_mount_get_one_uv_mount_over_two_passes():
    """Both rewrites edit the RUN's pip cache mount: the second waits for the next pass (an
    overlapping fix is never fatal), then drops the pip mount no command uses any more."""
    before = ("FROM python:3.11-slim\n"
              "COPY requirements.txt requirements-dev.txt ./\n"
              "RUN --mount=type=cache,target=/root/.cache/pip \\\n"
              "    pip install -r requirements.txt && pip install -r requirements-dev.txt\n")
    after = ("FROM python:3.11-slim\n"
             "COPY requirements.txt requirements-dev.txt ./\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version ./\n"
             "COPY pylock.dev.toml .python-version ./\n"
             "RUN --mount=type=cache,target=/root/.cache/uv \\\n"
             "    UV_LINK_MODE=copy uv pip install -r pylock.toml --system --compile-bytecode --require-hashes "
             "&& UV_LINK_MODE=copy uv pip install -r pylock.dev.toml --system --compile-bytecode --require-hashes\n")
    result = assert_migrates(before, after, {**FILES, "requirements-dev.txt": "six==1.16.0\n",
                                             "pylock.dev.toml": LOCK})
    assert result.converted == 2


def test_five_steps_sharing_a_cache_mount_go_one_per_pass_and_the_last_drops_the_pip_mount():
    """More sharing steps than any fixed pass limit: never fatal, one uv mount, no pip mount."""
    names = "abcde"
    before = ("FROM python:3.11-slim\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/pip \\\n    "
              + " && ".join(f"pip install -r requirements-{n}.txt" for n in names) + "\n")
    after = ("FROM python:3.11-slim\nCOPY . .\n" f"{UV}\n"
             "RUN --mount=type=cache,target=/root/.cache/uv \\\n    "
             + " && ".join(f"UV_LINK_MODE=copy uv pip install -r pylock.{n}.toml --system --compile-bytecode "
                           "--require-hashes" for n in names) + "\n")
    files = {**FILES, **{f"requirements-{n}.txt": "six==1.16.0\n" for n in names},
             **{f"pylock.{n}.toml": LOCK for n in names}}
    assert assert_migrates(before, after, files).converted == 5


def test_a_step_left_on_pip_keeps_the_pip_cache_mount_beside_the_uv_one():
    before = ("FROM python:3.11-slim\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/pip \\\n"
              "    pip install -r requirements-a.txt && pip install -r requirements-b.txt "
              "&& pip install -r requirements-c.txt gunicorn\n")
    after = ("FROM python:3.11-slim\nCOPY . .\n" f"{UV}\n"
             "RUN --mount=type=cache,target=/root/.cache/pip --mount=type=cache,target=/root/.cache/uv \\\n"
             "    UV_LINK_MODE=copy uv pip install -r pylock.a.toml --system --compile-bytecode --require-hashes "
             "&& UV_LINK_MODE=copy uv pip install -r pylock.b.toml --system --compile-bytecode --require-hashes "
             "&& pip install -r requirements-c.txt gunicorn\n")
    files = {**FILES, **{f"requirements-{n}.txt": "six==1.16.0\n" for n in "abc"},
             **{f"pylock.{n}.toml": LOCK for n in "abc"}}
    result = assert_migrates(before, after, files)
    assert (result.converted, result.refused) == (2, 1)


def test_prefix_on_a_distros_own_python_is_refused():
    """Debian's python3 puts --prefix installs in PREFIX/local/lib/python3.X/dist-packages, uv in
    PREFIX/lib/python3.X/site-packages (tests/test_forms_build.py builds both)."""
    text = ("FROM debian:bookworm-slim AS builder\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends python3-pip\n"
            "WORKDIR /app\nCOPY requirements.txt .\nRUN pip install --prefix=/install -r requirements.txt\n")
    result = run_migrate(text, FILES)
    assert result.new_text is None and [f.code for f in result.findings] == ["DLK115"]
    assert "--prefix on debian:bookworm-slim: unless the image runs a python.org build" in \
        result.findings[0].message


def test_lock_for_another_python_is_refused_naming_where_the_version_came_from():
    """DLK106: the image's Python (FROM tag) outside the lock's requires-python, or a lock that
    records another Python or platform, stops the file; the message says which image."""
    text = "FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    files = {"requirements.txt": "six==1.16.0\n"}
    narrow = run_migrate(text, {**files, "pylock.toml": placeholder_lock(requires_python=">=3.10,<3.12")})
    assert narrow.new_text is None
    assert [(f.code, f.line) for f in narrow.findings if f.level.value == "error"] == [("DLK106", 3)]
    assert narrow.error is not None and narrow.error.code == "DLK106"
    assert narrow.error.reason.startswith("the image python:3.12-slim uses Python 3.12, but the lock's "
                                          "requires-python is <3.12,>=3.10")
    assert narrow.error.reason.endswith("regenerate it for this image with `dockerlock lock Dockerfile`")

    recorded = ('\n[tool.dockerlock]\nrequirements = ["requirements.txt"]\npython = "3.11"\n'
                'platform = "linux/amd64"\n')
    other = run_migrate(text, {**files, "pylock.toml": placeholder_lock(extra=recorded)})
    assert other.new_text is None and other.error is not None
    assert other.error.reason.startswith("lock file ")  # then the lock's path, as the user would type it
    assert other.error.reason.endswith("/pylock.toml was compiled for Python 3.11, but the image "
                                       "python:3.12-slim runs Python 3.12; regenerate it for this image with "
                                       "`dockerlock lock Dockerfile`")
    arm = run_migrate(text.replace("FROM ", "FROM --platform=linux/arm64 "),
                      {**files, "pylock.toml": placeholder_lock(extra=recorded.replace("3.11", "3.12"))})
    assert arm.error is not None and arm.error.code == "DLK106"
    assert "was compiled for linux/amd64, but the image is built for linux/arm64" in arm.error.reason


@pytest.mark.parametrize("flags, what, problem", [
    ("--mount=type=bind,sorce=requirements.txt,target=/tmp/requirements.txt", "mount", "unknown key 'sorce'"),
    ("--mount=type=bind,source=requirements.txt,target", "mount", "'target' must be a key=value pair"),
    ("--mount=type=bnid,source=requirements.txt,target=/tmp/requirements.txt", "mount",
     "unknown mount type 'bnid'"),
    # BuildKit's flag names are case-sensitive: `--mouNt` is not a mount to rewrite (fuzz seed 2858)
    ("--mouNt=type=bind,source=requirements.txt,target=/tmp/requirements.txt", "flags",
     "unknown flag 'mouNt' (flag names are case-sensitive: mount)"),
    ("--netwrok=host", "flags", "unknown flag 'netwrok'"),
])
def test_a_run_flag_or_mount_buildkit_rejects_leaves_the_stanza_alone(flags, what, problem):
    """DLK120: BuildKit stops on such a RUN, and what a misspelt key or flag meant is a guess."""
    brought = "" if what == "mount" else "COPY requirements.txt /tmp/\n"  # a bind mount brings it itself
    text = f"FROM python:3.11-slim\n{brought}RUN {flags} pip install -r /tmp/requirements.txt\n"
    result = run_migrate(text, FILES)
    assert result.new_text is None
    assert [(f.code, f.message) for f in result.findings] == [
        ("DLK120", f"pip install -r /tmp/requirements.txt left as is: BuildKit would reject the RUN's {what}: "
                   f"{problem}")]



def test_a_rewritten_bind_mount_keeps_the_spelling_of_its_other_fields():
    before = ("FROM python:3.11-slim\n"
              "RUN --mount=TYPE=bind,Source=requirements.txt,DST=/tmp/requirements.txt,ro "
              "pip install -r /tmp/requirements.txt\n")
    after = ("FROM python:3.11-slim\n"
             f"{UV}\n"
             "RUN --mount=TYPE=bind,Source=pylock.toml,DST=/tmp/pylock.toml,ro "
             f"uv pip install -r /tmp/pylock.toml {SYSTEM}\n")
    assert_migrates(before, after, FILES)


def test_a_folder_copy_whose_context_lacks_the_requirements_names_the_context_and_the_copy():
    """Never a guess: ``COPY . .`` brings only what the context holds, so a missing
    requirements file is named there, with the way to point at the right context."""
    text = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements-prod.txt\n"
    result = run_migrate(text, FILES)
    assert result.new_text is None
    [finding] = result.findings
    assert finding.code == "DLK118"
    assert finding.message.startswith("pip install -r requirements-prod.txt left as is: the build context (")
    assert finding.message.endswith(") has no requirements-prod.txt, which COPY on line 3 would put at "
                                    "/app/requirements-prod.txt (is the context another folder? pass --context)")


def _lock_with_wheels(*wheels: str, sdist: bool = False, extra: str = "") -> str:
    """A one-package lock (charset-normalizer 3.5.3) with the given wheel file names; placeholder URLs."""
    rows = ", ".join(f'{{ url = "https://files.example.org/{w}", hashes = {{ sha256 = "{"ab" * 32}" }} }}'
                     for w in wheels)
    source = ('sdist = { url = "https://files.example.org/charset_normalizer-3.5.3.tar.gz", '
              f'hashes = {{ sha256 = "{"cd" * 32}" }} }}\n' if sdist else "")
    return ('lock-version = "1.0"\nrequires-python = ">=3.12,<3.13"\ncreated-by = "tests"\n\n[[packages]]\n'
            f'name = "charset-normalizer"\nversion = "3.5.3"\nwheels = [{rows}]\n{source}{extra}')


MANYLINUX = "charset_normalizer-3.5.3-cp312-cp312-manylinux_2_28_x86_64.whl"
MUSLLINUX = "charset_normalizer-3.5.3-cp312-cp312-musllinux_1_2_x86_64.whl"


@pytest.mark.parametrize("image", ["python:3.12-alpine", "python:3.12-alpine3.20", "python:${PY}-alpine"])
def test_an_alpine_image_needs_a_lock_made_for_musl(image):
    """DLK106: a lock that records glibc, or whose package has only manylinux wheels and no sdist,
    cannot install on an Alpine image; a musl lock, or one with an sdist, can."""
    text = (f"ARG PY=3.12\nFROM {image}\nCOPY requirements.txt .\n"
            "RUN apk add --no-cache gcc musl-dev && pip install -r requirements.txt\n")
    files = {"requirements.txt": "charset-normalizer==3.5.3\n"}
    recorded = '\n[tool.dockerlock]\nrequirements = ["requirements.txt"]\npython = "3.12"\nplatform = "linux/amd64"\n'
    shown = image.replace("${PY}", "3.12")

    glibc = run_migrate(text, {**files, "pylock.toml": _lock_with_wheels(MANYLINUX, sdist=True, extra=recorded)})
    assert glibc.new_text is None and glibc.error is not None and glibc.error.code == "DLK106"
    assert glibc.error.reason.endswith(f"/pylock.toml was compiled for glibc (manylinux wheels), but the image "
                                       f"{shown} uses musl (Alpine: musllinux wheels); regenerate it for this "
                                       "image with `dockerlock lock Dockerfile`")
    musl = run_migrate(text, {**files, "pylock.toml": _lock_with_wheels(MUSLLINUX, extra=recorded + 'libc = "musl"\n')})
    assert musl.error is None and musl.new_text is not None

    unrecorded = run_migrate(text, {**files, "pylock.toml": _lock_with_wheels(MANYLINUX)})
    assert unrecorded.error is not None and unrecorded.error.code == "DLK106"
    assert unrecorded.error.reason.startswith(f"the image {shown} uses musl (Alpine), and charset-normalizer 3.5.3")
    assert "cannot be installed on linux/amd64 (CPython 3.12, musl): no compatible wheel and no sdist; wheels " \
        "exist for manylinux_2_28_x86_64 (for cp312)" in unrecorded.error.reason
    with_sdist = run_migrate(text, {**files, "pylock.toml": _lock_with_wheels(MANYLINUX, sdist=True)})
    assert with_sdist.error is None and with_sdist.new_text is not None  # uv builds it, as pip would have


def test_a_musl_lock_does_not_fit_a_glibc_image():
    text = "FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    recorded = ('\n[tool.dockerlock]\nrequirements = ["requirements.txt"]\npython = "3.12"\nplatform = "linux/amd64"\n'
                'libc = "musl"\n')
    result = run_migrate(text, {"requirements.txt": "charset-normalizer==3.5.3\n",
                                "pylock.toml": _lock_with_wheels(MUSLLINUX, extra=recorded)})
    assert result.error is not None and result.error.code == "DLK106"
    assert "was compiled for musl (Alpine: musllinux wheels), but the image python:3.12-slim uses glibc" in \
        result.error.reason


def test_no_deps_needs_a_lock_of_exactly_the_listed_packages():
    """DLK124: pip --no-deps installs the listed lines only; a lock holding their dependencies too
    would add packages. A fully pinned file (every locked package listed) converts."""
    text = "FROM python:3.11-slim\nCOPY requirements.txt .\nRUN pip install --no-deps -r requirements.txt\n"
    lock = placeholder_lock(packages=(("requests", "2.32.3"), ("idna", "3.7"), ("certifi", "2024.7.4")))
    partial = run_migrate(text, {"requirements.txt": "requests==2.32.3\n", "pylock.toml": lock})
    assert partial.new_text is None and partial.error is not None and partial.error.code == "DLK124"
    assert partial.error.reason.startswith("pip install --no-deps installs only what the requirements list, but "
                                           "the lock ")
    assert partial.error.reason.endswith("/pylock.toml also installs certifi, idna; list them in the requirements "
                                         "(pinned, as the lock has them) or drop --no-deps, then re-lock")
    pinned = run_migrate(text, {"requirements.txt": "requests==2.32.3\nidna==3.7\ncertifi==2024.7.4\n",
                                "pylock.toml": lock})
    assert pinned.error is None and pinned.new_text is not None


def test_pip_variables_that_change_the_install_leave_the_stanza_alone():
    """DLK125: uv reads no PIP_* variable, so one that sets --target, --constraint or --no-deps would be
    lost without a trace; output, cache and version-check variables are harmless. The messages name
    the lines of the input even when an earlier stanza of the file was converted (lines moved)."""
    text = ("FROM python:3.11-slim\n"
            "ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=100 \\\n"
            "    PIP_ROOT_USER_ACTION=ignore PIP_BREAK_SYSTEM_PACKAGES=1\n"
            "WORKDIR /app\nCOPY requirements.txt .\n"
            "RUN pip install -r requirements.txt\n"
            "ENV PIP_TARGET=/deps\n"
            "RUN pip install -r requirements.txt\n"
            "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
            "ARG PIP_CONSTRAINT\n"
            "RUN PIP_NO_DEPS=1 pip install -r requirements.txt\n"
            "RUN PIP_NO_DEPS=0 env PIP_PROGRESS_BAR=off pip install -r requirements.txt\n")
    result = run_migrate(text, FILES)
    decided = {f.line: (f.code, f.message) for f in result.findings if f.code in ("DLK125", "DLK101")}
    assert decided[6][0] == "DLK101"  # output, cache, timeout variables are harmless
    # PIP_NO_DEPS=0 sets nothing, PIP_PROGRESS_BAR is output: only the ARG in scope is named
    assert decided[14] == ("DLK125", "pip install -r requirements.txt left as is: PIP_CONSTRAINT (ARG on line 12) "
                                     "sets pip's --constraint to a value the build decides; uv reads no PIP_* "
                                     "variable: give the option on the pip command line instead")
    assert decided[8] == ("DLK125", "pip install -r requirements.txt left as is: PIP_TARGET (ENV on line 7) sets "
                                    "pip's --target to /deps; uv reads no PIP_* variable: give the option on the "
                                    "pip command line instead")
    assert decided[13] == ("DLK125", "pip install -r requirements.txt left as is: PIP_NO_DEPS (on the command) "
                                     "sets pip's --no-deps; PIP_CONSTRAINT (ARG on line 12) sets pip's --constraint "
                                     "to a value the build decides; uv reads no PIP_* variable: give the option on "
                                     "the pip command line instead")


@pytest.mark.parametrize("image", ["apache/airflow:2.9.2", "quay.io/astronomer/astro-runtime:11.3.0",
                                   "apache/superset:4.0.1"])
def test_a_base_image_that_ships_packages_keeps_its_pip_step(image):
    """DLK126: pip keeps what the image's interpreter already holds (installed against the publisher's
    constraints); a lock resolved without it would replace it. Into a venv the Dockerfile creates,
    the same base converts. (The tiangolo images convert: test_migrate.)"""
    text = f"FROM {image}\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    result = run_migrate(text, FILES)
    assert result.new_text is None
    assert [(f.code, f.message) for f in result.findings] == [
        ("DLK126", f"pip install -r requirements.txt left as is: {image} ships Python packages in the interpreter "
                   "this step adds to; pip keeps the versions it finds there, a lock resolved without them would "
                   "replace them (install into a venv the Dockerfile creates instead)")]
    venv = run_migrate(text.replace("RUN pip install", "RUN python -m venv /opt/venv && /opt/venv/bin/pip install"),
                       FILES)
    assert venv.new_text is not None and "uv pip sync" in venv.new_text


def test_a_requirements_file_renamed_by_its_copy_gets_a_lock_of_that_name():
    """Two requirements files both named requirements.txt in the context, copied to different names:
    their locks (both pylock.toml in the context) must not land on one path in the image, where the
    second would replace the first before the RUN reads it."""
    before = ("FROM python:3.11-slim AS base\nWORKDIR /srv\n"
              "COPY contrib/requirements.txt base_requirements.txt\n"
              "COPY backend/requirements.txt ./\n"
              "FROM base AS build\n"
              "RUN pip install -r base_requirements.txt && pip install -r requirements.txt\n")
    after = ("FROM python:3.11-slim AS base\nWORKDIR /srv\n"
             f"{UV}\n"
             "COPY contrib/pylock.toml ./pylock.base.toml\n"
             "COPY backend/requirements.txt ./\n"  # kept: "base_requirements.txt" mentions its name
             "FROM base AS build\n"
             "COPY backend/pylock.toml ./\n"
             f"RUN uv pip install -r pylock.base.toml {SYSTEM} && uv pip install -r pylock.toml {SYSTEM}\n")
    files = {"contrib/requirements.txt": "six==1.16.0\n", "contrib/pylock.toml": placeholder_lock(),
             "backend/requirements.txt": "six==1.16.0\n", "backend/pylock.toml": placeholder_lock()}
    assert_migrates(before, after, files)


@pytest.mark.parametrize(("path", "target"), [
    ("/root/.local/bin:$PATH", "--system"),                       # the user scheme's scripts folder
    ("/root/.cargo/bin:${PATH}", "--system"),                     # Rust, for building wheels
    ("/usr/local/go/bin:/opt/poetry/bin:$PATH", "--system"),
    ("/root/.cargo/bin:/opt/venv/bin:$PATH", "--python /opt/venv/bin/python"),  # the venv after them
    ("/usr/local/bin:/opt/venv/bin:$PATH", "--system"),           # a system folder comes first
])
def test_tool_folders_first_on_path_are_not_environments(path, target):
    text = f"FROM python:3.12-slim\nENV PATH={path}\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    result = run_migrate(text, FILES)
    assert result.new_text is not None, result.findings
    assert f"uv pip install -r pylock.toml {target} " in result.new_text


def test_user_install_with_the_user_scripts_folder_on_path_converts():
    """freqtrade's pattern: ENV PATH=/home/<user>/.local/bin:$PATH for the scripts of --user installs."""
    text = ("FROM python:3.12-slim\nRUN useradd -m app\nUSER app\nENV PATH=/home/app/.local/bin:$PATH\n"
            "WORKDIR /home/app\nCOPY requirements.txt .\nRUN pip install --user -r requirements.txt\n")
    result = run_migrate(text, FILES)
    assert result.new_text is not None, result.findings
    assert 'uv pip install -r pylock.toml --prefix "$(python3 -m site --user-base)"' in result.new_text


@pytest.mark.parametrize(("text", "reason"), [
    ("FROM python:3.5-alpine\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
     "the image python:3.5-alpine runs Python 3.5"),
    ("FROM python:2.7\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
     "the image python:2.7 runs Python 2.7"),
    ("FROM python:3.11\nCOPY requirements.txt .\nRUN pip2 install -r requirements.txt\n",
     "it runs pip2 (Python 2)"),
    ("FROM alpine:3.9\nWORKDIR /app\nRUN apk add --no-cache python2 py2-pip\nCOPY requirements.txt .\n"
     "RUN pip install -r requirements.txt\n", "line 3 installs Python 2 with the system's package manager"),
])
def test_python_older_than_3_6_is_left_alone(text, reason):
    """DLK127: uv does not work with Python before 3.6 (its support policy)."""
    result = run_migrate(text, FILES)
    assert result.new_text is None
    assert [(f.code, f.message) for f in result.findings] == [
        ("DLK127", f"pip install -r requirements.txt left as is: {reason}, and uv does not work with Python "
                   "before 3.6")]


def test_a_uv_cache_mount_beside_a_named_pip_one_gets_its_own_id():
    """One cache id mounted twice in one RUN is one store, and with sharing=locked the second mount
    would wait for the first forever: the uv mount beside pip's takes an id of its own."""
    before = ("FROM python:3.11-slim\nCOPY . .\n"
              "RUN --mount=type=cache,id=pipcache,sharing=locked,target=/root/.cache/pip \\\n"
              "    pip install -r requirements-a.txt && pip install -r requirements-c.txt gunicorn\n")
    after = ("FROM python:3.11-slim\nCOPY . .\n" f"{UV}\n"
             "RUN --mount=type=cache,id=pipcache,sharing=locked,target=/root/.cache/pip "
             "--mount=type=cache,id=pipcache-uv,sharing=locked,target=/root/.cache/uv \\\n"
             "    UV_LINK_MODE=copy uv pip install -r pylock.a.toml --system --compile-bytecode --require-hashes "
             "&& pip install -r requirements-c.txt gunicorn\n")
    files = {**FILES, **{f"requirements-{n}.txt": "six==1.16.0\n" for n in "ac"}, "pylock.a.toml": LOCK}
    assert_migrates(before, after, files)


def test_a_cache_mount_of_the_whole_cache_folder_serves_uv_too():
    """``--mount=type=cache,target=/root/.cache`` holds uv's cache (/root/.cache/uv) as well as pip's:
    the uv step uses it (copy link mode), rather than turning its cache off."""
    before = ("FROM python:3.11-slim\nCOPY requirements.txt .\n"
              "RUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt\n")
    after = ("FROM python:3.11-slim\n" f"{UV}\n" "COPY pylock.toml .python-version ./\n"
             "RUN --mount=type=cache,target=/root/.cache UV_LINK_MODE=copy uv pip install -r pylock.toml --system "
             "--compile-bytecode --require-hashes\n")
    assert_migrates(before, after, FILES)


def test_a_floating_python_tag_asks_for_a_pinned_tag_not_a_new_lock():
    """python:3-alpine names no minor version: `dockerlock lock` cannot lock for it, so DLK106 must not
    send the user there; the way out is a pinned tag."""
    text = "FROM python:3-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    recorded = ('\n[tool.dockerlock]\nrequirements = ["requirements.txt"]\npython = "3.14"\n'
                'platform = "linux/amd64"\n')
    result = run_migrate(text, {**FILES, "pylock.toml": placeholder_lock(extra=recorded)})
    assert result.error is not None and result.error.code == "DLK106"
    assert result.error.reason.endswith("was compiled for Python 3.14, but the image python:3-slim names no minor "
                                        "version (Python 3 floats to each new 3.x release); pin the tag to Python "
                                        "3.14")
    assert "dockerlock lock" not in result.error.reason



def test_a_pip_variable_for_an_option_uv_cannot_carry_says_what_to_do_instead():
    text = ("FROM python:3.11-slim\nENV PIP_CERT=/etc/ssl/certs/corp.pem\nCOPY requirements.txt .\n"
            "RUN pip install -r requirements.txt\n")
    [finding] = run_migrate(text, FILES).findings
    assert finding.code == "DLK125"
    assert "PIP_CERT (ENV on line 2) sets pip's --cert to /etc/ssl/certs/corp.pem (uv takes certificates from " \
           "SSL_CERT_FILE; set it instead)" in finding.message


def test_a_venv_the_file_makes_in_a_tool_folder_is_still_the_target():
    """Poetry installed into its own venv, first on PATH: pip there is that venv's pip, so its folder's
    name must not make dockerlock install into the system instead."""
    text = ("FROM python:3.12-slim\nRUN python -m venv /opt/poetry && /opt/poetry/bin/pip install poetry\n"
            "ENV PATH=/opt/poetry/bin:$PATH\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n")
    result = run_migrate(text, FILES)
    assert result.new_text is not None, result.findings
    # the venv already holds poetry: install into it (never sync, never --system)
    assert "uv pip install -r pylock.toml --python /opt/poetry/bin/python " in result.new_text
