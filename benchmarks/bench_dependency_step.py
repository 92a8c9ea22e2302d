"""pip vs uv for the dependency step alone, in host venvs: cold and warm caches, seconds and ratios.

Two requirement sets: the example app's (tests/fixtures/verify_app/context/requirements.txt) and a
larger one (benchmarks/data/requirements-large.txt, ~100 distributions). Each lock is generated at
run time with ``dockerlock.locking.compile_lock`` for the venvs' Python on linux/amd64 (what
``dockerlock lock`` writes); each set is then verified with ``verify_in_venvs`` (fresh venvs, empty
then warm caches, ``--repeat`` timed runs of each, sides alternating) and the median of each timing
is printed with its spread, and whether both steps installed the same packages.

    python benchmarks/bench_dependency_step.py [--set example|large|all] [--repeat N] [--python 3.11]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dockerlock.diagnostics import DockerlockError
from dockerlock.locking import ImageTarget, compile_lock
from dockerlock.verify.venvs import (
    PipStep, UvStep, find_uv, python_version_of, resolve_python, verify_in_venvs,
)

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "example": ROOT / "tests" / "fixtures" / "verify_app" / "context" / "requirements.txt",
    "large": ROOT / "benchmarks" / "data" / "requirements-large.txt",
}
KEYS = ("pip-cold", "uv-cold", "pip-warm", "uv-warm")


def make_lock(uv: list[str], requirements: Path, python: str) -> tuple[Path, float]:
    """The lock ``dockerlock lock`` would write for an image running ``python`` on linux/amd64."""
    series = ".".join(python.split(".")[:2])
    started = time.perf_counter()
    result = compile_lock(requirements, target=ImageTarget(series), uv=uv,
                          env=dict(os.environ, UV_NO_CONFIG="1"), timeout=600)
    return result.output, time.perf_counter() - started


def bench(name: str, requirements: Path, uv: list[str], python: str | None, repeat: int) -> dict:
    interpreter = resolve_python(python, uv)
    version = python_version_of(interpreter) or python or "%d.%d" % sys.version_info[:2]
    with tempfile.TemporaryDirectory(prefix=f"dockerlock-bench-{name}-") as tmp:
        context = Path(tmp, "context")
        context.mkdir()
        shutil.copy(requirements, context / "requirements.txt")
        lock, lock_seconds = make_lock(uv, context / "requirements.txt", version)
        print(f"  {name}: {repeat} timed run(s) of each step ...", file=sys.stderr, flush=True)
        result = verify_in_venvs(PipStep((context / "requirements.txt",)), UvStep(lock, "sync"),
                                 python=interpreter, uv=uv, repeat=repeat)
        return {"name": name, "packages": f"{len(result.pip_packages)}/{len(result.uv_packages)}",
                "lock": lock_seconds, "differences": [d.describe() for d in result.differences],
                "samples": result.samples, "cold": result.ratio_cold, "warm": result.ratio_warm}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=[*SETS, "all"], default="all")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each step (median is printed)")
    parser.add_argument("--python", default=None, help="interpreter or version for the venvs")
    args = parser.parse_args()
    try:
        uv = find_uv()
    except DockerlockError as exc:
        print(f"cannot benchmark: {exc}", file=sys.stderr)
        return 2
    chosen = list(SETS) if args.set == "all" else [args.set]
    version = subprocess.run([*uv, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"dependency step in host venvs; {version}; python {args.python or sys.version.split()[0]}; "
          f"median of {args.repeat} run(s), spread in brackets")
    rows = []
    for name in chosen:
        try:
            rows.append(bench(name, SETS[name], uv, args.python, args.repeat))
        except (DockerlockError, subprocess.CalledProcessError) as exc:
            print(f"{name}: failed: {exc}", file=sys.stderr)
            return 1
    header = (f"{'set':<8} {'pip/uv':>7} {'lock s':>7} {'pip cold':>19} {'uv cold':>19} {'ratio':>6} "
              f"{'pip warm':>19} {'uv warm':>19} {'ratio':>6}  same packages")
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = {key: row["samples"][key].describe() for key in KEYS}
        print(f"{row['name']:<8} {row['packages']:>7} {row['lock']:>7.2f} {cells['pip-cold']:>19} "
              f"{cells['uv-cold']:>19} {row['cold']:>5.1f}x {cells['pip-warm']:>19} {cells['uv-warm']:>19} "
              f"{row['warm']:>5.1f}x  " + ("yes" if not row["differences"] else "NO: " + "; ".join(row["differences"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
