"""Dependency-step check without containers: the pip step and the uv step in fresh host venvs.

For each side a fresh ``python -m venv`` environment receives the step; *cold* runs start from an
empty cache directory, *warm* runs use a second fresh venv with the cache the cold run filled.
The installed distributions are then listed with ``importlib.metadata`` and compared.

``python -m venv`` (with its pip seeding) takes seconds, so it runs once, into a template venv,
and every run gets a byte-for-byte copy of that template: all four environments start out
identical, and only the steps themselves are timed.

The host's pip/uv configuration is not what an image build sees, so by default (``isolated``)
the steps run without the host's pip.conf / uv.toml and without environment variables that choose
package sources (``PIP_INDEX_URL``, ``PIP_FIND_LINKS``, ``UV_INDEX``...); transport settings
(certificates, proxies, timeouts) are kept so the index stays reachable.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dockerlock.diagnostics import ConfigError
from dockerlock.locking import (
    find_uv,  # one way to find uv, shared with lock generation
)
from dockerlock.verify import (
    LIST_DISTRIBUTIONS_SCRIPT,
    Difference,
    InstalledDist,
    Progress,
    Timing,
    VerifyError,
    check,
    compare_installed,
    describe_command,
    parse_distributions,
    ratio,
    run_process,
)

#: What ``python -m venv`` seeds an environment with (3.11: pip and setuptools; 3.12+: pip only;
#: ``wheel`` appears in environments made by other tools). Left out of comparisons while
#: unchanged on both sides.
VENV_SEEDS: frozenset[str] = frozenset({"pip", "setuptools", "wheel"})

RunKind = Literal["cold", "warm"]

# Environment variables that only affect how the index is reached, never what gets installed.
_PIP_TRANSPORT = frozenset({
    "PIP_CERT", "PIP_CLIENT_CERT", "PIP_PROXY", "PIP_TRUSTED_HOST", "PIP_DEFAULT_TIMEOUT",
    "PIP_TIMEOUT", "PIP_RETRIES", "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_NO_COLOR",
    "PIP_PROGRESS_BAR", "PIP_NO_INPUT",
})
_UV_TRANSPORT = frozenset({
    "UV_NATIVE_TLS", "UV_HTTP_TIMEOUT", "UV_HTTP_RETRIES", "UV_INSECURE_HOST",
    "UV_CONCURRENT_DOWNLOADS", "UV_CONCURRENT_BUILDS", "UV_CONCURRENT_INSTALLS", "UV_NO_PROGRESS",
})
# Always removed: they would make a venv's interpreter see packages from elsewhere.
_PYTHON_LEAKS = ("PYTHONPATH", "PYTHONHOME")

# Options that would send the install outside the venv under test.
_PIP_FORBIDDEN = ("--target", "-t", "--prefix", "--root", "--user")
_UV_FORBIDDEN = ("--python", "-p", "--system", "--target", "--prefix")
# Cache options are dropped: cold/warm runs manage the caches themselves.
_PIP_CACHE_FLAGS = ("--no-cache-dir",)
_PIP_CACHE_VALUED = ("--cache-dir",)
_UV_CACHE_FLAGS = ("--no-cache", "-n")
_UV_CACHE_VALUED = ("--cache-dir",)

_VERSION_RE = re.compile(r"^\d+(\.\d+){0,2}$")


@dataclass(frozen=True)
class PipStep:
    """The original step: ``pip install -r <requirements> [-c <constraints>] <options>``."""

    requirements: tuple[Path, ...]        # host paths, resolved from the build context
    constraints: tuple[Path, ...] = ()
    options: tuple[str, ...] = ()         # pip options passed through (--index-url X, --pre, ...)
    preinstall: tuple[str, ...] = ()      # installed with pip into the same env first, both sides


@dataclass(frozen=True)
class UvStep:
    """The migrated step: ``uv pip sync <lock>`` or ``uv pip install -r <lock>``."""

    lock: Path
    mode: Literal["sync", "install"]
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedRun:
    """One fresh venv and what runs in it."""

    label: str                      # "pip-cold", "pip-warm", "uv-cold", "uv-warm" or "<side>-prime"
    side: Literal["pip", "uv"]
    timed: bool                     # False only for the cache-priming run of a warm-only plan
    venv: Path                      # a copy of the plan's template venv
    preinstall: list[str] | None
    install: list[str]
    list_installed: list[str]
    round: int = 1                  # which repetition of ``label`` (1-based)
    cache: Path | None = None       # the step's cache directory (cold runs: empty when they start)

    @property
    def name(self) -> str:
        """``pip-cold`` for the first round, ``pip-cold #2`` after it."""
        return self.label if self.round == 1 else f"{self.label} #{self.round}"

    @property
    def commands(self) -> list[list[str]]:
        found = [self.preinstall] if self.preinstall else []
        return found + [self.install, self.list_installed]


@dataclass(frozen=True)
class VenvPlan:
    """Everything ``verify_in_venvs`` will run, known before anything runs."""

    workdir: Path
    cwd: Path
    python: str
    uv: tuple[str, ...]
    template: Path                  # made by create_template, copied for every run
    create_template: list[str]      # python -m venv <template>
    list_seeds: list[str]           # what the template holds (the venv seeds)
    runs: tuple[PlannedRun, ...]
    pip_env: dict[str, str]         # variables set for the pip step
    uv_env: dict[str, str]          # variables set for the uv step
    preinstall_env: dict[str, str]  # variables set for pre-installs (pip; a cache of their own)
    removed_env: tuple[str, ...]    # host variables not passed to either side
    seeds: frozenset[str]
    notes: tuple[str, ...] = ()

    @property
    def commands(self) -> list[list[str]]:
        return [self.create_template, self.list_seeds] + [
            argv for run in self.runs for argv in run.commands]

    def environment(self, side: Literal["pip", "uv", "preinstall"],
                    base: Mapping[str, str] | None = None, *, cache: Path | None = None) -> dict[str, str]:
        """The variables a step runs with; ``cache`` replaces the side's cache directory."""
        env = dict(os.environ if base is None else base)
        for name in self.removed_env:
            env.pop(name, None)
        env.update({"pip": self.pip_env, "uv": self.uv_env, "preinstall": self.preinstall_env}[side])
        if cache is not None and side != "preinstall":
            env["PIP_CACHE_DIR" if side == "pip" else "UV_CACHE_DIR"] = str(cache)
        return env


@dataclass
class VenvVerification:
    """What each step installed, how they differ, and how long each took."""

    pip_packages: dict[str, InstalledDist]
    uv_packages: dict[str, InstalledDist]
    differences: list[Difference]
    samples: dict[str, Timing]                  # "pip-cold", "pip-warm", "uv-cold", "uv-warm"
    commands: list[list[str]]
    seeds: dict[str, InstalledDist] = field(default_factory=dict)  # left out while unchanged
    notes: list[str] = field(default_factory=list)
    python: str = ""                            # the interpreter the venvs were made from

    @property
    def timings(self) -> dict[str, float]:
        """The median seconds of each timed run kind."""
        return {label: timing.median for label, timing in self.samples.items()}

    @property
    def ratio_cold(self) -> float | None:
        """pip seconds / uv seconds with empty caches (> 1: uv is faster), medians; None if not measured."""
        return ratio(self.samples.get("pip-cold"), self.samples.get("uv-cold"))

    @property
    def ratio_warm(self) -> float | None:
        """pip seconds / uv seconds with populated caches, medians; None if not measured."""
        return ratio(self.samples.get("pip-warm"), self.samples.get("uv-warm"))

    @property
    def ok(self) -> bool:
        """True when both steps left the same distributions installed."""
        return not self.differences


# --------------------------------------------------------------------------- resolution

def resolve_python(python: str | None, uv: Sequence[str], *, which=shutil.which,
                   timeout: float = 30) -> str:
    """An interpreter path for ``python -m venv``.

    None: the running interpreter. A version (``"3.11"``): ``interpreter_for``. Anything else: a
    path or a command name.
    """
    if python is None:
        return sys.executable
    if _VERSION_RE.match(python):
        return interpreter_for(python, uv, which=which, timeout=timeout)
    if os.sep in python or (os.altsep and os.altsep in python):
        if Path(python).exists():
            return python
        raise VerifyError(f"interpreter {python} does not exist")
    found = which(python)
    if found:
        return found
    raise VerifyError(f"interpreter {python!r} not found on PATH")


_VERSION_SCRIPT = "import sys; print('%d.%d.%d' % sys.version_info[:3])"


def python_version_of(interpreter: str, *, timeout: float = 30) -> str | None:
    """``3.11.7`` for an interpreter path; None when it does not run."""
    try:
        completed = run_process([interpreter, "-I", "-c", _VERSION_SCRIPT], timeout=timeout, stdout_only=True)
    except VerifyError:
        return None
    lines = completed.output.strip().splitlines()
    return lines[0].strip() if completed.returncode == 0 and lines else None


def _matches(actual: str | None, wanted: str) -> bool:
    return actual is not None and (actual == wanted or actual.startswith(wanted + "."))


def interpreter_for(version: str, uv: Sequence[str], *, which=shutil.which, timeout: float = 30) -> str:
    """An interpreter of Python ``version`` (``3.12`` or ``3.12.4``) on this machine.

    Looks for ``python3.12`` on PATH, then asks uv (``uv python find``, downloads disabled, so
    nothing is fetched on the user's behalf); each candidate is run to confirm its version.
    Raises ``VerifyError`` with the ``--python`` hint when none fits.
    """
    series = ".".join(version.split(".")[:2])
    seen: list[str] = []
    on_path = which(f"python{series}")
    if on_path:
        actual = python_version_of(on_path, timeout=timeout)
        if _matches(actual, version):
            return on_path
        seen.append(f"{on_path} is {actual or 'not runnable'}")
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never")
    try:
        completed = run_process([*uv, "python", "find", "--no-python-downloads", version], env=env,
                                timeout=timeout, stdout_only=True)
    except VerifyError:
        completed = None
    if completed is not None and completed.returncode == 0 and completed.output.strip():
        candidate = completed.output.strip().splitlines()[0].strip()
        actual = python_version_of(candidate, timeout=timeout)
        if Path(candidate).exists() and _matches(actual, version):
            return candidate
        seen.append(f"{candidate} is {actual or 'not runnable'}")
    found = f" ({'; '.join(seen)})" if seen else ""
    raise VerifyError(f"no Python {version} found on this machine (looked for python{series} on PATH and "
                      f"asked `uv python find {version}`){found}; the venvs must run the image's Python",
                      hint=f"pass --python /path/to/python{series}")


# --------------------------------------------------------------------------- planning

def _options_without(options: Sequence[str], flags: Sequence[str], valued: Sequence[str]
                     ) -> tuple[list[str], list[str]]:
    kept: list[str] = []
    dropped: list[str] = []
    skip_next = False
    for option in options:
        if skip_next:
            dropped[-1] += f" {option}"
            skip_next = False
            continue
        head = option.split("=", 1)[0]
        if option in flags:
            dropped.append(option)
        elif head in valued:
            dropped.append(option)
            skip_next = "=" not in option
        else:
            kept.append(option)
    return kept, dropped


def _reject(options: Sequence[str], forbidden: Sequence[str], side: str) -> None:
    for option in options:
        head = option.split("=", 1)[0]
        if head in forbidden:
            raise ConfigError(f"{side} option {option!r} would install outside the verification venv",
                              hint="leave the target out; the verifier chooses the environment")


def plan_venvs(pip_step: PipStep, uv_step: UvStep, *, workdir: Path, python: str | None = None,
               uv: Sequence[str] | None = None, runs: Sequence[str] = ("cold", "warm"),
               seeds: Collection[str] = VENV_SEEDS, isolated: bool = True, cwd: Path | None = None,
               environ: Mapping[str, str] | None = None, repeat: int = 1) -> VenvPlan:
    """Decide every command ``verify_in_venvs`` would run (resolving uv and the interpreter).

    ``runs``: "cold" and/or "warm"; warm without cold primes the cache with an untimed run.
    ``repeat``: how many times each timed run happens. Rounds alternate the sides (pip, uv,
    pip, uv...) so a slow moment of the network or the machine hits both alike. Each cold run
    starts from an empty cache; the first one's cache is the one the warm runs use.
    """
    requested = tuple(dict.fromkeys(runs))
    if not requested or any(r not in ("cold", "warm") for r in requested):
        raise ConfigError(f"runs must be 'cold' and/or 'warm', not {list(runs)!r}")
    if repeat < 1:
        raise ConfigError(f"repeat must be at least 1, not {repeat}")
    if not pip_step.requirements:
        raise ConfigError("the pip step has no requirements file")
    if uv_step.mode not in ("sync", "install"):
        raise ConfigError(f"uv step mode must be 'sync' or 'install', not {uv_step.mode!r}")
    _reject(pip_step.options, _PIP_FORBIDDEN, "pip")
    _reject(uv_step.options, _UV_FORBIDDEN, "uv")
    notes: list[str] = []
    pip_options, dropped = _options_without(pip_step.options, _PIP_CACHE_FLAGS, _PIP_CACHE_VALUED)
    uv_options, dropped_uv = _options_without(uv_step.options, _UV_CACHE_FLAGS, _UV_CACHE_VALUED)
    for option in dropped + dropped_uv:
        notes.append(f"ignored {option}: cold and warm runs manage the caches themselves")

    uv_cmd = tuple(uv) if uv else tuple(find_uv())
    interpreter = resolve_python(python, uv_cmd)
    workdir = Path(workdir)
    environ = os.environ if environ is None else environ

    removed = [name for name in _PYTHON_LEAKS if name in environ]
    pip_env = {"PIP_CACHE_DIR": str(workdir / "cache" / "pip")}
    features = [] if isolated else [
        f for f in environ.get("UV_PREVIEW_FEATURES", "").split(",") if f.strip() and f != "pylock"]
    uv_env = {
        "UV_CACHE_DIR": str(workdir / "cache" / "uv"),
        "UV_PREVIEW_FEATURES": ",".join([*features, "pylock"]),
        "UV_PYTHON_DOWNLOADS": "never",
    }
    if isolated:
        removed += sorted(name for name in environ
                          if (name.startswith("PIP_") and name not in _PIP_TRANSPORT)
                          or (name.startswith("UV_") and name not in _UV_TRANSPORT))
        pip_env["PIP_CONFIG_FILE"] = os.devnull
        uv_env["UV_NO_CONFIG"] = "1"
        if "PIP_CERT" not in environ:
            bundle = environ.get("REQUESTS_CA_BUNDLE") or environ.get("SSL_CERT_FILE")
            if bundle:
                pip_env["PIP_CERT"] = bundle
        if removed:
            notes.append("not passed to the steps (host settings an image build does not see): "
                         + ", ".join(removed))

    lister = workdir / "list_distributions.py"

    def planned_run(side: str, label: str, timed: bool, round_: int, cache: Path) -> PlannedRun:
        venv = workdir / (label if round_ == 1 else f"{label}-{round_}")
        venv_python = str(venv / "bin" / "python")
        preinstall = None
        if pip_step.preinstall:
            preinstall = [venv_python, "-m", "pip", "install", "--disable-pip-version-check",
                          *pip_options, *pip_step.preinstall]
        if side == "pip":
            install = [venv_python, "-m", "pip", "install", "--disable-pip-version-check", *pip_options]
            for requirement in pip_step.requirements:
                install += ["-r", str(requirement)]
            for constraint in pip_step.constraints:
                install += ["-c", str(constraint)]
        else:
            lock = str(uv_step.lock)
            target = [lock] if uv_step.mode == "sync" else ["-r", lock]
            install = [*uv_cmd, "pip", uv_step.mode, *target, "--python", venv_python, *uv_options]
        return PlannedRun(label=label, side=side, timed=timed, venv=venv,  # type: ignore[arg-type]
                          preinstall=preinstall, install=install,
                          list_installed=[venv_python, "-I", str(lister)], round=round_, cache=cache)

    shared_cache = {"pip": workdir / "cache" / "pip", "uv": workdir / "cache" / "uv"}
    planned: list[PlannedRun] = []
    if "cold" in requested:
        for round_ in range(1, repeat + 1):
            for side in ("pip", "uv"):
                cache = shared_cache[side] if round_ == 1 else workdir / "cache" / f"{side}-cold-{round_}"
                planned.append(planned_run(side, f"{side}-cold", True, round_, cache))
    else:
        planned += [planned_run(side, f"{side}-prime", False, 1, shared_cache[side]) for side in ("pip", "uv")]
    if "warm" in requested:
        for round_ in range(1, repeat + 1):
            planned += [planned_run(side, f"{side}-warm", True, round_, shared_cache[side])
                        for side in ("pip", "uv")]
    template = workdir / "template"
    return VenvPlan(
        workdir=workdir,
        cwd=Path(cwd) if cwd is not None else Path(pip_step.requirements[0]).parent,
        python=interpreter, uv=uv_cmd, template=template,
        create_template=[interpreter, "-m", "venv", str(template)],
        list_seeds=[str(template / "bin" / "python"), "-I", str(lister)],
        runs=tuple(planned), pip_env=pip_env, uv_env=uv_env,
        preinstall_env={**pip_env, "PIP_CACHE_DIR": str(workdir / "cache" / "preinstall")},
        removed_env=tuple(dict.fromkeys(removed)), seeds=frozenset(seeds), notes=tuple(notes))


# --------------------------------------------------------------------------- execution

def verify_in_venvs(pip_step: PipStep, uv_step: UvStep, *, python: str | None = None,
                    uv: list[str] | None = None, runs: Sequence[str] = ("cold", "warm"),
                    progress: Progress | None = None, seeds: Collection[str] = VENV_SEEDS,
                    isolated: bool = True, cwd: Path | None = None, workdir: Path | None = None,
                    timeout: float = 1800, repeat: int = 1) -> VenvVerification:
    """Run the pip step and the uv step in fresh venvs, time them and compare what they installed.

    Every planned command is reported through ``progress`` (as ``will run: ...``) before the first
    one starts. ``repeat``: timed runs of each kind (timings are their median and spread).
    ``workdir`` (kept afterwards) defaults to a temporary directory that is removed.
    Raises ``VerifyError`` when a command fails (command + last 20 lines of its output).
    """
    say = progress or (lambda message: None)
    own_workdir = workdir is None
    root = Path(tempfile.mkdtemp(prefix="dockerlock-venvs-")) if own_workdir else Path(workdir)
    try:
        plan = plan_venvs(pip_step, uv_step, workdir=root, python=python, uv=uv, runs=runs,
                          seeds=seeds, isolated=isolated, cwd=cwd, repeat=repeat)
        for argv in plan.commands:
            say(f"will run: {describe_command(argv)}")
        for note in plan.notes:
            say(f"note: {note}")
        return execute_plan(plan, progress=say, timeout=timeout)
    finally:
        if own_workdir:
            shutil.rmtree(root, ignore_errors=True)


def execute_plan(plan: VenvPlan, *, progress: Progress | None = None, timeout: float = 1800
                 ) -> VenvVerification:
    """Run a ``VenvPlan`` (see ``plan_venvs``)."""
    say = progress or (lambda message: None)
    plan.workdir.mkdir(parents=True, exist_ok=True)
    (plan.workdir / "list_distributions.py").write_text(LIST_DISTRIBUTIONS_SCRIPT, encoding="utf-8")
    preinstall_env = plan.environment("preinstall")
    what = {"pip": "original step (pip install)", "uv": "migrated step (uv pip)"}
    samples: dict[str, list[float]] = {}
    installed: dict[str, dict[str, InstalledDist]] = {}
    notes = list(plan.notes)
    commands: list[list[str]] = []

    def run(argv: list[str], label: str, description: str, env: Mapping[str, str]):
        commands.append(argv)
        return check(run_process(argv, env=env, timeout=timeout, cwd=plan.cwd),
                     f"{label}: {description}")

    template_env = plan.environment("pip")
    say(f"creating the template venv {plan.template}")
    run(plan.create_template, "template", "creating the venv", template_env)
    listed = run(plan.list_seeds, "template", "listing the venv's seed packages", template_env)
    baseline = {name: dist for name, dist in parse_distributions(listed.output).items()
                if name in plan.seeds}
    for planned in plan.runs:
        env = plan.environment(planned.side, cache=planned.cache)
        name = planned.name
        say(f"{name}: fresh venv {planned.venv} (copy of the template)")
        shutil.copytree(plan.template, planned.venv, symlinks=True)
        if planned.preinstall:
            say(f"{name}: running the pre-install step (pip install)")
            run(planned.preinstall, name, "the pre-install step (pip install)", preinstall_env)
        say(f"{name}: running the {what[planned.side]}")
        started = time.perf_counter()
        run(planned.install, name, f"the {what[planned.side]}", env)
        seconds = time.perf_counter() - started
        if planned.timed:
            samples.setdefault(planned.label, []).append(seconds)
            say(f"{name}: {seconds:.2f} s")
        listed = run(planned.list_installed, name, "listing installed distributions", env)
        found = parse_distributions(listed.output)
        first = installed.setdefault(planned.side, found)
        if found is not first and found != first:
            changed = sorted(set(found.items()) ^ set(first.items()))
            notes.append(f"{name} installed a different set than the first {planned.side} run: "
                         + ", ".join(str(dist) for _, dist in changed))
        # Repeated runs of large requirements would fill the disk: keep only what later runs read.
        shutil.rmtree(planned.venv, ignore_errors=True)
        if planned.cache is not None and planned.round > 1 and planned.label.endswith("-cold"):
            shutil.rmtree(planned.cache, ignore_errors=True)

    differences = compare_installed(installed["pip"], installed["uv"], seeds=baseline)
    pip_packages = _without_unchanged_seeds(installed["pip"], installed["uv"], baseline)
    uv_packages = _without_unchanged_seeds(installed["uv"], installed["pip"], baseline)
    return VenvVerification(pip_packages=pip_packages, uv_packages=uv_packages,
                            differences=differences,
                            samples={label: Timing(tuple(values)) for label, values in samples.items()},
                            commands=commands, seeds=baseline, notes=notes, python=plan.python)


def _without_unchanged_seeds(mine: Mapping[str, InstalledDist], other: Mapping[str, InstalledDist],
                             baseline: Mapping[str, InstalledDist]) -> dict[str, InstalledDist]:
    return {name: dist for name, dist in mine.items()
            if not (name in baseline and dist == baseline[name] and other.get(name) == dist)}
