"""Examples in README.md and docs/*.md, produced by the current CLI.

A fenced block that shows what dockerlock prints is preceded by a marker naming the
command that produces it::

    <!-- docs-example in=examples exit=1: dockerlock check examples/omi -->
    ```console
    $ dockerlock check examples/omi
    examples/omi/backend/Dockerfile:7: error DLK240: ...
    ```

The block's content is the command's real output (a ``console`` block starts with the
``$ command`` line; any other block holds the output alone). Options, before the colon:

``in=<folder>``
    A folder of this repository, copied into a scratch repository at the same relative
    path; the command runs from the scratch root, as it would from a clone's root. The
    blocks of one page that name the same folder share one scratch copy, in page order,
    so a walk-through can migrate and then check.
``show=output|stdout|stderr``
    Which stream to show; ``output`` (the default) is both, as a terminal shows them.
``lines=<regex>``
    Keep only the lines that match (an excerpt).
``setup=<commands>``
    Commands run first and not shown, separated by ``;`` (for example a migration
    without a record, so that a later block shows revert synthesising a stanza).
``exit=<code>``
    The exit code the page promises; checked.

Besides ``dockerlock ...``, the command may be ``cat <path>``: a file of the scratch copy
(a Dockerfile before or after a step).

Outputs are made stable: no colour (``NO_COLOR``), a fixed terminal width, no
``GITHUB_STEP_SUMMARY``, and the scratch folder's path shown as ``<clone>``.

``tests/test_docs_examples.py`` fails when a page is out of step. To regenerate every
page after an intended change (then read the diff before committing it)::

    python -m tests.docs_examples --update
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^(?P<indent>[ \t]*)<!-- docs-example(?P<body>.*?)-->[ \t]*$")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[\w-]*)[ \t]*$")
OPTIONS = ("in", "show", "lines", "setup", "exit")
ENV = {"NO_COLOR": "1", "COLUMNS": "100", "LINES": "40", "TERM": "dumb", "FORCE_COLOR": None,
       "GITHUB_STEP_SUMMARY": None, "CLICOLOR_FORCE": None, "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None}


class ExampleError(Exception):
    """A marker that cannot be read or a command that does not do what the page says."""


@dataclass(frozen=True)
class Example:
    page: Path
    line: int  # 1-based line of the marker
    argv: tuple[str, ...]
    folder: str = "examples"
    show: str = "output"
    lines: str | None = None
    setup: tuple[tuple[str, ...], ...] = ()
    exit: int | None = None

    @property
    def where(self) -> str:
        return f"{_shown(self.page)}:{self.line}"

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


def parse_marker(body: str, page: Path, line: int) -> Example:
    """``in=examples show=stdout: dockerlock migrate --diff examples/omi`` -> Example."""
    head, sep, command = body.partition(":")
    if not sep:
        raise ExampleError(f"{page}:{line}: a docs-example marker needs '<options>: <command>'")
    values: dict[str, str] = {}
    for token in shlex.split(head):
        key, eq, value = token.partition("=")
        if not eq or key not in OPTIONS:
            raise ExampleError(f"{page}:{line}: unknown docs-example option {token!r} (known: {', '.join(OPTIONS)})")
        values[key] = value
    argv = tuple(shlex.split(command))
    if not argv or argv[0] not in ("dockerlock", "cat"):
        raise ExampleError(f"{page}:{line}: the command must be `dockerlock ...` or `cat <file>`: {command.strip()!r}")
    if values.get("show", "output") not in ("output", "stdout", "stderr"):
        raise ExampleError(f"{page}:{line}: show= must be output, stdout or stderr")
    setup = tuple(tuple(shlex.split(c)) for c in values.get("setup", "").split(";") if c.strip())
    if any(c[0] != "dockerlock" for c in setup):
        raise ExampleError(f"{page}:{line}: setup= runs dockerlock commands only")
    return Example(page, line, argv, folder=values.get("in", "examples"), show=values.get("show", "output"),
                   lines=values.get("lines"), setup=setup,
                   exit=int(values["exit"]) if "exit" in values else None)


# -- running -----------------------------------------------------------------------------------------
@dataclass
class Scratch:
    """A scratch repository holding a copy of one folder of this repository."""

    root: Path
    folder: str

    @classmethod
    def make(cls, base: Path, folder: str) -> "Scratch":
        source = ROOT / folder
        if not source.is_dir():
            raise ExampleError(f"in={folder}: no such folder in the repository")
        root = Path(tempfile.mkdtemp(prefix="scratch-", dir=base))
        (root / ".git").mkdir()  # a repository root: context and configuration searches stop here
        shutil.copytree(source, root / folder, symlinks=True)
        return cls(root, folder)


@contextmanager
def _inside(folder: Path):
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def run(argv: tuple[str, ...], scratch: Scratch) -> tuple[int, str, str, str]:
    """(exit code, output as a terminal shows it, stdout, stderr) of one command in ``scratch``."""
    if argv[0] == "cat":
        path = scratch.root / argv[1]
        if len(argv) != 2 or not path.is_file():
            raise ExampleError(f"cat: {argv[1:]} is not one file of the scratch copy")
        text = path.read_text("utf-8")
        return 0, text, text, ""
    from typer.testing import CliRunner

    from dockerlock.cli import build_app

    with _inside(scratch.root):
        result = CliRunner().invoke(build_app(), list(argv[1:]), env=ENV, catch_exceptions=False)
    return result.exit_code, result.output, result.stdout, result.stderr


def _stable(text: str, scratch: Scratch) -> str:
    for form in {str(scratch.root.resolve()), str(scratch.root)}:
        text = text.replace(form, "<clone>")
    return text


def produce(example: Example, scratch: Scratch) -> str:
    """The text of the block: the command's output, made stable, as the marker asks."""
    for argv in example.setup:
        code, output, _, _ = run(argv, scratch)
        if code not in (0, 1):
            raise ExampleError(f"{example.where}: setup `{shlex.join(argv)}` exited {code}:\n{output}")
    code, output, stdout, stderr = run(example.argv, scratch)
    if example.exit is not None and code != example.exit:
        raise ExampleError(f"{example.where}: `{example.command}` exited {code}, the page says {example.exit}:\n"
                           f"{output}")
    text = _stable({"output": output, "stdout": stdout, "stderr": stderr}[example.show], scratch)
    if example.lines is not None:
        keep = re.compile(example.lines)
        text = "".join(line for line in text.splitlines(keepends=True) if keep.search(line))
    return text


# -- pages -------------------------------------------------------------------------------------------
@dataclass
class Page:
    path: Path
    lines: list[str]
    examples: list[tuple[Example, int, int, str, str]] = field(default_factory=list)  # example, start, end, fence

    @classmethod
    def read(cls, path: Path) -> "Page":
        lines = path.read_text("utf-8").splitlines(keepends=True)
        page = cls(path, lines)
        i = 0
        while i < len(lines):
            marker = MARKER.match(lines[i].rstrip("\n"))
            if not marker:
                i += 1
                continue
            example = parse_marker(marker["body"], path, i + 1)
            fence = FENCE.match(lines[i + 1].rstrip("\n")) if i + 1 < len(lines) else None
            if not fence:
                raise ExampleError(f"{example.where}: a docs-example marker must be followed by a fenced block")
            end = next((j for j in range(i + 2, len(lines))
                        if lines[j].strip() == fence["fence"]), None)
            if end is None:
                raise ExampleError(f"{example.where}: the fenced block after the marker is not closed")
            page.examples.append((example, i + 2, end, fence["indent"], fence["info"]))
            i = end + 1
        return page

    def regenerate(self, base: Path) -> str:
        """The page with every marked block replaced by what the command prints now."""
        scratches: dict[str, Scratch] = {}
        out: list[str] = []
        done = 0
        for example, start, end, indent, info in self.examples:
            if example.folder not in scratches:
                scratches[example.folder] = Scratch.make(base, example.folder)
            text = produce(example, scratches[example.folder])
            if info == "console":
                text = f"$ {example.command}\n{text}"
            body = [line if line == "\n" else f"{indent}{line}" for line in text.splitlines(keepends=True)]
            if body and not body[-1].endswith("\n"):
                body[-1] += "\n"
            out += self.lines[done:start] + body
            done = end
        out += self.lines[done:]
        return "".join(out)


def pages() -> list[Path]:
    """Every page that may hold examples."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def regenerate(path: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="dockerlock-docs-") as base:
        return Page.read(path).regenerate(Path(base))


def _shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    update = "--update" in args
    stale = []
    for path in pages():
        current = path.read_text("utf-8")
        new = regenerate(path)
        if new == current:
            continue
        stale.append(path)
        if update:
            path.write_text(new, encoding="utf-8", newline="")
            print(f"updated {_shown(path)}")
        else:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(keepends=True), new.splitlines(keepends=True),
                                                       f"a/{_shown(path)}", f"b/{_shown(path)}"))
    if stale and not update:
        print(f"{len(stale)} page(s) out of step; run: python -m tests.docs_examples --update", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
