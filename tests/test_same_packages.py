"""Issue 11 acceptance: same packages or no migration, end to end through the CLI.

Each test builds a small repository in a temporary folder, makes its locks with the real uv
(``dockerlock lock``, at test time, from tiny pure-Python packages) and runs the commands the
way a user types them, from the repository root, with relative paths. Every test asserts the
exit code, which stream a message goes to (docs/commands.md: the status lines and the summary
of migrate on stderr, the diff and check's findings on stdout), the message itself (packages
named, the command that makes a matching lock naming the Dockerfile as it was typed), and the
bytes on disk: unchanged after a refusal, converted after the fix.

Tests marked ``network`` need the package index; they share one uv cache for the session, in a
temporary folder (never ``~/.cache``), and skip when the index does not answer. The VCS test
uses a hand-written lock with placeholder URLs and runs anywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockerlock.cli import build_app
from dockerlock.lockfile import load_lock
from migrate_helpers import placeholder_lock

runner = CliRunner()

# A service whose build context is its own folder: the usual `docker build svc` layout.
SERVICE = ("FROM python:3.12-slim\n"
           "WORKDIR /app\n"
           "COPY requirements.txt .\n"
           "RUN pip install --no-cache-dir -r requirements.txt\n"
           "COPY . .\n")
WROTE = re.compile(r"wrote (\S+) for Python 3\.12 on linux/amd64 \((\d+) packages?, \d+\.\d s\)")


# --------------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory) -> Path:
    """One uv cache for the whole session, so each test resolves from it after the first."""
    return tmp_path_factory.mktemp("uv-cache")


@pytest.fixture(scope="session")
def index(uv_cache) -> None:
    """Skip the network tests when uv or the package index is not there (one probe per session)."""
    from dockerlock.diagnostics import DockerlockError
    from dockerlock.locking import ImageTarget, compile_lock

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_CACHE_DIR", str(uv_cache))
        probe = uv_cache.parent / "index-probe"
        probe.mkdir(exist_ok=True)
        (probe / "requirements.txt").write_text("six==1.16.0\n")
        try:
            compile_lock(probe / "requirements.txt", target=ImageTarget("3.12"), timeout=120)
        except DockerlockError as error:
            pytest.skip(f"uv or the package index is unavailable: {error.reason[-300:]}")


@pytest.fixture
def repo(tmp_path, monkeypatch, uv_cache) -> Path:
    """An empty repository to stand in (the current folder), with uv's cache out of ~/.cache."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    monkeypatch.chdir(root)
    monkeypatch.setenv("UV_CACHE_DIR", str(uv_cache))
    return root


@pytest.fixture
def online(repo, index) -> Path:
    """``repo`` for a test that runs the real uv."""
    return repo


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def dockerlock(*args: str):
    result = runner.invoke(build_app(), list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"dockerlock {' '.join(args)} crashed: {result.exception!r}"
    return result


def lock(*args: str) -> str:
    """``dockerlock lock ARGS``, which must succeed; returns its stdout."""
    result = dockerlock("lock", *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def versions(path: Path) -> dict[str, str]:
    return {p.name: str(p.version) for p in load_lock(path).packages}


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (but .git) with its bytes: what a refusal must leave alone."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.parts}


def runs(text: str) -> list[str]:
    """The RUN lines of a Dockerfile (the record comment quotes the old one; it does not count)."""
    return [line for line in text.splitlines() if line.startswith("RUN ")]


def assert_refused(result, where: str, *fragments: str, code: str = "DLK107") -> str:
    """migrate stopped on one file: exit 2, the error (with the code of the rule that stopped
    it; DLK107, the lock does not cover the requirements, unless said) on stderr at ``where``,
    nothing on stdout."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    first, summary = result.stderr.splitlines()
    assert first.startswith(f"{where}: error {code}: "), first
    for fragment in fragments:
        assert fragment in first, (fragment, first)
    assert summary == "0 files converted (0 stanzas), 0 unchanged, 0 stanzas skipped, 1 error"
    return first


def assert_converted(result, path: str) -> None:
    """migrate wrote one file, one stanza: status and summary on stderr, nothing on stdout."""
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"{path}: converted 1 stanza",
                                          "1 file converted (1 stanza), 0 unchanged, 0 stanzas skipped, 0 errors"]


def assert_reverts_to(path: Path, original: bytes) -> None:
    """The migration is reversible to the exact bytes (the record carries the pip stanza)."""
    result = dockerlock("revert", str(path.relative_to(Path.cwd())))
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == original


# --------------------------------------------------------------------------------------------------
# 1. Drift: the requirements pin another version than the lock


@pytest.mark.network
def test_drift_is_refused_until_the_dockerfile_is_relocked(online):
    write(online, {"svc/Dockerfile": SERVICE, "svc/requirements.txt": "six==1.16.0\n"})
    assert WROTE.fullmatch(lock("svc/Dockerfile").strip()).groups() == ("svc/pylock.toml", "1")
    (online / "svc/requirements.txt").write_text("six==1.15.0\n")   # edited after locking
    before = snapshot(online)

    refused = dockerlock("migrate", "svc/Dockerfile")
    assert_refused(refused, "svc/Dockerfile:4",
                   "the lock svc/pylock.toml does not cover svc/requirements.txt",
                   "six==1.15.0 is required but the lock has 1.16.0",
                   "make a matching lock with `dockerlock lock svc/Dockerfile`")
    assert snapshot(online) == before            # nothing written, no temporary file left
    # the previews refuse the same way and print no diff
    diff = dockerlock("migrate", "--diff", "svc/Dockerfile")
    assert diff.exit_code == 2 and diff.stdout == "" and "six==1.15.0" in diff.stderr
    assert snapshot(online) == before

    # the command the message names makes the matching lock; then migrate converts
    lock("svc/Dockerfile")
    assert versions(online / "svc/pylock.toml") == {"six": "1.15.0"}
    original = (online / "svc/Dockerfile").read_bytes()
    assert_converted(dockerlock("migrate", "svc/Dockerfile"), "svc/Dockerfile")
    text = (online / "svc/Dockerfile").read_text()
    assert runs(text) == ["RUN uv pip install -r pylock.toml --system --compile-bytecode --require-hashes --no-cache"]
    assert "COPY pylock.toml ./\n" in text and "COPY requirements.txt .\n" not in text
    clean = dockerlock("check", "svc/Dockerfile")
    assert clean.exit_code == 0 and clean.stdout == "1 file(s) checked: 0 error(s), 0 warning(s)\n"
    assert_reverts_to(online / "svc/Dockerfile", original)


@pytest.mark.network
def test_a_requirement_removed_after_locking_is_refused(online):
    """The lock still holds what a removed line pulled in; every remaining line is satisfied, so only
    the lock's record of the file's content can tell (DLK219), in migrate and in check alike."""
    write(online, {"svc/Dockerfile": SERVICE, "svc/requirements.txt": "six==1.16.0\nidna==3.7\n"})
    lock("svc/Dockerfile")
    (online / "svc/requirements.txt").write_text("six==1.16.0\n")   # idna removed after locking
    refused = dockerlock("migrate", "svc/Dockerfile")
    assert_refused(refused, "svc/Dockerfile:4", "svc/requirements.txt changed since svc/pylock.toml was made from "
                   "it: a line removed or edited there may still be in the lock",
                   "make a matching lock with `dockerlock lock svc/Dockerfile`")
    lock("svc/Dockerfile")
    assert set(versions(online / "svc/pylock.toml")) == {"six"}
    assert dockerlock("migrate", "svc/Dockerfile").exit_code == 0
    (online / "svc/requirements.txt").write_text("six==1.16.0\nidna==3.7\n")   # changed after migrating
    check = dockerlock("check", "svc/Dockerfile")
    assert check.exit_code == 1
    assert "error DLK219: svc/requirements.txt changed since svc/pylock.toml was made from it" in check.stdout
    assert "(hint: re-lock: dockerlock lock svc/Dockerfile)" in check.stdout
    # the hint works on the migrated file: its uv step's lock is made again from the lock's record
    assert WROTE.fullmatch(lock("svc/Dockerfile").strip()).groups() == ("svc/pylock.toml", "2")
    assert dockerlock("check", "svc/Dockerfile").exit_code == 0


@pytest.mark.network
def test_an_extra_added_after_locking_is_refused(online):
    write(online, {"svc/Dockerfile": SERVICE, "svc/requirements.txt": "urllib3==2.2.2\n"})
    lock("svc/Dockerfile")
    assert versions(online / "svc/pylock.toml") == {"urllib3": "2.2.2"}
    (online / "svc/requirements.txt").write_text("urllib3[socks]==2.2.2\n")   # now needs PySocks too
    before = snapshot(online)
    assert_refused(dockerlock("migrate", "svc/Dockerfile"), "svc/Dockerfile:4", "urllib3[socks]",
                   "`dockerlock lock svc/Dockerfile`")
    assert snapshot(online) == before
    lock("svc/Dockerfile")  # re-locked from the current content: the extra is resolved, and recorded
    assert set(versions(online / "svc/pylock.toml")) == {"urllib3", "pysocks"}
    assert dockerlock("migrate", "svc/Dockerfile").exit_code == 0


# --------------------------------------------------------------------------------------------------
# 2. Several -r files in one pip command


MULTI = ("FROM python:3.12-slim\n"
         "WORKDIR /app\n"
         "COPY a.txt b.txt ./\n"
         "RUN pip install -r a.txt -r b.txt\n")


@pytest.mark.network
@pytest.mark.parametrize("old_lock", ["pylock.toml", "pylock.a+b.toml"],
                         ids=["sibling-lock-of-a", "named-lock-made-from-a"])
def test_multiple_requirement_files_refused_until_locked_together(online, old_lock):
    # a lock of a.txt alone: either the sibling pylock.toml (an older single-file setup) or,
    # at the name migrate looks for, one made from a.txt only; both miss b.txt's idna
    write(online, {"Dockerfile": MULTI, "a.txt": "six==1.16.0\n", "b.txt": "idna==3.7\n"})
    lock("a.txt", "-o", old_lock, "--python-version", "3.12")
    assert versions(online / old_lock) == {"six": "1.16.0"}
    before = snapshot(online)

    lead = ("pylock.a+b.toml does not exist, and the sibling pylock.toml does not cover a.txt b.txt"
            if old_lock == "pylock.toml" else "the lock pylock.a+b.toml does not cover a.txt b.txt")
    assert_refused(dockerlock("migrate", "Dockerfile"), "Dockerfile:4", lead,
                   f"idna==3.7 is required but idna is not in {old_lock}",
                   "`dockerlock lock Dockerfile`")
    assert snapshot(online) == before

    # one call, two files: one lock covering both, named after both
    assert WROTE.fullmatch(lock("a.txt", "b.txt", "--python-version", "3.12").strip()).groups() == (
        "pylock.a+b.toml", "2")
    assert versions(online / "pylock.a+b.toml") == {"six": "1.16.0", "idna": "3.7"}
    assert load_lock(online / "pylock.a+b.toml").origin.requirements == ("a.txt", "b.txt")
    assert_converted(dockerlock("migrate", "Dockerfile"), "Dockerfile")
    text = (online / "Dockerfile").read_text()
    assert runs(text) == [
        "RUN uv pip install -r pylock.a+b.toml --system --compile-bytecode --require-hashes --no-cache"]
    assert "COPY a.txt b.txt ./\n" in text          # kept: the lock gets its own COPY
    assert "COPY pylock.a+b.toml ./\n" in text


# --------------------------------------------------------------------------------------------------
# 3. Nested includes, resolved relative to the including file


@pytest.mark.network
def test_nested_includes_are_checked_relative_to_the_including_file(online):
    # requirements/prod.txt includes base.txt and constraints.txt from its own folder, not from
    # the folder dockerlock runs in or the build context root
    write(online, {
        "Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements/ requirements/\n"
                      "RUN pip install -r requirements/prod.txt\nCOPY . .\n",
        "requirements/prod.txt": "-r base.txt\n-c constraints.txt\nidna\n",
        "requirements/base.txt": "six==1.16.0\n",
        "requirements/constraints.txt": "idna<3.7\n",
    })
    lock("Dockerfile")
    assert versions(online / "requirements/pylock.prod.toml") == {"six": "1.16.0", "idna": "3.6"}
    (online / "requirements/base.txt").write_text("six==1.16.0\npackaging==24.1\n")  # added to the include
    before = snapshot(online)

    assert_refused(dockerlock("migrate", "Dockerfile"), "Dockerfile:4",
                   "the lock requirements/pylock.prod.toml does not cover requirements/prod.txt",
                   "packaging==24.1 is required but packaging is not in pylock.prod.toml",
                   "`dockerlock lock Dockerfile`")
    assert snapshot(online) == before
    check = dockerlock("check", "Dockerfile")     # check names the same gap, on stdout
    assert check.exit_code == 1 and "packaging==24.1 is required" in check.stdout and check.stderr == ""

    lock("Dockerfile")
    assert versions(online / "requirements/pylock.prod.toml") == {
        "six": "1.16.0", "idna": "3.6", "packaging": "24.1"}
    assert_converted(dockerlock("migrate", "Dockerfile"), "Dockerfile")
    assert "RUN uv pip install -r requirements/pylock.prod.toml --system" in (online / "Dockerfile").read_text()
    assert dockerlock("check", "Dockerfile").exit_code == 0


# --------------------------------------------------------------------------------------------------
# 4. -c constraints on the pip command line


@pytest.mark.network
def test_a_lock_that_violates_a_constraint_is_refused(online):
    write(online, {"Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY r.txt c.txt ./\n"
                                 "RUN pip install -r r.txt -c c.txt\nCOPY . .\n",
                   "r.txt": "idna\n", "c.txt": "idna<3.7\n"})
    # locking r.txt by itself ignores the constraint the Dockerfile applies
    lock("r.txt", "--python-version", "3.12")
    newest = versions(online / "pylock.r.toml")["idna"]
    assert tuple(int(p) for p in newest.split(".")[:2]) >= (3, 7)
    before = snapshot(online)

    assert_refused(dockerlock("migrate", "Dockerfile"), "Dockerfile:4",
                   "the lock pylock.r.toml does not cover r.txt",
                   f"constraint idna<3.7 is violated: the lock has {newest}", "`dockerlock lock Dockerfile`")
    assert snapshot(online) == before

    lock("Dockerfile")                            # locks r.txt with -c c.txt, as the step installs it
    assert versions(online / "pylock.r.toml") == {"idna": "3.6"}
    result = dockerlock("migrate", "-v", "Dockerfile")
    assert result.exit_code == 0, result.output
    assert "Dockerfile:4: dropped -c c.txt: the lock already satisfies it (checked)" in result.stderr
    text = (online / "Dockerfile").read_text()
    assert runs(text) == ["RUN uv pip install -r pylock.r.toml --system --compile-bytecode --require-hashes --no-cache"]
    assert "COPY r.txt c.txt ./\n" in text         # the constraints COPY may stay


# --------------------------------------------------------------------------------------------------
# 5. --allow-drift


@pytest.mark.network
@pytest.mark.parametrize("how", ["flag", "config"])
def test_allow_drift_converts_with_a_warning(online, how):
    write(online, {"svc/Dockerfile": SERVICE, "svc/requirements.txt": "six==1.16.0\n"})
    lock("svc/Dockerfile")
    (online / "svc/requirements.txt").write_text("six==1.15.0\n")
    if how == "config":
        (online / "pyproject.toml").write_text("[tool.dockerlock]\nallow-drift = true\n")
    args = ["--allow-drift"] if how == "flag" else []

    result = dockerlock("migrate", *args, "svc/Dockerfile")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    warnings = [line for line in result.stderr.splitlines() if "DLK109" in line]
    assert warnings == ["svc/Dockerfile:4: warning DLK109: the lock svc/pylock.toml does not cover "
                        "svc/requirements.txt: svc/requirements.txt changed since svc/pylock.toml was made from "
                        "it: a line removed or edited there may still be in the lock, six==1.15.0 is required but "
                        "the lock has 1.16.0 (packages[0], line 7); converted anyway (--allow-drift): the image "
                        "will install what the lock says"]
    assert "svc/Dockerfile: converted 1 stanza" in result.stderr
    assert runs((online / "svc/Dockerfile").read_text())[0].startswith("RUN uv pip install -r pylock.toml")
    # the gap stays visible: check reports the drift of the migrated step
    check = dockerlock("check", "svc/Dockerfile")
    assert check.exit_code == 1
    assert "svc/requirements.txt:1: error DLK221: six==1.15.0 is required but the lock has 1.16.0" in check.stdout
    # -q prints the summary only: the warning is not an error
    (online / "svc/Dockerfile").write_text(SERVICE)
    quiet = dockerlock("migrate", "-q", *args, "svc/Dockerfile")
    assert quiet.exit_code == 0 and "DLK109" not in quiet.stderr


# --------------------------------------------------------------------------------------------------
# 6. A VCS requirement pinned to another commit than the lock's (no network: a hand-written lock)


LOCKED_COMMIT = "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39"
OTHER_COMMIT = "9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c"


def vcs_lock(commit: str) -> str:
    return placeholder_lock([("six", "1.16.0")], requires_python=">=3.12,<3.13") + (
        '\n[[packages]]\nname = "pkg"\nversion = "0.1.0"\n'
        f'vcs = {{ type = "git", url = "https://git.example.org/pkg.git", requested-revision = "{commit}", '
        f'commit-id = "{commit}" }}\n')


def test_vcs_pin_mismatch_is_refused_with_both_commits(repo):
    write(repo, {"Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
                               "RUN pip install -r requirements.txt\n",
                 "requirements.txt": f"six==1.16.0\npkg @ git+https://git.example.org/pkg.git@{OTHER_COMMIT}\n",
                 "pylock.toml": vcs_lock(LOCKED_COMMIT)})
    before = snapshot(repo)
    assert_refused(dockerlock("migrate", "Dockerfile"), "Dockerfile:4",
                   f"pkg @ git+https://git.example.org/pkg.git@{OTHER_COMMIT} is required but packages[1] locks "
                   f"commit {LOCKED_COMMIT}, the requirement pins {OTHER_COMMIT}",
                   "`dockerlock lock Dockerfile`")
    assert snapshot(repo) == before
    check = dockerlock("check", "Dockerfile")
    assert check.exit_code == 1 and f"locks commit {LOCKED_COMMIT}" in check.stdout
    allowed = dockerlock("migrate", "--diff", "--allow-drift", "Dockerfile")   # a preview, with the warning
    assert allowed.exit_code == 1 and allowed.stdout.startswith("--- a/Dockerfile\n")
    assert f"Dockerfile:4: warning DLK109: the lock pylock.toml does not cover requirements.txt: pkg @ " \
           f"git+https://git.example.org/pkg.git@{OTHER_COMMIT} is required" in allowed.stderr.splitlines()[1]
    assert snapshot(repo) == before

    # an abbreviated pin of the locked commit is the same commit
    (repo / "requirements.txt").write_text(
        f"six==1.16.0\npkg @ git+https://git.example.org/pkg.git@{LOCKED_COMMIT[:12]}\n")
    assert_converted(dockerlock("migrate", "Dockerfile"), "Dockerfile")
    # a VCS entry has no hashes: uv would reject --require-hashes
    assert runs((repo / "Dockerfile").read_text()) == [
        "RUN uv pip install -r pylock.toml --system --compile-bytecode --no-cache"]


# --------------------------------------------------------------------------------------------------
# 7. Anything installed into the venv before the -r install forces `uv pip install`, not sync


def venv_dockerfile(middle: str) -> str:
    return ("FROM python:3.12-slim\n"
            "RUN python -m venv /opt/venv\n"
            "COPY . /src\n"
            f"{middle}\n"
            "COPY requirements.txt .\n"
            "RUN /opt/venv/bin/pip install -r requirements.txt\n")


def lock_and_migrate_venv(root: Path, middle: str) -> tuple[str, str]:
    """Lock and migrate ``venv_dockerfile(middle)``: (the -v decision for the -r install, its new RUN)."""
    write(root, {"Dockerfile": venv_dockerfile(middle), "requirements.txt": "six==1.16.0\n"})
    lock("Dockerfile")
    result = dockerlock("migrate", "-v", "Dockerfile")
    assert result.exit_code == 0, result.output
    line = venv_dockerfile(middle).count("\n")              # the -r install is the last line
    prefix = f"  Dockerfile:{line}: pip install -r requirements.txt -> "
    [decision] = [d[len(prefix):] for d in result.stderr.splitlines() if d.startswith(prefix)]
    return decision, runs((root / "Dockerfile").read_text())[-1]


@pytest.mark.network
@pytest.mark.parametrize(("middle", "why"), [
    ("RUN /opt/venv/bin/pip install /src/wheels/*.whl", "already received other packages earlier in this stage "
                                                         "(pip install on line 4)"),
    ("RUN /opt/venv/bin/pip install /src", "already received other packages earlier in this stage "
                                           "(pip install on line 4)"),
    ("RUN cd /src && /opt/venv/bin/python -m pip install .", "already received other packages earlier in this "
                                                              "stage (pip install on line 4)"),
    ("COPY wheels/ /opt/venv/lib/python3.12/site-packages/", "already received other packages earlier in this "
                                                              "stage (COPY into it on line 4)"),
    ("RUN /src/install.sh", "may have received packages from `/src/install.sh` (line 4), which dockerlock "
                            "cannot see into"),
    # uv without --python or --system picks the environment itself (VIRTUAL_ENV, a .venv above
    # the working directory): it may have been this one
    ("RUN VIRTUAL_ENV=/opt/venv uv pip install /src/wheels/*.whl", "may have received packages from `uv pip "
                                                                    "install` (line 4), which dockerlock cannot "
                                                                    "see into"),
    # pip's --prefix / --target pointed into the venv install into its site-packages
    ("RUN pip install --prefix /opt/venv /src/wheels/*.whl", "already received other packages earlier in this "
                                                              "stage (pip install on line 4)"),
    ("RUN pip install --target /opt/venv/lib/python3.12/site-packages /src", "already received other packages "
                                                                              "earlier in this stage (pip install "
                                                                              "on line 4)"),
], ids=["glob-of-wheels", "local-path", "dot", "copy-into-venv", "unknown-script", "uv-virtual-env", "prefix-venv",
        "target-site-packages"])
def test_earlier_installs_into_the_venv_force_install(online, middle, why):
    decision, step = lock_and_migrate_venv(online, middle)
    assert decision == f"uv pip install -r pylock.toml (/opt/venv {why})"
    assert step == "RUN uv pip install -r pylock.toml --python /opt/venv/bin/python --compile-bytecode " \
                   "--require-hashes --no-cache"


@pytest.mark.network
@pytest.mark.parametrize("middle", [
    "RUN apt-get update && apt-get install -y --no-install-recommends git",
    # uv's --system skips interpreters inside virtual environments, even first on PATH
    "ENV PATH=/opt/venv/bin:$PATH\nRUN uv pip install --system /src/wheels/*.whl",
    "RUN /opt/venv/bin/pip install --upgrade pip",  # a seed sync keeps (FACTS.md)
], ids=["system-packages", "uv-system", "installer-upgrade"])
def test_a_fresh_venv_is_synced(online, middle):
    # the control for the test above: nothing put Python packages into /opt/venv before the -r install
    decision, step = lock_and_migrate_venv(online, middle)
    assert decision == "uv pip sync pylock.toml (/opt/venv is a fresh venv created in this stage)"
    assert step == "RUN uv pip sync pylock.toml --python /opt/venv/bin/python --compile-bytecode --require-hashes " \
                   "--no-cache"


# --------------------------------------------------------------------------------------------------
# 8. check on a file not migrated yet validates the lock migrate would use


@pytest.mark.network
def test_check_on_an_unmigrated_file_reports_what_migrate_would_stop_on(online):
    write(online, {"svc/Dockerfile": SERVICE, "svc/requirements.txt": "six==1.16.0\n"})
    before = snapshot(online)

    def check_line():
        result = dockerlock("check", "svc/Dockerfile")
        assert result.exit_code == 1 and result.stderr == ""
        *findings, summary = result.stdout.splitlines()
        assert summary == "1 file(s) checked: 1 error(s), 0 warning(s)"
        [finding] = findings
        assert finding.startswith("svc/Dockerfile:4: error DLK240: pip install -r requirements.txt is not migrated "
                                  "to the lock yet")
        return finding

    missing = check_line()
    assert ("and migrate would stop here: lock file svc/pylock.toml does not exist; create it with "
            "`dockerlock lock svc/Dockerfile`") in missing
    assert snapshot(online) == before             # check changes nothing

    lock("svc/requirements.txt", "--python-version", "3.11")   # a lock, but for another image's Python
    other_python = check_line()
    assert ("the image python:3.12-slim uses Python 3.12, but the lock's requires-python is <3.12,>=3.11; "
            "regenerate it for this image with "
            "`dockerlock lock svc/Dockerfile`") in other_python

    lock("svc/Dockerfile")
    ready = check_line()
    assert ready.endswith("not migrated to the lock yet (run `dockerlock migrate svc/Dockerfile`)")

    (online / "svc/requirements.txt").write_text("six==1.15.0\n")
    drifted = check_line()
    assert ("migrate would stop here: the lock svc/pylock.toml does not cover svc/requirements.txt: "
            "svc/requirements.txt changed since svc/pylock.toml was made from it: a line removed or edited there may "
            "still be in the lock, six==1.15.0 is required but the lock has 1.16.0") in drifted
    assert "`dockerlock lock svc/Dockerfile`" in drifted

    lock("svc/Dockerfile")
    assert dockerlock("migrate", "-q", "svc/Dockerfile").exit_code == 0
    clean = dockerlock("check", "svc/Dockerfile")
    assert clean.exit_code == 0 and clean.stdout == "1 file(s) checked: 0 error(s), 0 warning(s)\n"


# --------------------------------------------------------------------------------------------------
# 9 and 10. check lists the installs migrate refuses or defers; --strict fails on them


REFUSED = ("FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
           "RUN pip install -r requirements.txt gunicorn\n")
DEFERRED = ("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends python3-pip\n"
            "COPY requirements.txt .\nRUN pip3 install -r requirements.txt\n")
UNLOCKED = [
    "gpu/Dockerfile:4: warning DLK246: pip install -r requirements.txt is not locked: DLK103: GPU/specialised image "
    "(base image nvidia/cuda:12.4.1-runtime-ubuntu22.04); deferred by default, convert with --include-gpu",
    "worker/Dockerfile:4: warning DLK245: pip install -r requirements.txt is not locked: migrate leaves it as is "
    "(DLK116): installs packages besides the requirements file (gunicorn); the lock would not cover them: split "
    "them into their own step or add them to requirements",
]


@pytest.fixture
def mixed_repo(online) -> Path:
    """api/ locked and migrated with a real lock; worker/ refused (a package besides -r); gpu/ deferred."""
    write(online, {"api/Dockerfile": SERVICE, "api/requirements.txt": "six==1.16.0\n",
                   "worker/Dockerfile": REFUSED, "worker/requirements.txt": "six==1.16.0\n",
                   "gpu/Dockerfile": DEFERRED, "gpu/requirements.txt": "six==1.16.0\n"})
    lock("api/Dockerfile")
    assert dockerlock("migrate", "-q", "api/Dockerfile").exit_code == 0
    # migrate itself leaves the other two alone, and says why
    rest = dockerlock("migrate", "--check", ".")
    assert rest.exit_code == 0
    assert "skipped 1 (line 4: pip install -r requirements.txt left as is: installs packages besides" in rest.stderr
    assert "skipped 1 (line 4: GPU/specialised image" in rest.stderr
    return online


@pytest.mark.network
def test_check_lists_refused_and_deferred_installs_as_warnings(mixed_repo):
    before = snapshot(mixed_repo)
    result = dockerlock("check", ".")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert sorted(result.stdout.splitlines()[:-1]) == UNLOCKED
    assert result.stdout.splitlines()[-1] == "3 file(s) checked: 0 error(s), 2 warning(s)"
    assert snapshot(mixed_repo) == before
    # --quiet prints only what fails the run: warnings do not, without --strict
    quiet = dockerlock("check", "-q", ".")
    assert quiet.exit_code == 0 and quiet.stdout == "3 file(s) checked: 0 error(s), 2 warning(s)\n"


@pytest.mark.network
def test_strict_fails_on_refused_and_deferred_installs(mixed_repo):
    strict = dockerlock("check", "--strict", ".")
    assert strict.exit_code == 1 and strict.stderr == ""
    assert sorted(strict.stdout.splitlines()[:-1]) == UNLOCKED
    # the config says the same; the command line wins over it
    (mixed_repo / "pyproject.toml").write_text("[tool.dockerlock]\nstrict = true\n")
    configured = dockerlock("check", ".")
    assert configured.exit_code == 1 and sorted(configured.stdout.splitlines()[:-1]) == UNLOCKED
    assert dockerlock("check", "--no-strict", ".").exit_code == 0
    # with --strict and -q, the failing warnings are what is printed
    quiet = dockerlock("check", "-q", ".")
    assert quiet.exit_code == 1 and sorted(quiet.stdout.splitlines()[:-1]) == UNLOCKED
    # strict fails because of those installs, not always: the migrated service alone passes
    assert dockerlock("check", "--strict", "api").exit_code == 0
