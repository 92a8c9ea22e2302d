"""Parse a tree of 1,000 corpus-sized Dockerfiles with the model, and with BuildKit's own parser
(the ``dockerfile`` binding from the test extra) on the same bytes; print both and the ratio.

Target: the model within 2.5x of the BuildKit binding (which only locates instructions and
does no masking, heredoc reading, flag parsing or stage building), and all 1,000 in < 0.5 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tree import make_tree  # noqa: E402

from dockerlock.diagnostics import DockerlockError  # noqa: E402
from dockerlock.model import Dockerfile  # noqa: E402


def best_of(runs: int, fn: Callable[[], None]) -> tuple[float, float]:
    """Best wall and best CPU seconds of ``runs`` (CPU is the steadier figure on a shared machine)."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def parse_all_with_model(blobs: list[tuple[str, bytes]]) -> None:
    for name, data in blobs:
        try:
            Dockerfile.from_bytes(data, name)
        except DockerlockError:
            pass


def parse_all_with_buildkit(blobs: list[tuple[str, bytes]]) -> None:
    import dockerfile

    for _, data in blobs:
        try:
            dockerfile.parse_string(data.decode("utf-8-sig"))
        except (dockerfile.GoParseError, UnicodeDecodeError):
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-only", action="store_true", help="skip the BuildKit binding (for timing "
                        "the whole process before and after a change)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_tree(Path(tmp), 1000)
        blobs = [(str(p), p.read_bytes()) for p in paths]
    ours, ours_cpu = best_of(5, lambda: parse_all_with_model(blobs))
    print(f"model: parsed {len(blobs)} Dockerfiles in {ours:.3f} s wall, {ours_cpu:.3f} s CPU "
          f"({len(blobs) / ours_cpu:,.0f} files/CPU s); target < 0.5 s CPU: {'OK' if ours_cpu < 0.5 else 'MISSED'}")
    if args.model_only:
        return
    try:
        import dockerfile  # noqa: F401
    except ImportError:
        print("BuildKit binding not installed (pip install -e '.[test]'): no ratio")
        return
    theirs, theirs_cpu = best_of(5, lambda: parse_all_with_buildkit(blobs))
    ratio = ours_cpu / theirs_cpu
    print(f"BuildKit binding (dockerfile.parse_string): {theirs:.3f} s wall, {theirs_cpu:.3f} s CPU; "
          f"model/BuildKit = {ours / theirs:.2f}x wall, {ratio:.2f}x CPU "
          f"(target <= 2.5x CPU: {'OK' if ratio <= 2.5 else 'MISSED'})")


if __name__ == "__main__":
    main()
