"""Helpers for migrate/revert tests: build a context on disk, run the engine, check invariants."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from dockerlock.engine import FileResult, migrate_dockerfile
from dockerlock.model import Dockerfile
from dockerlock.rules.revert import revert_dockerfile
from dockerlock.loading import context_at
from dockerlock.settings import Settings

UV = "COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/"


def placeholder_lock(packages=(("six", "1.16.0"),), requires_python=">=3.9", extra: str = "") -> str:
    """A small valid PEP 751 lock with placeholder URLs (never a real registry host)."""
    out = ['lock-version = "1.0"', f'requires-python = "{requires_python}"', 'created-by = "tests"', ""]
    for name, version in packages:
        fn = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
        digest = hashlib.sha256(fn.encode()).hexdigest()
        out += ["[[packages]]", f'name = "{name}"', f'version = "{version}"',
                f'wheels = [{{ url = "https://files.example.org/{fn}", hashes = {{ sha256 = "{digest}" }} }}]', ""]
    return "\n".join(out) + extra


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def run_migrate(text: str, files: dict[str, str] | None = None, settings: Settings | None = None,
                root: Path | None = None) -> FileResult:
    settings = settings or Settings(record=False)
    with tempfile.TemporaryDirectory() as tmp:
        base = root or Path(tmp)
        write_tree(base, files or {})
        df = Dockerfile.from_text(text, "Dockerfile")
        return migrate_dockerfile(df, context_at(base, df, settings), settings)


def migrated(text: str, files: dict[str, str] | None = None, settings: Settings | None = None) -> str:
    result = run_migrate(text, files, settings)
    assert result.error is None, result.error
    return result.new_text if result.new_text is not None else text


def assert_migrates(before: str, after: str, files: dict[str, str] | None = None,
                    settings: Settings | None = None) -> FileResult:
    """Exact output, plus: second run is a no-op, CRLF behaves the same, revert restores."""
    settings = settings or Settings(record=False)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_tree(root, files or {})
        ctx = context_at(root, Dockerfile.from_text(before, "Dockerfile"), settings)
        result = migrate_dockerfile(Dockerfile.from_text(before, "Dockerfile"), ctx, settings)
        assert result.error is None, str(result.error)
        got = result.new_text if result.new_text is not None else before
        assert got == after
        again = migrate_dockerfile(Dockerfile.from_text(got, "Dockerfile"), ctx, settings)
        assert again.new_text is None, "second run must be a no-op"
        crlf = migrate_dockerfile(Dockerfile.from_text(before.replace("\n", "\r\n"), "Dockerfile"), ctx,
                                  settings)
        assert (crlf.new_text or before.replace("\n", "\r\n")) == after.replace("\n", "\r\n")
        # with a record, revert gives back the exact input
        recorded = Settings(**{**settings.__dict__, "record": True})
        with_record = migrate_dockerfile(Dockerfile.from_text(before, "Dockerfile"), ctx, recorded)
        if with_record.new_text is not None:
            back = revert_dockerfile(Dockerfile.from_text(with_record.new_text, "Dockerfile"), ctx, recorded)
            assert back.error is None, str(back.error)
            assert back.new_text == before
    return result
