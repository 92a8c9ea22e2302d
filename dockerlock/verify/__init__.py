"""Verification engine: does the migrated dependency step install what the original one did?

Two modes share one vocabulary:

* ``venvs`` (default): run the original ``pip install -r ...`` and the migrated
  ``uv pip sync|install <pylock.toml>`` in fresh host virtual environments, time them
  (cold and warm caches) and compare what ended up installed.
* ``builds`` (``--build``): build the original and the migrated Dockerfile into real images
  with whatever container builder exists, compare the images' installed distributions,
  import-smoke-test the migrated image and optionally probe a health endpoint.

This package (and lock generation) is the only part of dockerlock that starts processes.
Nothing here prints: progress goes through a ``progress`` callback, results are data, and
failures are ``VerifyError`` values carrying the command and the tail of its output.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from dockerlock.diagnostics import DockerlockError

Progress = Callable[[str], None]

DifferenceKind = Literal["only-pip", "only-uv", "version", "vcs-commit"]


class VerifyError(DockerlockError):
    """A verification step could not run: a command failed, timed out, or nothing can build images."""

    kind = "verify"

    def __init__(self, reason: str, *, command: Sequence[str] | None = None,
                 output_tail: str = "", hint: str | None = None) -> None:
        super().__init__(reason, hint=hint)
        self.command = list(command) if command is not None else None
        self.output_tail = output_tail

    def __str__(self) -> str:
        text = self.reason if self.path is None else super().__str__()
        if self.path is None and self.hint:
            text += f" (hint: {self.hint})"
        if self.command:
            text += f"\n  command: {shlex.join(self.command)}"
        if self.output_tail:
            lines = self.output_tail.rstrip("\n").splitlines()
            text += f"\n  last {len(lines)} line(s) of output:\n" + "\n".join(
                "    " + line for line in lines)
        return text


@dataclass(frozen=True)
class InstalledDist:
    """One installed distribution as importlib.metadata sees it."""

    name: str                       # normalised (PEP 503): lower case, runs of -_. -> "-"
    version: str
    vcs_commit: str | None = None   # from direct_url.json for VCS installs

    def __str__(self) -> str:
        text = f"{self.name}=={self.version}"
        return f"{text} (commit {self.vcs_commit})" if self.vcs_commit else text


@dataclass(frozen=True)
class Difference:
    """How one distribution differs between the original (pip) side and the migrated (uv) side."""

    name: str
    pip_side: InstalledDist | None
    uv_side: InstalledDist | None
    kind: DifferenceKind

    def describe(self) -> str:
        if self.kind == "only-pip":
            return f"{self.pip_side} is installed by the original step only"
        if self.kind == "only-uv":
            return f"{self.uv_side} is installed by the migrated step only"
        if self.kind == "version":
            return (f"{self.name}: {self.pip_side.version} (original) vs "  # type: ignore[union-attr]
                    f"{self.uv_side.version} (migrated)")  # type: ignore[union-attr]
        return (f"{self.name}: commit {self.pip_side.vcs_commit} (original) vs "  # type: ignore[union-attr]
                f"{self.uv_side.vcs_commit} (migrated)")  # type: ignore[union-attr]


@dataclass(frozen=True)
class Timing:
    """Seconds taken by repeated runs of one step. One run is noise on a shared machine (the same
    project once gave 54.7x, 13.1x and 9.6x), so results are the median with the spread."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        ordered = sorted(self.samples)
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)

    def describe(self, digits: int = 2) -> str:
        """``7.21`` for one run; ``7.21 (6.90-7.80)`` for several."""
        text = f"{self.median:.{digits}f}"
        if len(self.samples) > 1:
            text += f" ({self.low:.{digits}f}-{self.high:.{digits}f})"
        return text

    def to_json(self) -> dict[str, object]:
        return {"median": self.median, "min": self.low, "max": self.high, "runs": list(self.samples)}


def ratio(slow: Timing | None, fast: Timing | None) -> float | None:
    """Median over median (> 1: ``fast`` is faster); None when either is missing or zero."""
    if slow is None or fast is None or fast.median <= 0:
        return None
    return slow.median / fast.median


_NORMALISE = re.compile(r"[-_.]+")


def normalise_name(name: str) -> str:
    """PEP 503 normalisation, the form every mapping in this package is keyed by."""
    return _NORMALISE.sub("-", name).lower()


def compare_installed(pip_side: Mapping[str, InstalledDist], uv_side: Mapping[str, InstalledDist],
                      *, seeds: Mapping[str, InstalledDist] | None = None) -> list[Difference]:
    """Differences between two installed sets, sorted by name.

    ``seeds`` maps names to what the environment held before the step ran (e.g. the pip and
    setuptools that ``python -m venv`` put there). A seed is left out only while *both* sides
    still hold exactly that distribution; once either step upgraded, removed or
    replaced it, it is compared like any other package.
    """
    seeds = seeds or {}
    differences: list[Difference] = []
    for name in sorted(set(pip_side) | set(uv_side)):
        left, right = pip_side.get(name), uv_side.get(name)
        if name in seeds and left == seeds[name] and right == seeds[name]:
            continue
        if left is None:
            differences.append(Difference(name, None, right, "only-uv"))
        elif right is None:
            differences.append(Difference(name, left, None, "only-pip"))
        elif left.version != right.version:
            differences.append(Difference(name, left, right, "version"))
        elif left.vcs_commit != right.vcs_commit:
            differences.append(Difference(name, left, right, "vcs-commit"))
    return differences


# Scripts run under whatever Python the environment or image has (3.8+): standard library only.
_EACH_DISTRIBUTION = r"""
import json, re, sys
import importlib.metadata as md
seen = {}
for dist in md.distributions():
    raw_name = dist.metadata["Name"]
    if not raw_name:
        continue
    name = re.sub(r"[-_.]+", "-", raw_name).lower()
    if name in seen:
        continue
"""
_PRINT_SEEN = r"""
json.dump([seen[k] for k in sorted(seen)], sys.stdout)
sys.stdout.write("\n")
"""


def distributions_script(body: str) -> str:
    """A script that visits each installed distribution once (the first of a normalised name on
    sys.path wins, as it does for imports), runs ``body`` for it (``dist``, ``name`` in scope;
    it must set ``seen[name]``) and prints ``seen`` as one JSON list."""
    return _EACH_DISTRIBUTION + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n" + _PRINT_SEEN


# One JSON row per distribution: normalised name, version, and the VCS commit it came from.
LIST_DISTRIBUTIONS_SCRIPT = distributions_script(r"""
    commit = None
    try:
        direct = dist.read_text("direct_url.json")
        if direct:
            commit = (json.loads(direct).get("vcs_info") or {}).get("commit_id")
    except Exception:
        commit = None
    seen[name] = {"name": name, "version": dist.version, "vcs_commit": commit}
""")


def parse_distributions(output: str) -> dict[str, InstalledDist]:
    """Parse the JSON printed by ``LIST_DISTRIBUTIONS_SCRIPT`` (the last JSON line of ``output``)."""
    for line in reversed(output.splitlines()):
        line = line.strip()
        if line.startswith("["):
            try:
                rows = json.loads(line)
            except ValueError:
                continue
            result: dict[str, InstalledDist] = {}
            for row in rows:
                name = normalise_name(str(row["name"]))
                result[name] = InstalledDist(name, str(row["version"]), row.get("vcs_commit") or None)
            return result
    raise ValueError("no distribution list in the output")


def tail(text: str, lines: int) -> str:
    """The last ``lines`` lines of ``text``."""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


@dataclass(frozen=True)
class Completed:
    """A finished process: exit code and merged stdout+stderr."""

    argv: list[str]
    returncode: int
    output: str
    seconds: float


def run_process(argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float,
                cwd: str | os.PathLike[str] | None = None, stdout_only: bool = False) -> Completed:
    """Run ``argv`` to completion with a timeout; on timeout kill its whole process group.

    Output is stdout and stderr merged unless ``stdout_only`` (then stderr is appended after
    stdout, so it still shows up in error tails). Never raises for a non-zero exit code.
    """
    import time

    argv = [str(a) for a in argv]
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if stdout_only else subprocess.STDOUT,
            start_new_session=True)
    except OSError as exc:
        raise VerifyError(f"cannot start {argv[0]}: {exc.strerror or exc}", command=argv) from exc
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        text = _decode(out) + (_decode(err) if err else "")
        raise VerifyError(f"timed out after {timeout:g} s", command=argv,
                          output_tail=tail(text, 20)) from None
    text = _decode(out)
    if stdout_only and err:
        text = text + ("\n" if text and not text.endswith("\n") else "") + _decode(err)
    return Completed(argv, proc.returncode, text, time.perf_counter() - started)


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def check(completed: Completed, what: str, *, lines: int = 20, hint: str | None = None) -> Completed:
    """Raise ``VerifyError`` (command + last ``lines`` lines of output) unless it exited 0."""
    if completed.returncode != 0:
        raise VerifyError(f"{what} failed (exit code {completed.returncode})",
                          command=completed.argv, output_tail=tail(completed.output, lines), hint=hint)
    return completed


def describe_command(argv: Iterable[str]) -> str:
    """Shell-quoted, with long inline scripts (``-c <script>``) abbreviated for display."""
    shown: list[str] = []
    previous = ""
    for arg in argv:
        if previous == "-c" and "\n" in arg:
            arg = "<script>"
        shown.append(arg)
        previous = arg
    return shlex.join(shown)


from dockerlock.verify.builds import (  # noqa: E402
    Builder,
    BuildResult,
    BuildVerification,
    DistContents,
    HealthResult,
    RunningContainer,
    SmokeResult,
    detect_builder,
    importable_names,
    top_level_modules,
    verify_builds,
)
from dockerlock.verify.venvs import (  # noqa: E402  (re-exported API; modules import the above)
    VENV_SEEDS,
    PipStep,
    UvStep,
    VenvPlan,
    VenvVerification,
    execute_plan,
    plan_venvs,
    resolve_python,
    verify_in_venvs,
)

__all__ = [
    "BuildResult", "BuildVerification", "Builder", "Completed", "Difference", "DistContents",
    "HealthResult", "InstalledDist", "LIST_DISTRIBUTIONS_SCRIPT", "PipStep", "RunningContainer",
    "SmokeResult", "Timing", "UvStep", "VENV_SEEDS", "VenvPlan", "VenvVerification", "VerifyError", "check",
    "compare_installed", "describe_command", "detect_builder", "execute_plan", "importable_names",
    "normalise_name", "parse_distributions", "plan_venvs", "ratio", "resolve_python", "run_process", "tail",
    "top_level_modules", "verify_builds", "verify_in_venvs",
]
