"""Property tests: migrate/revert never corrupt a Dockerfile, whatever it is given.

Generated Dockerfiles (``strategies.dockerfiles``) and mutated real ones (the corpus in
``../shared/corpus``, skipped when absent) go through the pure engine API with
``Settings(lock_check=False, include_gpu=True)``. For every file:

1. migrate never raises, and never reports an ``InvariantViolation``;
2. every original line outside the migrated stanzas is in the output, verbatim and
   in order (checked with BuildKit's parser and difflib, not with dockerlock's model);
3. the output parses, with BuildKit's parser and with ``Dockerfile``, and both agree
   on where each instruction is;
4. migrate is idempotent;
5. ``revert(migrate(x)) == x`` byte for byte, and ``migrate(revert(migrate(x)))``
   equals ``migrate(x)``;
6. 1-5 also hold for corpus files after meaning-preserving formatting mutations;
7. the shell layer: every command, word (and its parts), redirect and operator span
   slices back to its raw text, in plain chains, nested compounds and ``sh -c`` scripts
   (offsets into the outer script), and a quoted generated word reads back as its value.

Run longer with ``HYPOTHESIS_PROFILE=nightly`` (see ``strategies``).
"""

from __future__ import annotations

import difflib
import tempfile
from pathlib import Path

import dockerfile
import pytest
from hypothesis import assume, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

import strategies  # noqa: F401  (registers and loads the Hypothesis profiles)
from conftest import corpus_dockerfiles
from dockerlock.context import BuildContext
from dockerlock.diagnostics import DockerlockError, InvariantViolation
from dockerlock.engine import FileResult, migrate_dockerfile
from dockerlock.model import Dockerfile
from dockerlock.rules.revert import revert_dockerfile
from dockerlock.loading import ContextLoader
from dockerlock.settings import Settings
from dockerlock.shell import Script, WrappedScript, parse_script, quote_word, wrapped_script
from strategies import (MUTATIONS, SHELL_EXAMPLES, SHELL_SEPARATORS, dockerfiles, mutate, quotable_values, shell_commands,
                        shell_compound_scripts, write_context)

SETTINGS = Settings(lock_check=False, include_gpu=True)
BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def context():
    """One build context on disk for every example (the engine only reads it)."""
    with tempfile.TemporaryDirectory(prefix="dockerlock-props-") as tmp:
        yield ContextLoader().index(write_context(Path(tmp)).resolve())


# -- helpers ---------------------------------------------------------------------------------
def migrate(data: bytes, ctx: BuildContext, path: str = "Dockerfile") -> tuple[Dockerfile, FileResult]:
    df = Dockerfile.from_bytes(data, path)
    return df, migrate_dockerfile(df, ctx, SETTINGS)


def migrated_bytes(data: bytes, ctx: BuildContext, path: str = "Dockerfile") -> bytes:
    """migrate(x) as bytes (x itself when nothing changes); fails on any error."""
    df, result = migrate(data, ctx, path)
    assert result.error is None, f"migrate reported an error: {result.error}"
    return df.source.encode(result.new_text) if result.new_text is not None else data


def revert_bytes(data: bytes, ctx: BuildContext, path: str = "Dockerfile") -> bytes:
    df = Dockerfile.from_bytes(data, path)
    result = revert_dockerfile(df, ctx, SETTINGS)
    assert result.error is None, f"revert reported an error: {result.error}"
    return df.source.encode(result.new_text) if result.new_text is not None else data


def text_of(data: bytes) -> str:
    return data.decode("utf-8-sig")


def buildkit(text: str) -> list[tuple[str, int, int]]:
    """BuildKit's parser: (keyword, first line, last line) of every instruction."""
    return [(c.cmd.upper(), c.start_line, c.end_line) for c in dockerfile.parse_string(text)]


def ours(df: Dockerfile) -> list[tuple[str, int, int]]:
    return [(i.keyword, i.start_line, i.end_line) for i in df.instructions]


def record_event(result: FileResult) -> None:
    """Tally outcomes for ``--hypothesis-show-statistics`` (only inside a Hypothesis test)."""
    if not currently_in_test_context():
        return
    if result.error is not None:
        event(f"error: {type(result.error).__name__}")
    elif result.new_text is None:
        event("unchanged" if not result.refused and not result.deferred else "refused only")
    else:
        event(f"converted {min(result.converted, 3)}{'+' if result.converted > 3 else ''} stanza(s)")


# -- the invariants ----------------------------------------------------------------------------
def check_never_raises(data: bytes, ctx: BuildContext, path: str = "Dockerfile") -> FileResult:
    df, result = migrate(data, ctx, path)  # an exception here fails the property
    record_event(result)
    assert not isinstance(result.error, InvariantViolation), f"invariant violation: {result.error}"
    assert result.error is None, f"unexpected error with --no-lock-check: {result.error}"
    if result.new_text is not None:
        assert result.converted > 0
    return result


MAY_CHANGE = ("RUN", "COPY", "ADD")  # the pip RUN, the requirements COPY/ADD, and what migrate inserts
RECORD = "# dockerlock: replaced `"


def _items(text: str) -> list[tuple[str, bool, str]]:
    """The file as BuildKit reads it: one item per instruction (all its lines, heredocs,
    comment and blank lines inside continuations) and one per line between instructions.

    Each item is ``(text, is an instruction that migrate may change, keyword)``.
    """
    lines = text.splitlines(keepends=True)
    owner: dict[int, tuple[int, int, bool, str]] = {}
    for cmd in dockerfile.parse_string(text):
        keyword = cmd.cmd.upper()
        logical = cmd.original + "".join(h.content for h in cmd.heredocs)  # continuations joined
        may = keyword in ("COPY", "ADD") or (keyword == "RUN" and "pip" in logical)
        for n in range(cmd.start_line - 1, cmd.end_line):
            owner[n] = (cmd.start_line - 1, cmd.end_line, may, keyword)
    items: list[tuple[str, bool, str]] = []
    n = 0
    while n < len(lines):
        if n in owner:
            start, end, may, keyword = owner[n]
            items.append(("".join(lines[start:end]), may, keyword))
            n = end
        else:
            items.append((lines[n], False, ""))  # a comment, blank line or directive
            n += 1
    return items


def check_untouched(before: bytes, after: bytes) -> None:
    """Independently of dockerlock's model: only pip RUNs and COPY/ADD lines changed.

    BuildKit's parser splits both files into items (whole instructions, and the lines
    between them). Every item migrate may not change (other instructions, comments,
    blank lines, directives) must reach the output verbatim, line endings included,
    and in the original order. difflib then aligns the items: every original item it
    reports changed or removed must be one that may change, and every new item in the
    output must be a RUN/COPY/ADD or a record comment.
    """
    assert before.startswith(BOM) == after.startswith(BOM), "the BOM changed"
    a_items, b_items = _items(text_of(before)), _items(text_of(after))
    # 1. the protected items, verbatim and in order, at item boundaries of the output
    pos = 0
    b_texts = [t for t, _may, _kw in b_items]
    b_joined = "".join(b_texts)
    starts = set()
    offset = 0
    for t in b_texts:
        starts.add(offset)
        offset += len(t)
    for text, may, _kw in a_items:
        if may:
            continue
        found = b_joined.find(text, pos)
        while found >= 0 and found not in starts:
            found = b_joined.find(text, found + 1)
        assert found >= 0, f"not in the output (verbatim, in order): {text!r}"
        pos = found + len(text)
    # 2. difflib over the items
    matcher = difflib.SequenceMatcher(None, [t for t, _m, _k in a_items], b_texts, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for text, may, _kw in a_items[i1:i2]:
            assert may, f"changed or removed: {text!r}"
        for text, _may, kw in b_items[j1:j2]:
            assert kw in MAY_CHANGE or text.startswith(RECORD), f"new in the output: {text!r}"


def check_parses(after: bytes) -> Dockerfile:
    text = text_of(after)
    theirs = buildkit(text)  # raises dockerfile.GoParseError if BuildKit cannot read it
    df = Dockerfile.from_text(text)
    assert ours(df) == theirs
    assert ours(Dockerfile.from_bytes(after)) == theirs
    # each logical line is BuildKit's too (``original`` adds heredoc bodies after a newline)
    originals = [c.original.split("\n")[0].rstrip("\r") for c in dockerfile.parse_string(text)]
    assert [ins.logical.text for ins in df.instructions] == originals
    return df


def check_idempotent(after: bytes, ctx: BuildContext, path: str = "Dockerfile") -> None:
    df, again = migrate(after, ctx, path)
    assert again.error is None, f"second migrate reported an error: {again.error}"
    assert again.new_text is None, "second migrate would change the file again:\n" + "".join(
        difflib.unified_diff(text_of(after).splitlines(True), again.new_text.splitlines(True)))


def check_round_trip(before: bytes, after: bytes, ctx: BuildContext, path: str = "Dockerfile") -> None:
    back = revert_bytes(after, ctx, path)
    assert back == before, "revert(migrate(x)) != x:\n" + "".join(
        difflib.unified_diff(text_of(before).splitlines(True), text_of(back).splitlines(True)))
    assert migrated_bytes(back, ctx, path) == after


# -- 1-5 over generated Dockerfiles ----------------------------------------------------------
@given(data=dockerfiles())
def test_migrate_never_raises(context, data):
    check_never_raises(data, context)
    # revert of an unmigrated file never raises either, and finds nothing to do
    df = Dockerfile.from_bytes(data)
    back = revert_dockerfile(df, context, SETTINGS)
    assert back.error is None and back.new_text is None


@given(data=dockerfiles())
def test_bytes_outside_edits_identical(context, data):
    after = migrated_bytes(data, context)
    note(text_of(after))
    check_untouched(data, after)


@given(data=dockerfiles())
def test_output_parses(context, data):
    check_parses(data)  # the generator only makes valid Dockerfiles
    after = migrated_bytes(data, context)
    if after != data:
        check_parses(after)


@given(data=dockerfiles())
def test_migrate_idempotent(context, data):
    after = migrated_bytes(data, context)
    note(text_of(after))
    check_idempotent(after, context)


@given(data=dockerfiles())
def test_revert_migrate_round_trip(context, data):
    after = migrated_bytes(data, context)
    note(text_of(after))
    check_round_trip(data, after, context)


@given(data=dockerfiles(windows=True))
def test_windows_images_never_change(context, data):
    """Backtick escape (Windows) images: every stanza refused, the file left alone."""
    df, result = migrate(data, context)
    assert result.error is None and result.new_text is None
    assert result.converted == 0
    if result.refused:
        assert any("Windows image" in f.message for f in result.findings)


# -- 6: mutated corpus files -------------------------------------------------------------------
def _accepted(path: Path) -> bool:
    try:
        Dockerfile.from_bytes(path.read_bytes(), str(path))
    except DockerlockError:
        return False  # not a Dockerfile dockerlock accepts (see test_model.DELIBERATE)
    return True


CORPUS = [p for p in corpus_dockerfiles() if _accepted(p)]


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS, reason="corpus not found at ../shared/corpus")
@given(index=st.integers(0, max(len(CORPUS) - 1, 0)),
       mutations=st.sets(st.sampled_from(MUTATIONS), min_size=1),
       seed=st.integers(0, 2 ** 60 - 1))
def test_mutated_corpus_keeps_every_property(index, mutations, seed):
    path = CORPUS[index]
    data = mutate(path.read_bytes(), mutations, seed)
    note(f"{path.name} with {sorted(mutations)}")
    original = Dockerfile.from_bytes(path.read_bytes(), str(path))
    df = check_parses(data)  # a formatting mutation keeps the file valid, for BuildKit and for us
    assert [i.keyword for i in df.instructions] == [i.keyword for i in original.instructions]
    ctx = ContextLoader().load(path, df, SETTINGS)
    check_never_raises(data, ctx, str(path))
    after = migrated_bytes(data, ctx, str(path))
    check_untouched(data, after)
    if after != data:
        check_parses(after)
    check_idempotent(after, ctx, str(path))
    check_round_trip(data, after, ctx, str(path))


# -- regressions: minimal reproductions of property violations found by this suite ---------------
def _context_with(files: dict[str, str]):
    tmp = tempfile.TemporaryDirectory(prefix="dockerlock-regression-")
    root = Path(tmp.name)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return tmp, ContextLoader().index(root.resolve())


def test_regression_no_lock_yet_rewrite_is_stable():
    """Was: with no lock yet (--no-lock-check), migrate's own 'COPY pylock.toml
    .python-version /tmp/' was read on the next run as a directory copy 'providing'
    /tmp/other.txt, so the rewrite was not stable (InvariantViolation, exit 2)."""
    tmp, ctx = _context_with({"requirements.txt": "six\n", ".python-version": "3.11\n"})  # no pylock.toml
    with tmp:
        data = (b"FROM python:3.11-slim\n"
                b"COPY requirements.txt /tmp/\n"
                b"RUN pip install -r /tmp/requirements.txt\n"
                b"RUN pip install -r /tmp/other.txt\n")
        check_never_raises(data, ctx)
        after = migrated_bytes(data, ctx)
        assert after != data
        check_untouched(data, after)
        check_idempotent(after, ctx)
        check_round_trip(data, after, ctx)


def test_regression_file_no_copy_provides_is_left_alone():
    """Was: 'setup.cfg' (absent from the context) in 'COPY requirements.txt setup.cfg
    /tmp/' was taken for a directory holding /tmp/other.txt, and --no-lock-check
    rewrote the install to a /tmp/pylock.toml that nothing copies."""
    tmp, ctx = _context_with({"requirements.txt": "six\n", "pylock.toml": ""})
    with tmp:
        data = (b"FROM python:3.11-slim\n"
                b"COPY requirements.txt setup.cfg /tmp/\n"
                b"RUN pip install -r /tmp/other.txt\n")
        df, result = migrate(data, ctx)
        assert result.error is None
        assert result.new_text is None and result.converted == 0  # nothing brings /tmp/other.txt in
        assert any("cannot find the COPY/ADD or bind mount that puts /tmp/other.txt" in f.message for f in result.findings)


def test_regression_comment_that_looks_like_a_record_does_not_block_revert(context):
    """Was: a user comment starting '# dockerlock: migrated' (not a record) was accepted
    by migrate, then revert failed on it as a 'damaged dockerlock record comment', even
    with --force."""
    data = (b"FROM python:3.11-slim\n"
            b"# dockerlock: migrated by hand last year, see the wiki\n"
            b"COPY requirements.txt /tmp/requirements.txt\n"
            b"RUN pip install -r /tmp/requirements.txt\n")
    check_never_raises(data, context)
    after = migrated_bytes(data, context)
    assert after != data
    check_round_trip(data, after, context)


# -- 7: the shell layer's spans ----------------------------------------------------------------
def check_shell_offsets(script: Script) -> None:
    """``script[x.start:x.end] == x.raw`` for every command, word, redirect and operator."""
    text = script.text
    for cmd in script.commands:
        assert text[cmd.start:cmd.end] == cmd.raw
        for w in cmd.words + cmd.assignments:
            assert text[w.start:w.end] == w.raw, w
            assert "".join(text[p.start:p.end] for p in w.parts) == w.raw, w  # parts tile the word
        for r in cmd.redirects:
            for w in (r.target, r.heredoc):
                if w is not None:
                    assert text[w.start:w.end] == w.raw
        for span, op in ((cmd.operator_before_span, cmd.operator_before),
                         (cmd.operator_after_span, cmd.operator_after)):
            assert (span is None) == (op is None) and (span is None or text[span[0]:span[1]] == op)


REDIRECTS = [("", []), (" > f", [">"]), (" 2>&1", [">&"]), (" >>/tmp/log 2>/dev/null", [">>", ">"])]


@settings(max_examples=SHELL_EXAMPLES)
@given(st.lists(st.tuples(shell_commands(), st.sampled_from(REDIRECTS)), min_size=1, max_size=8),
       st.lists(st.sampled_from(SHELL_SEPARATORS), min_size=7, max_size=7))
def test_shell_chains_keep_every_span_and_value(commands, separators):
    pieces, expected = [], []
    for idx, (words, (redirect, ops)) in enumerate(commands):
        raw = " ".join(w for w, _ in words) + redirect
        if idx:
            pieces.append(separators[idx - 1][1])
        expected.append((raw, sum(len(p) for p in pieces), words, ops))
        pieces.append(raw)
    text = "".join(pieces)
    script = parse_script(text)
    check_shell_offsets(script)
    top = script.top_level
    assert [(c.raw, c.start) for c in top] == [(raw, start) for raw, start, _, _ in expected]
    for idx, (cmd, (_, _, words, ops)) in enumerate(zip(top, expected)):
        assert [w.raw for w in cmd.words] == [raw for raw, _ in words]
        assert [w.value for w in cmd.words] == [value for _, value in words]
        assert [r.op for r in cmd.redirects] == ops  # `a && b > f`: the redirect is b's
        before = separators[idx - 1][0] if idx else None
        after = separators[idx][0] if idx + 1 < len(top) else None
        assert (cmd.operator_before, cmd.operator_after) == (before, after)
    assert all(c.raw in ("echo hi",) for c in script.commands if c.depth)


@settings(max_examples=SHELL_EXAMPLES)
@given(shell_compound_scripts())
def test_shell_compound_scripts_keep_every_span(text):
    script = parse_script(text)
    check_shell_offsets(script)
    starts = [c.start for c in script.commands]
    assert starts == sorted(starts)
    pips = [c for c in script.commands if c.raw == "pip install -r r.txt"]
    assert len(pips) == text.count("pip install -r r.txt")
    assert all(c.depth > 0 for c in pips) or text.startswith("pip install") or "\npip" in text \
        or "&& pip" in text or "| pip" in text or "; pip" in text


@settings(max_examples=SHELL_EXAMPLES)
@given(quotable_values)
def test_quoted_words_read_back_as_their_value(value):
    text = f"uv pip install -r {quote_word(value)} --system"
    (cmd,) = parse_script(text).commands
    check_shell_offsets(parse_script(text))
    word = cmd.words[4]
    assert word.value == value and not (word.has_variables or word.has_substitution or word.has_glob)
    assert cmd.words[5].value == "--system"


@settings(max_examples=SHELL_EXAMPLES)
@given(st.lists(shell_commands(), min_size=1, max_size=4), st.sampled_from(["sh -c", "/bin/bash -lc", "dash -ec"]))
def test_shell_wrapper_words_point_into_the_outer_script(commands, shell):
    inner = " && ".join(" ".join(w for w, _ in words) for words in commands)
    assume("'" not in inner)
    outer = f"apt-get update && {shell} '{inner}' && echo done"
    cmd = parse_script(outer).commands[1]
    wrapped = wrapped_script(cmd.words, outer)
    assert isinstance(wrapped, WrappedScript) and wrapped.text == inner
    script = wrapped.parse()
    check_shell_offsets(script)
    alone = parse_script(inner)
    shift = wrapped.start
    assert [(c.start + shift, [w.value for w in c.words]) for c in alone.commands] == \
        [(c.start, [w.value for w in c.words]) for c in script.commands]


@given(st.text(alphabet="ab \t\r\n\x0b\x0c\u2028\x85#\\", max_size=60))
@settings(max_examples=300, deadline=None)
def test_line_texts_are_each_lines_text(text):
    """``Source.line_texts`` (one pass, used by revert's checks) agrees with ``line_text`` line by
    line: only LF and CRLF end a line, as BuildKit reads them (a lone CR, form feed or U+2028 do not)."""
    from dockerlock.source import Source

    src = Source.from_text(text, "Dockerfile")
    assert src.line_texts() == [src.line_text(n) for n in range(1, src.line_count + 1)]
