"""Mutation fuzzing through the real command line: what migrate writes, and what revert restores.

Each mutant (``fuzz_mutants.make_mutant(seed)``: a corpus file or a small Dockerfile of a
shape dockerlock handles, with one to three seeded mutations) gets a build context of
its own (requirements files, placeholder locks or none, ``.python-version`` or none) and
goes through ``dockerlock migrate`` (typer's runner, ``catch_exceptions=False``; a few
through ``python -m dockerlock``), with or without ``--no-lock-check``. For every mutant:

1. every run finishes (in 5 s; a run takes ~20 ms) with exit code 0, 1 or 2; nothing
   prints a traceback, and no message says
   ``internal error`` or ``dockerlock bug`` (an exception that escaped a rule, or a rewrite
   the engine caught breaking its own invariants);
2. exit 2 leaves the file's bytes intact, with an error message naming ``file:line``;
   ``migrate --check`` agrees with what the writing run then does;
3. a changed file parses with BuildKit's parser (the ``dockerfile`` package);
4. every instruction outside the stanzas (anything but a RUN that runs pip and a COPY/ADD
   of a requirements file) is in the output verbatim and in order, every comment and blank
   line between instructions is still there, and the only new lines are RUN/COPY
   instructions and record comments (checked on BuildKit's reading of both files);
5. a second ``migrate`` exits 0 and changes nothing;
6. ``revert`` exits 0 and restores the exact bytes;
7. every lock a new or rewritten ``uv pip sync X`` / ``uv pip install -r X`` reads is at a
   path where an earlier COPY (or a bind mount on that RUN) puts a ``pylock*.toml`` --
   X expanded as ``/bin/sh`` expands it, against WORKDIR and any ``cd`` before it
   (``uv_step_oracle``, which shares no code with dockerlock).

Running it
----------
The default run checks 200 mutants (seeds 0-199), in about half a minute. Longer runs:

    DOCKERLOCK_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz.py -q -x
    HYPOTHESIS_PROFILE=nightly python -m pytest tests/test_fuzz.py -q      # 5000 mutants
    DOCKERLOCK_FUZZ_SEED=100000 DOCKERLOCK_FUZZ_EXAMPLES=5000 ...          # other seeds
    DOCKERLOCK_FUZZ_CORPUS=0 ...                                           # the shapes only

(``--hypothesis-profile=nightly`` works too.) A failure names its seed; ``-k 'seed_1234'``
runs that mutant alone, and ``fuzz_mutants.make_mutant(1234)`` rebuilds it. Every
violation found so far is reduced to a named regression test at the end of this file.
"""

from __future__ import annotations

import collections
import os
import re
import resource
import signal
import subprocess
import sys
from collections import Counter
from contextlib import chdir
from dataclasses import dataclass
from pathlib import Path

import dockerfile
import pytest
from hypothesis import settings as hypothesis_settings
from typer.testing import CliRunner

import strategies  # noqa: F401  (loads the Hypothesis profile, which sets the default example count)
from dockerlock.cli import build_app
from fuzz_context import write_context
from fuzz_mutants import Mutant, make_mutant
from migrate_helpers import placeholder_lock
from uv_step_oracle import lock_reads

BOM = b"\xef\xbb\xbf"
ROOT = Path(__file__).resolve().parents[1]


def fuzz_examples() -> int:
    """``DOCKERLOCK_FUZZ_EXAMPLES``, else by Hypothesis profile: nightly 5000, dev 50, else 200."""
    if os.environ.get("DOCKERLOCK_FUZZ_EXAMPLES"):
        return int(os.environ["DOCKERLOCK_FUZZ_EXAMPLES"])
    profile = hypothesis_settings.default.max_examples
    return 5000 if profile >= 5000 else 50 if profile <= 50 else 200


FIRST_SEED = int(os.environ.get("DOCKERLOCK_FUZZ_SEED", "0"))
SEEDS = range(FIRST_SEED, FIRST_SEED + fuzz_examples())
OUTCOMES: Counter[str] = collections.Counter()
# The outcome test reads what every mutant of the session did: with parallel workers, the whole
# module runs on one of them (--dist loadfile, pyproject.toml).

_APP = build_app()
_RUNNER = CliRunner()


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


class Hang(BaseException):
    """A command that ran past its deadline (a BaseException: the runner's broad ``except
    Exception`` must not turn it into an error outcome)."""


def in_process(*args: str, seconds: float = 5.0) -> Run:
    """Run dockerlock through typer's runner; a run takes ~20 ms, so 5 s means it hangs."""
    def expire(signum, frame):
        raise Hang(f"dockerlock {' '.join(args)} did not finish in {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        result = _RUNNER.invoke(_APP, list(args), catch_exceptions=False)
    except Hang as exc:
        raise AssertionError(str(exc)) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return Run(result.exit_code, result.stdout, result.stderr)


def in_subprocess(*args: str) -> Run:
    """``python -m dockerlock``, with 1 GiB of address space and a minute: a hang fails, not freezes."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    try:
        done = subprocess.run([sys.executable, "-m", "dockerlock", *args], capture_output=True, text=True,
                              env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}, timeout=60,
                              preexec_fn=limit)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"dockerlock {' '.join(args)} did not finish in 60 s") from None
    return Run(done.returncode, done.stdout, done.stderr)


# -- the properties ----------------------------------------------------------------------------------
def check_clean(run: Run, what: str) -> None:
    output = run.stdout + run.stderr
    assert run.code in (0, 1, 2), f"{what}: exit code {run.code}\n{output}"
    assert "Traceback" not in output, f"{what}: traceback\n{output}"
    assert "internal error" not in output and "dockerlock bug" not in output, f"{what}: a bug report\n{output}"


def error_at(stderr: str, line: int | str = r"\d+") -> bool:
    """Is there an error message about ``Dockerfile:<line>`` (``error:`` or ``error DLK104:``)?"""
    return re.search(rf"^Dockerfile:{line}: error( DLK\d+)?: \S", stderr, re.M) is not None


def check_error_names_the_file(run: Run, what: str) -> None:
    assert error_at(run.stderr), f"{what}: exit 2 without an error naming the file and line\n{run.stderr}"


def check_parses(data: bytes) -> list:
    text = data.decode("utf-8-sig")
    try:
        return dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        raise AssertionError(f"BuildKit cannot parse the output: {exc}\n{text}") from None


def _may_change(keyword: str, text: str) -> bool:
    """The stanza's own instructions: a RUN that runs pip, a COPY/ADD of a requirements file."""
    if keyword == "RUN":
        return "pip" in text
    if keyword in ("COPY", "ADD"):
        return bool(re.search(r"requirements|\.txt\b|\.in\b", text))
    return False


def _items(data: bytes) -> list[tuple[str, str | None]]:
    """BuildKit's reading of a file: (text, keyword) per instruction, with all its lines,
    and (text, None) per line between instructions. Line endings included."""
    text = data.decode("utf-8-sig")
    lines = re.findall(r"[^\n]*\n|[^\n]+$", text)  # BuildKit ends lines at \n only (not at \v, \f...)
    spans = {c.start_line - 1: (c.end_line, c.cmd.upper()) for c in dockerfile.parse_string(text)}
    items, n = [], 0
    while n < len(lines):
        if n in spans:
            end, keyword = spans[n]
            items.append(("".join(lines[n:end]), keyword))
            n = end
        else:
            items.append((lines[n], None))
            n += 1
    return items


def check_untouched(before: bytes, after: bytes) -> None:
    assert before.startswith(BOM) == after.startswith(BOM), "the BOM changed"
    try:
        old = _items(before)
    except dockerfile.GoParseError as exc:
        raise AssertionError(f"migrate rewrote a file BuildKit cannot parse: {exc}") from None
    new = _items(after)
    protected = [t for t, kw in old if kw is not None and not _may_change(kw, t)]
    new_instructions = [t for t, kw in new if kw is not None]
    pos = 0
    for text in protected:
        assert text in new_instructions[pos:], f"instruction changed, lost or out of order: {text!r}"
        pos = new_instructions.index(text, pos) + 1
    lost_lines = Counter(t for t, kw in old if kw is None) - Counter(t for t, kw in new if kw is None)
    assert not lost_lines, f"lines between instructions lost: {list(lost_lines)}"
    added = Counter(new) - Counter(old)
    for text, keyword in added:
        assert keyword in ("RUN", "COPY") or (keyword is None and text.startswith("# dockerlock: ")), \
            f"new in the output: {text!r}"
    removed = Counter(old) - Counter(new)
    for text, keyword in removed:
        assert keyword is None or _may_change(keyword, text), f"removed: {text!r}"


def check_lock_reads(before: bytes, after: bytes, root: Path, lock_read: bool) -> int:
    """Property 7 on every new or rewritten RUN; returns how many lock paths were checked."""
    old_runs = Counter(t for t, kw in _items(before) if kw == "RUN")
    text = after.decode("utf-8-sig")
    changed, line = set(), 1
    for item, keyword in _items(after):
        if keyword == "RUN" and old_runs[item] == 0 and re.search(r"\buv\s+pip\s+(sync|install)\b", item):
            changed.add(line)
        line += item.count("\n") or 1
    reads = lock_reads(text, root, changed, require_existing=lock_read)
    assert {r.line for r in reads} == changed, \
        f"the oracle found no lock in the uv step(s) on line(s) {sorted(changed - {r.line for r in reads})}"
    for read in reads:
        assert read.problem is None, f"line {read.line}: {read.raw}: {read.problem}"
        assert read.ok, f"line {read.line}: the uv step reads {read.path} (from {read.raw}), where no " \
                        "earlier COPY or bind mount puts a lock"
    return sum(r.unchecked is None for r in reads)


def check_mutant(mutant: Mutant, root: Path, cli=in_process) -> str:
    """Every property for one mutant; returns its outcome (for the statistics)."""
    write_context(root, mutant)
    path = root / "Dockerfile"
    with chdir(root):
        if mutant.seed % 4 == 0:
            dry = cli("migrate", "--check", *mutant.flags, "Dockerfile")
            check_clean(dry, "migrate --check")
            assert path.read_bytes() == mutant.data, "migrate --check wrote the file"
        first = cli("migrate", *mutant.flags, "Dockerfile")
        check_clean(first, "migrate")
        after = path.read_bytes()
        if mutant.seed % 4 == 0:
            assert dry.code == {0: 1 if after != mutant.data else 0, 2: 2}.get(first.code), \
                f"migrate --check exited {dry.code}, the writing run {first.code}"
        if first.code != 0:
            assert first.code == 2, f"migrate (writing) exited {first.code}"
            assert after == mutant.data, "migrate exited 2 and changed the file"
            check_error_names_the_file(first, "migrate")
            return "error"
        if after == mutant.data:
            back = cli("revert", "Dockerfile")
            check_clean(back, "revert of an unmigrated file")
            if back.code == 2:
                assert path.read_bytes() == mutant.data, "revert exited 2 and changed the file"
                check_error_names_the_file(back, "revert")
            return "unchanged"
        check_parses(after)
        check_untouched(mutant.data, after)
        # with the lock check, migrate read the lock: it must exist where the COPY takes it from
        checked = check_lock_reads(mutant.data, after, root, "--no-lock-check" not in mutant.flags)
        second = cli("migrate", *mutant.flags, "Dockerfile")
        check_clean(second, "second migrate")
        assert second.code == 0 and path.read_bytes() == after, \
            f"second migrate exited {second.code} or changed the file\n{second.stderr}"
        back = cli("revert", "Dockerfile")
        check_clean(back, "revert")
        assert back.code == 0, f"revert exited {back.code}\n{back.stderr}"
        assert path.read_bytes() == mutant.data, "revert did not restore the exact bytes"
        return "converted" if checked else "converted (lock paths unchecked)"


# -- the fuzz run ------------------------------------------------------------------------------------
def known_bug(mutant: Mutant, failure: str) -> str | None:
    """The open bug (a strict-xfail regression test below) a violation is an instance of, if any.

    Each predicate is narrow, on the mutant's input and the violation's text, so that a new
    kind of violation is never taken for a known one.
    """
    text = mutant.data.decode("utf-8", errors="replace").lstrip("\ufeff")
    if "BuildKit cannot parse" in failure or "rewrote a file BuildKit cannot parse" in failure:
        try:
            dockerfile.parse_string(text)
        except dockerfile.GoParseError:
            return "test_regression_a_file_buildkit_rejects_is_rewritten"
    return None


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed_{s}")
def test_mutant_keeps_every_property(seed, tmp_path):
    mutant = make_mutant(seed)
    try:
        OUTCOMES[check_mutant(mutant, tmp_path)] += 1
    except AssertionError as exc:
        if (bug := known_bug(mutant, str(exc))) is not None:
            OUTCOMES["known bug"] += 1
            pytest.xfail(f"known bug, see {bug}")
        raise AssertionError(f"{mutant.describe()}\n{exc}") from None


@pytest.mark.parametrize("seed", [3, 11, 42])
def test_mutant_through_a_real_process(seed, tmp_path):
    """The same properties with ``python -m dockerlock``: a real process's exit code and streams."""
    mutant = make_mutant(seed)
    try:
        check_mutant(mutant, tmp_path, cli=in_subprocess)
    except AssertionError as exc:
        raise AssertionError(f"{mutant.describe()}\n{exc}") from None


def test_the_fuzz_run_exercised_every_outcome():
    """The mutants are not all refused or all broken: a fuzz run that converts nothing checks nothing."""
    total = sum(OUTCOMES.values())
    if total < 150:
        pytest.skip(f"only {total} mutants ran in this session")
    converted = OUTCOMES["converted"]
    assert converted >= total // 5, OUTCOMES
    assert OUTCOMES["error"] >= total // 20, OUTCOMES
    assert OUTCOMES["unchanged"] >= total // 20, OUTCOMES
    assert OUTCOMES["converted (lock paths unchecked)"] <= converted // 4, OUTCOMES


# -- the oracle can fail -------------------------------------------------------------------------------------
def _reads(text: str, tmp_path: Path, files=("pylock.toml",)) -> list:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    lines = {c.start_line for c in dockerfile.parse_string(text) if c.cmd.upper() == "RUN"}
    return lock_reads(text, tmp_path, lines)


@pytest.mark.parametrize("text", [
    "FROM python:3.11\nCOPY pylock.toml /tmp/\nRUN uv pip sync /tmp/pylock.toml\n",
    "FROM python:3.11\nWORKDIR /app\nCOPY pylock.toml .\nRUN cd /app && uv pip install -r ./pylock.toml --system\n",
    "FROM python:3.11\nARG D=/srv\nCOPY pylock.toml ${D}/\nRUN uv pip sync \"$D/pylock.toml\"\n",
    "FROM python:3.11\nCOPY pylock.toml ${LAMBDA_TASK_ROOT}/\nRUN uv pip install -r ${LAMBDA_TASK_ROOT}/pylock.toml\n",
    "FROM python:3.11\nCOPY [\"pylock.toml\", \"/tmp/a b/\"]\nRUN uv pip install -r '/tmp/a b/pylock.toml'\n",
    "FROM python:3.11\nWORKDIR /app\nRUN --mount=type=bind,source=pylock.toml,target=pylock.toml "
    "UV_LINK_MODE=copy uv pip install -r pylock.toml --system\n",
    "FROM python:3.11 AS a\nCOPY pylock.toml /opt/\nFROM a\nRUN sh -c 'cd /opt && uv pip sync pylock.toml'\n",
    "FROM python:3.11\nCOPY pylock.toml /tmp/\nRUN [\"uv\", \"pip\", \"install\", \"-r\", \"/tmp/pylock.toml\"]\n",
    "FROM python:3.11\nCOPY pylock.toml /tmp/\nRUN <<EOF\nset -e\ncd /tmp\nuv pip sync pylock.toml\nEOF\n",
    "FROM python:3.11\nCOPY pylock.toml /root/\nRUN uv pip sync ~/pylock.toml && uv pip install -r \"$HOME/pylock.toml\"\n",
])
def test_oracle_accepts_a_step_that_reads_the_copied_lock(text, tmp_path):
    reads = _reads(text, tmp_path)
    assert reads and all(r.ok and r.unchecked is None for r in reads), reads


@pytest.mark.parametrize("text, problem", [
    # issue 14.2: the lock was copied to /tmp, the step reads /app/pylock.toml
    ("FROM python:3.11\nWORKDIR /app\nCOPY pylock.toml /tmp/pylock.toml\nRUN uv pip install -r pylock.toml\n", None),
    # issue 14.1: the quotes ended up inside the path
    ("FROM python:3.11\nCOPY pylock.toml /tmp/\nRUN uv pip install -r '\"/tmp/pylock.toml'\n", None),
    ("FROM python:3.11\nCOPY pylock.toml /tmp/\nRUN uv pip install -r \"'/tmp/$(touch pwn)/pylock.toml\"\n",
     "runs code"),
    ("FROM python:3.11\nENV V=\"/tmp/a b\"\nCOPY pylock.toml /tmp/\nRUN uv pip install -r $V\n", "2 words"),
    ("FROM python:3.11\nWORKDIR /app\nCOPY pylock.toml .\nRUN cd sub && uv pip sync pylock.toml\n", None),
    ("FROM python:3.11\nCOPY pylock.toml ${LAMBDA_TASK_ROOT}/\nRUN uv pip install -r /var/task/pylock.toml\n", None),
    ("FROM python:3.11\nCOPY pylock.toml /tmp/\nRUN (cd /tmp) && uv pip sync pylock.toml\n", None),
    ("FROM python:3.11 AS a\nCOPY pylock.toml /opt/\nFROM python:3.11\nRUN uv pip sync /opt/pylock.toml\n", None),
    ("FROM python:3.11\nCOPY pylock.toml /tmp/\nRUN [\"uv\", \"pip\", \"sync\", \"$HOME/pylock.toml\"]\n", None),
    ("FROM python:3.11\nCOPY requirements.txt /tmp/\nRUN uv pip install -r /tmp/requirements.txt\n", None),
    ("FROM python:3.11\nCOPY pylock.toml /root/\nUSER app\nRUN uv pip sync ~/pylock.toml\n", None),
    # a bind mount hides what was copied below its target
    ("FROM python:3.11\nCOPY pylock.toml /app/\nRUN --mount=type=bind,source=requirements.txt,target=/app "
     "uv pip sync /app/pylock.toml\n", None),
])
def test_oracle_refuses_a_step_that_reads_elsewhere(text, problem, tmp_path):
    reads = _reads(text, tmp_path, ("pylock.toml", "requirements.txt"))
    assert reads and not all(r.ok for r in reads), reads
    if problem:
        assert any(problem in (r.problem or "") for r in reads), reads


def test_oracle_requires_the_lock_in_the_context(tmp_path):
    text = "FROM python:3.11\nCOPY backend/pylock.toml /tmp/\nRUN uv pip sync /tmp/pylock.toml\n"
    assert not lock_reads(text, tmp_path, {3})[0].ok  # no backend/pylock.toml in the context
    assert lock_reads(text, tmp_path, {3}, require_existing=False)[0].ok  # a preview before the lock exists


# -- regressions: minimal reproductions of violations the fuzz run found ------------------------------------------
UV = "COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/"
UV_FLAGS = "--system --compile-bytecode --require-hashes --no-cache"


def migrate_tree(root: Path, files: dict[str, str], text: str, *flags: str) -> tuple[Run, str]:
    """``dockerlock migrate FLAGS Dockerfile`` in a context holding ``files`` (``LOCK`` marks a
    placeholder lock); returns the run and the Dockerfile afterwards."""
    (root / ".git").mkdir(parents=True)
    for rel, content in {**files, "Dockerfile": text}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(placeholder_lock() if content == "LOCK" else content)
    with chdir(root):
        run = in_process("migrate", *flags, "Dockerfile")
        check_clean(run, "migrate")
    return run, (root / "Dockerfile").read_text()


def test_regression_a_folder_copy_does_not_provide_a_file_the_context_lacks(tmp_path):
    """Was: ``COPY . /srv`` was taken to bring /srv/reqs/requirements.txt although the context
    has no reqs/ folder (so the earlier COPY's file stays there): migrate wanted the lock
    reqs/pylock.toml (exit 2, "does not exist"), and with --no-lock-check wrote a uv step
    reading /srv/reqs/pylock.toml that nothing copies (fuzz seeds 110, 1185, 2362...)."""
    before = ("FROM python:3.11-slim\nCOPY requirements.txt /srv/reqs/\nCOPY . /srv\n"
              "RUN pip install -r /srv/reqs/requirements.txt\n")
    run, after = migrate_tree(tmp_path, {"requirements.txt": "six==1.16.0\n", "pylock.toml": "LOCK"}, before,
                              "--no-record")
    assert run.code == 0, run.stderr
    assert after == (f"FROM python:3.11-slim\n{UV}\nCOPY pylock.toml /srv/reqs/pylock.toml\nCOPY . /srv\n"
                     f"RUN uv pip install -r /srv/reqs/pylock.toml {UV_FLAGS}\n")


def test_regression_a_downloaded_requirements_file_is_not_taken_from_a_folder_copy(tmp_path):
    """Was: with ``COPY . .`` at the top, a requirements file a later RUN downloads was taken
    from the context (where it does not exist), and --no-lock-check wrote a uv step reading a
    lock nothing copies (fuzz seed 7067, the netbox image)."""
    before = ("FROM python:3.11-slim\nCOPY . .\nWORKDIR /opt\n"
              "RUN wget -q -O - https://files.example.org/app.tar.gz | tar xz\n"
              "WORKDIR /opt/app\nRUN pip install -r requirements.txt\n")
    run, after = migrate_tree(tmp_path, {"requirements.txt": "six==1.16.0\n"}, before, "--no-lock-check")
    assert run.code == 0 and after == before
    assert "Dockerfile: skipped 1 (line 6: pip install -r requirements.txt left as is: requirements.txt is not " \
           "copied from the build context; it is probably produced during the build (RUN on line 4 downloads " \
           "files))" in run.stderr


@pytest.mark.parametrize("mount, expected", [
    ("source=reqs/requirements.txt,target=$REQ", "source=reqs/pylock.toml,target=/tmp/pylock.toml"),
    ("source=$SRC,target=/tmp/requirements.txt", "source=reqs/pylock.toml,target=/tmp/pylock.toml"),
    ("source=$SRC,target=$REQ", "source=reqs/pylock.toml,target=/tmp/pylock.toml"),
])
def test_regression_a_bind_mount_named_by_variables_binds_the_lock_where_the_step_reads_it(mount, expected, tmp_path):
    """Was: a bind mount whose source or target is a variable was rewritten to
    ``source=pylock.toml``/``target=pylock.toml`` (the folder of ``$REQ`` is lost), so the
    uv step read /tmp/pylock.toml where nothing was bound (fuzz seeds 414, 2001, 5028...)."""
    before = ("FROM python:3.11-slim\nARG REQ=/tmp/requirements.txt\nARG SRC=reqs/requirements.txt\n"
              f"RUN --mount=type=bind,{mount} pip install -r /tmp/requirements.txt\n")
    run, after = migrate_tree(tmp_path, {"reqs/requirements.txt": "six==1.16.0\n", "reqs/pylock.toml": "LOCK"},
                              before, "--no-record")
    assert run.code == 0, run.stderr
    assert after == ("FROM python:3.11-slim\nARG REQ=/tmp/requirements.txt\nARG SRC=reqs/requirements.txt\n"
                     f"{UV}\nRUN --mount=type=bind,{expected} uv pip install -r /tmp/pylock.toml {UV_FLAGS}\n")


def test_regression_a_bind_mounted_file_is_not_taken_for_a_folder(tmp_path):
    """Was: ``--mount=type=bind,source=requirements.txt,target=/app`` binds a *file* at /app,
    so /app/requirements.txt does not exist during the RUN; it was read as a folder mount
    holding requirements.txt/requirements.txt. Migrate then asked for the lock
    "requirements.txt/pylock.toml" and, with --no-lock-check, wrote a uv step reading
    /app/pylock.toml where nothing is bound (fuzz seed 51043, without the corpus)."""
    before = "FROM python:3.11-slim\nRUN --mount=type=bind,source=requirements.txt,target=/app " \
             "pip install -r /app/requirements.txt\n"
    for flags in ((), ("--no-lock-check",)):
        run, after = migrate_tree(tmp_path / "-".join(flags or ("checked",)),
                                  {"requirements.txt": "six==1.16.0\n", "pylock.toml": "LOCK"}, before, *flags)
        assert run.code == 0 and after == before, run.stderr
        assert "line 2: pip install -r /app/requirements.txt left as is: the bind mount on /app/requirements.txt " \
               "brings no such file: the build context has no requirements.txt/requirements.txt" in run.stderr


@pytest.mark.parametrize("copy, expected", [
    ("COPY requirements.txt .", None),  # the file is in the base folder, the step reads sub/: left alone
    ("COPY requirements.txt sub/", f"{UV}\nCOPY pylock.toml sub/pylock.toml\n"
                                   f"RUN cd sub && uv pip install -r pylock.toml {UV_FLAGS}\n"),
])
def test_regression_a_relative_cd_below_an_unknown_working_directory_is_followed(copy, expected, tmp_path):
    """Was: where the base image sets the working directory (unknown to dockerlock), a
    relative ``cd sub`` was dropped, so ``pip install -r requirements.txt`` after it was
    matched with ``COPY requirements.txt .`` (the base folder, not sub/), and the uv step
    read sub/pylock.toml while the lock was copied to the base folder (fuzz seed 61376)."""
    before = f"FROM mycorp/python-base:3.11\n{copy}\nRUN cd sub && pip install -r requirements.txt\n"
    run, after = migrate_tree(tmp_path, {"requirements.txt": "six==1.16.0\n", "pylock.toml": "LOCK"}, before,
                              "--no-record")
    assert run.code == 0, run.stderr
    if expected is None:
        assert after == before
        assert "cannot find the COPY/ADD or bind mount that puts requirements.txt into the image (looked for " \
               "/?/sub/requirements.txt)" in run.stderr
    else:
        assert after == f"FROM mycorp/python-base:3.11\n{expected}"


# The stale record is the one docs/record.md shows (a real, intact record of another file).
DOCS_RECORD = (
    "# dockerlock: replaced `RUN pip install --no-cache-dir --upgrade -r /tmp/requirements.txt`; `dockerlock "
    "revert` restores it [v2 n=3 h=ea618c0cac5fdd6e c=957f01ca2398f7bb d=eNp1zLEKwjAURuG9T3FfIJYmFkXo5K4iODj"
    "eJn80mKYxuYU-vu7ieL7hYI5D9BS5yuCdMx1813sNSlhl0AfwfjRbrdGbXXM8X-40sn0hubbgvYSCCUnqRlahVqb8o831dqIcMoVUh"
    "WMkpdKsLNsnlAvlm0t-FHYgVf4cPrzMOHY]")


@pytest.mark.parametrize("comment", [
    "# dockerlock: replaced `RUN pip install -r requirements.txt`; `dockerlock revert` restores it",
    "    # dockerlock: added the lines below; `dockerlock revert` removes them [v2 n=1 h=0 c=0 d=]",
    "# dockerlock: migrated pip -> uv; [v1 n=1 h=000000000000 d=eNoDAAAAAAE]",
    DOCS_RECORD,
], ids=["words-only", "indented-added", "fake-v1", "stale-real-record"])
def test_regression_an_earlier_damaged_record_makes_migrate_one_way(comment, tmp_path):
    """Was: a line that revert takes for a damaged (or another region's) record, above an
    unmigrated stanza: migrate exited 0 and wrote, then revert refused the file (exit 2), so
    the migration could not be undone (fuzz seeds 180, 247, 974, 1081...). Now migrate refuses
    the file (DLK121, exit 2, naming the line) and writes nothing."""
    before = f"FROM python:3.11-slim\n{comment}\nCOPY requirements.txt /tmp/\nRUN pip install -r /tmp/requirements.txt\n"
    run, after = migrate_tree(tmp_path, {"requirements.txt": "six==1.16.0\n", "pylock.toml": "LOCK"}, before)
    assert run.code == 2 and after == before
    assert run.stderr.startswith("Dockerfile:2: error DLK121: "), run.stderr
    assert "`dockerlock revert` would refuse this file, so a migration written now could not be undone" in run.stderr


def test_regression_a_stray_line_after_a_continuation_is_called_a_dockerlock_bug(tmp_path):
    """The input already has a line BuildKit reads as an instruction named ``-r`` (the
    continuation ended one line early). Was: migrate refused (exit 2, nothing written: right)
    but said the *rewrite* would create that line and called it a dockerlock bug. Now it
    names the line as the input's error (fuzz seed 1007)."""
    before = ("FROM python:3.11-slim\nCOPY requirements.txt /tmp/\nRUN pip install \\\n    -r /tmp/requirements.txt\n"
              "    -r /tmp/requirements.txt\n")
    run, after = migrate_tree(tmp_path, {"requirements.txt": "six==1.16.0\n", "pylock.toml": "LOCK"}, before)
    assert run.code == 2 and after == before
    assert "dockerlock bug" not in run.stderr and error_at(run.stderr, 5)
    assert "'-r /tmp/requirements.txt' is not an instruction Docker knows, and BuildKit stops there (is a " \
           "continuation backslash missing on the line before?); nothing was written" in run.stderr


def test_regression_a_file_buildkit_rejects_is_rewritten(tmp_path):
    """``ENV X=a b`` is a syntax error for BuildKit ("can't find = in b"), so the image does
    not build; migrate still converts the stanza below it (exit 0). A file BuildKit cannot
    parse should be an error (exit 2) like any other syntax error (fuzz seed 4357)."""
    before = "FROM python:3.11-slim\nENV X=a b\nCOPY requirements.txt /tmp/\nRUN pip install -r /tmp/requirements.txt\n"
    with pytest.raises(dockerfile.GoParseError):
        dockerfile.parse_string(before)
    run, after = migrate_tree(tmp_path, {"requirements.txt": "six==1.16.0\n", "pylock.toml": "LOCK"}, before)
    assert run.code == 2 and after == before and error_at(run.stderr, 2)


def test_regression_a_mount_option_buildkit_rejects_is_rewritten(tmp_path):
    """Was: ``sorce=`` (a typo) is an "unexpected key" for BuildKit, so the RUN fails; dockerlock
    read the mount as binding the context root (no source) at /tmp/requirements.txt and
    rewrote it, keeping the typo, to a uv step reading /tmp/pylock.toml. Now DLK120 leaves the
    stanza alone, as an unknown pip option does (fuzz seed 64050, where a bit flip made ``so}rce=``)."""
    before = ("FROM python:3.11-slim\nCOPY requirements.txt /tmp/requirements.txt\n"
              "RUN --mount=type=bind,sorce=requirements.txt,target=/tmp/requirements.txt "
              "pip install -r /tmp/requirements.txt\n")
    run, after = migrate_tree(tmp_path, {"requirements.txt": "six==1.16.0\n", "pylock.toml": "LOCK"}, before)
    assert after == before and run.code == 0
    assert "line 3: pip install -r /tmp/requirements.txt left as is: BuildKit would reject the RUN's mount: " \
           "unknown key 'sorce'" in run.stderr


def test_regression_revert_of_two_steps_sharing_one_lock_copy_says_edits_overlap(tmp_path):
    """Was: two locked steps (no record) read the lock one COPY brings: revert synthesised a
    pip stanza for each, both replacing that COPY, and stopped with "edits overlap: 22-45 and
    22-45" (no line, internal offsets; fuzz seed 5164). Now the shared COPY is turned back once."""
    before = ("FROM python:3.11-slim\nCOPY pylock.toml /tmp/\nRUN uv pip install -r /tmp/pylock.toml --system\n"
              "RUN uv pip install -r /tmp/pylock.toml --system\n")
    _, after = migrate_tree(tmp_path, {"requirements.txt": "six==1.16.0\n", "pylock.toml": "LOCK"}, before)
    assert after == before  # nothing to migrate
    with chdir(tmp_path):
        back = in_process("revert", "Dockerfile")
    check_clean(back, "revert")
    assert back.code == 0 and (tmp_path / "Dockerfile").read_text() == (
        "FROM python:3.11-slim\nCOPY requirements.txt /tmp/\n"
        + "RUN pip install --no-cache-dir --upgrade -r /tmp/requirements.txt\n" * 2)
    assert "reverted 2 stanzas" in back.stderr


def test_regression_a_lock_at_the_context_root_through_copy_slash_does_not_hang(tmp_path):
    """Was: after migrating a file whose requirements arrive by ``COPY / /app`` (``/`` is the
    context root), every later ``migrate`` or ``check`` of it looped forever looking for
    ``.python-version`` above the folder ``/``, whose parent is itself, filling memory; and
    then ``check`` said "lock pylock.toml: not found" for the lock ``COPY /pylock.toml``
    copies (fuzz seed 3088)."""
    before = "FROM python:3.11-slim\nWORKDIR /app\nCOPY / /app\nRUN pip install -r /app/requirements.txt\n"
    run, after = migrate_tree(tmp_path, {"requirements.txt": "six==1.16.0\n", "pylock.toml": "LOCK"}, before,
                              "--no-record")
    # the install moves ahead of the folder COPY (the lock has no local packages)
    assert run.code == 0 and after == (f"FROM python:3.11-slim\nWORKDIR /app\n{UV}\nCOPY /pylock.toml /app/\n"
                                       f"RUN uv pip install -r /app/pylock.toml {UV_FLAGS}\nCOPY / /app\n"), run.stderr
    with chdir(tmp_path):
        again = in_subprocess("migrate", "Dockerfile")
        checked = in_subprocess("check", "Dockerfile")
    assert again.code == 0 and (tmp_path / "Dockerfile").read_text() == after, again.stderr
    assert checked.code == 0, checked.stdout + checked.stderr
