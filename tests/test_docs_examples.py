"""README.md and docs/*.md show what the current CLI prints (issue 15).

Every marked block is re-run and compared (see ``docs_examples``); a block that looks like
dockerlock output but carries no marker fails too, so new examples cannot slip in by hand.
Regenerate after an intended change with ``python -m tests.docs_examples --update``.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest

import docs_examples
from docs_examples import ROOT, ExampleError, Page, pages, regenerate

UPDATE = os.environ.get("DOCKERLOCK_UPDATE_FIXTURES") == "1"
MARKED = [p for p in pages() if "<!-- docs-example" in p.read_text("utf-8")]


def test_the_pages_that_show_output_are_marked():
    assert {p.relative_to(ROOT).as_posix() for p in MARKED} >= {
        "README.md", "docs/walkthrough.md", "docs/json-schema.md", "docs/rules.md"}


@pytest.mark.parametrize("page", MARKED, ids=[p.relative_to(ROOT).as_posix() for p in MARKED])
def test_page_examples_are_what_the_cli_prints(page: Path):
    current = page.read_text("utf-8")
    fresh = regenerate(page)
    if UPDATE and fresh != current:
        page.write_text(fresh, encoding="utf-8", newline="")
        current = fresh
    diff = "".join(difflib.unified_diff(current.splitlines(keepends=True), fresh.splitlines(keepends=True),
                                        "page", "cli"))
    assert fresh == current, f"{page.name} is out of step with the CLI " \
                             f"(python -m tests.docs_examples --update):\n{diff}"


def _console_blocks(text: str):
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "```console":
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            yield i, lines[i + 1:end], lines[i - 1] if i else ""


@pytest.mark.parametrize("page", pages(), ids=[p.relative_to(ROOT).as_posix() for p in pages()])
def test_no_hand_written_dockerlock_output(page: Path):
    """A console block running dockerlock and showing output must be generated."""
    for i, body, before in _console_blocks(page.read_text("utf-8")):
        runs = body and body[0].lstrip().startswith("$ dockerlock")
        if runs and len(body) > 1:
            assert before.lstrip().startswith("<!-- docs-example"), f"{page.name}:{i + 1}: unmarked dockerlock output"


# -- the mechanism itself ----------------------------------------------------------------------------
def _page(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "page.md"
    path.write_text(text)
    return path


def test_stale_block_is_regenerated_in_place_and_indentation_kept(tmp_path):
    page = _page(tmp_path, "Intro.\n\n"
                           "1. Step:\n\n"
                           "   <!-- docs-example in=examples exit=1: dockerlock check examples/omi -->\n"
                           "   ```console\n"
                           "   $ dockerlock check examples/omi\n"
                           "   everything is fine\n"
                           "   ```\n\n"
                           "<!-- docs-example in=examples show=stderr lines='^1 file': dockerlock migrate --check "
                           "examples/omi -->\n```\nstale\n```\nEnd.\n")
    example = (ROOT / "examples/omi/backend/Dockerfile").read_bytes()
    fresh = regenerate(page)
    assert fresh == ("Intro.\n\n"
                     "1. Step:\n\n"
                     "   <!-- docs-example in=examples exit=1: dockerlock check examples/omi -->\n"
                     "   ```console\n"
                     "   $ dockerlock check examples/omi\n"
                     "   examples/omi/backend/Dockerfile:7: error DLK240: pip install -r /tmp/requirements.txt is not "
                     "migrated to the lock yet (run `dockerlock migrate examples/omi/backend/Dockerfile`)\n"
                     "   examples/omi/backend/Dockerfile:21: warning DLK241: pip install "
                     "git+https://github.com/pygraphviz/pygraphviz.git installs into /opt/venv, which the lock filled: "
                     "it bypasses the lock (add it to the requirements and re-lock)\n"
                     "   1 file(s) checked: 1 error(s), 1 warning(s)\n"
                     "   ```\n\n"
                     "<!-- docs-example in=examples show=stderr lines='^1 file': dockerlock migrate --check "
                     "examples/omi -->\n```\n"
                     "1 file would be converted (1 stanza), 0 unchanged, 0 stanzas skipped, 0 errors\n"
                     "```\nEnd.\n")
    assert (ROOT / "examples/omi/backend/Dockerfile").read_bytes() == example  # commands ran on a scratch copy


def test_blocks_of_a_page_share_one_scratch_copy_in_order(tmp_path):
    page = _page(tmp_path, "<!-- docs-example in=examples: dockerlock migrate -q examples/omi -->\n```\n```\n"
                           "<!-- docs-example in=examples lines='uv pip sync': cat examples/omi/backend/Dockerfile -->\n"
                           "```dockerfile\n```\n"
                           "<!-- docs-example in=examples show=stdout setup='dockerlock revert -q examples/omi': "
                           "dockerlock check -q examples/omi -->\n```\n```\n")
    fresh = regenerate(page)
    assert "RUN uv pip sync /tmp/pylock.toml --python /opt/venv/bin/python" in fresh  # migrated by the first block
    assert fresh.endswith("```\nexamples/omi/backend/Dockerfile:7: error DLK240: pip install -r /tmp/requirements.txt "
                          "is not migrated to the lock yet (run `dockerlock migrate examples/omi/backend/Dockerfile`)\n"
                          "1 file(s) checked: 1 error(s), 1 warning(s)\n```\n")  # reverted by setup


@pytest.mark.parametrize("marker, message", [
    ("<!-- docs-example in=examples colour=no: dockerlock check examples -->", "unknown docs-example option"),
    ("<!-- docs-example in=examples: ls examples -->", "must be `dockerlock ...` or `cat <file>`"),
    ("<!-- docs-example in=nowhere: dockerlock check . -->", "in=nowhere: no such folder"),
    ("<!-- docs-example in=examples exit=0: dockerlock check examples/omi -->", "exited 1, the page says 0"),
    ("<!-- docs-example in=examples dockerlock check -->", "needs '<options>: <command>'"),
])
def test_bad_markers_are_reported_with_their_place(tmp_path, marker, message):
    page = _page(tmp_path, f"text\n{marker}\n```\n```\n")
    with pytest.raises(ExampleError, match=re.escape(message)):
        regenerate(page)


def test_marker_without_a_block_is_an_error(tmp_path):
    page = _page(tmp_path, "<!-- docs-example in=examples: dockerlock check examples -->\ntext\n")
    with pytest.raises(ExampleError, match="must be followed by a fenced block"):
        Page.read(page)


def test_update_command_rewrites_only_stale_pages(tmp_path, monkeypatch, capsys):
    page = _page(tmp_path, "<!-- docs-example in=examples show=stderr exit=1: dockerlock migrate --check "
                           "-q examples/omi -->\n```\nold\n```\n")
    monkeypatch.setattr(docs_examples, "pages", lambda: [page])
    assert docs_examples.main([]) == 1 and page.read_text().count("old") == 1  # check mode writes nothing
    assert "1 page(s) out of step; run: python -m tests.docs_examples --update" in capsys.readouterr().err
    assert docs_examples.main(["--update"]) == 0
    assert "1 file would be converted (1 stanza)" in page.read_text()
    assert docs_examples.main([]) == 0
