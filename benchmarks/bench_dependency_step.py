"""pip vs uv for the dependency step alone, in host venvs: cold and warm caches, seconds and ratios.

Two requirement sets: the example app's (tests/fixtures/verify_app/context/requirements.txt) and a
larger one (benchmarks/data/requirements-large.txt, ~100 distributions). Each lock is generated at
run time with ``uv pip compile --format pylock.toml --universal``; each set is then verified with
``dockerlock.verify.venvs.verify_in_venvs`` (fresh venvs, empty then warm caches) ``--repeat`` times
and the median of each timing is printed, with whether both steps installed the same packages.

    python benchmarks/bench_dependency_step.py [--set example|large|all] [--repeat N] [--python 3.11]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dockerlock.diagnostics import DockerlockError
from dockerlock.verify.venvs import PipStep, UvStep, find_uv, verify_in_venvs

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "example": ROOT / "tests" / "fixtures" / "verify_app" / "context" / "requirements.txt",
    "large": ROOT / "benchmarks" / "data" / "requirements-large.txt",
}
KEYS = ("pip-cold", "uv-cold", "pip-warm", "uv-warm")


def compile_lock(uv: list[str], requirements: Path, directory: Path) -> tuple[Path, float]:
    lock = directory / "pylock.toml"
    started = time.perf_counter()
    subprocess.run([*uv, "pip", "compile", "--quiet", "--format", "pylock.toml", "--universal",
                    str(requirements), "-o", str(lock)], check=True, timeout=600,
                   env=dict(os.environ, UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never"))
    return lock, time.perf_counter() - started


def bench(name: str, requirements: Path, uv: list[str], python: str | None, repeat: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"dockerlock-bench-{name}-") as tmp:
        context = Path(tmp, "context")
        context.mkdir()
        shutil.copy(requirements, context / "requirements.txt")
        lock, lock_seconds = compile_lock(uv, context / "requirements.txt", context)
        samples: dict[str, list[float]] = {key: [] for key in KEYS}
        differences: list[str] = []
        packages = 0
        for round_ in range(1, repeat + 1):
            print(f"  {name}: round {round_}/{repeat} ...", file=sys.stderr, flush=True)
            result = verify_in_venvs(PipStep((context / "requirements.txt",)), UvStep(lock, "sync"),
                                     python=python, uv=uv)
            for key in KEYS:
                samples[key].append(result.timings[key])
            differences = [d.describe() for d in result.differences]
            packages = len(result.uv_packages)
        return {"name": name, "packages": packages, "lock": lock_seconds, "differences": differences,
                **{key: statistics.median(values) for key, values in samples.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=[*SETS, "all"], default="all")
    parser.add_argument("--repeat", type=int, default=1, help="rounds per set (median is printed)")
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
          f"median of {args.repeat} round(s)")
    rows = []
    for name in chosen:
        try:
            rows.append(bench(name, SETS[name], uv, args.python, args.repeat))
        except (DockerlockError, subprocess.CalledProcessError) as exc:
            print(f"{name}: failed: {exc}", file=sys.stderr)
            return 1
    header = (f"{'set':<8} {'pkgs':>4} {'lock s':>7} {'pip cold':>9} {'uv cold':>8} {'ratio':>6} "
              f"{'pip warm':>9} {'uv warm':>8} {'ratio':>6}  same packages")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['name']:<8} {row['packages']:>4} {row['lock']:>7.2f} {row['pip-cold']:>9.2f} "
              f"{row['uv-cold']:>8.2f} {row['pip-cold'] / row['uv-cold']:>5.1f}x "
              f"{row['pip-warm']:>9.2f} {row['uv-warm']:>8.2f} {row['pip-warm'] / row['uv-warm']:>5.1f}x  "
              + ("yes" if not row["differences"] else "NO: " + "; ".join(row["differences"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
