"""The migration record: format v2 (written) and v1 (read), strict verification, and how
revert finds a region again after edits (docs/record.md)."""

from __future__ import annotations

import base64
import hashlib
import re
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st

import strategies  # noqa: F401  (registers the Hypothesis profiles: ci by default, nightly runs longer)
from dockerlock.context import BuildContext
from dockerlock.diagnostics import DockerlockError
from dockerlock.model import Dockerfile
from dockerlock.record import (PREFIX, DamagedRecord, Unlocatable, describe, digest, locate, looks_like_record,
                               make_record_line, may_hold_records, parse_record, record_like_lines,
                               records_in, split_lines)
from dockerlock.rules.revert import revert_dockerfile
from dockerlock.settings import Settings

ORIGINAL = ("COPY requirements.txt /tmp/requirements.txt\n"
            "RUN /opt/venv/bin/pip install -r /tmp/requirements.txt\n")
MIGRATED = ("COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/\n"
            "COPY pylock.toml /tmp/pylock.toml\n"
            "RUN uv pip sync /tmp/pylock.toml --python /opt/venv/bin/python\n")
FOLLOWING = "\nCOPY . /app\nCMD [\"python\", \"app.py\"]\n"
WORDS = ("# dockerlock: replaced `RUN /opt/venv/bin/pip install -r /tmp/requirements.txt`; "
         "`dockerlock revert` restores it")


def record_line(original=ORIGINAL, migrated=MIGRATED, eol="\n", following=FOLLOWING) -> str:
    return make_record_line(original, migrated, eol, following)


def fields(line: str) -> dict[str, str]:
    return dict(re.findall(r"\b([nhcd])=([^ \]]*)", line.rsplit("[", 1)[1]))


def v1_line(original: str, migrated: str) -> str:
    """A record as dockerlock 0.x wrote it (format v1)."""
    data = base64.urlsafe_b64encode(zlib.compress(original.encode(), 9)).decode().rstrip("=")
    n = migrated.count("\n") + (0 if migrated.endswith("\n") else 1)
    return f"# dockerlock: migrated pip -> uv; `dockerlock revert` restores it [v1 n={n} h={digest(migrated)} d={data}]"


# -- writing ----------------------------------------------------------------------------------
def test_v2_line_says_what_it_replaced_and_parses_back():
    line = record_line()
    assert line.startswith(WORDS + " [v2 n=3 h=") and line.endswith("]\n")
    f = fields(line)
    assert list(f) == ["n", "h", "c", "d"] and len(f["h"]) == 16 and len(f["c"]) == 16
    rec = parse_record(line.rstrip("\n"), 7, "Dockerfile")
    assert (rec.line, rec.version, rec.lines, rec.original, rec.eol) == (7, 2, 3, ORIGINAL, "\n")
    assert (rec.next_count, rec.next_at_end) == (2, False)  # the blank line and `COPY . /app`


def test_line_is_one_line_without_trailing_blanks_and_never_a_directive():
    nasty = "RUN pip install -r a.txt \\\n\t&& echo '\u2028x=1'\x0c\r\n"
    line = record_line(original=nasty, eol="\r\n").rstrip("\r\n")
    assert "\n" not in line and "\r" not in line and line == line.rstrip()
    assert line.isprintable()
    assert "replaced `RUN pip install -r a.txt && echo ' x=1'`;" in line
    # BuildKit reads `# key=value` at the top as a parser directive; the fixed `dockerlock:`
    # after the `#` can never match that, whatever the words say.
    assert not re.match(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$", line)
    df = Dockerfile.from_text(line + "\nFROM python:3.11\n")
    assert df.directives == Dockerfile.from_text("# a comment\nFROM python:3.11\n").directives


def test_crlf_region_gets_a_crlf_record():
    line = record_line(ORIGINAL.replace("\n", "\r\n"), MIGRATED.replace("\n", "\r\n"), "\r\n",
                       FOLLOWING.replace("\n", "\r\n"))
    assert line.endswith("]\r\n")
    rec = parse_record(line[:-2], 1)
    assert rec.eol == "\r\n" and rec.original == ORIGINAL.replace("\n", "\r\n")
    # the region digest reads CRLF as LF: a file converted by git later still matches
    assert fields(line)["h"] == fields(record_line())["h"]


@pytest.mark.parametrize("original, words", [
    ("RUN pip install --no-cache-dir -r /tmp/requirements.txt\n",
     "RUN pip install --no-cache-dir -r /tmp/requirements.txt"),
    ("COPY requirements.txt .\nRUN pip3 install -r requirements.txt\n", "RUN pip3 install -r requirements.txt"),
    ("RUN apt-get update \\\n    # the compilers\n    && python -m pip install \\\n\t-r r.txt\n",
     "RUN apt-get update && python -m pip install -r r.txt"),
    ("COPY a.txt /a/\nCOPY b.txt /b/\n", "COPY a.txt /a/"),  # no pip line: the first instruction
    ("RUN pip install --no-cache-dir --upgrade --disable-pip-version-check -r /srv/app/requirements/production.txt\n",
     "RUN pip install --no-cache-dir --upgrade --disable-pip-version-check -r ..."),
    ("RUN " + "x" * 100 + "\n", "RUN " + "x" * 73 + "..."),  # no word boundary late enough: a hard cut
    ("\n# only a comment\n", "blank lines"),
])
def test_describe(original, words):
    assert describe(original) == words


# -- what counts as a record -------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "# dockerlock: migrated pip -> uv; the api image was done by hand",
    "# dockerlock: migrated by hand last year, see the wiki",
    "# dockerlock: replaced the base image by hand",
    "# dockerlock: ignore=DLK101",
    "# see [v1 of the api]",
    "RUN echo d=1",
])
def test_ordinary_lines_are_not_records(text):
    assert not looks_like_record(text)
    assert parse_record(text, 1) is None


@pytest.mark.parametrize("text", [
    "# dockerlock: replaced `RUN pip",  # the v2 opening words, cut short
    "# dockerlock: something else [v2 n=3 h=00",  # the data block opening
    "# dockerlock: migrated pip -> uv; x [v1 m=3 h=00 d=eNpz]",  # the data block ending
    "c dockerlock: replaced `x` [v2 n=1 h=0 c=0 d=A]",  # the `#` damaged
    "  # dockerlock: replaced `RUN pip install -r r.txt`; [v2 n=1]",  # indented
])
def test_lines_with_a_record_mark_are_records(text):
    assert looks_like_record(text)
    with pytest.raises(DamagedRecord, match="does not match the record format"):
        parse_record(text, 4)


# The whole-file pre-check (one search instead of a test per line) may only ever say "maybe": a
# file it clears must hold no line that looks like a record, or a damaged record would slip by.
_MARK_PIECES = ["# dockerlock: ", "replaced `", "removed `", "added the lines below;", "[v2 ", "[v1 ", "n=",
                "d=", "d=eNpz]", "]", " ", "\t", "#", "x", "\r", "\n", "é"]


@pytest.mark.parametrize("text", [
    "# dockerlock: replaced `RUN pip", "# x [v2 n=3", "# RUN echo d=abc]", "dockerlock d=abc]  ",
    "\t# dockerlock: removed `COPY a b`", "RUN x\r\n# dockerlock: added the lines below; y\r\n",
])
def test_the_file_pre_check_keeps_every_line_that_looks_like_a_record(text):
    assert any(looks_like_record(line.rstrip("\r\n")) for line in split_lines(text))
    assert may_hold_records(text)


@given(st.lists(st.sampled_from(_MARK_PIECES), max_size=12).map("".join))
def test_a_file_the_pre_check_clears_has_no_record_like_line(text):
    if not may_hold_records(text):
        assert not any(looks_like_record(line.rstrip("\r\n")) for line in split_lines(text))
    if any(looks_like_record(line.rstrip("\r\n")) for line in split_lines(text)):
        assert may_hold_records(text)


def test_the_file_pre_check_clears_ordinary_files():
    assert not may_hold_records("FROM python:3.12\nRUN pip install -r requirements.txt\n# a comment\n")


# -- damaged records are refused, each with its reason -------------------------------------------
def _v2_with(**changes: str) -> str:
    line = record_line().rstrip("\n")
    for key, value in changes.items():
        line = re.sub(rf"\b{key}=[^ \]]*", lambda _m: f"{key}={value}", line)
    return line


def _v2_payload(payload: str, **changes: str) -> str:
    """A v2 line around an arbitrary payload, with a checksum that matches it."""
    data = base64.urlsafe_b64encode(zlib.compress(payload.encode(), 9)).decode().rstrip("=")
    return _v2_with(c=hashlib.sha256(payload.encode()).hexdigest()[:16], d=data, **changes)


D = fields(record_line())["d"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


RAW = base64.urlsafe_b64decode(D + "=" * (-len(D) % 4))
GOOD_HEADER = "eol=lf last=0123456789ab next=1:0123456789ab\n"


@pytest.mark.parametrize("line, reason", [
    (_v2_with(d=_b64(RAW[:-4])), "its data (d=) is incomplete (cut short)"),
    (_v2_with(d=D[:-4]), "its data (d=) is not valid base64 (cut short or altered)"),
    (_v2_with(d=D[:-1]), "its data (d=) is not valid base64;"),
    (_v2_with(d=_b64(RAW + b"\0")), "its data (d=) has extra bytes after the compressed stream"),
    (_v2_with(d=D[:8] + ("B" if D[8] == "A" else "A") + D[9:]), None),  # any failure, as long as it is one
    (_v2_with(d=""), "the line does not match the record format (v2 or v1)"),
    (_v2_with(n="0"), "its words no longer say what it restores"),  # n=0 is a removal, and says so
    (_v2_with(n="03"), "the line does not match the record format (v2 or v1)"),
    (_v2_with(h="0" * 15), "the line does not match the record format (v2 or v1)"),
    (_v2_with(c="0" * 16), "its checksum (c=) does not match its data"),
    (_v2_payload(GOOD_HEADER), "its words no longer say what it restores"),  # an addition, and says so
    (_v2_payload(GOOD_HEADER, n="0"), "it covers no lines and restores no text"),
    (_v2_payload("eol=lf\n" + ORIGINAL), "its data (d=) has no valid header"),
    (_v2_payload(GOOD_HEADER + "RUN rm -rf /\n"), "its words no longer say what it restores"),
    (record_line().replace("/opt/venv/bin/pip", "/opt/venv/bin/pip3", 1).rstrip("\n"),
     "its words no longer say what it restores"),
    (v1_line(ORIGINAL, MIGRATED).replace(" d=", " d=!"), "the line does not match the record format (v2 or v1)"),
    (re.sub(r"d=[\w-]+", "d=", v1_line(ORIGINAL, MIGRATED)), "the line does not match the record format (v2 or v1)"),
    (re.sub(r"n=\d h=\w+", f"n=0 h={digest('')}", v1_line(ORIGINAL, MIGRATED)),
     "the line does not match the record format (v2 or v1)"),
    (v1_line(ORIGINAL, MIGRATED)[:-9] + "]", "its data (d=)"),
    (v1_line("", MIGRATED), "it restores no text"),
])
def test_damaged_record_is_refused_with_its_reason(line, reason):
    with pytest.raises(DamagedRecord) as info:
        parse_record(line, 5, "svc/Dockerfile")
    err = info.value
    assert (err.path, err.line) == ("svc/Dockerfile", 5)
    assert err.reason.startswith("damaged dockerlock record: ") and err.reason.endswith("; nothing was reverted")
    if reason is not None:
        assert reason in err.reason
    assert "restore this line from version control" in err.hint


def test_a_region_that_only_added_or_only_removed_lines_says_so():
    added = parse_record(make_record_line("", MIGRATED, "\n", FOLLOWING).rstrip("\n"), 1)
    assert added.original == "" and added.lines == 3
    assert make_record_line("", MIGRATED, "\n", FOLLOWING).startswith(
        "# dockerlock: added the lines below; `dockerlock revert` removes them [v2 n=3 h=")
    line = make_record_line(ORIGINAL, "", "\n", FOLLOWING)
    assert line.startswith("# dockerlock: removed `RUN /opt/venv/bin/pip install -r /tmp/requirements.txt`; "
                           "`dockerlock revert` restores it [v2 n=0 h=")
    removed = parse_record(line.rstrip("\n"), 1)
    assert (removed.original, removed.lines) == (ORIGINAL, 0)
    assert locate(removed, AFTER, "\n").intact
    with pytest.raises(ValueError):
        make_record_line("", "", "\n", FOLLOWING)


def test_v1_records_are_still_read():
    rec = parse_record(v1_line(ORIGINAL, MIGRATED), 3)
    assert (rec.version, rec.lines, rec.original, rec.eol) == (1, 3, ORIGINAL, None)


# -- finding the region again (the rule in docs/record.md) -------------------------------------------
REGION = split_lines(MIGRATED)  # [uv COPY, lock COPY, uv RUN]
AFTER = split_lines(FOLLOWING)  # ["\n", "COPY . /app\n", "CMD ...\n"]


def rec(**kw):
    return parse_record(record_line(**kw).rstrip("\r\n"), 1)


def test_intact_region():
    region = locate(rec(), REGION + AFTER, "\n")
    assert (region.count, region.intact, region.converted) == (3, True, False)
    # lines added or changed after the region are not the region's business
    assert locate(rec(), [*REGION, "RUN echo added\n", "COPY . /srv\n"], "\n").intact


def test_crlf_conversion_is_not_an_edit():
    converted = [line.replace("\n", "\r\n") for line in REGION + AFTER]
    region = locate(rec(), converted, "\r\n")
    assert (region.count, region.intact, region.converted) == (3, True, True)


@pytest.mark.parametrize("lines, count", [
    ([REGION[0].replace("0.13.9", "0.14.0"), *REGION[1:]], 3),  # first line changed: both anchors agree
    (REGION[1:], 2),  # the uv COPY deleted (issue 14 point 5)
    ([REGION[0], REGION[2]], 2),  # a middle line deleted
    ([*REGION[:2], "RUN echo hi\n", REGION[2]], 4),  # a line inserted inside
    ([*REGION[:2], REGION[2].replace("\n", " --reinstall\n")], 3),  # last line changed: the next anchor alone
    (REGION[:2], 2),  # last line deleted
    ([], 0),  # the whole region deleted, the record left behind
])
def test_edited_region_is_found_by_its_anchors(lines, count):
    region = locate(rec(), lines + AFTER, "\n")
    assert (region.count, region.intact) == (count, False)


@pytest.mark.parametrize("lines, after, reason", [
    # the case plus the line after the region changed: no proof where it ends
    (REGION[1:], ["\n", "COPY . /srv\n", "CMD x\n"], "the lines that followed the region were changed too"),
    ([REGION[0].replace("0.13.9", "0.14.0"), *REGION[1:], "RUN echo added\n"], AFTER,
     "lines were added or moved at its end"),
    ([REGION[0], "RUN a\n", "RUN b\n", "RUN c\n"], AFTER, "4 lines now stand where 3 were written"),
])
def test_unprovable_region_is_refused(lines, after, reason):
    with pytest.raises(Unlocatable, match=re.escape(reason)):
        locate(rec(), lines + after, "\n")


def test_region_at_end_of_file_is_anchored_by_the_end():
    record = rec(following="")
    assert record.next_at_end and record.next_count == 0
    edited = [*REGION[:2], REGION[2].rstrip("\n") + " --reinstall"]
    assert locate(record, edited, "\n").count == 3
    with pytest.raises(Unlocatable):  # a line added after the changed last line: not provable
        locate(record, [*edited[:2], edited[2] + "\n", "CMD x\n"], "\n")


def test_v1_region_intact_or_crlf_converted_but_never_located_after_edits():
    record = parse_record(v1_line(ORIGINAL, MIGRATED), 1)
    assert locate(record, REGION + AFTER, "\n").intact
    region = locate(record, [line.replace("\n", "\r\n") for line in REGION], "\r\n")
    assert region.intact and region.converted
    with pytest.raises(Unlocatable, match="a v1 record"):
        locate(record, REGION[1:] + AFTER, "\n")


def test_prefix_constant_is_what_records_start_with():
    assert record_line().startswith(PREFIX)


# -- the record-tampering property (issue 14 acceptance) -----------------------------------------
# For random truncations, bit flips and field edits of a valid record, revert either restores
# the exact original or refuses (an error, nothing written). Never an exit 0 that ignores the
# record or restores something else.
HEAD = "FROM python:3.11-slim\nRUN python -m venv /opt/venv\n"
# the shortest start of each kind of v2 line that still marks it as a record
OPENINGS = (PREFIX, "# dockerlock: removed `", "# dockerlock: added the lines below;")


@dataclass(frozen=True)
class Base:
    name: str
    before: str  # text above the record line
    line: str  # the record line, without its ending
    eol: str
    after: str  # the region and what follows it
    original: str  # the whole file before migration
    keep: int  # a truncation keeps at least this much (the shortest cut that still carries a mark)
    fields: tuple[str, ...]


def _base(name: str, eol: str = "\n", indent: str = "", at_end: bool = False, original: str = ORIGINAL,
          migrated: str = MIGRATED) -> Base:
    following = "" if at_end else FOLLOWING
    if at_end:  # the region ends the file, with no final line ending
        original, migrated = original.rstrip("\n"), migrated.rstrip("\n")
    original, migrated, following = (t.replace("\n", eol) for t in (original, migrated, following))
    head = HEAD.replace("\n", eol)
    line = indent + make_record_line(original, migrated, eol, following)[:-len(eol)]
    opening = next(o for o in OPENINGS if line.lstrip().startswith(o))
    return Base(name, head, line, eol, migrated + following, head + original + following,
                len(indent) + len(opening), ("n", "h", "c", "d"))


def _v1_base() -> Base:
    line = v1_line(ORIGINAL, MIGRATED)
    return Base("v1", HEAD, line, "\n", MIGRATED + FOLLOWING, HEAD + ORIGINAL + FOLLOWING,
                line.index("[v1 ") + len("[v1 n="), ("n", "h", "d"))


BASES = (_base("lf"), _base("crlf", "\r\n"), _base("indented", indent="  "), _base("end", at_end=True),
         _base("added", original=""), _base("removed", migrated=""), _v1_base())
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _field_values(base: Base, name: str, old: str):
    if name == "n":
        return st.one_of(st.integers(0, 10 ** 7).map(str), st.text("0123456789x-", max_size=4))
    if name in ("h", "c"):
        return st.text("0123456789abcdefABCDEF", max_size=20)
    raw = base64.urlsafe_b64decode(old + "=" * (-len(old) % 4))
    choices = [st.integers(0, len(old) - 1).map(lambda i: old[:i]),  # cut short
               st.text(B64, min_size=1, max_size=8).map(lambda s: old + s),  # grown
               st.text(B64, max_size=40),  # replaced
               st.integers(0, len(raw) - 1).map(lambda i: _b64(raw[:i])),  # cut short in bytes
               st.binary(min_size=1, max_size=4).map(lambda b: _b64(raw + b))]  # bytes after the stream
    if base.name != "v1":
        # another well-formed payload: v1 has no checksum to notice it ("as strictly as v1 allows")
        choices.append(st.text(max_size=60).map(lambda t: _b64(zlib.compress(t.encode()))))
    return st.one_of(choices)


@st.composite
def tampered(draw) -> tuple[Base, str]:
    base = draw(st.sampled_from(BASES))
    line = base.line
    kind = draw(st.sampled_from(("truncate", "flip", "field")))
    if kind == "truncate":
        return base, line[:draw(st.integers(base.keep, len(line) - 1))]
    if kind == "flip":
        i = draw(st.integers(0, len(line) - 1))
        return base, line[:i] + chr(ord(line[i]) ^ (1 << draw(st.integers(0, 7)))) + line[i + 1:]
    name = draw(st.sampled_from(base.fields))
    old = re.search(rf"\b{name}=([^ \]]*)", line.rsplit("[", 1)[1]).group(1)
    value = draw(_field_values(base, name, old))
    block = line.rsplit("[", 1)[1].replace(f"{name}={old}", f"{name}={value}", 1)
    return base, line.rsplit("[", 1)[0] + "[" + block


EMPTY_CONTEXT = BuildContext(Path(tempfile.gettempdir()) / "dockerlock-no-such-context")


def revert_or_refuse(text: str, force: bool) -> str | None:
    """The reverted text, or None for a refusal (an error; nothing would be written)."""
    try:
        df = Dockerfile.from_text(text, "Dockerfile")
    except DockerlockError:
        return None  # not a Dockerfile any more: the CLI reports it (exit 2) and writes nothing
    result = revert_dockerfile(df, EMPTY_CONTEXT, Settings(), force=force)
    if result.error is not None:
        assert result.new_text is None
        return None
    assert result.new_text is not None, "a damaged record was ignored (no error, nothing restored)"
    return result.new_text


def test_every_base_reverts_exactly():
    for base in BASES:
        for force in (False, True):
            assert revert_or_refuse(base.before + base.line + base.eol + base.after, force) == base.original


@given(case=tampered(), force=st.booleans())
@example(case=(BASES[0], BASES[0].line.replace(" n=3 ", " n=0 ")), force=False)
@example(case=(BASES[0], re.sub(r"d=[\w-]+", "d=", BASES[0].line)), force=True)
def test_tampered_record_restores_exactly_or_refuses(case, force):
    base, line = case
    note(f"{base.name}: {line!r}")
    out = revert_or_refuse(base.before + line + base.eol + base.after, force)
    assert out is None or out == base.original


def test_the_example_in_docs_record_md_is_a_valid_record_that_decodes_as_shown():
    doc = (Path(__file__).parent.parent / "docs/record.md").read_text()
    line = re.search(r"^# dockerlock: replaced .*$", doc, re.M).group(0)
    assert line in (Path(__file__).parent.parent / "docs/walkthrough.md").read_text()  # the CLI's own output
    record = parse_record(line, 1)
    assert record.version == 2 and record.lines == 3
    shown = re.search(r"prints the header line, then the original:\n\n```dockerfile\n(.*?)```", doc, re.S).group(1)
    data = fields(line)["d"]
    assert zlib.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))).decode() == shown
    assert shown.split("\n", 1)[1] == record.original


def test_records_written_with_zlib_s_default_window_are_still_read():
    """Earlier releases compressed with zlib.compress(.., 9) (a 32 KiB window): same payload, other
    header bytes. Those records must keep reverting."""
    line = record_line().rstrip("\n")
    data = fields(line)["d"]
    payload = zlib.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    older = base64.urlsafe_b64encode(zlib.compress(payload, 9)).decode("ascii").rstrip("=")
    assert older != data
    assert parse_record(line.replace(data, older), 1) == parse_record(line, 1)


def test_a_file_s_records_and_record_like_lines():
    from dockerlock.source import Source

    line = record_line().rstrip("\n")
    src = Source.from_text(f"FROM x\n{line}\n" + MIGRATED + FOLLOWING)
    assert [r.line for r in records_in(src)] == [2] and record_like_lines(src) == [line]
    plain = Source.from_text("FROM x\n# dockerlock: migrated by hand\nRUN true\n")
    assert records_in(plain) == [] and record_like_lines(plain) == []
    damaged = Source.from_text(f"FROM x\n{line[:-5]}\n")
    with pytest.raises(DamagedRecord):
        records_in(damaged)
    assert record_like_lines(damaged) == [line[:-5]]
