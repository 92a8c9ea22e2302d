"""Build verification: builder detection, smoke-module discovery and a fake engine (unit tests),
then real podman builds through the shared container-build harness (``@pytest.mark.build``)."""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from build_harness import unavailable
from dockerlock.diagnostics import ConfigError
from dockerlock.verify import Difference, InstalledDist, VerifyError, normalise_name
from dockerlock.verify.builds import (
    RUN_LABEL, Builder, DistContents, detect_builder, importable_names, top_level_modules, verify_builds,
)

FIXTURE = Path(__file__).parent / "fixtures" / "verify_app"


# --------------------------------------------------------------------------- detection (fakes)

class Probes:
    """Fake ``which`` and ``run``: programs present, probe commands that succeed, calls made."""

    def __init__(self, programs: dict[str, str], working: set[tuple[str, ...]]):
        self.programs, self.working, self.calls = programs, working, []

    def which(self, name: str) -> str | None:
        return self.programs.get(name)

    def run(self, argv: list[str]) -> int:
        self.calls.append(tuple(argv))
        return 0 if tuple(argv) in self.working else 1


DOCKER, PODMAN = "/usr/bin/docker", "/usr/bin/podman"


def detect(probes: Probes, preferred=None) -> Builder:
    return detect_builder(preferred, which=probes.which, run=probes.run)


def test_detect_prefers_buildx_when_engine_and_plugin_work():
    probes = Probes({"docker": DOCKER, "podman": PODMAN},
                    {(DOCKER, "info"), (DOCKER, "buildx", "version"), (PODMAN, "info")})
    builder = detect(probes)
    assert (builder.kind, builder.executable) == ("docker-buildx", DOCKER)
    assert builder.build_command(Path("/ctx"), Path("/ctx/Dockerfile"), "t:1", no_cache=True)[:4] == [
        DOCKER, "buildx", "build", "--load"]


def test_detect_plain_docker_without_buildx_plugin():
    probes = Probes({"docker": DOCKER}, {(DOCKER, "info")})
    builder = detect(probes)
    assert builder.kind == "docker"
    argv = builder.build_command(Path("/ctx"), Path("/other/Dockerfile"), "t:1", no_cache=False,
                                 extra_args=["--build-arg", "A=1"])
    assert argv == [DOCKER, "build", "-f", "/other/Dockerfile", "-t", "t:1", "--build-arg", "A=1", "/ctx"]
    assert probes.calls.count((DOCKER, "info")) == 1     # probed once, not once per candidate


def test_detect_docker_cli_without_engine_falls_back_to_podman():
    # what these machines have: a docker client binary and no daemon
    probes = Probes({"docker": DOCKER, "podman": PODMAN}, {(DOCKER, "buildx", "version"), (PODMAN, "info")})
    builder = detect(probes)
    assert (builder.kind, builder.executable) == ("podman", PODMAN)
    argv = builder.build_command(Path("/ctx"), Path("/ctx/Dockerfile"), "t:1", no_cache=True)
    assert argv[:2] == [PODMAN, "build"] and "--no-cache" in argv


def test_detect_nothing_usable_explains_each_candidate():
    probes = Probes({"docker": DOCKER}, set())
    with pytest.raises(VerifyError) as caught:
        detect(probes)
    text = str(caught.value)
    assert text.startswith("no container builder found: install Docker or Podman")
    assert "`docker info` cannot reach an engine" in text and "`podman` not found" in text


def test_preferred_podman_does_not_probe_docker():
    probes = Probes({"docker": DOCKER, "podman": PODMAN},
                    {(DOCKER, "info"), (DOCKER, "buildx", "version"), (PODMAN, "info")})
    assert detect(probes, "podman").kind == "podman"
    assert all(call[0] == PODMAN for call in probes.calls)


def test_preferred_buildx_without_plugin_is_an_error_not_a_fallback():
    probes = Probes({"docker": DOCKER, "podman": PODMAN}, {(DOCKER, "info"), (PODMAN, "info")})
    with pytest.raises(VerifyError, match="builder 'docker-buildx' is not usable.*no buildx plugin"):
        detect(probes, "docker-buildx")


def test_preferred_podman_that_does_not_work():
    probes = Probes({"podman": PODMAN}, set())
    with pytest.raises(VerifyError, match="podman info"):
        detect(probes, "podman")


def test_unknown_preferred_builder_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown builder 'kaniko'"):
        detect(Probes({}, set()), "kaniko")


def test_env_reaches_the_builder_and_the_default_probe(tmp_path):
    # a fake podman whose `info` only works when the environment says so
    fake = tmp_path / "podman"
    fake.write_text("#!/bin/sh\n[ \"$FAKE_PODMAN_OK\" = 1 ]\n")
    fake.chmod(0o755)
    which = {"podman": str(fake)}.get
    with pytest.raises(VerifyError):
        detect_builder("podman", which=which)
    builder = detect_builder("podman", which=which, env={"FAKE_PODMAN_OK": "1"})
    assert builder.env == {"FAKE_PODMAN_OK": "1"}


# --------------------------------------------------------------------------- smoke modules

def contents(name, files=None, top_level=None) -> DistContents:
    return DistContents(name, tuple(files) if files is not None else None,
                        tuple(top_level) if top_level is not None else None)


def test_importable_names_from_record():
    dist = contents("demo", [
        "demo/__init__.py", "demo/sub", "demo-1.0.dist-info/RECORD", "demo_helpers.py",
        "_demo_private.py", "tests/__init__.py", "demo.pth", "../../bin/demo", "__pycache__/x.pyc",
        "fastext.cpython-311-x86_64-linux-gnu.so", "demo-1.0.data/scripts/x", "not-a-name.py",
    ])
    assert importable_names(dist) == ["demo", "demo_helpers", "fastext"]


def test_namespace_directories_are_descended():
    dist = contents("google-protobuf-like", [
        "google/protobuf/__init__.py", "google/protobuf/message.py", "google/_upb/_message.so",
        "zope/interface/__init__.py",
    ])
    assert importable_names(dist) == ["google.protobuf", "zope.interface"]


def test_top_level_txt_is_used_without_record():
    assert importable_names(contents("legacy", None, ["legacy", "_legacy_c", "tests"])) == ["legacy"]
    assert importable_names(contents("empty")) == []


def test_top_level_modules_filters_distributions():
    found = {
        "pip": contents("pip", ["pip/__init__.py"]),
        "setuptools": contents("setuptools", ["setuptools/__init__.py", "_distutils_hack/__init__.py"]),
        "typing-extensions": contents("typing-extensions", ["typing_extensions.py"]),
        "pyyaml": contents("pyyaml", ["yaml/__init__.py", "_yaml/__init__.py"]),
    }
    assert top_level_modules(found) == ["typing_extensions", "yaml"]
    assert top_level_modules(found, only=["PyYAML"]) == ["yaml"]
    assert top_level_modules(found, ignore=()) == ["pip", "setuptools", "typing_extensions", "yaml"]


# --------------------------------------------------------------------------- a fake engine

FAKE_ENGINE = r'''
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_ENGINE_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
command = args[0]
if command == "build":
    # a build "succeeds" unless FAKE_BUILD_FAIL names its Dockerfile; with the cache allowed,
    # it reports three cached steps; the Dockerfile's text and the app file are recorded
    dockerfile, context = args[args.index("-f") + 1], args[-1]
    app = os.path.join(context, "main.py")
    with open(os.environ["FAKE_ENGINE_LOG"] + ".builds", "a") as log:
        log.write(json.dumps({"dockerfile": dockerfile, "text": open(dockerfile).read(),
                              "app": open(app).read() if os.path.exists(app) else None}) + "\n")
    if os.environ.get("FAKE_BUILD_FAIL") and os.environ["FAKE_BUILD_FAIL"] in dockerfile:
        for n in range(1, 41):
            print("build log line %d" % n)
        sys.exit(1)
    if "--no-cache" not in args:
        for _ in range(3):
            print("--> Using cache 0123456789abcdef")
    print("COMMIT " + args[args.index("-t") + 1])
    # every build makes one image (ID from a counter) carrying the --label it was given
    with open(os.environ["FAKE_ENGINE_LOG"] + ".images", "a+") as images:
        images.seek(0)
        number = len(images.read().splitlines())
        label = args[args.index("--label") + 1] if "--label" in args else ""
        images.write(json.dumps({"id": "sha256:%064x" % (number + 1), "label": label}) + "\n")
elif command in ("images", "ps"):
    wanted = args[args.index("--filter") + 1].split("=", 1)[1]
    if command == "images":
        path = os.environ["FAKE_ENGINE_LOG"] + ".images"
        for line in (open(path).read().splitlines() if os.path.exists(path) else []):
            if json.loads(line)["label"] == wanted:
                print(json.loads(line)["id"])
    else:
        for line in open(os.environ["FAKE_ENGINE_LOG"]).read().splitlines():
            call = json.loads(line)
            if call[:2] == ["run", "-d"] and wanted in call:
                print("c0ffee")
elif command == "image" and args[1] == "inspect":
    print(os.environ.get("FAKE_IMAGE_ENV", "[]"))
elif command == "run" and "-d" in args:
    print("c0ffee")
elif command == "run":
    at = args.index("--entrypoint")
    entry, rest = args[at + 1], args[at + 3:]
    if entry == "sh":
        os.execvp("sh", ["sh", *rest])
    if entry not in os.environ.get("FAKE_PYTHONS", "python").split(","):
        sys.stderr.write('exec: "%s": executable file not found in $PATH\n' % entry)
        sys.exit(127)
    site = os.environ["FAKE_SITE"]
    if "migrated" in args[at + 2] and os.environ.get("FAKE_SITE_MIGRATED"):
        site = os.environ["FAKE_SITE_MIGRATED"]
    env = dict(os.environ, PYTHONPATH=site)
    os.execve(sys.executable, [sys.executable, "-S", *rest], env)
elif command == "port":
    print(os.environ.get("FAKE_PORT", ""))
elif command == "inspect":
    print(os.environ.get("FAKE_RUNNING", "true"))
elif command == "logs":
    print("fake container log line")
elif command in ("rm", "image"):
    pass
else:
    sys.exit(2)
'''


def _dist_info(site: Path, name: str, version: str, files: list[str] | None, *,
               top_level: list[str] | None = None, commit: str | None = None) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if files is not None:
        (info / "RECORD").write_text("".join(f"{f},,\n" for f in files + [f"{info.name}/RECORD"]))
    if top_level is not None:
        (info / "top_level.txt").write_text("\n".join(top_level) + "\n")
    if commit:
        (info / "direct_url.json").write_text(json.dumps(
            {"url": "https://files.example.org/repo.git", "vcs_info": {"vcs": "git", "commit_id": commit}}))


@pytest.fixture
def fake_engine(tmp_path):
    site = tmp_path / "site"
    (site / "demo").mkdir(parents=True)
    (site / "demo" / "__init__.py").write_text("VALUE = 1\n")
    _dist_info(site, "Demo_Pkg", "1.0", ["demo/__init__.py"])
    (site / "broken.py").write_text("raise ImportError('needs libfoo.so.1')\n")
    _dist_info(site, "broken", "2.0", ["broken.py"])
    (site / "crashy.py").write_text("import os\nos.abort()\n")
    _dist_info(site, "crashy", "0.1", ["crashy.py"])
    (site / "vcsdemo.py").write_text("")
    _dist_info(site, "vcsdemo", "0.5", None, top_level=["vcsdemo"], commit="f" * 40)
    engine = tmp_path / "fake-engine"
    engine.write_text(f"#!{sys.executable}\n{FAKE_ENGINE}")
    engine.chmod(0o755)
    log = tmp_path / "engine.log"
    env = {"FAKE_ENGINE_LOG": str(log), "FAKE_SITE": str(site), "FAKE_PYTHONS": "python3",
           "FAKE_IMAGE_ENV": json.dumps(["PATH=/usr/bin", "VIRTUAL_ENV=/opt/venv"])}
    builder = Builder("podman", str(engine), env=env, run_timeout=60)
    builder.calls = lambda: [json.loads(line) for line in log.read_text().splitlines()]  # type: ignore[attr-defined]
    return builder


def test_freeze_finds_the_interpreter_and_reads_vcs_commits(fake_engine):
    found = fake_engine.freeze("img:1")
    assert found == {
        "demo-pkg": InstalledDist("demo-pkg", "1.0"), "broken": InstalledDist("broken", "2.0"),
        "crashy": InstalledDist("crashy", "0.1"), "vcsdemo": InstalledDist("vcsdemo", "0.5", "f" * 40)}
    entrypoints = [c[c.index("--entrypoint") + 1] for c in fake_engine.calls() if "--entrypoint" in c]
    # $VIRTUAL_ENV/bin/python first, then python, then python3 (which works); then remembered
    assert entrypoints == ["/opt/venv/bin/python", "python", "python3", "python3"]
    assert all("none" == c[c.index("--network") + 1] for c in fake_engine.calls() if c[0] == "run")
    fake_engine.freeze("img:1")
    assert [c[c.index("--entrypoint") + 1] for c in fake_engine.calls() if "--entrypoint" in c][-1] == "python3"


def test_no_python_in_image(fake_engine):
    fake_engine.env = {**fake_engine.env, "FAKE_PYTHONS": "ruby"}
    with pytest.raises(VerifyError, match=r"no Python 3.8\+ found in img:2 .*python3"):
        fake_engine.freeze("img:2")


def test_smoke_reports_failures_and_survives_a_crashing_import(fake_engine):
    result = fake_engine.smoke("img:1", ignore=())
    assert result.modules == ("broken", "crashy", "demo", "vcsdemo")
    assert result.failed["broken"] == "ImportError: needs libfoo.so.1"
    assert result.failed["crashy"].startswith("the interpreter died importing it")
    assert set(result.failed) == {"broken", "crashy"}       # demo and vcsdemo were still tried
    assert not result.ok


def test_smoke_explicit_modules_and_command(fake_engine):
    ok = fake_engine.smoke("img:1", ["demo", "json"], command="echo smoke-ran; exit 0")
    assert ok.ok and ok.failed == {} and ok.command_returncode == 0 and "smoke-ran" in ok.command_output
    failing = fake_engine.smoke("img:1", [], command="exit 4")
    assert failing.command_returncode == 4 and not failing.ok


def test_unpublished_port_is_explained(fake_engine):
    with pytest.raises(VerifyError, match="port 8080 was not published") as caught:
        fake_engine.start("img:1", 8080)
    assert "--network=bridge" in caught.value.hint
    assert ["rm", "-f", "c0ffee"] in fake_engine.calls()       # the container was not left behind


def test_container_that_exits_at_once_is_a_start_failure(fake_engine):
    fake_engine.env = {**fake_engine.env, "FAKE_RUNNING": "false"}
    with pytest.raises(VerifyError, match="exited right after starting") as caught:
        fake_engine.start("img:1", 8080)
    assert "fake container log line" in caught.value.output_tail


def test_start_publishes_on_loopback_only(fake_engine):
    fake_engine.env = {**fake_engine.env, "FAKE_PORT": "127.0.0.1:40000"}
    fake_engine.start_args = ("--network=bridge",)
    container = fake_engine.start("img:1", 8000, env={"APP_ENV": "test"})
    run = next(c for c in fake_engine.calls() if c[0] == "run" and "-d" in c)
    published = run[run.index("-p") + 1]
    assert published == f"127.0.0.1:{container.host_port}:8000"
    assert "--network=bridge" in run and run[-1] == "img:1" and "APP_ENV=test" in run


# --------------------------------------------------------------------------- verify_builds (fake engine)

@pytest.fixture
def app_context(tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM python:3.11-slim\nRUN pip install -r requirements.txt\n")
    (context / "main.py").write_text("print('app')\n")
    return context


def builds_log(builder) -> list[dict]:
    path = Path(builder.env["FAKE_ENGINE_LOG"] + ".builds")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_verify_builds_orchestration(fake_engine, app_context):
    app = app_context / "main.py"
    os.utime(app, (1_000_000_000, 1_000_000_000))
    before = app.read_bytes()
    migrated_text = "FROM python:3.11-slim\nRUN uv pip sync pylock.toml --system\n"
    messages: list[str] = []
    result = verify_builds(app_context / "Dockerfile", migrated_text, app_context, builder=fake_engine,
                           app_file=Path("main.py"), progress=messages.append)
    builds = builds_log(fake_engine)
    # cold both, priming both, then both after the app change
    assert [b["text"] == migrated_text for b in builds] == [False, True] * 3
    assert [b["app"] for b in builds] == [before.decode()] * 4 + [before.decode() + "\n"] * 2
    migrated_path = Path(builds[1]["dockerfile"])
    assert app_context not in migrated_path.parents and not migrated_path.exists()
    assert app.read_bytes() == before and app.stat().st_mtime == 1_000_000_000
    assert (result.original_build.cached_steps, result.migrated_rebuild.cached_steps) == (0, 3)
    assert result.differences == [] and result.ok
    # the same imports fail in both images: not regressions, but said
    assert set(result.smoke.failed) == {"broken", "crashy"} and result.smoke_regressions == {}
    assert any("fails in the original image too" in note for note in result.notes)
    assert [m for m in messages if m.startswith("will run: ")] == [
        f"will run: {shlex.join(c)}" for c in result.commands if c[1] == "build"][:6]
    # every image the six builds made (a rebuild under the same tag leaves the old one untagged)
    # is removed, found by the run's label; nothing else is touched
    built = [json.loads(line) for line in Path(fake_engine.env["FAKE_ENGINE_LOG"] + ".images").read_text().splitlines()]
    assert len(built) == 6 and len({b["label"] for b in built}) == 1 and built[0]["label"].startswith(RUN_LABEL + "=")
    removals = [c for c in fake_engine.calls() if c[:2] == ["image", "rm"]]
    assert removals == [["image", "rm", "-f", *[b["id"] for b in built]]]
    assert result.removed_images == tuple(b["id"] for b in built)
    # containers that ran for the smoke test and the listing carried the label too
    runs = [c for c in fake_engine.calls() if c[0] == "run"]
    assert runs and all(built[0]["label"] in c for c in runs)


def test_verify_builds_repeats_timed_builds_and_can_keep_its_images(fake_engine, app_context):
    app = app_context / "main.py"
    before = app.read_text()
    result = verify_builds(app_context / "Dockerfile", "FROM python:3.11-slim\n", app_context,
                           builder=fake_engine, app_file=Path("main.py"), repeat=2, keep_images=True)
    builds = builds_log(fake_engine)
    # cold x2 (alternating sides), priming, then two rebuilds, each after a different change
    assert len(builds) == 10
    assert [b["app"] for b in builds] == [before] * 6 + [before + "\n"] * 2 + [before + "\n\n"] * 2
    assert {key: len(t.samples) for key, t in result.samples.items()} == {
        "original-cold": 2, "migrated-cold": 2, "original-rebuild": 2, "migrated-rebuild": 2}
    assert app.read_text() == before
    calls = fake_engine.calls()
    assert not [c for c in calls if c[0] in ("images", "ps") or c[:2] == ["image", "rm"]]
    assert result.removed_images == ()


def test_verify_builds_removes_the_health_containers_it_started(fake_engine, app_context):
    fake_engine.env = {**fake_engine.env, "FAKE_PORT": "127.0.0.1:40000"}
    with pytest.raises(VerifyError):   # nothing answers the probe; the cleanup still runs
        verify_builds(app_context / "Dockerfile", "FROM python:3.11-slim\n", app_context,
                      builder=fake_engine, health_path="/health", timeout=0.5)
    calls = fake_engine.calls()
    listing = next(c for c in calls if c[0] == "ps")
    assert listing[:4] == ["ps", "-a", "-q", "--no-trunc"] and listing[-1].startswith("label=" + RUN_LABEL)
    assert ["rm", "-f", "c0ffee"] in calls
    assert [c for c in calls if c[:2] == ["image", "rm"]]


def test_verify_builds_reports_import_regressions_and_differences(fake_engine, app_context, tmp_path):
    migrated_site = tmp_path / "migrated-site"
    shutil.copytree(Path(fake_engine.env["FAKE_SITE"]), migrated_site)
    (migrated_site / "demo" / "__init__.py").write_text("import libdemo_native\n")   # masked before
    shutil.rmtree(migrated_site / "vcsdemo-0.5.dist-info")
    _dist_info(migrated_site, "vcsdemo", "0.5", None, top_level=["vcsdemo"], commit="e" * 40)
    fake_engine.env = {**fake_engine.env, "FAKE_SITE_MIGRATED": str(migrated_site)}
    result = verify_builds(app_context / "Dockerfile", "FROM scratch\n", app_context, builder=fake_engine)
    assert not result.ok
    assert [(d.name, d.kind) for d in result.differences] == [("vcsdemo", "vcs-commit")]
    assert list(result.smoke_regressions) == ["demo"]
    assert "ModuleNotFoundError" in result.smoke_regressions["demo"]
    assert result.migrated_rebuild is None


def test_verify_builds_failed_build_names_the_side_and_keeps_30_lines(fake_engine, app_context):
    fake_engine.env = {**fake_engine.env, "FAKE_BUILD_FAIL": "Dockerfile.migrated"}
    with pytest.raises(VerifyError) as caught:
        verify_builds(app_context / "Dockerfile", "FROM scratch\n", app_context, builder=fake_engine)
    err = caught.value
    assert err.reason.startswith("migrated Dockerfile: building ")
    lines = err.output_tail.splitlines()
    assert len(lines) == 30 and lines[-1] == "build log line 40"
    # what the run made before the failure (the original image; with buildah also the failed
    # build's intermediate images, which carry the run's label too) is removed in one call
    assert [c for c in fake_engine.calls() if c[:2] == ["image", "rm"]] == [
        ["image", "rm", "-f", "sha256:%064x" % 1]]


# --------------------------------------------------------------------------- health probe (local HTTP)

@pytest.fixture
def http_server():
    state = {"fail_first": 0, "status": 200, "hits": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            state["hits"] += 1
            status = 503 if state["hits"] <= state["fail_first"] else state["status"]
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], state
    server.shutdown()


def test_probe_health_waits_through_errors_until_2xx(http_server):
    port, state = http_server
    state["fail_first"] = 3
    result = Builder("podman", "podman").probe_health("/v1/health", port, 20, interval=0.05)
    assert result.status == 200 and state["hits"] == 4
    assert result.url == f"http://127.0.0.1:{port}/v1/health"


def test_probe_health_times_out_with_last_answer(http_server):
    port, state = http_server
    state["status"] = 404
    with pytest.raises(VerifyError, match=r"health probe timed out after 1 s: GET .*/v1/health \(last: HTTP 404\)"):
        Builder("podman", "podman").probe_health("v1/health", port, 1, interval=0.05)


# --------------------------------------------------------------------------- argument checks

def test_app_file_must_be_inside_the_context(tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\n")
    outside = tmp_path / "main.py"
    outside.write_text("")
    with pytest.raises(ConfigError, match="not a file inside the build context"):
        verify_builds(context / "Dockerfile", "FROM scratch\n", context,
                      builder=Builder("podman", "/nonexistent/podman"), app_file=outside)


# --------------------------------------------------------------------------- real builds (podman)
# The harness, podman and uv_command fixtures come from conftest.py (build_harness.py).

def example_context(tmp_path: Path, uv_command: list[str], lock_input: str | None = None) -> Path:
    """The example app's context with a pylock.toml generated now (from requirements.txt or ``lock_input``)."""
    context = tmp_path / "context"
    shutil.copytree(FIXTURE / "context", context)
    source = context / "requirements.txt"
    if lock_input is not None:
        source = tmp_path / "lock-input.txt"
        source.write_text(lock_input)
    done = subprocess.run([*uv_command, "pip", "compile", "--quiet", "--format", "pylock.toml",
                           "--universal", "--python-version", "3.11", str(source),
                           "-o", str(context / "pylock.toml")],
                          timeout=300, env=dict(os.environ, UV_NO_CONFIG="1"), capture_output=True, text=True)
    if done.returncode != 0:
        unavailable("cannot generate the example lock (package index unreachable?): "
                    + done.stderr.strip()[-300:])
    return context


def steps_before(text: str, marker: str) -> int:
    """Instructions after FROM and before the first one starting with ``marker`` (single stage)."""
    logical, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip("\\") + " "
        if not line.rstrip().endswith("\\"):
            logical.append(current.strip())
            current = ""
    index = next(i for i, instruction in enumerate(logical) if instruction.startswith(marker))
    return index - 1


def migrated(context: Path, *, allow_drift: bool = False) -> str:
    """The "after" Dockerfile: dockerlock's own migrate output for the example context."""
    from dockerlock.engine import migrate_dockerfile
    from dockerlock.loading import context_at
    from dockerlock.model import Dockerfile
    from dockerlock.settings import Settings

    settings = Settings(allow_drift=allow_drift)
    df = Dockerfile.from_bytes((context / "Dockerfile").read_bytes(), "Dockerfile")
    result = migrate_dockerfile(df, context_at(context, df, settings), settings)
    assert result.error is None and result.new_text is not None, result.error
    assert "uv pip sync pylock.toml --python /opt/venv/bin/python" in result.new_text
    return result.new_text


def pins(requirements: Path) -> dict[str, str]:
    found = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[normalise_name(name)] = version.strip()
    return found


@pytest.mark.build
def test_example_app_images_match_smoke_and_answer_health(tmp_path, podman, uv_command):
    context = example_context(tmp_path, uv_command)
    main_before = (context / "main.py").read_bytes()
    podman.ensure_uv_images(migrated(context))   # the harness's stand-ins are not the run's images
    images_before = all_images(podman)
    messages: list[str] = []
    result = verify_builds(context / "Dockerfile", migrated(context), context,
                           builder=podman, health_path="/v1/health", port=8080, timeout=60,
                           app_file=Path("main.py"), progress=messages.append)

    assert result.differences == [] and result.ok, [d.describe() for d in result.differences]
    assert result.original_packages == result.migrated_packages
    installed = {name: dist.version for name, dist in result.migrated_packages.items()}
    assert pins(context / "requirements.txt").items() <= installed.items()
    # smoke: import names come from what the distributions installed, seeds and private names left out
    assert {"fastapi", "pydantic", "pydantic_core", "uvicorn", "starlette"} <= set(result.smoke.modules)
    assert not {"pip", "setuptools", "_distutils_hack"} & set(result.smoke.modules)
    assert result.smoke.ok and result.smoke_regressions == {}
    assert {side: h.status for side, h in result.health.items()} == {"original": 200, "migrated": 200}
    # after the app change the dependency layer came from cache, and the file is back as it was
    assert result.migrated_rebuild is not None and result.original_rebuild is not None
    # every step above `COPY main.py` (the dependency steps included) was a cache hit
    assert result.original_rebuild.cached_steps == steps_before(
        (context / "Dockerfile").read_text(), "COPY main.py")
    assert result.migrated_rebuild.cached_steps == steps_before(
        migrated(context), "COPY main.py")
    assert result.migrated_rebuild.seconds < result.migrated_build.seconds
    assert (context / "main.py").read_bytes() == main_before
    assert all(b.seconds > 0 for b in (result.original_build, result.migrated_build))
    assert any(m.startswith("will run: ") for m in messages)
    assert len([c for c in result.commands if c[1] == "build"]) == 6   # cold, priming, timed
    # the images were removed: tagged, untagged (earlier builds of a tag) and intermediate ones
    images = subprocess.run([podman.executable, "images", "--format", "{{.Repository}}"],
                            env=dict(os.environ, **podman.env), capture_output=True, text=True).stdout
    assert "dockerlock-verify" not in images
    assert all_images(podman) <= images_before and len(result.removed_images) >= 6


def all_images(podman) -> set[str]:
    listed = subprocess.run([podman.executable, "images", "-a", "-q", "--no-trunc"],
                            env=dict(os.environ, **podman.env), capture_output=True, text=True, check=True)
    return set(listed.stdout.split())


@pytest.mark.build
def test_lock_with_another_version_shows_up_in_the_images(tmp_path, podman, uv_command):
    requirements = (FIXTURE / "context" / "requirements.txt").read_text()
    pinned = pins(FIXTURE / "context" / "requirements.txt")["h11"]
    other = "0.14.0" if pinned != "0.14.0" else "0.15.0"
    context = example_context(tmp_path, uv_command,
                              lock_input=re.sub(r"(?m)^h11==.*$", f"h11=={other}", requirements))
    # migrate refuses a lock that does not cover the requirements unless told (--allow-drift)
    result = verify_builds(context / "Dockerfile", migrated(context, allow_drift=True),
                           context, builder=podman)
    assert not result.ok
    assert result.differences == [Difference("h11", InstalledDist("h11", pinned),
                                             InstalledDist("h11", other), "version")]
    assert result.original_rebuild is None and any("rebuild" in n for n in result.notes)


@pytest.mark.build
def test_failed_build_reports_the_log_tail(tmp_path, podman):
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11-slim\nRUN echo dependency-step-marker && exit 7\n")
    with pytest.raises(VerifyError) as caught:
        podman.build(tmp_path, tmp_path / "Dockerfile", "localhost/dlk-test-broken:1", no_cache=True)
    err = caught.value
    assert "failed (exit code" in err.reason
    assert "dependency-step-marker" in err.output_tail
    assert 0 < len(err.output_tail.splitlines()) <= 30


@pytest.mark.build
def test_image_that_exits_and_image_without_health_route(tmp_path, podman):
    exits = tmp_path / "exits"
    exits.mkdir()
    (exits / "Dockerfile").write_text(
        'FROM python:3.11-slim\nCMD ["python", "-c", "print(\'config missing\'); raise SystemExit(3)"]\n')
    serves = tmp_path / "serves"
    serves.mkdir()
    (serves / "Dockerfile").write_text('FROM python:3.11-slim\nCMD ["python", "-m", "http.server", "8080"]\n')
    try:
        podman.build(exits, exits / "Dockerfile", "localhost/dlk-test-exits:1", no_cache=True)
        podman.build(serves, serves / "Dockerfile", "localhost/dlk-test-serves:1", no_cache=True)
        with pytest.raises(VerifyError, match="exited") as caught:
            container = podman.start("localhost/dlk-test-exits:1", 8080)
            try:
                podman.probe_health("/v1/health", container.host_port, 20, container=container)
            finally:
                podman.stop(container)
        assert "config missing" in caught.value.output_tail

        container = podman.start("localhost/dlk-test-serves:1", 8080)
        try:
            with pytest.raises(VerifyError, match=r"timed out after 5 s.*last: HTTP 404"):
                podman.probe_health("/v1/health", container.host_port, 5, container=container)
            assert podman.probe_health("/", container.host_port, 20, container=container).status == 200
        finally:
            podman.stop(container)
    finally:
        podman.remove("localhost/dlk-test-exits:1")
        podman.remove("localhost/dlk-test-serves:1")
