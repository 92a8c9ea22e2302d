"""Fitting the ecosystem: pre-commit hooks, CI output formats, config, init, terminal, action, docs.

Expected outputs live in ``tests/fixtures/formats``; run with ``DOCKERLOCK_UPDATE_FIXTURES=1``
to rewrite them after an intended change (then read the diff before committing it).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from migrate_helpers import placeholder_lock, write_tree
from dockerlock import __version__
from dockerlock.cli import build_app

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ROOT / "tests" / "fixtures" / "formats"
SARIF_SCHEMA = ROOT / "tests" / "fixtures" / "sarif" / "sarif-2.1.0-subset.schema.json"
DOCS = ROOT / "docs"
UPDATE = os.environ.get("DOCKERLOCK_UPDATE_FIXTURES") == "1"
UV = "0.13.9"  # pinned on the command line so the fixtures do not follow the default
PIP = "FROM python:3.11-slim\nCOPY requirements.txt /app/\nRUN pip install -r /app/requirements.txt\n"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(build_app(), list(args), catch_exceptions=False, env=env)


def dockerlock_argv() -> list[str]:
    """How pre-commit would start the console script; ``python -m dockerlock`` when it is not on PATH."""
    return ["dockerlock"] if shutil.which("dockerlock") else [sys.executable, "-m", "dockerlock"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "GITHUB_STEP_SUMMARY",
                        "COLUMNS", "LINES", "CLICOLOR_FORCE")}
    env.update(extra)
    return env


def expect_text(name: str, actual: str) -> None:
    """Compare with a fixture file (or rewrite it with DOCKERLOCK_UPDATE_FIXTURES=1)."""
    path = FORMATS / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8", newline="")
    assert path.is_file(), f"missing fixture {path}; run with DOCKERLOCK_UPDATE_FIXTURES=1"
    expected = path.read_bytes().decode("utf-8")
    assert actual == expected, f"output differs from {path.relative_to(ROOT)}"


def normalise(text: str, root: Path) -> str:
    for form in {str(root.resolve()), str(root)}:
        text = text.replace(form, "<tmp>")
    return text


@pytest.fixture()
def tree(tmp_path: Path, monkeypatch) -> Path:
    """A repository with one of each outcome; the current folder is its root (as in CI)."""
    (tmp_path / ".git").mkdir()
    shutil.copytree(ROOT / "examples/omi/backend", tmp_path / "omi/backend")
    write_tree(tmp_path, {
        "gpu/Dockerfile": "FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\n"
                          "RUN apt-get update && apt-get install -y python3-pip\n"
                          "COPY requirements.txt /app/\nRUN pip install -r /app/requirements.txt\n",
        "gpu/requirements.txt": "six\n",
        "extra/Dockerfile": PIP.replace("requirements.txt\n", "requirements.txt gunicorn\n"),
        "extra/requirements.txt": "six\n",
        "nolock/Dockerfile": PIP,
        "nolock/requirements.txt": "six\n",
        "plain/Dockerfile": "FROM alpine:3.20\nRUN echo hello\n",
    })
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- pre-commit --------------------------------------------------------------------------------
def read_hook_manifest(path: Path) -> list[dict]:
    """The few keys of .pre-commit-hooks.yaml, read without a YAML library (PyYAML is not a dependency).

    The reader accepts only the flat shape the manifest uses: a list of mappings whose values are
    plain scalars, ``true``/``false`` or ``[a, b]`` flow lists. Anything else fails the test, so the
    manifest cannot grow YAML this reader (and the test) would misread.
    """
    hooks: list[dict] = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.fullmatch(r"(- |  )([a-z_]+): (.+)", line)
        assert m, f"{path.name}:{number}: unexpected line for the manifest reader: {line!r}"
        if m.group(1) == "- ":
            hooks.append({})
        assert hooks, f"{path.name}:{number}: key before the first hook"
        raw = m.group(3)
        assert ": " not in raw and " #" not in raw, f"{path.name}:{number}: quote this value"
        if raw in ("true", "false"):
            value: object = raw == "true"
        elif raw.startswith("["):
            assert raw.endswith("]")
            value = [x.strip() for x in raw[1:-1].split(",") if x.strip()]
        else:
            value = raw
        hooks[-1][m.group(2)] = value
    return hooks


def test_hook_manifest_shape():
    hooks = read_hook_manifest(ROOT / ".pre-commit-hooks.yaml")
    try:
        import yaml  # when PyYAML happens to be installed, the tiny reader must agree with it
    except ImportError:
        pass
    else:
        assert yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text()) == hooks
    by_id = {h["id"]: h for h in hooks}
    assert set(by_id) == {"dockerlock-check", "dockerlock-migrate"}
    assert by_id["dockerlock-check"]["entry"] == "dockerlock check"
    assert by_id["dockerlock-migrate"]["entry"] == "dockerlock migrate"
    for hook in hooks:
        assert hook["language"] == "python"
        assert hook["types"] == ["dockerfile"]
        assert hook["require_serial"] is True
        assert hook.get("pass_filenames", True) is True


def run_hook(hook_id: str, files: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run a hook's entry the way pre-commit does: shlex-split entry, then the file names appended."""
    hook = {h["id"]: h for h in read_hook_manifest(ROOT / ".pre-commit-hooks.yaml")}[hook_id]
    argv = shlex.split(hook["entry"]) + list(hook.get("args", [])) + files
    assert argv[0] == "dockerlock"
    argv = dockerlock_argv() + argv[1:]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=clean_env(), timeout=120)


def test_check_hook_then_migrate_hook_like_pre_commit(tmp_path):
    (tmp_path / ".git").mkdir()
    shutil.copytree(ROOT / "examples/omi/backend", tmp_path / "backend")
    write_tree(tmp_path, {"web/Dockerfile": "FROM nginx:1.27\nCOPY site /usr/share/nginx/html\n"})
    staged = ["backend/Dockerfile", "web/Dockerfile"]
    original = (tmp_path / "backend/Dockerfile").read_bytes()

    check = run_hook("dockerlock-check", staged, tmp_path)
    assert check.returncode == 1, check.stdout + check.stderr
    assert re.search(r"^backend/Dockerfile:7: error DLK\d{3}: pip install -r /tmp/requirements.txt is not migrated",
                     check.stdout, re.M)
    assert check.stdout.rstrip().endswith("2 file(s) checked: 1 error(s), 1 warning(s)")

    migrate = run_hook("dockerlock-migrate", staged, tmp_path)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    # black's convention: status lines and the summary go to standard error
    assert migrate.stdout == ""
    assert "backend/Dockerfile: converted 1 stanza\nweb/Dockerfile: unchanged\n" in migrate.stderr
    after = (tmp_path / "backend/Dockerfile").read_bytes()
    assert after != original and b"RUN uv pip sync /tmp/pylock.toml" in after
    # pre-commit fails a run that modified files; the next run (files staged again) is clean
    again = run_hook("dockerlock-migrate", staged, tmp_path)
    assert again.returncode == 0 and (tmp_path / "backend/Dockerfile").read_bytes() == after
    assert "0 files converted" in again.stderr
    recheck = run_hook("dockerlock-check", staged, tmp_path)
    assert recheck.returncode == 0, recheck.stdout  # the unlocked pygraphviz install stays a warning
    assert "warning DLK" in recheck.stdout and "error" not in recheck.stdout.replace("0 error(s)", "")


def test_migrate_hook_reports_an_unconvertible_file_without_failing(tmp_path):
    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {"Dockerfile": PIP, "requirements.txt": "six\n"})  # no pylock.toml yet
    result = run_hook("dockerlock-migrate", ["Dockerfile"], tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Dockerfile:3: error DLK104: lock file pylock.toml does not exist; create it with `dockerlock lock Dockerfile`")
    assert "does not exist" in result.stderr
    assert (tmp_path / "Dockerfile").read_text() == PIP


# -- CI formats ---------------------------------------------------------------------------------
def test_markdown_pr_report_matches_fixture(tree):
    before = {p: p.read_bytes() for p in tree.rglob("Dockerfile")}
    result = invoke("migrate", "--diff", "--format", "markdown", "--uv-version", UV, ".")
    assert result.exit_code == 2  # nolock/ has no lock: an error for that file, the others still reported
    expect_text("migrate-diff.md", normalise(result.stdout, tree))
    assert {p: p.read_bytes() for p in tree.rglob("Dockerfile")} == before  # --diff writes nothing


def test_markdown_fence_outgrows_backticks_in_the_diff(tree):
    (tree / "omi/backend/Dockerfile").write_text((tree / "omi/backend/Dockerfile").read_text()
                                                 .replace("/opt/venv\n\n", "/opt/venv\nLABEL note=\"````\"\n\n", 1))
    result = invoke("migrate", "--diff", "--format", "markdown", "--uv-version", UV, "omi")
    assert "\n`````diff\n--- a/omi/backend/Dockerfile" in result.stdout
    assert result.stdout.rstrip().endswith("`````")


def test_github_annotations_and_step_summary_match_fixtures(tree):
    summary = tree / "step-summary.md"
    summary.write_text("previous step\n")
    result = invoke("check", "--format", "github", ".", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 1
    expect_text("check.github.txt", normalise(result.stdout, tree))  # annotations only
    assert result.stderr == "5 file(s) checked: 2 error(s), 3 warning(s)\n"  # the log line
    written = summary.read_text()
    assert written.startswith("previous step\n## dockerlock check\n")  # appended, never overwritten
    expect_text("check.summary.md", normalise(written, tree))


def test_github_annotation_escaping():
    from dockerlock.diagnostics import Finding, Level
    from dockerlock.engine import FileResult
    from dockerlock.report import RENDERERS, Command, Mode, Outcome, Report, Status, Stream, View

    finding = Finding("DLK102", Level.WARNING, "50% done\nnext: line, more", "a,b:c.Dockerfile", 3)
    outcome = Outcome("a,b:c.Dockerfile", Status.UNCHANGED, result=FileResult("a,b:c.Dockerfile", findings=[finding]))
    chunks = RENDERERS["github"](Report(Command.MIGRATE, Mode.DIFF, [outcome]), View())
    assert [c.text for c in chunks if c.stream is Stream.OUT] == [
        "::warning file=a%2Cb%3Ac.Dockerfile,line=3,title=DLK102::50%25 done%0Anext: line, more"]


def test_ci_formats_place_lock_and_requirements_findings_by_relative_path(tmp_path, monkeypatch):
    """Drift findings name the requirements file by its host path; CI needs it repository-relative."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {"svc/Dockerfile": "FROM python:3.11-slim\nCOPY pylock.toml /app/\n"
                                            "RUN uv pip install -r /app/pylock.toml --system\n",
                          "svc/requirements.txt": "six==1.17.0\n", "svc/pylock.toml": placeholder_lock()})
    github = invoke("check", "--format", "github", "svc").stdout
    assert re.match(r"::error file=svc/requirements\.txt,line=1,title=DLK\d{3}::six==1\.17\.0 is required", github)
    sarif = json.loads(invoke("check", "--format", "sarif", "svc").stdout)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris == {"svc/requirements.txt"}
    markdown = invoke("check", "--format", "markdown", "svc").stdout
    assert re.search(r"^- `svc/requirements\.txt` line 1 \(DLK\d{3}\): six==1\.17\.0", markdown, re.M)


def sarif_validator() -> jsonschema.Draft4Validator:
    """Validator for SARIF 2.1.0 logs.

    The schema file is NOT the official OASIS file: no installed or installable package ships
    ``sarif-schema-2.1.0.json`` and it cannot be downloaded here, so tests/fixtures/sarif holds a
    subset written by hand from the official schema's constraints (see its README.md). It is
    stricter than the official schema (every object closed with additionalProperties: false).
    """
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


@pytest.mark.parametrize("args", [("check",), ("migrate", "--diff"), ("revert", "--check")])
def test_sarif_validates_against_the_sarif_2_1_0_schema(tree, args):
    result = invoke(*args, "--format", "sarif", ".")
    log = json.loads(result.stdout)
    errors = sorted(sarif_validator().iter_errors(log), key=str)
    assert not errors, "\n".join(e.message for e in errors)
    assert log["version"] == "2.1.0"
    sarif_run = log["runs"][0]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert sarif_run["invocations"][0]["exitCode"] == result.exit_code
    for res in sarif_run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith("/") and " " not in uri
    as_json = json.loads(invoke(*args, "--format", "json", ".").stdout)
    assert len(sarif_run["results"]) == sum(len(f["findings"]) for f in as_json["files"])


def test_sarif_every_code_is_a_rule_and_uris_are_escaped(tmp_path, monkeypatch):
    from dockerlock.rules import all_codes

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {"my app/Dockerfile": PIP, "my app/requirements.txt": "six\n"})
    log = json.loads(invoke("check", "--format", "sarif", ".").stdout)
    assert not list(sarif_validator().iter_errors(log))
    assert {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]} == set(all_codes())
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "my%20app/Dockerfile"


def test_sarif_schema_subset_rejects_what_the_official_schema_rejects(tree):
    """The shipped schema is not a rubber stamp: typical mistakes fail validation."""
    log = json.loads(invoke("check", "--format", "sarif", ".").stdout)
    validator = sarif_validator()
    region = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    for mutate in (lambda d: d.update(version="2.1"),
                   lambda d: d["runs"][0]["results"][0].update(level="info"),
                   lambda d: d["runs"][0]["results"][0].pop("message"),
                   lambda d: d["runs"][0]["tool"]["driver"].pop("name"),
                   lambda d: d["runs"][0]["invocations"][0].pop("executionSuccessful")):
        broken = json.loads(json.dumps(log))
        mutate(broken)
        assert list(validator.iter_errors(broken)), mutate
    region["startline"] = region.pop("startLine")
    assert list(validator.iter_errors(log))


def json_doc_schema() -> dict:
    text = (DOCS / "json-schema.md").read_text()
    block = text.split("## JSON Schema", 1)[1]
    schema = json.loads(re.search(r"```json\n(.*?)\n```", block, re.S).group(1))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def test_json_matches_fixture_and_documented_schema(tree):
    result = invoke("migrate", "--diff", "--format", "json", "--uv-version", UV, ".")
    data = json.loads(result.stdout)
    jsonschema.validate(data, json_doc_schema(), cls=jsonschema.Draft202012Validator)
    assert data["version"] == __version__ and data["exit_code"] == result.exit_code == 2
    data["version"] = "<version>"
    expect_text("migrate-diff.json", normalise(json.dumps(data, indent=2), tree) + "\n")


def test_json_check_document_and_exit_code_agree(tree):
    result = invoke("check", "--format", "json", ".")
    data = json.loads(result.stdout)
    jsonschema.validate(data, json_doc_schema(), cls=jsonschema.Draft202012Validator)
    assert result.exit_code == 1 and data["exit_code"] == 1 and data["mode"] == "check"
    assert data["summary"] == {"files": 5, "changed": 0, "would change": 0, "unchanged": 5, "error": 0}
    data["version"] = "<version>"
    expect_text("check.json", normalise(json.dumps(data, indent=2), tree) + "\n")


def test_documented_json_schema_is_strict():
    schema = json_doc_schema()
    example = json.loads(re.search(r"```json\n(.*?)\n```", (DOCS / "json-schema.md").read_text(), re.S).group(1))
    jsonschema.validate(example, schema, cls=jsonschema.Draft202012Validator)
    for mutate in (lambda d: d.pop("schema_version"), lambda d: d["files"][0].pop("diff"),
                   lambda d: d["files"][0]["findings"][0].update(level="info"),
                   lambda d: d["summary"].update(extra=1)):
        broken = json.loads(json.dumps(example))
        mutate(broken)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


# -- configuration ------------------------------------------------------------------------------
@pytest.fixture()
def svc(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / ".git").mkdir()
    write_tree(tmp_path, {"svc/Dockerfile": PIP, "svc/requirements.txt": "six\n",
                          "svc/pylock.toml": placeholder_lock(), "svc/pylock.prod.toml": placeholder_lock(),
                          "gpu/Dockerfile": "FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\n" + PIP.split("\n", 1)[1],
                          "gpu/requirements.txt": "six\n", "gpu/pylock.toml": placeholder_lock()})
    monkeypatch.chdir(tmp_path)
    return tmp_path


def config(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = \"app\"\n\n[tool.dockerlock]\n" + body)


def test_flags_override_config(svc):
    config(svc, 'uv-version = "0.12.0"\nlocks = { "requirements.txt" = "pylock.prod.toml" }\nrecord = false\n')
    from_config = invoke("migrate", "--diff", "svc")
    assert "+COPY --from=ghcr.io/astral-sh/uv:0.12.0 /uv /uvx /bin/" in from_config.stdout
    assert "uv pip install -r /app/pylock.prod.toml --system" in from_config.stdout
    assert "# dockerlock: replaced" not in from_config.stdout
    flagged = invoke("migrate", "--diff", "--uv-version", UV, "--lock", "pylock.toml", "svc")
    assert f"uv:{UV} /uv" in flagged.stdout and "0.12.0" not in flagged.stdout
    assert "uv pip install -r /app/pylock.toml --system" in flagged.stdout
    config(svc, 'record = true\nuv-source = "pip"\n')
    assert "# dockerlock: replaced `" in invoke("migrate", "--diff", "svc").stdout
    no_record = invoke("migrate", "--diff", "--no-record", "--uv-source", "image", "svc").stdout
    assert "# dockerlock: replaced" not in no_record and "COPY --from=ghcr.io/astral-sh/uv" in no_record


def test_config_context_and_gpu_and_globs(svc):
    config(svc, 'context = "."\n')  # the root as context: svc's COPY requirements.txt is not there
    wrong = invoke("migrate", "--diff", "svc")
    assert wrong.exit_code != 1 and "RUN uv pip" not in wrong.stdout
    right = invoke("migrate", "--diff", "--context", "svc", "svc")
    assert right.exit_code == 1 and "+RUN uv pip install -r /app/pylock.toml" in right.stdout
    config(svc, "")
    assert "deferred by default" in invoke("migrate", "--check", "gpu").stderr
    config(svc, "include-gpu = true\n")
    assert "gpu/Dockerfile: would convert 1 stanza" in invoke("migrate", "--check", "gpu").stderr
    config(svc, 'exclude = ["gpu/*"]\n')
    out = invoke("migrate", "--check", ".").stderr
    assert "svc/Dockerfile" in out and "gpu/Dockerfile" not in out
    config(svc, 'include = ["gpu/*"]\n')
    out = invoke("migrate", "--check", ".").stderr
    assert "gpu/Dockerfile" in out and "svc/Dockerfile" not in out


@pytest.mark.parametrize("body, message", [
    ("record = yes\n", "cannot read configuration: Invalid value (at line 5, column 10)"),
    ("colour = true\n", "unknown key 'colour' in [tool.dockerlock]"),
    ("record = \"no\"\n", "[tool.dockerlock] record must be a boolean"),
    ('uv-digest = "abc123"\n', "[tool.dockerlock] uv-digest must be a sha256 digest"),
    ('uv-version = "0.13.9\\nRUN curl x"\n', "[tool.dockerlock] uv-version '0.13.9\\nRUN curl x' is not a version"),
    ('lock = "requirements.lock"\n', "a lock must be named pylock.toml or pylock.<name>.toml"),
    ('locks = { "a.txt" = "locks/a.toml" }\n', "[tool.dockerlock] locks 'locks/a.toml'"),
    ('lock = "pylock.a\\nRUN evil.toml"\n', "[tool.dockerlock] lock 'pylock.a\\nRUN evil.toml' contains control"),
    ('uv-source = "curl"\n', "[tool.dockerlock] uv-source must be 'image' or 'pip'"),
])
def test_bad_config_stops_with_exit_2_and_writes_nothing(svc, body, message):
    config(svc, body)
    result = invoke("migrate", "svc")
    assert result.exit_code == 2
    assert message in result.output and "pyproject.toml" in result.output
    assert (svc / "svc/Dockerfile").read_text() == PIP


def test_bad_flag_values_exit_2(svc):
    result = invoke("migrate", "--uv-digest", "abc123", "svc")
    assert result.exit_code == 2 and "--uv-digest must be a sha256 digest" in result.output
    good = invoke("migrate", "--diff", "--uv-version", UV, "--uv-digest", "ab" * 32, "svc")
    assert good.exit_code == 1 and f"+COPY --from=ghcr.io/astral-sh/uv:{UV}@sha256:{'ab' * 32} /uv" in good.stdout


def test_config_is_read_with_tomlkit_and_keeps_tomllib_values(tmp_path):
    from dockerlock.settings import Settings, load_settings

    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.dockerlock]  # comment\ninclude = ["a/*", "b/*"]  # trailing\n'
                    'locks = { "r.txt" = "pylock.r.toml" }\ninclude-gpu = true\nuv-digest = "' + "0" * 64 + '"\n')
    settings = load_settings(path)
    assert settings == Settings(include=("a/*", "b/*"), lock_map={"r.txt": "pylock.r.toml"}, include_gpu=True,
                                uv_digest="0" * 64, config_path=path)
    assert type(settings.include[0]) is str and type(settings.include_gpu) is bool  # plain values, not tomlkit items


# -- init ---------------------------------------------------------------------------------------
EXISTING = ('[project]\nname = "app"  # keep this comment\nversion = "1"\n\n[tool.ruff]\nline-length = 100\n\n'
            '[tool.ruff.lint]\nselect = ["E",   "F"]\n\n# settings for the other tool\n[other]\na = 1\n')


def test_init_adds_table_after_the_tool_tables_keeping_the_rest(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text(EXISTING)
    result = invoke("init", str(tmp_path))
    assert result.exit_code == 0
    assert result.stdout == f"{path}: added a commented [tool.dockerlock] table\n"
    expect_text("init-existing.toml", path.read_text())
    new = path.read_text()
    block = (FORMATS / "init-new.toml").read_text()
    head = '[project]\nname = "app"  # keep this comment\nversion = "1"\n\n[tool.ruff]\nline-length = 100\n\n' \
           '[tool.ruff.lint]\nselect = ["E",   "F"]\n\n'
    assert new == head + block + "\n# settings for the other tool\n[other]\na = 1\n"


def test_init_creates_pyproject_and_the_result_is_found_as_config(tmp_path, monkeypatch):
    from dockerlock.settings import Settings, find_pyproject, load_settings

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    result = invoke("init")
    assert result.exit_code == 0 and "pyproject.toml: created" in result.stdout
    expect_text("init-new.toml", (tmp_path / "pyproject.toml").read_text())
    write_tree(tmp_path, {"svc/Dockerfile": PIP})
    found = find_pyproject(tmp_path / "svc/Dockerfile")
    assert found is not None and found.resolve() == (tmp_path / "pyproject.toml").resolve()
    assert load_settings(found) == Settings(config_path=found)  # every key commented out: defaults


def test_init_keeps_crlf_and_bom_and_refuses_a_second_time(tmp_path):
    path = tmp_path / "pyproject.toml"
    original = ("\ufeff" + EXISTING.replace("\n", "\r\n")).encode("utf-8")
    path.write_bytes(original)
    assert invoke("init", str(path)).exit_code == 0
    expected = "\ufeff" + (FORMATS / "init-existing.toml").read_text().replace("\n", "\r\n")
    assert path.read_bytes() == expected.encode("utf-8")
    again = invoke("init", str(path))
    assert again.exit_code == 0 and "already exists; nothing changed" in again.stdout
    assert path.read_bytes() == expected.encode("utf-8")


@pytest.mark.parametrize("text, message", [
    ('[project\nname = "x"\n', "not valid TOML"),
    ("tool = { black = { line-length = 100 } }\n", "cannot add [tool.dockerlock]"),
    ('tool = "x"\n', "'tool' is not a table"),
])
def test_init_refuses_files_it_cannot_extend_safely(tmp_path, text, message):
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    result = invoke("init", str(path))
    assert result.exit_code == 2 and message in result.output and "nothing written" in result.output
    assert path.read_text() == text


def test_init_without_trailing_newline_and_with_existing_dotted_table(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"')
    invoke("init", str(path))
    assert path.read_text() == '[project]\nname = "x"\n\n' + (FORMATS / "init-new.toml").read_text()
    path.write_text('[tool]\ndockerlock.record = false\n')
    assert "already exists" in invoke("init", str(path)).stdout


def test_init_template_documents_every_key_and_uncommented_it_is_valid(tmp_path):
    from dockerlock.diagnostics import ConfigError
    from dockerlock.init import template_lines
    from dockerlock.settings import _KEYS, Settings, load_settings

    lines = template_lines()
    settable = [line[2:] for line in lines if re.match(r"# [a-z-]+ = ", line)]
    assert sorted(line.split(" = ")[0] for line in settable) == sorted(_KEYS)
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.dockerlock]\n" + "\n".join(x for x in settable if not x.startswith(("lock =",
                                                                                               "uv-digest"))) + "\n")
    settings = load_settings(path)
    defaults = Settings()
    for key in ("uv-version", "uv-source", "include-gpu", "record", "lock-check", "require-hashes",
                "compile-bytecode"):
        attr = _KEYS[key][0]
        assert getattr(settings, attr) == getattr(defaults, attr), key
    digest = next(x for x in settable if x.startswith("uv-digest"))
    path.write_text("[tool.dockerlock]\n" + digest + "\n")
    with pytest.raises(ConfigError, match="sha256 digest"):
        load_settings(path)  # the placeholder cannot slip into a Dockerfile


# -- terminal -----------------------------------------------------------------------------------
def many_dockerfiles(root: Path, n: int = 25) -> None:
    (root / ".git").mkdir()
    for i in range(n):
        write_tree(root, {f"s{i:02}/Dockerfile": "FROM alpine:3.20\nRUN echo hi\n"})
    write_tree(root, {"svc/Dockerfile": PIP, "svc/requirements.txt": "six\n", "svc/pylock.toml": placeholder_lock()})


def run_on_pty(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run dockerlock with stdout and stderr on a pseudo-terminal; return everything it wrote."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    proc = subprocess.Popen(dockerlock_argv() + args, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_progress_and_colour_on_a_terminal_but_not_when_piped(tmp_path):
    many_dockerfiles(tmp_path)
    env = clean_env(TERM="xterm-256color", PYTHONIOENCODING="utf-8")
    on_tty = run_on_pty(["migrate", "--check", "."], tmp_path, env)
    assert "/26" in on_tty  # the progress bar's "done/total" column
    assert ANSI.search(on_tty)
    assert "svc/Dockerfile: would convert 1 stanza" in ANSI.sub("", on_tty)

    piped = subprocess.run(dockerlock_argv() + ["migrate", "--check", "."], cwd=tmp_path, capture_output=True,
                           text=True, env=env, timeout=120)
    assert piped.returncode == 1
    assert "/26" not in piped.stderr + piped.stdout and not ANSI.search(piped.stdout + piped.stderr)
    assert "\r" not in piped.stderr

    no_color = run_on_pty(["migrate", "--check", "svc"], tmp_path, clean_env(TERM="xterm-256color", NO_COLOR="1"))
    assert "would convert 1 stanza" in no_color and not ANSI.search(no_color)
    flag = run_on_pty(["migrate", "--check", "--no-color", "svc"], tmp_path, clean_env(TERM="xterm-256color"))
    assert "would convert 1 stanza" in flag and not ANSI.search(flag)
    quiet = run_on_pty(["migrate", "--check", "-q", "."], tmp_path, env)
    assert "/26" not in quiet  # --quiet: no progress bar either


def test_color_flag_forces_colour_when_piped(tmp_path):
    many_dockerfiles(tmp_path, n=0)
    piped = subprocess.run(dockerlock_argv() + ["migrate", "--check", "--color", "svc"], cwd=tmp_path,
                           capture_output=True, text=True, env=clean_env(NO_COLOR="1"), timeout=120)
    assert ANSI.search(piped.stderr), piped.stderr  # the status lines, on standard error
    assert piped.stdout == ""


def test_quiet_and_verbose(tmp_path, monkeypatch):
    many_dockerfiles(tmp_path, n=2)
    monkeypatch.chdir(tmp_path)
    quiet = invoke("migrate", "--check", "-q", ".")
    assert quiet.stdout == ""
    assert quiet.stderr == "1 file would be converted (1 stanza), 2 unchanged, 0 stanzas skipped, 0 errors\n"
    normal = invoke("migrate", "--check", ".").stderr
    verbose = invoke("migrate", "--check", "-v", ".").stderr
    assert "s00/Dockerfile: unchanged" in normal and "pip install -r /app/requirements.txt -> uv pip install" \
        not in normal
    assert "  svc/Dockerfile:3: pip install -r /app/requirements.txt -> uv pip install -r /app/pylock.toml" in verbose


def test_check_quiet_hides_warnings_not_errors(tree):
    full = invoke("check", "omi").stdout
    quiet = invoke("check", "-q", "omi").stdout
    assert " warning DLK" in full and " error DLK" in full
    assert " warning DLK" not in quiet and " error DLK" in quiet
    assert quiet.splitlines()[-1] == full.splitlines()[-1] == "1 file(s) checked: 1 error(s), 1 warning(s)"


def test_shell_completion_is_offered_and_works():
    help_text = invoke("--help").stdout
    assert "--install-completion" in help_text and "--show-completion" in help_text
    env = clean_env(_DOCKERLOCK_COMPLETE="complete_bash", COMP_WORDS="dockerlock ", COMP_CWORD="1")
    out = subprocess.run(dockerlock_argv(), capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0
    assert {"migrate", "revert", "check", "lock", "init"} <= set(out.stdout.split())
    env.update(COMP_WORDS="dockerlock migrate --uv-", COMP_CWORD="2")
    out = subprocess.run(dockerlock_argv(), capture_output=True, text=True, env=env, timeout=120)
    assert set(out.stdout.split()) == {"--uv-version", "--uv-digest", "--uv-source"}


# -- GitHub Action ------------------------------------------------------------------------------
def action_step_script(step_name: str) -> str:
    """The ``run: |`` block of one step in action.yml (read without a YAML library)."""
    lines = (ROOT / "action.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"- name: {step_name}")
    run_at = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "run: |")
    indent = None
    body = []
    for line in lines[run_at + 1:]:
        if line.strip() and indent is None:
            indent = len(line) - len(line.lstrip())
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            break
        body.append(line[indent:] if line.strip() else "")
    return "\n".join(body) + "\n"


def test_action_is_composite_and_installs_from_its_own_path():
    text = (ROOT / "action.yml").read_text()
    assert re.search(r"^runs:\n  using: composite$", text, re.M)
    assert re.search(r'^  paths:\n(    .*\n)*    default: "\."$', text, re.M)
    install = action_step_script("Install dockerlock")
    assert 'pip install --quiet --disable-pip-version-check "$GITHUB_ACTION_PATH"' in install
    assert "${{" not in action_step_script("dockerlock check")  # inputs arrive through env, never spliced


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_action_check_step_runs_dockerlock_check_on_the_paths(tree):
    script = action_step_script("dockerlock check")
    runner_temp = tree / "runner-temp"
    shim = runner_temp / "dockerlock-venv/bin/dockerlock"
    shim.parent.mkdir(parents=True)
    shim.write_text("#!/bin/sh\nexec " + " ".join(shlex.quote(a) for a in dockerlock_argv()) + ' "$@"\n')
    shim.chmod(0o755)
    summary = tree / "summary.md"
    env = clean_env(RUNNER_TEMP=str(runner_temp), DOCKERLOCK_PATHS="omi\n extra/Dockerfile", DOCKERLOCK_ARGS="",
                    GITHUB_STEP_SUMMARY=str(summary))
    out = subprocess.run(["bash", "-c", script], cwd=tree, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1, out.stderr
    assert out.stdout.startswith("::error file=omi/backend/Dockerfile,line=7,title=DLK")
    assert "::warning file=extra/Dockerfile,line=3,title=DLK245" in out.stdout  # refused stanzas are listed
    assert out.stderr == "2 file(s) checked: 1 error(s), 2 warning(s)\n"  # the log line; annotations on stdout
    assert summary.read_text().startswith("## dockerlock check\n")
    env.update(DOCKERLOCK_PATHS="plain", DOCKERLOCK_ARGS="--config pyproject.toml")
    (tree / "pyproject.toml").write_text("[tool.dockerlock]\n")
    ok = subprocess.run(["bash", "-c", script], cwd=tree, capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0 and ok.stdout == "" and ok.stderr == "1 file(s) checked: 0 error(s), 0 warning(s)\n"


# -- help and docs ------------------------------------------------------------------------------
def click_commands():
    import typer.main

    group = typer.main.get_command(build_app())
    return group, dict(group.commands)


def option_strings(command) -> list[str]:
    return [opt for p in command.params if p.param_type_name == "option" for opt in p.opts + p.secondary_opts]


def test_help_mentions_every_option_each_command_defines():
    group, commands = click_commands()
    assert {"migrate", "revert", "check", "lock", "init"} <= set(commands)
    root_help = invoke("--help").stdout
    for opt in option_strings(group) + ["-h", "--help"]:
        assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", root_help), opt
    for name, command in commands.items():
        assert re.search(rf"^  {name}\s", root_help, re.M), name
        text = invoke(name, "--help").stdout
        options = option_strings(command)
        assert options or name == "init", name
        for opt in options + ["-h", "--help"]:
            assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", text), f"{name} {opt}"
        for arg in (p for p in command.params if p.param_type_name == "argument"):
            assert arg.name in text, f"{name} argument {arg.name}"


def commands_md_sections() -> dict[str, str]:
    text = (DOCS / "commands.md").read_text()
    parts = re.split(r"^## `dockerlock (\w+)`", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_commands_md_documents_every_command_and_option():
    _group, commands = click_commands()
    sections = commands_md_sections()
    assert set(sections) == set(commands), "commands.md needs a '## `dockerlock <name>`' section per command"
    for name, command in commands.items():
        for opt in option_strings(command):
            assert re.search(rf"`{re.escape(opt)}[`/ =<]", sections[name]), f"commands.md: {name} {opt}"


def test_rules_md_lists_every_finding_code():
    from dockerlock.rules import all_codes

    text = (DOCS / "rules.md").read_text()
    missing = [code for code in all_codes() if not re.search(rf"^#+ .*\b{code}\b", text, re.M)]
    assert not missing, f"docs/rules.md has no heading for {missing}"


def test_rules_md_gives_every_pip_option_its_fate():
    from dockerlock.shell.pip_options import PIP_INSTALL_OPTIONS

    table = (DOCS / "rules.md").read_text().split("### pip options", 1)[1].split("### When it leaves", 1)[0]
    rows = {row.split("|")[1].strip(): row for row in table.splitlines() if row.startswith("| ") and "`" in row}
    fates = {"carry": "passed on to uv", "drop": "dropped, with a `DLK105` note", "refuse": "stanza left alone (`DLK115`)",
             "handled": "decided by the migrate rule"}
    for option, rule in PIP_INSTALL_OPTIONS.items():
        assert f"`{option}`" in rows[fates[rule.action]], f"rules.md: {option} ({rule.action})"
        if rule.uv_name:
            assert f"`{option}` (as `{rule.uv_name}`)" in rows[fates["carry"]], option


def test_docs_and_ci_files_never_name_a_package_registry_host():
    files = [*DOCS.glob("*.md"), ROOT / "action.yml", ROOT / ".pre-commit-hooks.yaml"]
    assert len(files) >= 10
    for path in files:
        text = path.read_text().lower()
        assert "pypi.org" not in text and "pythonhosted" not in text, path.name


def test_every_doc_is_linked_and_links_resolve():
    names = {p.name for p in DOCS.glob("*.md")}
    assert {"getting-started.md", "commands.md", "rules.md", "record.md", "walkthrough.md", "ci.md", "faq.md",
            "json-schema.md"} <= names
    for path in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", path.read_text()):
            assert (DOCS / target).is_file(), f"{path.name} links to missing {target}"


def test_rules_md_code_sections_are_written_from_the_rules():
    from dockerlock.rules import catalog

    text = (DOCS / "rules.md").read_text()
    assert catalog.rewrite(text) == text, "regenerate with: python -m dockerlock.rules.catalog docs/rules.md"
    for code in catalog.documented_codes():
        assert code.what and code.why and code.fix, f"{code.code} needs What / Why / Fix docs"
