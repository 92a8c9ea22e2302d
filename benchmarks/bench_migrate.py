"""`dockerlock migrate --check --no-lock-check` over 1,000 Dockerfiles, wall time incl. interpreter
start (target < 2 s), and `dockerlock --version` (target < 150 ms)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tree import make_tree  # noqa: E402


def timed(args: list[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    exe = [sys.executable, "-m", "dockerlock"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / ".git").mkdir()
        paths = make_tree(root, 1000)
        distinct = len({p.read_bytes() for p in paths})
        print(f"tree: 1000 Dockerfiles from {distinct} distinct files")
        runs = [timed(exe + ["migrate", "--check", "--no-lock-check", "--quiet", str(root)]) for _ in range(3)]
        best = min(runs)
        print(f"migrate --check --no-lock-check over 1000 files: {best:.2f} s wall "
              f"(target < 2 s: {'OK' if best < 2 else 'MISSED'})")
    versions = [timed(exe + ["--version"]) for _ in range(5)]
    v = min(versions)
    print(f"dockerlock --version: {v * 1000:.0f} ms (target < 150 ms: {'OK' if v < 0.15 else 'MISSED'})")


if __name__ == "__main__":
    main()
