"""revert: exact restoration from the record; synthesised stanzas for hand-migrated files."""

from __future__ import annotations

import base64
import re
import tempfile
import zlib
from pathlib import Path

from migrate_helpers import migrated, placeholder_lock, run_migrate, write_tree
from dockerlock.loading import context_at
from dockerlock.model import Dockerfile
from dockerlock.record import digest, make_record_line
from dockerlock.rules.revert import revert_dockerfile, revert_failure
from dockerlock.settings import Settings


def revert(text: str, files: dict[str, str], force: bool = False):
    with tempfile.TemporaryDirectory() as tmp:
        write_tree(Path(tmp), files)
        df = Dockerfile.from_text(text, "Dockerfile")
        return revert_dockerfile(df, context_at(Path(tmp), df, Settings()), Settings(), force=force)


PUSHER_FILES = {"backend/pusher/pylock.toml": placeholder_lock(), "backend/pusher/requirements.txt": "six\n"}

# The uv-era omi pusher shape: uv pip-installed into the system Python, lock synced into the venv.
UV_ERA_PUSHER = """ARG PYTHON_BASE_IMAGE=python:3.11-slim
ARG UV_VERSION=0.11.13

FROM ${PYTHON_BASE_IMAGE} AS builder

ARG UV_VERSION

RUN python -m venv /opt/venv
RUN python3 -m pip install --no-cache-dir "uv==${UV_VERSION}"
ENV PATH="/opt/venv/bin:$PATH"

# Build liblc3 and create wheel
WORKDIR /tmp
RUN git clone https://github.com/google/liblc3.git && \\
    cd liblc3 && \\
    # Stage shared libs
    python3 -m pip wheel --no-cache-dir --wheel-dir /tmp/wheels .

# Install Python requirements from the pusher-specific checked-in lock.
WORKDIR /opt/venv
COPY backend/pusher/pylock.toml /tmp/pylock.toml
RUN uv pip sync /tmp/pylock.toml --python /opt/venv/bin/python --compile-bytecode

FROM ${PYTHON_BASE_IMAGE}
COPY --from=builder /opt/venv /opt/venv
"""


def test_synthesised_uv_era_pusher_exact_output():
    result = revert(UV_ERA_PUSHER, PUSHER_FILES)
    expected = UV_ERA_PUSHER.replace('RUN python3 -m pip install --no-cache-dir "uv==${UV_VERSION}"\n', "").replace(
        "COPY backend/pusher/pylock.toml /tmp/pylock.toml\n"
        "RUN uv pip sync /tmp/pylock.toml --python /opt/venv/bin/python --compile-bytecode\n",
        "COPY backend/pusher/requirements.txt /tmp/requirements.txt\n"
        "RUN /opt/venv/bin/pip install --no-cache-dir --upgrade -r /tmp/requirements.txt\n")
    assert result.error is None
    assert result.new_text == expected
    assert any(f.code == "DLK302" for f in result.findings)  # says it was synthesised


AGENT_PROXY = """FROM python:3.11-slim AS builder
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/
RUN python -m venv /opt/venv
COPY backend/agent-proxy/pylock.toml backend/agent-proxy/.python-version /tmp/
RUN uv pip sync /tmp/pylock.toml --python /opt/venv/bin/python --compile-bytecode --no-cache
FROM python:3.11-slim
COPY --from=builder /opt/venv /opt/venv
"""


def test_synthesised_from_copy_of_lock_and_python_version():
    files = {"backend/agent-proxy/pylock.toml": placeholder_lock(), "backend/agent-proxy/requirements.txt": "six\n",
             "backend/agent-proxy/.python-version": "3.11\n"}
    result = revert(AGENT_PROXY, files)
    assert result.new_text == (
        "FROM python:3.11-slim AS builder\n"
        "RUN python -m venv /opt/venv\n"
        "COPY backend/agent-proxy/requirements.txt /tmp/\n"
        "RUN /opt/venv/bin/pip install --no-cache-dir --upgrade -r /tmp/requirements.txt\n"
        "FROM python:3.11-slim\n"
        "COPY --from=builder /opt/venv /opt/venv\n")


def test_system_target_reverts_to_plain_pip():
    text = ("FROM python:3.11\nCOPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/\n"
            "COPY pylock.toml ./\nRUN uv pip install -r pylock.toml --system --break-system-packages\n")
    result = revert(text, {"pylock.toml": placeholder_lock(), "requirements.txt": "six\n"})
    assert result.new_text == ("FROM python:3.11\nCOPY requirements.txt ./\n"
                               "RUN pip install --no-cache-dir --upgrade -r requirements.txt "
                               "--break-system-packages\n")


def test_refuses_without_requirements_beside_the_lock():
    result = revert(AGENT_PROXY, {"backend/agent-proxy/pylock.toml": placeholder_lock()})
    assert result.new_text is None
    assert any(f.code == "DLK304" and "no requirements.txt beside the lock" in f.message for f in result.findings)


def test_uv_kept_when_another_uv_command_still_needs_it():
    text = ("FROM python:3.11\nCOPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/\n"
            "COPY pylock.toml ./\nRUN uv pip install -r pylock.toml --system\nRUN uv tool install ruff\n")
    result = revert(text, {"pylock.toml": placeholder_lock(), "requirements.txt": "six\n"})
    assert "COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/\n" in result.new_text
    assert "RUN uv tool install ruff\n" in result.new_text


def test_damaged_record_is_an_error():
    text = ("FROM python:3.11\n# dockerlock: migrated pip -> uv; `dockerlock revert` restores it [v1 n=1 h=zz]\n"
            "RUN true\n")
    result = revert(text, {})
    assert result.error is not None and "damaged dockerlock record" in result.error.reason
    assert result.error.line == 2


# -- the record: exact restore, or a refusal that names the line (issue 14) ----------------------
FILES = {"requirements.txt": "six\n", "pylock.toml": placeholder_lock()}
APP = ("FROM python:3.11-slim\n"
       "COPY requirements.txt /tmp/requirements.txt\n"
       "RUN pip install --no-cache-dir -r /tmp/requirements.txt\n"
       "COPY . /app\n"
       "CMD [\"python\", \"/app/main.py\"]\n")
WORDS = ("# dockerlock: replaced `RUN pip install --no-cache-dir -r /tmp/requirements.txt`; "
         "`dockerlock revert` restores it")
UV_COPY = "COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/\n"
LOCK_COPY = "COPY pylock.toml /tmp/pylock.toml\n"
UV_RUN = "RUN uv pip install -r /tmp/pylock.toml --system --compile-bytecode --require-hashes --no-cache\n"
HINT = ("restore this line from version control (`git diff` shows a local edit, `git log -p` an older one), "
        "or delete it and run `dockerlock revert` again to synthesise the pip stanza instead")


def migrated_app(text: str = APP) -> str:
    return migrated(text, FILES, Settings())


def record_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.lstrip().startswith("# dockerlock: replaced"))


def with_data(text: str, data: str) -> str:
    line = record_line(text)
    return text.replace(line, re.sub(r"d=[\w-]*\]", lambda _m: f"d={data}]", line))


def test_migrate_writes_a_record_that_reads_and_reverts_exactly():
    out = migrated_app()
    assert out.startswith("FROM python:3.11-slim\n" + WORDS + " [v2 n=3 h=")
    assert out.split("\n", 2)[2] == UV_COPY + LOCK_COPY + UV_RUN + "COPY . /app\nCMD [\"python\", \"/app/main.py\"]\n"
    result = revert(out, FILES)
    assert result.error is None and result.new_text == APP
    assert [f.code for f in result.findings] == ["DLK301"]


def test_revert_counts_the_stanzas_it_restores_not_every_record():
    """Three records (the uv stage added at the top, the requirements COPY moved, the pip RUN
    replaced) make one stanza: only a record that brings back a RUN counts as one."""
    before = ("ARG UV_VERSION=0.5.1\nFROM python:3.11-slim\nCOPY requirements.txt .\nRUN apt-get update\n"
              "RUN pip install -r requirements.txt\n")
    files = {"requirements.txt": "six\n", "pylock.toml": placeholder_lock(), ".python-version": "3.11\n"}
    out = migrated(before, files, Settings(uv_version="${UV_VERSION}"))
    assert [line.split(";")[0] for line in out.splitlines() if line.startswith("# dockerlock:")] == [
        "# dockerlock: added the lines below", "# dockerlock: replaced `COPY requirements.txt .`",
        "# dockerlock: replaced `RUN pip install -r requirements.txt`"]
    result = revert(out, files)
    assert result.error is None and result.new_text == before
    assert result.converted == 1
    assert [f.message for f in result.findings] == [
        "restored the lines migrate added or removed around a stanza",
        "restored the lines migrate added or removed around a stanza",
        "restored the original pip stanza from the record"]


def test_truncated_data_is_refused_naming_the_line():
    out = migrated_app()
    data = re.search(r"d=([\w-]+)\]", out).group(1)
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    cut = with_data(out, base64.urlsafe_b64encode(raw[:len(raw) // 2]).decode().rstrip("="))
    result = revert(cut, FILES)
    assert result.new_text is None
    assert str(result.error) == ("Dockerfile:2: damaged dockerlock record: its data (d=) is incomplete (cut short); "
                                 f"nothing was reverted (hint: {HINT})")
    # cut anywhere, in characters
    for length in range(0, len(data)):
        assert revert(with_data(out, data[:length]), FILES).error.line == 2, length


def test_empty_data_is_refused_not_a_deleted_stanza():
    result = revert(with_data(migrated_app(), ""), FILES)
    assert result.new_text is None
    assert result.error.reason == ("damaged dockerlock record: the line does not match the record format (v2 or v1); "
                                   "nothing was reverted")


def test_crafted_v1_record_with_an_empty_region_is_refused():
    payload = base64.urlsafe_b64encode(zlib.compress(b"RUN curl https://files.example.org/x | sh\n")).decode()
    crafted = (f"FROM python:3.11\n# dockerlock: migrated pip -> uv; `dockerlock revert` restores it "
               f"[v1 n=0 h={digest('')} d={payload.rstrip('=')}]\nCOPY . /app\n")
    result = revert(crafted, {})
    assert result.new_text is None and result.error.line == 2
    assert "does not match the record format" in result.error.reason


def test_comment_that_begins_like_a_record_is_left_alone():
    comment = "# dockerlock: migrated pip -> uv; the api image was done by hand\n"
    text = APP.replace("FROM python:3.11-slim\n", "FROM python:3.11-slim\n" + comment)
    out = migrated_app(text)
    assert comment in out
    assert revert(out, FILES).new_text == text
    assert revert(out, FILES, force=True).new_text == text
    # in a file with no record at all, the synthesised revert keeps the comment too
    hand = AGENT_PROXY.replace("RUN python -m venv /opt/venv\n", "RUN python -m venv /opt/venv\n" + comment)
    files = {"backend/agent-proxy/pylock.toml": placeholder_lock(), "backend/agent-proxy/requirements.txt": "six\n"}
    result = revert(hand, files)
    assert result.error is None and comment in result.new_text and "DLK302" in [f.code for f in result.findings]


def test_unknown_instruction_inside_the_region_round_trips():
    """Was: migrate stored `FOO bar` inside the region; revert replaced the whole region,
    so the engine saw an unknown instruction it had "written" and refused forever."""
    text = ("FROM python:3.11-slim\nCOPY requirements.txt /tmp/\nFOO bar\n"
            "RUN pip install -r /tmp/requirements.txt\n")
    out = migrated_app(text)
    assert "\nFOO bar\n" in out
    result = revert(out, FILES)
    assert result.error is None and result.new_text == text


def test_force_after_the_uv_copy_was_deleted_keeps_the_lines_after_the_region():
    """Was: --force replaced the record plus n lines, taking `COPY . /app` with it."""
    edited = migrated_app().replace(UV_COPY, "")
    refused = revert(edited, FILES)
    assert refused.new_text is None
    assert str(refused.error) == ("Dockerfile:2: migrated region (lines 3-4) was edited after migration; "
                                  "not reverted (use --force)")
    assert "(--force restores the original over lines 3-4)" in refused.findings[0].message
    result = revert(edited, FILES, force=True)
    assert result.error is None and result.new_text == APP
    assert [(f.code, f.level.value) for f in result.findings] == [("DLK303", "warning"), ("DLK301", "note")]


def test_force_after_the_last_line_was_edited():
    edited = migrated_app().replace("--no-cache\n", "--no-cache --reinstall\n")
    assert revert(edited, FILES, force=True).new_text == APP


def test_force_refuses_when_the_region_cannot_be_told_from_its_neighbours():
    edited = migrated_app().replace(UV_COPY, "").replace("COPY . /app\n", "COPY . /srv\n")
    result = revert(edited, FILES, force=True)
    assert result.new_text is None
    assert str(result.error) == (
        "Dockerfile:2: the migrated region below the record was edited and its extent cannot be proven (the lines "
        "that followed the region were changed too, so its end cannot be found); nothing was reverted (hint: undo "
        "the edits inside the region (compare it with version control), or replace the record and region by hand)")
    assert result.findings[0].code == "DLK303" and result.findings[0].level.value == "error"


def test_force_finds_an_upper_region_whose_neighbour_is_another_record():
    """The "next" anchor of the upper region is the lower stanza's original first line: it
    is found once the lower region is restored (records are located from the bottom up)."""
    text = ("FROM python:3.11-slim\nCOPY requirements.txt /a/\nRUN pip install -r /a/requirements.txt\n\n"
            "COPY dev/requirements.txt /b/\nRUN pip install -r /b/requirements.txt\n")
    files = {**FILES, "dev/requirements.txt": "six\n", "dev/pylock.toml": placeholder_lock()}
    out = migrated(text, files, Settings())
    assert out.count("# dockerlock: replaced") == 2
    edited = out.replace("-r /a/pylock.toml --system", "-r /a/pylock.toml --system --reinstall")
    assert edited != out
    assert revert(edited, files, force=True).new_text == text


def test_records_of_pure_additions_and_removals_revert():
    """Regions that only added lines (the original is empty) or only removed some (n=0)."""
    head, tail = "FROM python:3.11-slim\n", "COPY . /app\n"
    added = UV_COPY + LOCK_COPY
    text = head + make_record_line("", added, "\n", tail) + added + tail
    assert revert(text, {}).new_text == head + tail
    removed = "RUN pip install -r /tmp/requirements.txt\n"
    text = head + make_record_line(removed, "", "\n", tail) + tail
    assert revert(text, {}).new_text == head + removed + tail


def test_crlf_conversion_restores_in_the_current_line_endings():
    converted = migrated_app().replace("\n", "\r\n")
    result = revert(converted, FILES)
    assert result.error is None and result.new_text == APP.replace("\n", "\r\n")
    crlf_migrated = migrated_app(APP.replace("\n", "\r\n"))
    assert revert(crlf_migrated, FILES).new_text == APP.replace("\n", "\r\n")  # exact, no conversion
    assert revert(crlf_migrated.replace("\r\n", "\n"), FILES).new_text == APP


def test_indented_record_is_a_record():
    out = migrated_app()
    indented = out.replace("# dockerlock: replaced", "  \t# dockerlock: replaced")
    assert revert(indented, FILES).new_text == APP
    damaged = with_data(indented, "eNpz")
    result = revert(damaged, FILES)
    assert result.new_text is None and result.error.line == 2 and "damaged dockerlock record" in result.error.reason


# A file migrated by the released version (format v1), as the walkthrough showed it.
V1_LINE = ("# dockerlock: migrated pip -> uv; `dockerlock revert` restores it [v1 n=3 h=ea618c0cac5f "
           "d=eNpz9g-IVEhKTM5OzUvRL0otLM0sSs1NzSsp1iupKFHQL8ktwBDlCgr1UyjILFDIzCsuSczJUdDVzcvXTU5MzkjVTcksAnJLC9KLElN"
           "SFXSLcJgAAPqwKpU]\n")
OMI = (Path(__file__).parent.parent / "examples/omi/backend/Dockerfile").read_text()
OMI_STANZA = ("COPY backend/requirements.txt /tmp/requirements.txt\n"
              "RUN pip install --no-cache-dir --upgrade -r /tmp/requirements.txt\n")
OMI_V1 = OMI.replace(OMI_STANZA, V1_LINE + "COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/\n"
                     "COPY backend/pylock.toml backend/.python-version /tmp/\n"
                     "RUN uv pip sync /tmp/pylock.toml --python /opt/venv/bin/python --compile-bytecode "
                     "--require-hashes --no-cache\n")


def test_v1_record_from_the_released_version_reverts_exactly():
    assert OMI_V1 != OMI
    assert revert(OMI_V1, {}).new_text == OMI
    assert revert(OMI_V1.replace("\n", "\r\n"), {}).new_text == OMI.replace("\n", "\r\n")


def test_v1_record_is_read_as_strictly_as_v1_allows():
    cut = OMI_V1.replace("KpU]", "]")
    assert "damaged dockerlock record: its data (d=)" in revert(cut, {}).error.reason
    edited = OMI_V1.replace("--no-cache\n", "--no-cache --reinstall\n")
    result = revert(edited, {}, force=True)  # v1 has no anchors: --force cannot prove the region
    assert result.new_text is None
    assert "a v1 record (from an earlier dockerlock release) has no anchors" in result.error.reason


def test_cli_refuses_a_tampered_record_with_exit_2_and_writes_nothing(tmp_path):
    from typer.testing import CliRunner

    from dockerlock.cli import build_app

    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {"svc/Dockerfile": APP, **{f"svc/{k}": v for k, v in FILES.items()}})
    app = build_app()
    assert CliRunner().invoke(app, ["migrate", str(tmp_path / "svc")]).exit_code == 0
    path = tmp_path / "svc/Dockerfile"
    path.write_text(with_data(path.read_text(), "eNpLzc-xzUlTyEksLrE1NUg0T7S0NDE2"))
    tampered = path.read_bytes()
    for args in (["revert"], ["revert", "--force"], ["revert", "--diff"]):
        result = CliRunner().invoke(app, [*args, str(tmp_path / "svc")], catch_exceptions=False)
        assert result.exit_code == 2, args
        assert "svc/Dockerfile:2: error: damaged dockerlock record: its data (d=)" in result.output
        assert "restore this line from version control" in result.output
        assert path.read_bytes() == tampered
    # the hint's other way out works: without the line, revert synthesises the stanza
    path.write_text("".join(line for line in path.read_text().splitlines(True) if "# dockerlock:" not in line))
    result = CliRunner().invoke(app, ["revert", str(tmp_path / "svc")], catch_exceptions=False)
    assert result.exit_code == 0 and "synthesised" in result.output
    assert path.read_text() == APP.replace("--no-cache-dir -r", "--no-cache-dir --upgrade -r")


# -- migrate only writes what revert can undo (issue 14 point 6) -----------------------------------
def test_revert_failure_is_none_for_a_real_migration():
    before = Dockerfile.from_text(APP, "Dockerfile")
    assert revert_failure(before, Dockerfile.from_text(migrated_app(), "Dockerfile")) is None


def test_revert_failure_names_what_would_go_wrong():
    before = Dockerfile.from_text(APP, "Dockerfile")
    other = migrated_app(APP.replace("--no-cache-dir ", ""))
    assert revert_failure(before, Dockerfile.from_text(other, "Dockerfile")) == \
        "the reverted text would differ from the original"
    damaged = Dockerfile.from_text(with_data(migrated_app(), "eNpz"), "Dockerfile")
    assert revert_failure(before, damaged).startswith("damaged dockerlock record: its data (d=)")


def test_second_migration_keeps_the_first_record_and_both_revert():
    stage = "FROM python:3.11-slim AS test\nCOPY requirements.txt /srv/requirements.txt\n" \
            "RUN pip install -r /srv/requirements.txt\n"
    first = migrated_app()
    before = first + stage
    after = migrated(before, FILES, Settings())  # the engine checked only the new record
    assert after.count("# dockerlock: replaced") == 2 and after.startswith(first)
    assert revert_failure(Dockerfile.from_text(before, "Dockerfile"), Dockerfile.from_text(after, "Dockerfile")) \
        is None
    assert revert(after, FILES).new_text == APP + stage


def test_migrate_refuses_to_write_a_record_revert_would_not_undo(monkeypatch):
    import dockerlock.engine as engine
    from migrate_helpers import run_migrate

    real = engine.make_record_line
    monkeypatch.setattr(engine, "make_record_line", lambda original, *rest: real(original + "# lost\n", *rest))
    result = run_migrate(APP, FILES, Settings())
    assert result.new_text is None
    assert str(result.error) == ("Dockerfile: refusing to write: `dockerlock revert` would not restore the original "
                                 "(the reverted text would differ from the original). This is a dockerlock bug; "
                                 "please report it with the file.")
    assert run_migrate(APP, FILES, Settings(record=False)).error is None  # without records there is nothing to undo


def test_a_file_migrated_in_two_steps_keeps_its_first_record_and_reverts_whole():
    """DLK121 stops migrate only for records revert cannot use: an intact record of an earlier
    migration is kept, the second migration adds its own, and revert undoes both."""
    files = {"requirements.txt": "six\n", "requirements-dev.txt": "six\n", "pylock.toml": placeholder_lock(),
             "pylock.dev.toml": placeholder_lock(), ".python-version": "3.11\n"}
    first = ("FROM python:3.11-slim\nCOPY requirements.txt /tmp/\nRUN pip install -r /tmp/requirements.txt\n"
             "FROM python:3.11-slim AS dev\nCOPY requirements-dev.txt /tmp/\n"
             "RUN pip install -r /tmp/requirements-dev.txt gunicorn\n")
    once = migrated(first, files, Settings())  # the extra package keeps the second stanza on pip (DLK116)
    assert once.count("# dockerlock: replaced") == 1 and "requirements-dev.txt gunicorn" in once
    edited = once.replace("requirements-dev.txt gunicorn", "requirements-dev.txt")
    twice = migrated(edited, files, Settings())
    assert twice.count("# dockerlock: replaced") == 2
    assert [line for line in twice.splitlines() if line.startswith("RUN ")] == [
        "RUN uv pip install -r /tmp/pylock.toml --system --compile-bytecode --require-hashes --no-cache",
        "RUN uv pip install -r /tmp/pylock.dev.toml --system --compile-bytecode --require-hashes --no-cache"]
    back = revert(twice, files)
    assert back.error is None and back.converted == 2
    assert back.new_text == first.replace("requirements-dev.txt gunicorn", "requirements-dev.txt")


def test_migrate_refuses_a_file_whose_earlier_migrated_region_was_edited():
    """revert refuses an edited region (without --force), so a second migration could not be
    undone either: DLK121 names the record's line and writes nothing."""
    files = {"requirements.txt": "six\n", "requirements-dev.txt": "six\n", "pylock.toml": placeholder_lock(),
             "pylock.dev.toml": placeholder_lock(), ".python-version": "3.11\n"}
    first = ("FROM python:3.11-slim\nCOPY requirements.txt /tmp/\nRUN pip install -r /tmp/requirements.txt\n"
             "FROM python:3.11-slim AS dev\nCOPY requirements-dev.txt /tmp/\n"
             "RUN pip install -r /tmp/requirements-dev.txt gunicorn\n")
    once = migrated(first, files, Settings())
    edited = (once.replace("--require-hashes --no-cache\n", "--require-hashes --no-cache --quiet\n", 1)
              .replace("requirements-dev.txt gunicorn", "requirements-dev.txt"))
    result = run_migrate(edited, files, Settings())
    assert result.new_text is None and result.error is not None
    assert (result.error.code, result.error.line) == ("DLK121", 2)
    assert result.error.reason == ("the region below this record was edited after migration: `dockerlock revert` "
                                   "would refuse this file, so a migration written now could not be undone")
