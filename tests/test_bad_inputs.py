"""The bad-input matrix, through the real command line.

Every case asserts the stable part of the message, the exit code (2: an error for that
file; nothing is written) and that the file's bytes are unchanged, with no temporary
file left beside it. In-process runs use typer's ``CliRunner`` on ``build_app()``;
cases that need a real process (a signal, two concurrent runs, a FIFO that would
block) run ``python -m dockerlock``.
"""

from __future__ import annotations

import errno
import re
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dockerfile
import pytest
from typer.testing import CliRunner

from dockerlock.cli import build_app
from dockerlock.model import Dockerfile

TEMP_GLOB = "*.dockerlock.tmp"
STANZA = ("FROM python:3.11-slim\n"
          "COPY requirements.txt /tmp/requirements.txt\n"
          "RUN pip install --no-cache-dir -r /tmp/requirements.txt\n"
          'CMD ["python", "-m", "app"]\n')


def placeholder_lock(name: str = "six", version: str = "1.16.0") -> str:
    """A small valid PEP 751 lock; placeholder URLs only."""
    return ('lock-version = "1.0"\nrequires-python = ">=3.9"\ncreated-by = "tests"\n\n'
            f'[[packages]]\nname = "{name}"\nversion = "{version}"\n'
            f'wheels = [{{ url = "https://files.example.org/{name}-{version}-py3-none-any.whl", '
            f'hashes = {{ sha256 = "{"ab" * 32}" }} }}]\n')


def invoke(*args: str, cwd: Path | None = None):
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(build_app(), [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


def temp_files(root: Path) -> list[Path]:
    return sorted(root.rglob(TEMP_GLOB)) + sorted(root.rglob(f".{TEMP_GLOB}"))


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A repository with one migratable service: Dockerfile, requirements.txt, pylock.toml."""
    (tmp_path / ".git").mkdir()
    svc = tmp_path / "svc"
    svc.mkdir()
    (svc / "Dockerfile").write_text(STANZA)
    (svc / "requirements.txt").write_text("six==1.16.0\n")
    (svc / "pylock.toml").write_text(placeholder_lock())
    return tmp_path


def assert_refused(result, path: Path, before: bytes, message: str) -> None:
    """Exit 2, the message names the file and the reason, the file is byte-identical."""
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert str(path.name) in result.output
    if path.is_symlink() or path.is_file():
        assert path.read_bytes() == before
    assert temp_files(path.parent) == []


# -- undecodable or unparseable files -------------------------------------------------------------
BAD_FILES = {
    "binary": (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)), "binary file (contains NUL bytes), not a Dockerfile"),
    "latin-1": (b"FROM python:3.11-slim\nLABEL maintainer=\"Jos\xe9\"\n" + STANZA.encode()[22:],
                "not valid UTF-8 (byte 0xe9 at offset"),
    "utf-16": (STANZA.encode("utf-16"), "file is UTF-16 (it starts with a UTF-16 byte-order mark)"),
    "empty": (b"", "empty file: a Dockerfile needs at least one instruction"),
    "unterminated heredoc": (b"FROM python:3.11-slim\nCOPY requirements.txt /tmp/\nRUN <<EOF\n"
                             b"pip install -r /tmp/requirements.txt\n", "unterminated heredoc '<<EOF'"),
    "trailing escape": (STANZA.encode() + b"RUN echo done \\", "line continuation at end of file"),
    "trailing escape then comment": (STANZA.encode() + b"RUN echo done \\\n# nothing follows\n",
                                     "line continuation at end of file"),
}


@pytest.mark.parametrize("data,message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_undecodable_or_unparseable_file(project, data, message):
    path = project / "svc" / "Dockerfile"
    path.write_bytes(data)
    for args in (("migrate",), ("migrate", "--check"), ("revert",)):
        result = invoke(*args, path)
        assert_refused(result, path, data, message)
        assert f"{path}:" in result.output  # names file (and line) of the problem


def test_directory_named_dockerfile(project):
    path = project / "svc" / "Dockerfile"
    path.unlink()
    path.mkdir()
    (path / "keep.txt").write_text("x")
    result = invoke("migrate", path)
    assert result.exit_code == 2 and "is a directory, not a Dockerfile" in result.output
    assert path.is_dir() and [p.name for p in path.iterdir()] == ["keep.txt"]
    assert temp_files(project) == []


def test_ten_megabyte_dockerfile_refused_fast(project):
    path = project / "svc" / "Dockerfile"
    line = "RUN echo " + "x" * 90 + "\n"
    data = (STANZA + line * (10 * 1024 * 1024 // len(line))).encode()
    assert len(data) >= 10 * 1024 * 1024 - 100
    path.write_bytes(data)
    start = time.perf_counter()
    result = invoke("migrate", path)
    elapsed = time.perf_counter() - start
    print(f"\n10 MB Dockerfile: migrate took {elapsed:.3f} s")
    assert_refused(result, path, data, f"file is {len(data)} bytes; refusing anything over")
    assert elapsed < 2.0


def test_dangling_symlink(project):
    path = project / "svc" / "Dockerfile"
    path.unlink()
    missing = project / "nowhere" / "Dockerfile"
    path.symlink_to(missing)
    result = invoke("migrate", path)
    assert result.exit_code == 2 and "dangling symlink: the file it points to does not exist" in result.output
    assert path.is_symlink() and os.readlink(path) == str(missing)
    assert not missing.exists() and not missing.parent.exists()  # nothing created at the target
    assert temp_files(project) == []


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_not_a_regular_file(project, kind):
    """A FIFO would block a reader forever and /dev/zero never ends: refused, unread."""
    path = project / "svc" / "Dockerfile"
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    proc = subprocess.run([sys.executable, "-m", "dockerlock", "migrate", str(path)], capture_output=True,
                          text=True, timeout=60, cwd=project)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "not a regular file (a FIFO, socket or device); refusing to read it" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert stat.S_ISFIFO(os.lstat(path).st_mode) if kind == "fifo" else os.readlink(path) == "/dev/zero"


def test_read_only_file_refused_even_as_root(project):
    path = project / "svc" / "Dockerfile"
    before = path.read_bytes()
    path.chmod(0o444)
    try:
        if os.geteuid() == 0:
            assert os.access(path, os.W_OK)  # why the mode bits must be checked by hand as root
        result = invoke("migrate", path)
        assert_refused(result, path, before, "the file is read-only; nothing was written")
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
        # --check and --diff never write, so a read-only file is fine for them
        assert invoke("migrate", "--check", path).exit_code == 1
    finally:
        path.chmod(0o644)
    assert invoke("migrate", path).exit_code == 0  # writable again: migrated


def test_file_changed_between_read_and_write(project, monkeypatch):
    import dockerlock.runner as runner

    path = project / "svc" / "Dockerfile"
    before = path.read_bytes()
    edited = before + b"# edited in an editor while dockerlock ran\n"
    real_read = runner.read_dockerfile

    def read_then_edit(p):
        data = real_read(p)
        Path(p).write_bytes(edited)  # someone saves the file right after dockerlock read it
        return data

    monkeypatch.setattr(runner, "read_dockerfile", read_then_edit)
    result = invoke("migrate", path)
    assert result.exit_code == 2, result.output
    assert "the file changed on disk while dockerlock was working on it; nothing was written" in result.output
    assert path.read_bytes() == edited  # the other writer's content survives
    assert temp_files(project) == []


@pytest.mark.parametrize("where", ["rename", "temp file write"])
def test_write_failure_leaves_original_and_no_temp_file(project, monkeypatch, where):
    path = project / "svc" / "Dockerfile"
    before = path.read_bytes()
    calls = []

    def no_space(*args, **kwargs):
        calls.append(args)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace" if where == "rename" else "fsync", no_space)
    result = invoke("migrate", path)
    monkeypatch.undo()
    assert calls, "the failure was never injected"
    assert_refused(result, path, before, "write failed (no space left on device); the original file is intact")
    assert temp_files(project) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_the_write_is_held_until_the_file_is_complete(tmp_path, signum):
    """A signal that lands while the temp file is being written (here: from inside
    fsync) takes effect only after the rename: the file is complete, no temp file."""
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"FROM python:3.11-slim\n")
    script = f"""
import os, signal, sys
from pathlib import Path
import dockerlock.runner as runner
real_fsync = os.fsync
def fsync(fd):
    os.kill(os.getpid(), {int(signum)})
    real_fsync(fd)
os.fsync = fsync
try:
    runner.write_atomic(Path({str(path)!r}), b"FROM python:3.12-slim\\n", b"FROM python:3.11-slim\\n")
except KeyboardInterrupt:
    print("KeyboardInterrupt after the write")
    sys.exit(130)
print("signal was lost")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert path.read_bytes() == b"FROM python:3.12-slim\n"
    assert temp_files(tmp_path) == []
    if signum == signal.SIGINT:
        assert proc.returncode == 130 and "KeyboardInterrupt after the write" in proc.stdout, proc
    else:
        assert proc.returncode == -signal.SIGTERM, proc


# -- interrupt, concurrency --------------------------------------------------------------------------
def _service_tree(root: Path, count: int, stanzas: int = 8) -> tuple[list[Path], bytes]:
    """``count`` copies of a Dockerfile with ``stanzas`` pip stanzas, and its single-run migration."""
    doc = ["FROM python:3.11-slim AS builder", "RUN python -m venv /opt/venv", 'ENV PATH="/opt/venv/bin:$PATH"']
    for i in range(stanzas):
        doc += [f"COPY req{i}/requirements.txt /tmp/r{i}/", "RUN apt-get update && \\",
                f"    pip install --no-cache-dir -r /tmp/r{i}/requirements.txt && \\",
                "    rm -rf /var/lib/apt/lists/*"]
    doc += ["FROM python:3.11-slim", "COPY --from=builder /opt/venv /opt/venv", 'CMD ["python"]']
    text = ("\n".join(doc) + "\n").encode()
    (root / ".git").mkdir(parents=True)
    paths = []
    for n in range(count + 1):
        svc = root / ("reference" if n == count else f"svc{n:03}")
        for i in range(stanzas):
            (svc / f"req{i}").mkdir(parents=True)
            (svc / f"req{i}" / "requirements.txt").write_text("six==1.16.0\n")
        (svc / "Dockerfile").write_bytes(text)
        paths.append(svc / "Dockerfile")
    reference = paths.pop()
    result = invoke("migrate", "--no-lock-check", reference)
    assert result.exit_code == 0, result.output
    migrated = reference.read_bytes()
    reference.parent.rename(root.parent / f"{root.name}-reference")  # out of the tree
    assert migrated != text and migrated.decode().count("RUN apt-get update && \\\n    uv pip ") == stanzas
    return paths, migrated


def _survivors(marker: str) -> list[int]:
    """Processes (e.g. orphaned workers) still running with ``marker`` in their command line."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            pass
    return found


INTERRUPTS = {
    "SIGINT to the process": (signal.SIGINT, False),
    "Ctrl-C (SIGINT to the process group)": (signal.SIGINT, True),
    "SIGTERM to the process": (signal.SIGTERM, False),
}


@pytest.mark.parametrize("signum,group", INTERRUPTS.values(), ids=INTERRUPTS.keys())
def test_interrupt_leaves_every_file_original_or_complete(tmp_path, signum, group):
    """200 files: large enough for worker processes. Interrupted mid-run, every file is
    the original or the complete migration, no temp file remains, and no worker
    process outlives the run (an orphan would also hold our pipes open)."""
    root = tmp_path / "tree"
    paths, migrated = _service_tree(root, 200)
    original = paths[0].read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "dockerlock", "migrate", "--no-lock-check", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.read_bytes() != original for p in paths[:: len(paths) // 8]):
            break  # the run is writing files: interrupt it mid-way
        time.sleep(0.002)
    if group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        leftovers = _survivors(str(root))
        for pid in leftovers:
            os.kill(pid, signal.SIGKILL)
    assert leftovers == [], "worker processes outlived the interrupted run"
    states = [p.read_bytes() for p in paths]
    done = sum(s == migrated for s in states)
    print(f"\n{signal.Signals(signum).name}: {done} of {len(paths)} files migrated before the signal")
    assert all(s in (original, migrated) for s in states), "a file is neither the original nor the migration"
    assert temp_files(root) == []
    assert 0 < done < len(paths), f"{done} of {len(paths)} migrated: the signal did not land mid-run"
    if signum == signal.SIGINT:
        assert proc.returncode == 130, (proc.returncode, out, err)
        assert "interrupted: files already written are complete; the rest are untouched" in err
        assert "Traceback" not in err
    else:
        assert proc.returncode == -signal.SIGTERM, (proc.returncode, out, err)


def test_worker_processes_report_what_one_process_reports(tmp_path):
    """Over the threshold the run forks workers; what comes back is the same report, without the
    rewritten text and the fixes only the worker used."""
    from dockerlock.engine import migrate_dockerfile
    from dockerlock.runner import Mode, process
    from dockerlock.settings import Settings

    paths, _ = _service_tree(tmp_path / "tree", 70, stanzas=2)
    paths[5].write_text("RUN echo no FROM\n")  # one file in error
    settings = Settings(lock_check=False)
    alone = process(paths, settings, Mode.DIFF, migrate_dockerfile, workers=1)
    forked = process(paths, settings, Mode.DIFF, migrate_dockerfile, workers=2)

    def seen(outcome):
        findings = [(f.code, f.message, f.line) for f in outcome.result.findings] if outcome.result else []
        return outcome.path, outcome.status, outcome.diff, str(outcome.error), findings

    assert [seen(o) for o in forked.outcomes] == [seen(o) for o in alone.outcomes]
    assert {o.status.name for o in forked.outcomes} == {"WOULD_CHANGE", "ERROR"}
    results = [o.result for o in forked.outcomes if o.result is not None]
    assert len(results) == len(paths) - 1
    assert all(r.new_text is None and all(f.fix is None for f in r.findings) for r in results)
    assert any(f.fix is not None for o in alone.outcomes if o.result for f in o.result.findings)


def test_this_process_works_beside_its_workers_and_shows_progress_once_per_file(tmp_path):
    from dockerlock.engine import migrate_dockerfile
    from dockerlock.runner import Mode, process
    from dockerlock.settings import Settings

    paths, _ = _service_tree(tmp_path / "tree", 150, stanzas=1)

    def job(df, ctx, settings):
        result = migrate_dockerfile(df, ctx, settings)
        result.path = str(os.getpid())  # which process planned the file
        return result

    shown: list[Path] = []
    run = process(paths, Settings(lock_check=False), Mode.CHECK, job, shown.append, workers=2)
    assert [o.path for o in run.outcomes] == [str(p) for p in paths]  # input order
    planners = [o.result.path for o in run.outcomes]
    assert str(os.getpid()) in planners and len(set(planners)) == 2  # this process and one worker
    assert planners[-1] == str(os.getpid()) and planners[0] != str(os.getpid())  # from both ends
    assert sorted(shown) == sorted(paths)


def test_two_concurrent_runs_over_one_tree(tmp_path):
    root = tmp_path / "tree"
    paths, migrated = _service_tree(root, 72, stanzas=3)  # over the 64-file threshold: workers too
    command = [sys.executable, "-m", "dockerlock", "migrate", "--no-lock-check", str(root)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
             for _ in range(2)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    for p in paths:
        data = p.read_bytes()
        assert data == migrated, p
    text = migrated.decode()
    dockerfile.parse_string(text)
    Dockerfile.from_text(text)
    assert temp_files(root) == []
    for code, out, err in results:
        # the slower run finds each file already migrated (or already holding its result)
        assert code == 0, (code, out, err)
        assert "Traceback" not in err


# -- hostile locks and paths --------------------------------------------------------------------------
def _nested(depth: int) -> str:
    return 'lock-version = "1.0"\ncreated-by = "x"\nx = ' + "[" * depth + "]" * depth + "\n"


HOSTILE_LOCKS = {
    "huge": (None, "lock file is too large"),
    "deeply nested": (_nested(100_000), "nested too deeply"),
    "wrong types": ('lock-version = 1\ncreated-by = ["x"]\npackages = "six"\n', "lock-version"),
    "packages not a list": ('lock-version = "1.0"\ncreated-by = "x"\npackages = 3\n', "packages"),
    "not TOML": ("[[packages]\nname = \n", "not valid TOML"),
    "binary": ("\x00\x01\x02", "not valid TOML"),
}


@pytest.mark.parametrize("content,message", HOSTILE_LOCKS.values(), ids=HOSTILE_LOCKS.keys())
def test_hostile_lock_exits_2_naming_the_lock(project, content, message):
    lock = project / "svc" / "pylock.toml"
    if content is None:
        with open(lock, "wb") as handle:  # sparse: 60 MiB on paper, nothing on disk
            handle.truncate(60 * 1024 * 1024)
    else:
        lock.write_text(content)
    path = project / "svc" / "Dockerfile"
    before = path.read_bytes()
    start = time.perf_counter()
    result = invoke("migrate", path)
    assert time.perf_counter() - start < 10
    assert_refused(result, path, before, "pylock.toml is not a valid PEP 751 lock")
    assert message in result.output
    assert "Dockerfile:3" in result.output  # the stanza the lock was for


def _recorded_lock_reads(monkeypatch) -> list[Path]:
    import dockerlock.lockfile as lockfile

    seen: list[Path] = []
    real = lockfile.load_lock

    def spy(path):
        seen.append(Path(path).resolve())
        return real(path)

    monkeypatch.setattr(lockfile, "load_lock", spy)
    return seen


def test_requirements_path_escaping_the_context_is_left_alone(project, monkeypatch):
    """``COPY ../../outside/requirements.txt``: BuildKit never reads outside the context;
    dockerlock refuses the stanza with the reason, reads nothing out there, exits 0."""
    outside = project.parent / f"outside-{uuid.uuid4().hex[:8]}"
    outside.mkdir()
    (outside / "requirements.txt").write_text("six==1.16.0\n")
    (outside / "pylock.toml").write_text(placeholder_lock())
    path = project / "svc" / "Dockerfile"
    data = STANZA.replace("COPY requirements.txt", f"COPY ../../{outside.name}/requirements.txt").encode()
    path.write_bytes(data)
    seen = _recorded_lock_reads(monkeypatch)
    result = invoke("migrate", path)
    assert result.exit_code == 0, result.output
    assert "left as is: requirements path escapes the build context" in result.output
    assert "leaves the build context" in result.output
    assert path.read_bytes() == data
    assert not any(outside in p.parents for p in seen)
    assert invoke("migrate", "--check", path).exit_code == 0  # nothing would change


def test_symlinked_requirements_pointing_outside_is_left_alone(project, monkeypatch):
    outside = project.parent / f"outside-{uuid.uuid4().hex[:8]}"
    outside.mkdir()
    (outside / "requirements.txt").write_text("six==1.16.0\n")
    (outside / "pylock.toml").write_text(placeholder_lock())
    req = project / "svc" / "requirements.txt"
    req.unlink()
    req.symlink_to(outside / "requirements.txt")
    (project / "svc" / "pylock.toml").unlink()
    path = project / "svc" / "Dockerfile"
    before = path.read_bytes()
    seen = _recorded_lock_reads(monkeypatch)
    result = invoke("migrate", path)
    assert result.exit_code == 0, result.output
    assert "left as is: requirements path escapes the build context" in result.output
    assert f"resolves to {outside / 'requirements.txt'}, outside the build context" in result.output
    assert path.read_bytes() == before
    assert not any(outside in p.parents for p in seen)


def test_damaged_record_comment_refused_by_revert(project):
    path = project / "svc" / "Dockerfile"
    assert invoke("migrate", path).exit_code == 0
    migrated = path.read_text()
    damaged = migrated.replace(" d=", " d=!!not-base64!!", 1)
    path.write_text(damaged)
    result = invoke("revert", path)
    assert_refused(result, path, damaged.encode(),
                   "damaged dockerlock record: the line does not match the record format (v2 or v1)")
    assert "Dockerfile:2" in result.output


# -- dockerlock never runs anything from a Dockerfile or a lock ---------------------------------------
def test_never_executes_dockerfile_or_lock_content(project, monkeypatch, tmp_path):
    marker = Path("/tmp") / f"dockerlock-marker-{uuid.uuid4().hex}"
    touch = f"touch {marker}"
    (project / "svc" / "Dockerfile").write_text(
        "FROM python:3.11-slim AS builder\n"
        f"RUN {touch}\n"
        f'RUN ["touch", "{marker}"]\n'
        f"RUN <<EOF\n{touch}\nEOF\n"
        "COPY requirements.txt /tmp/requirements.txt\n"
        f"RUN {touch} && pip install -r /tmp/requirements.txt && {touch}\n"
        f"RUN pip install -r $({touch})/tmp/requirements.txt\n"
        f"RUN pip install -r `{touch}`/tmp/requirements.txt\n"
        f"ENTRYPOINT {touch}\n"
        f"HEALTHCHECK CMD {touch}\n"
        f"ONBUILD RUN {touch}\n")
    (project / "svc" / "requirements.txt").write_text(f"six==1.16.0\n-r $({touch})\n")
    (project / "svc" / "pylock.toml").write_text(placeholder_lock().replace('"tests"', f'"$({touch})"'))
    calls: list[str] = []

    def forbidden(name):
        def fail(*args, **kwargs):
            calls.append(f"{name}{args!r}")
            pytest.fail(f"dockerlock tried to run a process: {name}{args!r}")
        return fail

    monkeypatch.setattr(subprocess, "Popen", forbidden("subprocess.Popen"))
    for name in ("system", "popen", "posix_spawn", "posix_spawnp", "fork", "forkpty", "execv", "execve",
                 "execvp", "execvpe", "execl", "execlp", "spawnv", "spawnve", "spawnvp"):
        monkeypatch.setattr(os, name, forbidden(f"os.{name}"), raising=False)
    svc = project / "svc"
    # The include `-r $(touch ...)` is a file name, never run; it cannot be read, so the lock cannot be
    # shown to cover the requirements: migrate refuses (exit 2) unless --allow-drift.
    refused = invoke("migrate", "--check", svc)
    assert refused.exit_code == 2 and "cannot read included file" in refused.output
    results = [invoke("migrate", "--check", "--allow-drift", svc), invoke("migrate", "--diff", "--allow-drift", svc),
               invoke("check", svc), invoke("migrate", "--allow-drift", svc)]
    migrated = (svc / "Dockerfile").read_text()
    results.append(invoke("revert", svc))
    monkeypatch.undo()
    assert calls == []
    assert not marker.exists()
    assert [r.exit_code for r in results[:2]] == [1, 1] and results[3].exit_code == 0, \
        [r.output for r in results]
    assert "uv pip install -r /tmp/pylock.toml" in migrated  # the real work happened
    assert results[4].exit_code == 0 and "reverted 1 stanza" in results[4].output


# -- faults that used to stop the whole run (issue 14, point 7) ----------------------------------------
@pytest.fixture()
def two_services(project: Path) -> Path:
    """``svc`` and ``api``, both migratable: a fault in one must not stop the other."""
    api = project / "api"
    api.mkdir()
    for name in ("Dockerfile", "requirements.txt", "pylock.toml"):
        (api / name).write_bytes((project / "svc" / name).read_bytes())
    return project


def assert_other_file_migrated(result, project: Path) -> None:
    assert "api/Dockerfile: converted 1 stanza\n" in result.stderr, result.output
    assert "uv pip install -r /tmp/pylock.toml" in (project / "api" / "Dockerfile").read_text()
    assert "Traceback" not in result.output


@pytest.mark.parametrize("errno_, reason", [(errno.EACCES, "permission denied"),
                                            (errno.ENOSPC, "no space left on device")],
                         ids=["read-only folder", "no free inodes"])
def test_temp_file_cannot_be_created(two_services, monkeypatch, errno_, reason):
    """``tempfile.mkstemp`` fails in a read-only folder (or with no free inodes): that file is an
    error (exit 2, nothing written), and the run goes on. The fault is injected: these tests
    run as root here, and root may write into a read-only folder."""
    import tempfile

    svc = two_services / "svc"
    before = (svc / "Dockerfile").read_bytes()
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if Path(dir) == svc.resolve():
            raise OSError(errno_, os.strerror(errno_), str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    result = invoke("migrate", "svc", "api", cwd=two_services)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"svc/Dockerfile: error: cannot create a temporary file in the file's folder "
                                    f"({reason}); nothing was written\n")
    assert (svc / "Dockerfile").read_bytes() == before
    assert_other_file_migrated(result, two_services)
    assert temp_files(two_services) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_read_only_folder_for_real(two_services):
    svc = two_services / "svc"
    svc.chmod(0o555)
    try:
        result = invoke("migrate", "svc", "api", cwd=two_services)
    finally:
        svc.chmod(0o755)
    assert result.exit_code == 2 and "svc/Dockerfile: error: cannot create a temporary file" in result.stderr
    assert_other_file_migrated(result, two_services)


def test_symlink_loop_first_on_the_command_line(two_services):
    """``ln -s Dockerfile Dockerfile``: the configuration search used to raise RuntimeError."""
    loop = two_services / "loop" / "Dockerfile"
    loop.parent.mkdir()
    loop.symlink_to("Dockerfile")
    result = invoke("migrate", "loop/Dockerfile", "api", cwd=two_services)
    assert result.exit_code == 2
    assert result.stderr.startswith("loop/Dockerfile: error: symlink loop: the link leads back to itself, there is "
                                    "no file to read\n")
    assert_other_file_migrated(result, two_services)
    assert os.readlink(loop) == "Dockerfile"
    found = invoke("check", ".", cwd=two_services)  # found while searching a folder, too
    assert found.exit_code == 2
    assert "loop/Dockerfile: error DLK001: symlink loop: the link leads back to itself" in found.stdout


def test_copy_source_name_too_long_is_a_missing_source(two_services):
    """Context inference stats every COPY source; a 300-character name raised ENAMETOOLONG. Such a
    file cannot exist, so it counts as a missing source: the pip stanza (another COPY) converts."""
    path = two_services / "svc" / "Dockerfile"
    data = STANZA.replace("COPY requirements.txt", f"COPY {'x' * 300}.txt /tmp/\nCOPY requirements.txt").encode()
    path.write_bytes(data)
    result = invoke("migrate", "svc", "api", cwd=two_services)
    assert result.exit_code == 0, result.stderr
    assert f"COPY {'x' * 300}.txt /tmp/\n" in path.read_text() and "uv pip" in path.read_text()
    assert_other_file_migrated(result, two_services)


def test_unexpected_exception_is_that_files_error(two_services, monkeypatch):
    """A bug on one file (any exception a rule lets escape) is reported for that file; the run goes on."""
    import dockerlock.engine as engine

    real = engine.migrate_dockerfile

    def flaky(df, context, settings):
        if df.source.path.startswith("svc"):
            raise ZeroDivisionError("division by zero")
        return real(df, context, settings)

    monkeypatch.setattr(engine, "migrate_dockerfile", flaky)
    before = (two_services / "svc" / "Dockerfile").read_bytes()
    result = invoke("migrate", "svc", "api", cwd=two_services)
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("svc/Dockerfile: error: internal error at test_bad_inputs.py:")
    assert first.endswith(": ZeroDivisionError: division by zero; nothing was written. This is a dockerlock bug; "
                          "please report it with the file")
    assert (two_services / "svc" / "Dockerfile").read_bytes() == before
    assert_other_file_migrated(result, two_services)


def test_folder_that_cannot_be_listed_is_reported(two_services, monkeypatch):
    """os.walk skips folders it cannot list without a word; dockerlock says so and fails the run."""
    blocked = two_services / "blocked"
    blocked.mkdir()
    (blocked / "Dockerfile").write_text(STANZA)
    real = os.scandir

    def scandir(path="."):
        if Path(path).name == "blocked":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = invoke("migrate", "--check", ".", cwd=two_services)
    assert result.exit_code == 2
    assert "./blocked: error: cannot search this folder (permission denied); Dockerfiles in it were not processed\n" \
        in result.stderr
    assert "api/Dockerfile: would convert 1 stanza\n" in result.stderr


# -- leftovers, links and limits (issue 14, point 8) ------------------------------------------------------
def test_hard_linked_file_is_refused_not_split(project):
    path = project / "svc" / "Dockerfile"
    twin = project / "svc" / "Dockerfile.twin"
    os.link(path, twin)
    before = path.read_bytes()
    result = invoke("migrate", "svc/Dockerfile", cwd=project)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "svc/Dockerfile: error: the file has 2 hard links: replacing it would split them (the other names would keep "
        "the old text); nothing was written. Make it a file of its own first (cp Dockerfile Dockerfile.new && mv "
        "Dockerfile.new Dockerfile) and run again\n")
    assert path.read_bytes() == twin.read_bytes() == before
    assert os.stat(path).st_ino == os.stat(twin).st_ino  # still one file
    assert invoke("migrate", "--check", "svc/Dockerfile", cwd=project).exit_code == 1  # reading is fine
    twin.unlink()
    assert invoke("migrate", "svc/Dockerfile", cwd=project).exit_code == 0


def _stale(folder: Path, name: str, age: float = 3600) -> Path:
    path = folder / name
    path.write_bytes(b"FROM half-written\n")
    old = time.time() - age
    os.utime(path, (old, old))
    return path


def test_stale_temp_files_of_a_killed_run_are_removed_and_said_in_verbose(project):
    svc = project / "svc"
    stale = _stale(svc, ".Dockerfile.k2j3h4g5.dockerlock.tmp")
    fresh = _stale(svc, ".Dockerfile.abcdefgh.dockerlock.tmp", age=1)  # a run may be writing it now
    not_ours = [_stale(svc, name) for name in (".Dockerfile.tmp", "Dockerfile.dockerlock.tmp",
                                                ".Dockerfile.k2j3h4g5.dockerlock.tmp.bak", ".Dockerfile.K2J3H4G5.dockerlock.tmp")]
    check = invoke("migrate", "--check", "-v", "svc", cwd=project)
    assert stale.exists() and "removed" not in check.output  # --check and --diff write (and remove) nothing
    result = invoke("migrate", "-v", "svc", cwd=project)
    assert result.exit_code == 0
    assert "removed svc/.Dockerfile.k2j3h4g5.dockerlock.tmp: a temporary file left by an interrupted dockerlock " \
           "run\n" in result.stderr
    assert not stale.exists() and fresh.exists() and all(p.exists() for p in not_ours)
    quiet = invoke("migrate", "svc", cwd=project)
    assert "removed" not in quiet.output  # said with -v only (and nothing left to remove)


def test_stale_temp_file_is_kept_while_another_run_holds_the_file(project):
    import fcntl

    svc = project / "svc"
    stale = _stale(svc, ".Dockerfile.k2j3h4g5.dockerlock.tmp")
    fd = os.open(svc / "Dockerfile", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a live run writing this Dockerfile holds this lock
        from dockerlock.runner import remove_stale_temp_files

        assert remove_stale_temp_files(svc) == [] and stale.exists()
    finally:
        os.close(fd)
    from dockerlock.runner import remove_stale_temp_files

    assert remove_stale_temp_files(svc) == [stale] and not stale.exists()


def test_one_size_limit_with_one_message(project):
    from dockerlock import runner, source
    from dockerlock.diagnostics import DecodeError

    assert runner.MAX_BYTES is source.MAX_BYTES == 1024 * 1024
    data = STANZA.encode() + b"#" * (source.MAX_BYTES - len(STANZA) + 1)
    path = project / "svc" / "Dockerfile"
    path.write_bytes(data)
    result = invoke("migrate", "svc/Dockerfile", cwd=project)
    message = (f"file is {len(data)} bytes; refusing anything over 1 MiB (Dockerfiles are a few KiB: is this really "
               "one?)")
    assert result.stderr.startswith(f"svc/Dockerfile: error: {message}\n")
    with pytest.raises(DecodeError) as parsed:
        source.Source.from_bytes(data, "x")
    assert parsed.value.reason == message
    path.write_bytes(data[:-1])  # exactly at the limit: read
    assert "refusing" not in invoke("migrate", "--check", "svc/Dockerfile", cwd=project).output
    docs = (Path(__file__).resolve().parents[1] / "docs")
    stated = {p.name: re.findall(r"larger than (\d+ [KM]iB)", p.read_text()) for p in docs.glob("*.md")}
    assert {name: sizes for name, sizes in stated.items() if sizes} == {"commands.md": ["1 MiB"]}
