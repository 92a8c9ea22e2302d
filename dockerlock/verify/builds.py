"""``--build`` mode: build the original and the migrated Dockerfile into real images and compare.

The builder is whatever exists on the machine: ``docker buildx build``, ``docker build`` or
``podman build``. Nothing here knows about particular machines; settings a site needs (a
``--pull=never``, a network mode, ``CONTAINERS_CONF``...) go into ``Builder``'s ``build_args``,
``run_args``, ``start_args`` and ``env``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from dockerlock.diagnostics import ConfigError
from dockerlock.verify import (
    LIST_DISTRIBUTIONS_SCRIPT,
    Completed,
    Difference,
    InstalledDist,
    Progress,
    Timing,
    VerifyError,
    check,
    compare_installed,
    describe_command,
    normalise_name,
    parse_distributions,
    run_process,
    tail,
)
from dockerlock.verify.smoke import (  # noqa: F401  (DistContents, importable_names: re-exported)
    DIST_CONTENTS_SCRIPT,
    SMOKE_SCRIPT,
    DistContents,
    importable_names,
    top_level_modules,
)
from dockerlock.verify.venvs import VENV_SEEDS

BuilderKind = Literal["docker-buildx", "docker", "podman"]
BUILDER_KINDS: tuple[BuilderKind, ...] = ("docker-buildx", "docker", "podman")

_CACHE_LINE = re.compile(r"(-->|--->) Using cache|\bCACHED\b")
#: Every image and container ``verify_builds`` makes carries this label (value: the run's token),
#: so it can remove exactly what it made, intermediate images included, and nothing else.
RUN_LABEL = "dockerlock.verify.run"
_OBJECT_ID = re.compile(r"^(?:sha256:)?[0-9a-f]{12,64}$")


@dataclass(frozen=True)
class BuildResult:
    """One image build."""

    seconds: float
    log_tail: str                   # last 30 lines of the build output
    cached_steps: int = 0           # steps the builder reported as taken from its cache
    command: tuple[str, ...] = ()


@dataclass(frozen=True)
class SmokeResult:
    """Import smoke test (and optional command) in one image."""

    modules: tuple[str, ...]
    failed: dict[str, str]          # module -> "ExceptionType: message"
    command: str | None = None
    command_returncode: int | None = None
    command_output: str = ""        # last 30 lines

    @property
    def ok(self) -> bool:
        return not self.failed and self.command_returncode in (None, 0)


@dataclass(frozen=True)
class RunningContainer:
    """A container started by ``Builder.start``, serving ``container_port`` on 127.0.0.1:``host_port``."""

    id: str
    tag: str
    host_port: int
    container_port: int


@dataclass(frozen=True)
class HealthResult:
    """A health probe that got a 2xx answer."""

    url: str
    status: int
    seconds: float                  # from the first attempt to the 2xx answer


@dataclass
class Builder:
    """A container engine able to build images and run them.

    ``executable`` is the docker or podman binary. ``build_args`` are added to every build,
    ``run_args`` to every ``run`` and ``start_args`` only to long-running (``start``) containers;
    ``env`` is laid over the process environment for every command. ``listener`` is told about
    every command right before it runs.
    """

    kind: BuilderKind
    executable: str
    build_args: tuple[str, ...] = ()
    run_args: tuple[str, ...] = ()
    start_args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    build_timeout: float = 1800
    run_timeout: float = 600
    listener: Callable[[list[str]], None] | None = None
    _pythons: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    # ---- plumbing
    def _environ(self) -> dict[str, str] | None:
        if not self.env:
            return None
        merged = dict(os.environ)
        merged.update(self.env)
        return merged

    def _run(self, argv: Sequence[str], *, timeout: float | None = None,
             stdout_only: bool = False) -> Completed:
        argv = [str(a) for a in argv]
        if self.listener:
            self.listener(argv)
        return run_process(argv, env=self._environ(), timeout=timeout or self.run_timeout,
                           stdout_only=stdout_only)

    def build_command(self, context: Path, dockerfile: Path, tag: str, *, no_cache: bool,
                      extra_args: Sequence[str] = ()) -> list[str]:
        """The command ``build`` runs."""
        if self.kind == "docker-buildx":
            head = [self.executable, "buildx", "build", "--load", "--progress=plain"]
        else:
            head = [self.executable, "build"]
        return [*head, "-f", str(dockerfile), "-t", tag, *(["--no-cache"] if no_cache else []),
                *self.build_args, *extra_args, str(context)]

    # ---- building
    def build(self, context: Path, dockerfile: Path, tag: str, *, no_cache: bool,
              extra_args: Sequence[str] = ()) -> BuildResult:
        """Build ``dockerfile`` with ``context`` into ``tag``; ``VerifyError`` with the log tail on failure."""
        argv = self.build_command(context, dockerfile, tag, no_cache=no_cache, extra_args=extra_args)
        completed = self._run(argv, timeout=self.build_timeout)
        check(completed, f"building {tag} from {dockerfile}", lines=30)
        cached = sum(1 for line in completed.output.splitlines() if _CACHE_LINE.search(line))
        return BuildResult(completed.seconds, tail(completed.output, 30), cached, tuple(argv))

    def remove(self, tag: str) -> bool:
        """Remove an image; False if the engine refused (never raises for that)."""
        try:
            return self._run([self.executable, "image", "rm", "-f", tag]).returncode == 0
        except VerifyError:
            return False

    def remove_labelled(self, label: str) -> tuple[str, ...]:
        """Remove every container, then every image (intermediate ones too), carrying ``label``
        (``key=value``); the image IDs removed. Never raises: cleanup must not hide a result.

        A rebuild under the same tag leaves the previous image untagged, and podman keeps one
        intermediate image per cached step, so removing the tags alone leaves most of the disk
        a run used behind (7 untagged images, 2.8 GB after one run).
        """
        found: dict[str, tuple[str, ...]] = {}
        for what, listing in (("containers", ["ps", "-a"]), ("images", ["images", "-a"])):
            try:
                completed = self._run([self.executable, *listing, "-q", "--no-trunc", "--filter",
                                       f"label={label}"], stdout_only=True)
            except VerifyError:
                continue
            if completed.returncode == 0:
                found[what] = tuple(dict.fromkeys(line.strip() for line in completed.output.splitlines()
                                                  if _OBJECT_ID.match(line.strip())))
        removed: tuple[str, ...] = ()
        for what, argv in (("containers", ["rm", "-f"]), ("images", ["image", "rm", "-f"])):
            if found.get(what):
                try:
                    done = self._run([self.executable, *argv, *found[what]]).returncode == 0
                except VerifyError:
                    done = False
                if done and what == "images":
                    removed = found[what]
        return removed

    # ---- running Python in an image
    def image_env(self, tag: str) -> dict[str, str]:
        """The image's configured environment (``ENV`` instructions)."""
        completed = self._run([self.executable, "image", "inspect", "--format",
                               "{{json .Config.Env}}", tag], stdout_only=True)
        check(completed, f"inspecting {tag}")
        try:
            pairs = json.loads(completed.output.strip().splitlines()[0]) or []
        except (ValueError, IndexError):
            return {}
        return dict(item.split("=", 1) for item in pairs if "=" in item)

    def python_candidates(self, tag: str) -> list[str]:
        """Interpreters to try: the image's ``$VIRTUAL_ENV/bin/python`` if set, ``python``, ``python3``.

        ``python`` resolves through the image's PATH, so a venv put first on PATH (``ENV
        PATH=/opt/venv/bin:$PATH``) is what gets inspected, as at runtime.
        """
        candidates = []
        venv = self.image_env(tag).get("VIRTUAL_ENV")
        if venv:
            candidates.append(venv.rstrip("/") + "/bin/python")
        return candidates + ["python", "python3"]

    def interpreter(self, tag: str) -> str:
        """The image's Python (first of ``python_candidates`` with ``importlib.metadata``), cached."""
        if tag in self._pythons:
            return self._pythons[tag]
        candidates = self.python_candidates(tag)
        last: Completed | None = None
        for candidate in candidates:
            last = self._run([self.executable, "run", "--rm", "--network", "none", *self.run_args,
                              "--entrypoint", candidate, tag, "-c", "import importlib.metadata"])
            if last.returncode == 0:
                self._pythons[tag] = candidate
                return candidate
        assert last is not None
        raise VerifyError(f"no Python 3.8+ found in {tag} (tried {', '.join(candidates)})",
                          command=last.argv, output_tail=tail(last.output, 20))

    def run_python(self, tag: str, script: str, args: Sequence[str] = (), *,
                   python: str | None = None, network: str | None = "none",
                   check_exit: bool = True) -> Completed:
        """Run ``script`` with the image's Python (``python`` or ``interpreter(tag)``).

        The output holds stdout (stderr follows it). Raises ``VerifyError`` on a non-zero exit
        unless ``check_exit`` is False.
        """
        candidate = python or self.interpreter(tag)
        argv = [self.executable, "run", "--rm", *(["--network", network] if network else []),
                *self.run_args, "--entrypoint", candidate, tag, "-c", script, *args]
        completed = self._run(argv, stdout_only=True)
        if check_exit:
            check(completed, f"running Python in {tag}")
        return completed

    def freeze(self, tag: str) -> dict[str, InstalledDist]:
        """Installed distributions as the image's Python sees them."""
        completed = self.run_python(tag, LIST_DISTRIBUTIONS_SCRIPT)
        try:
            return parse_distributions(completed.output)
        except ValueError:
            raise VerifyError(f"no distribution list from {tag}", command=completed.argv,
                              output_tail=tail(completed.output, 20)) from None

    def dist_contents(self, tag: str) -> dict[str, DistContents]:
        """For every installed distribution, its recorded files and top_level.txt."""
        completed = self.run_python(tag, DIST_CONTENTS_SCRIPT)
        for line in reversed(completed.output.splitlines()):
            if line.startswith("["):
                try:
                    rows = json.loads(line)
                except ValueError:
                    continue
                return {row["name"]: DistContents(
                    row["name"],
                    tuple(row["files"]) if row.get("files") is not None else None,
                    tuple(row["top_level"]) if row.get("top_level") is not None else None)
                    for row in rows}
        raise VerifyError(f"no distribution contents from {tag}", command=completed.argv,
                          output_tail=tail(completed.output, 20))

    def smoke(self, tag: str, modules: Sequence[str] | None = None, command: str | None = None, *,
              only: Iterable[str] | None = None, ignore: Collection[str] = VENV_SEEDS) -> SmokeResult:
        """Import every module (default: ``top_level_modules`` of the image) and run ``command``.

        ``command`` runs with ``sh -c`` in a fresh container from the image.
        """
        if modules is None:
            modules = top_level_modules(self.dist_contents(tag), only=only, ignore=ignore)
        modules = tuple(modules)
        failed: dict[str, str] = {}
        remaining = list(modules)
        while remaining:
            completed = self.run_python(tag, SMOKE_SCRIPT, remaining, network="none",
                                        check_exit=False)
            reported: dict[str, str | None] = {}
            for line in completed.output.splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict) and row.get("module") in remaining:
                    reported[row["module"]] = row.get("error")
            failed.update((m, e) for m, e in reported.items() if e)
            remaining = [m for m in remaining if m not in reported]
            if remaining:
                # the interpreter died importing remaining[0]; go on with the ones after it
                failed[remaining[0]] = (f"the interpreter died importing it (exit code "
                                        f"{completed.returncode})")
                remaining = remaining[1:]
        returncode = None
        output = ""
        if command is not None:
            argv = [self.executable, "run", "--rm", *self.run_args, "--entrypoint", "sh", tag,
                    "-c", command]
            completed = self._run(argv)
            returncode, output = completed.returncode, tail(completed.output, 30)
        return SmokeResult(modules, failed, command, returncode, output)

    # ---- serving
    def start(self, tag: str, port: int, *, env: Mapping[str, str] | None = None) -> RunningContainer:
        """Start the image detached, publishing ``port`` on a free 127.0.0.1 port."""
        host_port = free_port()
        argv = [self.executable, "run", "-d", "-p", f"127.0.0.1:{host_port}:{port}",
                *self.run_args, *self.start_args]
        for key, value in (env or {}).items():
            argv += ["-e", f"{key}={value}"]
        completed = self._run([*argv, tag], stdout_only=True)
        lines = completed.output.strip().splitlines()
        if completed.returncode != 0 or not lines:
            raise VerifyError(f"starting {tag} failed (exit code {completed.returncode})",
                              command=completed.argv, output_tail=tail(completed.output, 30))
        container = RunningContainer(lines[-1].strip(), tag, host_port, port)
        published = self._run([self.executable, "port", container.id, f"{port}/tcp"],
                              stdout_only=True)
        if published.returncode != 0 or not published.output.strip():
            running = self.is_running(container)
            logs = self.logs(container)
            self.stop(container)
            if not running:
                raise VerifyError(f"{tag} exited right after starting", command=completed.argv,
                                  output_tail=logs)
            raise VerifyError(f"{tag} started but port {port} was not published",
                              command=completed.argv, output_tail=tail(published.output, 5),
                              hint="the engine's default network may be 'host'; give the builder "
                                   "start_args such as --network=bridge")
        return container

    def is_running(self, container: RunningContainer) -> bool:
        completed = self._run([self.executable, "inspect", "--format", "{{.State.Running}}",
                               container.id], stdout_only=True)
        return completed.returncode == 0 and completed.output.strip().lower() == "true"

    def logs(self, container: RunningContainer, lines: int = 30) -> str:
        completed = self._run([self.executable, "logs", "--tail", str(lines), container.id])
        return tail(completed.output, lines)

    def probe_health(self, url_path: str, port: int, timeout: float, *,
                     container: RunningContainer | None = None, interval: float = 0.5) -> HealthResult:
        """Poll ``http://127.0.0.1:<port><url_path>`` until a 2xx answer or ``timeout`` seconds.

        With ``container``, a container that exits while being polled ends the wait early. Raises
        ``VerifyError`` (with the container's last log lines) on timeout or exit.
        """
        url = f"http://127.0.0.1:{port}/{url_path.lstrip('/')}"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        started = time.monotonic()
        last = "no answer yet"
        next_state_check = started + 2
        while True:
            try:
                with opener.open(url, timeout=min(5.0, max(timeout, 0.1))) as response:
                    status = response.status
                if 200 <= status < 300:
                    return HealthResult(url, status, time.monotonic() - started)
                last = f"HTTP {status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                last = f"{type(reason).__name__}: {reason}" if not isinstance(reason, str) else reason
            now = time.monotonic()
            if container is not None and now >= next_state_check:
                next_state_check = now + 2
                if not self.is_running(container):
                    raise VerifyError(f"{container.tag} exited before answering {url}",
                                      output_tail=self.logs(container))
            if now - started >= timeout:
                logs = self.logs(container) if container is not None else ""
                raise VerifyError(f"health probe timed out after {timeout:g} s: GET {url} "
                                  f"(last: {last})", output_tail=logs)
            time.sleep(interval)

    def stop(self, container: RunningContainer) -> bool:
        """Kill and remove a started container; False if the engine refused (never raises)."""
        try:
            return self._run([self.executable, "rm", "-f", container.id]).returncode == 0
        except VerifyError:
            return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------- detection

def _default_probe(argv: list[str], env: Mapping[str, str] | None, timeout: float) -> int:
    merged = None
    if env:
        merged = dict(os.environ)
        merged.update(env)
    try:
        return run_process(argv, env=merged, timeout=timeout).returncode
    except VerifyError:
        return -1


def detect_builder(preferred: str | None = None, *, which: Callable[[str], str | None] = shutil.which,
                   run: Callable[[list[str]], int] | None = None,
                   env: Mapping[str, str] | None = None, probe_timeout: float = 20) -> Builder:
    """The first usable builder: docker buildx, docker, podman (or exactly ``preferred``).

    ``docker buildx`` needs ``docker buildx version`` and ``docker info`` (an engine is reachable)
    to succeed; ``docker`` needs ``docker info``; ``podman`` needs ``podman info``. ``which`` and
    ``run`` (argv -> exit code) are the probes, injectable for tests. ``env`` is laid over the
    environment for the probes and kept by the returned ``Builder``.
    """
    if preferred is not None and preferred not in BUILDER_KINDS:
        raise ConfigError(f"unknown builder {preferred!r}; choose one of {', '.join(BUILDER_KINDS)}")
    probe = run or (lambda argv: _default_probe(argv, env, probe_timeout))
    reasons: list[str] = []
    results: dict[tuple[str, ...], bool] = {}

    def works(*argv: str) -> bool:
        if argv not in results:
            results[argv] = probe(list(argv)) == 0
        return results[argv]

    wanted = [preferred] if preferred else list(BUILDER_KINDS)
    for kind in wanted:
        program = "podman" if kind == "podman" else "docker"
        executable = which(program)
        if not executable:
            reasons.append(f"{kind}: `{program}` not found on PATH")
            continue
        if kind == "podman":
            if works(executable, "info"):
                return Builder("podman", executable, env=dict(env) if env else None)
            reasons.append("podman: `podman info` failed")
            continue
        if not works(executable, "info"):
            reasons.append(f"{kind}: `docker info` cannot reach an engine")
            continue
        if kind == "docker-buildx" and not works(executable, "buildx", "version"):
            reasons.append("docker-buildx: `docker buildx version` failed (no buildx plugin)")
            continue
        return Builder(kind, executable, env=dict(env) if env else None)
    what = f"builder {preferred!r} is not usable" if preferred else "no container builder found"
    raise VerifyError(f"{what}: install Docker or Podman, or run without --build ("
                      + "; ".join(dict.fromkeys(reasons)) + ")")


# --------------------------------------------------------------------------- the comparison

@dataclass
class BuildVerification:
    """Both images: build times, installed distributions, smoke test and health."""

    original_build: BuildResult
    migrated_build: BuildResult
    original_rebuild: BuildResult | None        # after the app-file change; None if skipped
    migrated_rebuild: BuildResult | None
    original_packages: dict[str, InstalledDist]
    migrated_packages: dict[str, InstalledDist]
    differences: list[Difference]
    smoke: SmokeResult                          # in the migrated image
    smoke_regressions: dict[str, str]           # fail in the migrated image, import in the original
    health: dict[str, HealthResult]             # "original", "migrated" (empty without health_path)
    commands: list[list[str]]
    notes: list[str] = field(default_factory=list)
    #: "original-cold", "migrated-cold", and with an app file "original-rebuild", "migrated-rebuild"
    samples: dict[str, Timing] = field(default_factory=dict)
    removed_images: tuple[str, ...] = ()        # what the cleanup removed (empty with keep_images)

    @property
    def ok(self) -> bool:
        """Same distributions, no import regressions, and the smoke command (if any) passed."""
        return (not self.differences and not self.smoke_regressions
                and self.smoke.command_returncode in (None, 0))


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
        return True
    except ValueError:
        return False


def verify_builds(original: Path, migrated_text: str, context: Path, *, builder: Builder,
                  smoke_command: str | None = None, health_path: str | None = None,
                  port: int = 8080, timeout: float = 60, progress: Progress | None = None,
                  app_file: Path | None = None, smoke_modules: Sequence[str] | None = None,
                  ignore: Collection[str] = (), keep_images: bool = False, repeat: int = 1
                  ) -> BuildVerification:
    """Build ``original`` and the migrated Dockerfile text with the same ``context`` and compare.

    The migrated Dockerfile is written to a temporary directory outside the context and passed
    with ``-f``. Both are built cold (``--no-cache``), ``repeat`` times each, alternating sides;
    then, if ``app_file`` (a file of the context copied after the dependency step) is given, both
    are built once more from cache (untimed), and ``repeat`` times a newline is appended to the
    file and both are rebuilt (timed); the file is restored byte for byte (and its times). The
    images' distributions are compared (``ignore``: names left out), the migrated image is
    import-smoke-tested (``smoke_modules``, or every importable name its distributions installed
    except the venv seeds) and failures are retried in the original image to tell regressions
    apart; with ``health_path`` each image is started and probed.

    Every image and container of the run carries the ``RUN_LABEL`` label; unless ``keep_images``
    all of them are removed at the end (untagged and intermediate images included).

    Raises ``VerifyError`` (reason prefixed with the side) when a build fails (last 30 lines of
    the log), an image cannot start or exits, or the health probe times out.
    """
    say = progress or (lambda message: None)
    original, context = Path(original), Path(context)
    if not context.is_dir():
        raise ConfigError(f"build context {context} is not a directory")
    if not original.is_file():
        raise ConfigError(f"Dockerfile {original} does not exist")
    if repeat < 1:
        raise ConfigError(f"repeat must be at least 1, not {repeat}")
    if app_file is not None:
        app_file = Path(app_file) if Path(app_file).is_absolute() else context / app_file
        if not app_file.is_file() or not _inside(app_file, context):
            raise ConfigError(f"app file {app_file} is not a file inside the build context {context}")

    commands: list[list[str]] = []

    def listener(argv: list[str]) -> None:
        commands.append(argv)
        say(f"run: {describe_command(argv)}")

    token = secrets.token_hex(4)
    label = f"{RUN_LABEL}={token}"
    engine = replace(builder, listener=listener, _pythons={}, run_args=(*builder.run_args, "--label", label))
    workdir = Path(tempfile.mkdtemp(prefix="dockerlock-build-"))
    if _inside(workdir, context):
        shutil.rmtree(workdir, ignore_errors=True)
        raise ConfigError(f"the temporary directory {workdir} is inside the build context",
                          hint="set TMPDIR to a directory outside the context")
    migrated = workdir / "Dockerfile.migrated"
    migrated.write_text(migrated_text, encoding="utf-8")
    tags = {"original": f"localhost/dockerlock-verify-original:{token}",
            "migrated": f"localhost/dockerlock-verify-migrated:{token}"}
    dockerfiles = {"original": original, "migrated": migrated}
    sides = ("original", "migrated")
    labelled = ["--label", label]
    notes: list[str] = []
    samples: dict[str, list[float]] = {}
    removed: list[tuple[str, ...]] = []

    def command(side: str, no_cache: bool) -> list[str]:
        return engine.build_command(context, dockerfiles[side], tags[side], no_cache=no_cache, extra_args=labelled)

    plan = [command(s, True) for _ in range(repeat) for s in sides]
    if app_file is not None:   # priming builds, then the timed rebuilds: the same commands
        plan += (1 + repeat) * [command(s, False) for s in sides]
    for argv in plan:
        say(f"will run: {describe_command(argv)}")
    if app_file is None:
        notes.append("no app file given: rebuild after an application change not measured")
        say("note: no app file given; skipping the rebuild timing")
    else:
        say(f"note: {app_file} gets newlines appended for the rebuilds and is restored afterwards")

    def build(side: str, *, no_cache: bool, kind: str | None, round_: int = 1) -> BuildResult:
        what = f"{side} image ({kind}{f' #{round_}' if round_ > 1 else ''})" if kind else f"{side} image"
        say(f"building the {what}")
        try:
            result = engine.build(context, dockerfiles[side], tags[side], no_cache=no_cache, extra_args=labelled)
        except VerifyError as exc:
            exc.reason = f"{side} Dockerfile: {exc.reason}"
            raise
        if kind is not None:
            samples.setdefault(f"{side}-{kind}", []).append(result.seconds)
            say(f"{what}: {result.seconds:.1f} s ({result.cached_steps} cached steps)")
        return result

    try:
        cold: dict[str, BuildResult] = {}
        for round_ in range(1, repeat + 1):
            for side in sides:
                result = build(side, no_cache=True, kind="cold", round_=round_)
                cold.setdefault(side, result)
        rebuild: dict[str, BuildResult | None] = {"original": None, "migrated": None}
        if app_file is not None:
            # Builders that key their cache on layer IDs (buildah, the classic docker builder) can
            # pick the other image's chain for the steps both Dockerfiles share after two
            # --no-cache builds, and then miss everything below it once. One untimed cached build
            # of each settles that, so the timed rebuild shows the steady state a developer sees.
            for side in sides:
                build(side, no_cache=False, kind=None)
            saved = app_file.read_bytes()
            stat = app_file.stat()
            try:
                for round_ in range(1, repeat + 1):
                    app_file.write_bytes(saved + b"\n" * round_)  # a new content each round: a real change
                    for side in sides:
                        rebuild[side] = build(side, no_cache=False, kind="rebuild", round_=round_)
            finally:
                app_file.write_bytes(saved)
                os.utime(app_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))

        say("listing installed distributions in both images")
        packages = {side: engine.freeze(tags[side]) for side in sides}
        left_out = {normalise_name(n) for n in ignore}
        for side in packages:
            packages[side] = {k: v for k, v in packages[side].items() if k not in left_out}
        differences = compare_installed(packages["original"], packages["migrated"])

        say("import smoke test in the migrated image")
        smoke = engine.smoke(tags["migrated"], smoke_modules, smoke_command)
        regressions: dict[str, str] = {}
        if smoke.failed:
            say(f"{len(smoke.failed)} import(s) failed; trying them in the original image")
            before = engine.smoke(tags["original"], list(smoke.failed))
            regressions = {m: e for m, e in smoke.failed.items() if m not in before.failed}
            for module in sorted(set(smoke.failed) - set(regressions)):
                notes.append(f"import {module} fails in the original image too: {before.failed[module]}")

        health = _probe_both(engine, tags, health_path, port, timeout, say)
        result = BuildVerification(
            original_build=cold["original"], migrated_build=cold["migrated"],
            original_rebuild=rebuild["original"], migrated_rebuild=rebuild["migrated"],
            original_packages=packages["original"], migrated_packages=packages["migrated"],
            differences=differences, smoke=smoke, smoke_regressions=regressions, health=health,
            commands=commands, notes=notes,
            samples={key: Timing(tuple(values)) for key, values in samples.items()})
    finally:
        if not keep_images:
            say("removing the images and containers this run made")
            removed.append(engine.remove_labelled(label))
            for side in sides:   # engines without label filters: at least the tags
                if not removed[0]:
                    engine.remove(tags[side])
        shutil.rmtree(workdir, ignore_errors=True)
    return replace(result, removed_images=removed[0] if removed else ())


def _probe_both(engine: Builder, tags: Mapping[str, str], health_path: str | None, port: int,
                timeout: float, say: Progress) -> dict[str, HealthResult]:
    """Start each image and wait for ``health_path`` to answer 2xx (nothing without a path)."""
    health: dict[str, HealthResult] = {}
    if health_path is None:
        return health
    for side in ("original", "migrated"):
        say(f"starting the {side} image and probing {health_path}")
        container = None
        try:
            container = engine.start(tags[side], port)
            health[side] = engine.probe_health(health_path, container.host_port, timeout, container=container)
        except VerifyError as exc:
            exc.reason = f"{side} image: {exc.reason}"
            raise
        finally:
            if container is not None:
                engine.stop(container)
        say(f"{side}: HTTP {health[side].status} after {health[side].seconds:.1f} s")
    return health
