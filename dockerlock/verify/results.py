"""One Dockerfile verified: choose the interpreters, run the comparison, return typed results.

The CLI renders these results (text or JSON) and decides the exit code; nothing here prints.
Venv mode runs each stanza on the *image's* Python: a lock for ``python:3.12-slim`` made with
``requires-python = ">=3.12,<3.13"`` cannot be installed by the host's 3.11, and finding that out
after a minute of pip is no use. So the interpreter is found (and checked against the lock)
before anything is installed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dockerlock.diagnostics import LockError
from dockerlock.verify import (
    Difference,
    InstalledDist,
    Progress,
    Timing,
    VerifyError,
    ratio,
)
from dockerlock.verify.builds import Builder, BuildVerification, verify_builds
from dockerlock.verify.steps import StepPair, VerifyInputs, guess_app_file
from dockerlock.verify.venvs import (
    VenvVerification,
    interpreter_for,
    python_version_of,
    resolve_python,
)


@dataclass(frozen=True)
class Interpreter:
    """The Python the venvs of one stanza are made from, and why that one."""

    path: str
    version: str | None  # what it reported (``3.11.7``)
    image_python: str | None  # what the image runs (None: the Dockerfile does not say)
    chosen_by: str  # "--python", "image" or "this Python"


def _dist_json(dist: InstalledDist | None) -> dict[str, object] | None:
    if dist is None:
        return None
    return {"name": dist.name, "version": dist.version, "vcs_commit": dist.vcs_commit}


def _differences_json(differences: Sequence[Difference]) -> list[dict[str, object]]:
    return [{"name": d.name, "kind": d.kind, "pip": _dist_json(d.pip_side), "uv": _dist_json(d.uv_side)}
            for d in differences]


@dataclass(frozen=True)
class StanzaResult:
    """One pip stanza and its migrated step, compared in host venvs."""

    pair: StepPair
    interpreter: Interpreter
    verification: VenvVerification

    @property
    def ok(self) -> bool:
        return self.verification.ok

    def to_json(self) -> dict[str, object]:
        result = self.verification
        return {
            "line": self.pair.line, "lock": str(self.pair.uv.lock), "mode": self.pair.uv.mode,
            "requirements": [str(p) for p in self.pair.pip.requirements],
            "python": {"image": self.interpreter.image_python, "interpreter": self.interpreter.path,
                       "version": self.interpreter.version, "chosen_by": self.interpreter.chosen_by},
            "packages": {"pip": len(result.pip_packages), "uv": len(result.uv_packages)},
            "differences": _differences_json(result.differences),
            "timings": {label: timing.to_json() for label, timing in result.samples.items()},
            "ratio_cold": result.ratio_cold, "ratio_warm": result.ratio_warm, "notes": list(result.notes),
        }


@dataclass(frozen=True)
class VenvsReport:
    """``verify`` in venvs: every converted stanza of one Dockerfile."""

    file: Path
    stanzas: tuple[StanzaResult, ...]
    repeat: int
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(stanza.ok for stanza in self.stanzas)

    def to_json(self) -> dict[str, object]:
        return {"file": str(self.file), "mode": "venvs", "ok": self.ok, "repeat": self.repeat,
                "stanzas": [stanza.to_json() for stanza in self.stanzas], "notes": list(self.notes)}


@dataclass(frozen=True)
class BuildsReport:
    """``verify --build``: both images of one Dockerfile."""

    file: Path
    builder: str
    verification: BuildVerification
    repeat: int
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.verification.ok

    @property
    def cold_ratio(self) -> float | None:
        samples = self.verification.samples
        return ratio(samples.get("original-cold"), samples.get("migrated-cold"))

    @property
    def rebuild_ratio(self) -> float | None:
        samples = self.verification.samples
        return ratio(samples.get("original-rebuild"), samples.get("migrated-rebuild"))

    def to_json(self) -> dict[str, object]:
        result = self.verification
        return {
            "file": str(self.file), "mode": "build", "ok": self.ok, "builder": self.builder,
            "repeat": self.repeat,
            "packages": {"original": len(result.original_packages), "migrated": len(result.migrated_packages)},
            "differences": _differences_json(result.differences),
            "timings": {label: timing.to_json() for label, timing in result.samples.items()},
            "smoke_failures": dict(result.smoke_regressions),
            "health": {side: {"url": h.url, "status": h.status, "seconds": h.seconds}
                       for side, h in result.health.items()},
            "removed_images": len(result.removed_images),
            "notes": [*self.notes, *result.notes],
        }


def choose_interpreter(pair: StepPair, python: str | None, uv: Sequence[str]) -> Interpreter:
    """``--python`` if given, else an interpreter of the image's Python, else this one.

    Raises ``VerifyError`` (hint: ``--python``) when the image's Python is not on this machine,
    or when the interpreter is outside the lock's ``requires-python``, before anything runs.
    """
    if python is not None:
        path = resolve_python(python, uv)
        chosen = Interpreter(path, python_version_of(path), pair.python, "--python")
    elif pair.python is not None and len(pair.python.split(".")) >= 2:
        path = interpreter_for(pair.python, uv)
        chosen = Interpreter(path, python_version_of(path), pair.python, "image")
    else:
        chosen = Interpreter(sys.executable, "%d.%d.%d" % sys.version_info[:3], pair.python, "this Python")
    _check_requires_python(pair, chosen)
    return chosen


def _check_requires_python(pair: StepPair, interpreter: Interpreter) -> None:
    from dockerlock.lockfile import load_lock

    try:
        requires = load_lock(pair.uv.lock).requires_python
    except LockError:
        return  # the uv step reports an unreadable lock itself
    if requires is None or interpreter.version is None:
        return
    if not requires.contains(interpreter.version, prereleases=True):
        raise VerifyError(f"{interpreter.path} is Python {interpreter.version}, outside the lock's "
                          f"requires-python {requires}: the uv step would refuse it",
                          hint="pass --python with an interpreter of the image's Python")


def verify_venvs(inputs: VerifyInputs, *, python: str | None = None, repeat: int = 3,
                 progress: Progress | None = None, uv: Sequence[str] | None = None) -> VenvsReport:
    """Every converted stanza of ``inputs``, pip vs uv in fresh venvs on the image's Python."""
    from dockerlock.locking import find_uv
    from dockerlock.verify.venvs import verify_in_venvs

    uv_cmd = list(uv) if uv is not None else find_uv()
    chosen = [choose_interpreter(pair, python, uv_cmd) for pair in inputs.pairs]  # all before any install
    notes = tuple(f"line {pair.line}: the image's Python is not known; using this Python "
                  f"({interpreter.version}) (choose one with --python)"
                  for pair, interpreter in zip(inputs.pairs, chosen) if interpreter.chosen_by == "this Python")
    stanzas = []
    for pair, interpreter in zip(inputs.pairs, chosen):
        verification = verify_in_venvs(pair.pip, pair.uv, python=interpreter.path, uv=uv_cmd, progress=progress,
                                       cwd=inputs.context.root, repeat=repeat)
        stanzas.append(StanzaResult(pair, interpreter, verification))
    return VenvsReport(inputs.path, tuple(stanzas), repeat, notes)


def verify_images(inputs: VerifyInputs, builder: Builder, *, smoke: str | None = None,
                  health: str | None = None, port: int = 8080, timeout: float = 60.0,
                  app_file: Path | None = None, repeat: int = 3, keep_images: bool = False,
                  progress: Progress | None = None) -> BuildsReport:
    """Build the original and the migrated Dockerfile of ``inputs`` and compare the images."""
    import tempfile

    say = progress or (lambda message: None)
    notes: list[str] = []
    if app_file is None:
        app_file = guess_app_file(inputs)
        if app_file is not None:
            note = (f"timing a rebuild after changing {inputs.context.relative(app_file)} "
                    "(choose another with --app-file)")
            notes.append(note)
            say(f"note: {note}")
    with tempfile.TemporaryDirectory(prefix="dockerlock-verify-") as tmp:
        original = Path(tmp) / "Dockerfile.original"
        original.write_text(inputs.original_text, encoding="utf-8", newline="")
        result = verify_builds(original, inputs.migrated_text, inputs.context.root, builder=builder,
                               smoke_command=smoke, health_path=health, port=port, timeout=timeout,
                               progress=progress, app_file=app_file, repeat=repeat, keep_images=keep_images)
    return BuildsReport(inputs.path, builder.kind, result, repeat, tuple(notes))


__all__ = ["BuildsReport", "Interpreter", "StanzaResult", "Timing", "VenvsReport", "choose_interpreter",
           "verify_images", "verify_venvs"]
