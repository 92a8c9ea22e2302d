"""Parse a tree of 1,000 corpus-sized Dockerfiles; print files/second (target: all in < 0.5 s, one core)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tree import make_tree  # noqa: E402

from dockerlock.diagnostics import DockerlockError  # noqa: E402
from dockerlock.model import Dockerfile  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_tree(Path(tmp), 1000)
        blobs = [(str(p), p.read_bytes()) for p in paths]
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for name, data in blobs:
                try:
                    Dockerfile.from_bytes(data, name)
                except DockerlockError:
                    pass
            best = min(best, time.perf_counter() - start)
        print(f"parsed {len(blobs)} Dockerfiles in {best:.3f} s ({len(blobs) / best:,.0f} files/s); "
              f"target < 0.5 s: {'OK' if best < 0.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
