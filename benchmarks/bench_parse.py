"""Parse a tree of 1,000 corpus-sized Dockerfiles with the model, and with BuildKit's own parser
(the ``dockerfile`` binding from the test extra) on the same bytes; print both and the ratio.

Target: the model within 2.5x of the BuildKit binding (which only locates instructions and
does no masking, heredoc reading, flag parsing or stage building), and all 1,000 in < 0.5 s.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tree import make_tree  # noqa: E402

from dockerlock.diagnostics import DockerlockError  # noqa: E402
from dockerlock.model import Dockerfile  # noqa: E402


def best_of(runs: int, fn: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


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
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_tree(Path(tmp), 1000)
        blobs = [(str(p), p.read_bytes()) for p in paths]
    ours = best_of(5, lambda: parse_all_with_model(blobs))
    print(f"model: parsed {len(blobs)} Dockerfiles in {ours:.3f} s ({len(blobs) / ours:,.0f} files/s); "
          f"target < 0.5 s: {'OK' if ours < 0.5 else 'MISSED'}")
    try:
        import dockerfile  # noqa: F401
    except ImportError:
        print("BuildKit binding not installed (pip install -e '.[test]'): no ratio")
        return
    theirs = best_of(5, lambda: parse_all_with_buildkit(blobs))
    ratio = ours / theirs
    print(f"BuildKit binding (dockerfile.parse_string): {theirs:.3f} s; model/BuildKit = {ratio:.2f}x "
          f"(target <= 2.5x: {'OK' if ratio <= 2.5 else 'MISSED'})")


if __name__ == "__main__":
    main()
