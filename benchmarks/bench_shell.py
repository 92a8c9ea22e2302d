"""The shell layer on the hot path: per-RUN parse time over every RUN body of the corpus, and
the cost of importing it.

    python benchmarks/bench_shell.py                 # this checkout
    python benchmarks/bench_shell.py --vs ../base    # and another checkout's dockerlock.shell

``--vs`` times the other checkout's ``parse_script`` on the same bodies in a subprocess
(``PYTHONPATH`` pointing at it), e.g. main before the tree-sitter rewrite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _tree import samples  # noqa: E402

# Runs in a subprocess with the checkout under test first on sys.path: reads the bodies
# (JSON on stdin), prints figures as JSON.
_MEASURE = r"""
import json, sys, time
bodies = json.load(sys.stdin)
t0 = time.perf_counter()
import dockerlock.shell as shell
imported = time.perf_counter() - t0
parse = getattr(shell.parse_script, "__wrapped__", shell.parse_script)  # past the memo
t0 = time.perf_counter()
try:
    parse("true")
except Exception:
    pass
first = time.perf_counter() - t0
errors = 0
for body in bodies:
    try:
        parse(body)
    except shell.ShellParseError:
        errors += 1
best = float("inf")
for _ in range(5):
    t0 = time.perf_counter()
    for body in bodies:
        try:
            parse(body)
        except shell.ShellParseError:
            pass
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"module": shell.__file__, "import_s": imported, "first_parse_s": first,
                  "total_s": best, "errors": errors}))
"""


def run_bodies() -> list[str]:
    """The shell text of every RUN in the corpus (shell form and heredoc bodies)."""
    from dockerlock.diagnostics import DockerlockError
    from dockerlock.model import Dockerfile

    bodies: list[str] = []
    for data in samples():
        try:
            df = Dockerfile.from_bytes(data, "Dockerfile")
        except DockerlockError:
            continue
        for ins in df.instructions:
            if ins.keyword != "RUN" or ins.exec_args is not None:
                continue
            text = ins.logical.text
            for doc in ins.heredocs:  # as facts.run_commands does: the `<<EOF` words blanked
                text = text[:doc.word_start] + " " * (doc.word_end - doc.word_start) + text[doc.word_end:]
            bodies.append(text[ins.body_start:])
            bodies.extend(doc.body for doc in ins.heredocs)
    return bodies


def measure(checkout: Path, bodies: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    done = subprocess.run([sys.executable, "-c", _MEASURE], input=json.dumps(bodies), env=env,
                          capture_output=True, text=True, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no output"}
    return json.loads(done.stdout)


def startup(checkout: Path, code: str, rounds: int = 7) -> float:
    """Best wall time of ``python -c code`` (interpreter start included)."""
    import time

    env = dict(os.environ, PYTHONPATH=str(checkout))
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL,
                       cwd=tempfile.gettempdir())
        best = min(best, time.perf_counter() - t0)
    return best


def report(name: str, checkout: Path, bodies: list[str]) -> None:
    got = measure(checkout, bodies)
    if "failed" in got:
        print(f"{name}: could not measure ({got['failed']})")
        return
    per_run = got["total_s"] / len(bodies) * 1e6
    print(f"{name}: {got['module']}")
    print(f"  parse: {len(bodies)} RUN bodies in {got['total_s'] * 1e3:.1f} ms = {per_run:.1f} us per RUN "
          f"({got['errors']} refused as unparseable)")
    print(f"  import dockerlock.shell: {got['import_s'] * 1e3:.1f} ms in-process; "
          f"first parse (parser set-up included): {got['first_parse_s'] * 1e3:.1f} ms")
    bare = startup(checkout, "pass")
    shell = startup(checkout, "import dockerlock.shell")
    version = startup(checkout, "import sys; sys.argv = ['dockerlock', '--version']\n"
                                "from dockerlock.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass")
    print(f"  python -c 'import dockerlock.shell': {shell * 1e3:.0f} ms (bare interpreter {bare * 1e3:.0f} ms); "
          f"dockerlock --version: {version * 1e3:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vs", type=Path, help="another checkout to time on the same bodies")
    args = parser.parse_args()
    bodies = run_bodies()
    print(f"corpus: {len(bodies)} RUN bodies, {sum(map(len, bodies)) / max(len(bodies), 1):.0f} characters on average")
    report("this checkout", HERE.parent, bodies)
    if args.vs is not None:
        report("--vs", args.vs.resolve(), bodies)


if __name__ == "__main__":
    main()
