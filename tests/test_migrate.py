"""migrate: exact output for each real-world shape, and the stanzas it must leave alone."""

from __future__ import annotations

import pytest

from migrate_helpers import UV, assert_migrates, placeholder_lock, run_migrate
from dockerlock.settings import Settings

LOCK = placeholder_lock()
ROOT_FILES = {"requirements.txt": "six==1.16.0\n", "pylock.toml": LOCK, ".python-version": "3.11\n"}
BACKEND_FILES = {"backend/requirements.txt": "six==1.16.0\n", "backend/pylock.toml": LOCK,
                 "backend/.python-version": "3.11\n", "backend/main.py": ""}
SYNC = "--compile-bytecode --require-hashes --no-cache"


def test_omi_backend_repo_root_context():
    before = (
        "FROM python:3.11 AS builder\n\n"
        'ENV PATH="/opt/venv/bin:$PATH"\n'
        "RUN python -m venv /opt/venv\n\n"
        "COPY backend/requirements.txt /tmp/requirements.txt\n"
        "RUN pip install --no-cache-dir --upgrade -r /tmp/requirements.txt\n\n"
        "FROM python:3.11-slim\n"
        "WORKDIR /app\n"
        "COPY --from=builder /opt/venv /opt/venv\n"
        "RUN pip install git+https://github.com/pygraphviz/pygraphviz.git\n"
        "COPY backend/ .\n")
    after = before.replace(
        "COPY backend/requirements.txt /tmp/requirements.txt\n"
        "RUN pip install --no-cache-dir --upgrade -r /tmp/requirements.txt\n",
        f"{UV}\nCOPY backend/pylock.toml backend/.python-version /tmp/\n"
        f"RUN uv pip sync /tmp/pylock.toml --python /opt/venv/bin/python {SYNC}\n")
    result = assert_migrates(before, after, BACKEND_FILES)
    assert result.converted == 1


def test_pusher_liblc3_build_untouched_and_pyogg_means_install():
    liblc3 = ("RUN git clone https://github.com/google/liblc3.git && \\\n"
              "    cd liblc3 && \\\n"
              "    meson setup build && \\\n"
              "    # Stage shared libs to a fixed path (meson install path varies by arch)  \n"
              "    mkdir -p /opt/liblc3 && \\ \n"
              "\tcp /usr/local/lib/*/liblc3.so* /opt/liblc3/ 2>/dev/null || \\\n"
              "    python3 -m pip wheel --no-cache-dir --wheel-dir /tmp/wheels .\n")
    before = ("FROM python:3.11-slim AS builder\n"
              'ENV PATH="/opt/venv/bin:$PATH"\n'
              "RUN python -m venv /opt/venv\n\n"
              "# Build liblc3 and create wheel\n"
              "WORKDIR /tmp\n" + liblc3 +
              "RUN pip install --no-cache-dir git+https://github.com/TeamPyOgg/PyOgg@6871a4f\n"
              "WORKDIR /opt/venv\n"
              "COPY backend/requirements.txt /tmp/requirements.txt\n"
              "RUN pip install --no-cache-dir --upgrade -r /tmp/requirements.txt\n")
    after = before.replace(
        "COPY backend/requirements.txt /tmp/requirements.txt\n"
        "RUN pip install --no-cache-dir --upgrade -r /tmp/requirements.txt\n",
        f"{UV}\nCOPY backend/pylock.toml backend/.python-version /tmp/\n"
        f"RUN uv pip install -r /tmp/pylock.toml --python /opt/venv/bin/python {SYNC}\n")
    assert liblc3 in after
    result = assert_migrates(before, after, BACKEND_FILES)
    assert any("already received other packages" in f.message for f in result.findings)


def test_tiangolo_base_with_preinstalled_packages_uses_system_install():
    before = ("FROM tiangolo/uvicorn-gunicorn-fastapi:python3.11\n"
              "COPY requirements.txt /tmp/requirements.txt\n"
              "RUN pip install --no-cache-dir -r /tmp/requirements.txt\n"
              "COPY ./app /app\n")
    after = (f"FROM tiangolo/uvicorn-gunicorn-fastapi:python3.11\n{UV}\n"
             "COPY pylock.toml .python-version /tmp/\n"
             f"RUN uv pip install -r /tmp/pylock.toml --system {SYNC}\n"
             "COPY ./app /app\n")
    assert_migrates(before, after, ROOT_FILES)


def test_copy_dot_before_install_moves_the_install_ahead():
    before = ("FROM python:3.11-slim\n"
              "WORKDIR /app\n"
              "COPY . .\n"
              "# dependencies\n"
              "RUN pip install --no-cache-dir -r requirements.txt\n"
              'CMD ["python", "app.py"]\n')
    after = ("FROM python:3.11-slim\n"
             "WORKDIR /app\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version ./\n"
             "# dependencies\n"
             f"RUN uv pip install -r pylock.toml --system {SYNC}\n"
             "COPY . .\n"
             'CMD ["python", "app.py"]\n')
    result = assert_migrates(before, after, ROOT_FILES)
    assert any("moved the install ahead" in f.message for f in result.findings)


def test_copy_dot_kept_in_order_when_run_does_more():
    before = ("FROM python:3.11-slim\n"
              "WORKDIR /app\n"
              "COPY . .\n"
              "RUN pip install -r requirements.txt && python manage.py collectstatic\n")
    after = ("FROM python:3.11-slim\n"
             "WORKDIR /app\n"
             "COPY . .\n"
             f"{UV}\n"
             f"RUN uv pip install -r pylock.toml --system {SYNC} && python manage.py collectstatic\n")
    result = assert_migrates(before, after, ROOT_FILES)
    assert any("kept the install after the code COPY" in f.message for f in result.findings)


def test_chain_keeps_other_commands_byte_identical():
    before = ("FROM python:3.11-slim\n"
              "COPY requirements.txt .\n"
              "RUN apt-get update && apt-get install -y gcc \\\n"
              "  && pip install --upgrade pip \\\n"
              "  && pip install --no-cache-dir \\\n"
              "       -r requirements.txt \\\n"
              "  && rm -rf /var/lib/apt/lists/*\t\n")
    after = ("FROM python:3.11-slim\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version ./\n"
             "RUN apt-get update && apt-get install -y gcc \\\n"
             "  && pip install --upgrade pip \\\n"
             f"  && uv pip install -r pylock.toml --system {SYNC} \\\n"
             "  && rm -rf /var/lib/apt/lists/*\t\n")
    assert_migrates(before, after, ROOT_FILES)


def test_pip_cache_mount_becomes_uv_cache_mount():
    before = ("# syntax=docker/dockerfile:1\n"
              "FROM python:3.11-slim\n"
              "RUN python -m venv /venv\n"
              "COPY requirements.txt /app/\n"
              "RUN --mount=type=cache,target=/root/.cache/pip \\\n"
              "    /venv/bin/pip install -r /app/requirements.txt\n")
    after = ("# syntax=docker/dockerfile:1\n"
             "FROM python:3.11-slim\n"
             "RUN python -m venv /venv\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version /app/\n"
             "RUN --mount=type=cache,target=/root/.cache/uv \\\n"
             "    UV_LINK_MODE=copy uv pip sync /app/pylock.toml --python /venv/bin/python "
             "--compile-bytecode --require-hashes\n")
    assert_migrates(before, after, ROOT_FILES)


def test_crlf_with_backtick_escape():
    before = ("# escape=`\r\n"
              "FROM python:3.11-slim\r\n"
              "COPY requirements.txt /srv/\r\n"
              "RUN pip install `\r\n"
              "    -r /srv/requirements.txt\r\n"
              "RUN echo C:\\not\\a\\continuation\\\r\n")
    after = ("# escape=`\r\n"
             "FROM python:3.11-slim\r\n"
             f"{UV}\r\n"
             "COPY pylock.toml .python-version /srv/\r\n"
             f"RUN uv pip install -r /srv/pylock.toml --system {SYNC}\r\n"
             "RUN echo C:\\not\\a\\continuation\\\r\n")
    result = run_migrate(before, ROOT_FILES)
    assert result.error is None and result.new_text == after


def test_exec_form_stays_exec_form():
    before = ("FROM python:3.11-slim\n"
              "WORKDIR /app\n"
              "COPY requirements.txt .\n"
              'RUN ["pip", "install", "-r", "requirements.txt"]\n')
    after = ("FROM python:3.11-slim\n"
             "WORKDIR /app\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version ./\n"
             'RUN ["uv", "pip", "install", "-r", "pylock.toml", "--system", "--compile-bytecode", '
             '"--require-hashes", "--no-cache"]\n')
    assert_migrates(before, after, ROOT_FILES)


def test_heredoc_body():
    before = ("# syntax=docker/dockerfile:1\n"
              "FROM python:3.11-slim\n"
              "COPY requirements.txt /tmp/requirements.txt\n"
              "RUN <<EOF\n"
              "set -eux\n"
              "python -m venv /opt/venv\n"
              "/opt/venv/bin/pip install -r /tmp/requirements.txt\n"
              "EOF\n")
    after = ("# syntax=docker/dockerfile:1\n"
             "FROM python:3.11-slim\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version /tmp/\n"
             "RUN <<EOF\n"
             "set -eux\n"
             "python -m venv /opt/venv\n"
             f"uv pip sync /tmp/pylock.toml --python /opt/venv/bin/python {SYNC}\n"
             "EOF\n")
    assert_migrates(before, after, ROOT_FILES)


def test_arg_path_kept_as_written():
    before = ("FROM python:3.11\n"
              "ARG wdir=/usr/src/app\n"
              "WORKDIR $wdir\n"
              "COPY requirements.txt $wdir\n"
              "RUN pip install -r $wdir/requirements.txt\n")
    after = ("FROM python:3.11\n"
             "ARG wdir=/usr/src/app\n"
             "WORKDIR $wdir\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version $wdir/\n"
             f"RUN uv pip install -r $wdir/pylock.toml --system {SYNC}\n")
    assert_migrates(before, after, ROOT_FILES)


def test_several_requirements_files_share_one_lock():
    files = {**ROOT_FILES, "requirements-prod.txt": "six\n"}
    before = ("FROM python:3.11-slim\n"
              "COPY requirements.txt requirements-prod.txt /app/\n"
              "RUN pip install -r /app/requirements.txt -r /app/requirements-prod.txt\n")
    after = ("FROM python:3.11-slim\n"
             "COPY requirements.txt requirements-prod.txt /app/\n"
             f"{UV}\n"
             "COPY pylock.toml .python-version /app/\n"
             f"RUN uv pip install -r /app/pylock.toml --system {SYNC}\n")
    assert_migrates(before, after, files)


def test_requirements_copy_kept_when_still_used():
    before = ("FROM python:3.11-slim\n"
              "COPY requirements.txt /app/requirements.txt\n"
              "RUN pip install -r /app/requirements.txt\n"
              "RUN cat /app/requirements.txt\n")
    out = run_migrate(before, ROOT_FILES).new_text
    assert "COPY requirements.txt /app/requirements.txt\n" in out
    assert "RUN cat /app/requirements.txt\n" in out


NOT_CONVERTED = {
    "user in a venv": ("FROM python:3.11\nRUN python -m venv /v\nCOPY requirements.txt .\n"
                       "RUN /v/bin/pip install --user -r requirements.txt\n", "--user inside a virtual environment"),
    "wheel": ("FROM python:3.11\nCOPY requirements.txt .\nRUN pip wheel -r requirements.txt -w /w\n",
              "pip wheel -r builds or fetches files"),
    "substitution": ("FROM python:3.11\nCOPY requirements.txt .\nRUN pip install -r $(ls *.txt)\n",
                     "computed at build time"),
    "other stage": ("FROM python:3.11 AS req\nRUN echo six > /r.txt\nFROM python:3.11\n"
                    "COPY --from=req /r.txt /r.txt\nRUN pip install -r /r.txt\n", "another stage"),
    "downloaded": ("FROM python:3.11\nRUN git clone https://example.org/app.git /app\n"
                   "RUN pip install -r /app/requirements.txt\n", "produced during the build"),
    "extra packages": ("FROM python:3.11\nCOPY requirements.txt .\nRUN pip install -r requirements.txt gunicorn\n",
                       "besides the requirements file"),
    "unknown option": ("FROM python:3.11\nCOPY requirements.txt .\nRUN pip install --frobnicate -r requirements.txt\n",
                       "unknown pip option"),
    "root dir": ("FROM python:3.11\nCOPY requirements.txt .\nRUN pip install --root /r -r requirements.txt\n",
                 "--root"),
    "windows": ("FROM python:3.11-windowsservercore\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
                "Windows image"),
    "subshell": ("FROM python:3.11\nCOPY requirements.txt .\nRUN if true; then pip install -r requirements.txt; fi\n",
                 "subshell, block or loop"),
    "sudo": ("FROM python:3.11\nCOPY requirements.txt .\nRUN sudo pip install -r requirements.txt\n", "sudo"),
    "already uv": ("FROM python:3.11\nCOPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/\nCOPY pylock.toml .\n"
                   "RUN uv pip sync pylock.toml --system\n", None),
    "poetry": ("FROM python:3.11\nCOPY pyproject.toml poetry.lock ./\nRUN pip install poetry && poetry install\n",
               None),
}


@pytest.mark.parametrize("text,reason", NOT_CONVERTED.values(), ids=NOT_CONVERTED.keys())
def test_left_untouched_with_reason(text, reason):
    result = run_migrate(text, ROOT_FILES)
    assert result.error is None
    assert result.new_text is None
    messages = " ".join(f.message for f in result.findings)
    if reason is None:
        assert result.converted == 0 and "DLK102" not in {f.code for f in result.findings}
    else:
        assert reason in messages


def test_gpu_deferred_by_default_and_converted_with_flag():
    text = ("FROM nvidia/cuda:12.4.0-runtime-ubuntu22.04\n"
            "RUN apt-get update && apt-get install -y python3-pip\n"
            "COPY requirements.txt .\n"
            "RUN pip3 install -r requirements.txt\n")
    deferred = run_migrate(text, ROOT_FILES, Settings(record=False, lock_check=False))
    assert deferred.new_text is None and deferred.deferred == 1
    assert any(f.code == "DLK103" and "--include-gpu" in f.message for f in deferred.findings)
    apt_cuda = ("FROM python:3.11-slim\nRUN apt-get update && apt-get install -y cuda-toolkit-12-4\n"
                "COPY requirements.txt .\nRUN pip install -r requirements.txt\n")
    assert run_migrate(apt_cuda, ROOT_FILES, Settings(record=False, lock_check=False)).deferred == 1
    converted = run_migrate(text, ROOT_FILES, Settings(record=False, lock_check=False, include_gpu=True))
    assert converted.converted == 1 and "uv pip install -r pylock.toml --system" in converted.new_text


def test_missing_lock_is_an_error_with_hint():
    files = {"requirements.txt": "six\n"}
    result = run_migrate("FROM python:3.11\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n", files)
    assert result.error is not None and result.new_text is None
    assert "pylock.toml" in result.error.reason and "does not exist" in result.error.reason
    assert "dockerlock lock" in result.error.reason
    assert result.error.line == 3
    preview = run_migrate("FROM python:3.11\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
                          files, Settings(record=False, lock_check=False))
    assert preview.error is None and "uv pip install -r pylock.toml --system" in preview.new_text
    assert "--require-hashes" not in preview.new_text  # unknown without reading the lock


def test_python_mismatch_is_an_error():
    files = {"requirements.txt": "six\n", "pylock.toml": placeholder_lock(requires_python=">=3.12")}
    result = run_migrate("FROM python:3.11-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
                         files)
    assert result.error is not None and result.new_text is None
    assert "3.11" in result.error.reason and "3.12" in result.error.reason


def test_invalid_lock_is_an_error():
    files = {"requirements.txt": "six\n", "pylock.toml": 'lock-version = "1.0"\npackages = "nope"\n'}
    result = run_migrate("FROM python:3.11\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n", files)
    assert result.error is not None and "not a valid PEP 751 lock" in result.error.reason


def test_uv_source_pip_and_digest():
    text = "FROM python:3.11\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    out = run_migrate(text, ROOT_FILES, Settings(record=False, uv_source="pip", uv_version="0.9.0")).new_text
    assert "RUN python3 -m venv /opt/uv && /opt/uv/bin/python -m pip install --no-cache-dir uv==0.9.0\n" in out
    assert "/opt/uv/bin/uv pip install -r pylock.toml --system" in out
    out = run_migrate(text, ROOT_FILES, Settings(record=False, uv_digest="abc123")).new_text
    assert "COPY --from=ghcr.io/astral-sh/uv:0.13.9@sha256:abc123 /uv /uvx /bin/\n" in out


def test_carried_and_dropped_options():
    text = ("FROM python:3.11\nCOPY requirements.txt .\n"
            "RUN pip install --break-system-packages -i https://mirror.example.org/simple "
            "--trusted-host mirror.example.org -q -r requirements.txt\n")
    # a lock that records the mirror it was resolved from (DLK122 stops one that does not)
    mirror = placeholder_lock(extra='\n[tool.dockerlock]\nrequirements = ["requirements.txt"]\n'
                                    'indexes = ["--index-url", "https://mirror.example.org/simple"]\n')
    result = run_migrate(text, {**ROOT_FILES, "pylock.toml": mirror})
    assert ("uv pip install -r pylock.toml --system --break-system-packages --index-url "
            "https://mirror.example.org/simple --allow-insecure-host mirror.example.org") in result.new_text
    assert any("dropped --quiet" in f.message for f in result.findings)


def test_two_stanzas_in_one_stage_install_uv_once():
    files = {**ROOT_FILES, "dev/requirements.txt": "six\n", "dev/pylock.toml": LOCK}
    text = ("FROM python:3.11\nCOPY requirements.txt /a/\nRUN pip install -r /a/requirements.txt\n"
            "COPY dev/requirements.txt /b/\nRUN pip install -r /b/requirements.txt\n")
    out = run_migrate(text, files).new_text
    assert out.count("astral-sh/uv") == 1
    assert "uv pip install -r /a/pylock.toml" in out and "uv pip install -r /b/pylock.toml" in out


def test_record_round_trip_and_idempotence():
    text = ("FROM python:3.11-slim\nRUN python -m venv /opt/venv\n"
            "COPY requirements.txt /tmp/requirements.txt\n"
            "RUN /opt/venv/bin/pip install -r /tmp/requirements.txt\n")
    result = run_migrate(text, ROOT_FILES, Settings())
    out = result.new_text
    first = out.splitlines()[2]
    assert first.startswith("# dockerlock: replaced `RUN /opt/venv/bin/pip install -r /tmp/requirements.txt`; "
                            "`dockerlock revert` restores it [v2 n=3 h=")
    assert run_migrate(out, ROOT_FILES, Settings()).new_text is None


def test_named_lock_beside_a_named_requirements_file():
    files = {"requirements/base.txt": "six\n", "requirements/development.txt": "six\n",
             "requirements/pylock.base.toml": LOCK, "requirements/pylock.development.toml": LOCK}
    text = ("FROM python:3.11 AS base\nCOPY requirements/base.txt requirements/\n"
            "RUN pip install -r requirements/base.txt\n"
            "FROM base AS dev\nCOPY requirements/development.txt requirements/\n"
            "RUN pip install -r requirements/development.txt\n")
    out = run_migrate(text, files).new_text
    assert "COPY requirements/pylock.base.toml requirements/pylock.base.toml\n" in out
    assert "uv pip install -r requirements/pylock.base.toml --system" in out
    assert "uv pip install -r requirements/pylock.development.toml --system" in out
    assert out.count("astral-sh/uv") == 1  # the dev stage inherits uv from base


def test_gpu_judged_for_the_whole_image_not_just_the_builder_stage():
    # diarizer shape: requirements go into a plain builder venv, copied into a CUDA runtime stage
    text = ("FROM python:3.11-slim AS builder\nRUN python -m venv /opt/venv\nENV PATH=\"/opt/venv/bin:$PATH\"\n"
            "COPY requirements.txt /tmp/\nRUN pip install --no-cache-dir -r /tmp/requirements.txt\n"
            "FROM python:3.11-slim\nENV PATH=\"/usr/local/cuda/bin:/opt/venv/bin:$PATH\"\n"
            "RUN apt-get update && apt-get -y install cuda-runtime-13-2\n"
            "COPY --from=builder /opt/venv /opt/venv\n")
    result = run_migrate(text, ROOT_FILES)
    assert result.new_text is None and result.deferred == 1
    assert any("deferred by default" in f.message for f in result.findings)


def test_lock_flag_and_config_mapping_override_the_sibling_lock():
    files = {"requirements.txt": "six\n", "locks/prod/pylock.toml": LOCK}
    text = "FROM python:3.11\nCOPY requirements.txt /app/\nRUN pip install -r /app/requirements.txt\n"
    flag = run_migrate(text, files, Settings(record=False, lock="locks/prod/pylock.toml")).new_text
    assert "COPY locks/prod/pylock.toml /app/pylock.toml\n" in flag
    assert "uv pip install -r /app/pylock.toml --system" in flag
    mapped = run_migrate(text, files, Settings(record=False, lock_map={"requirements.txt": "locks/prod/pylock.toml"}))
    assert mapped.new_text == flag
    missing = run_migrate(text, files, Settings(record=False))
    assert missing.error is not None and "pylock.toml" in missing.error.reason
