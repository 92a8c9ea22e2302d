"""The migration record: one comment line above each migrated region.

Format v2 (written; documented in docs/record.md)::

    # dockerlock: replaced `RUN pip install -r r.txt`; `dockerlock revert` restores it [v2 n=3 h=... c=... d=...]

- the words say what the region replaced (the pip install line of the original,
  shortened), so a reviewer can read the line in a pull request;
- ``n``: how many lines after the record line belong to the migrated region;
- ``h``: SHA-256 (16 hex digits) of those lines as migrate wrote them, line endings
  read as LF, so revert can tell a hand-edited region from an untouched one;
- ``c``: SHA-256 (16 hex digits) of the decoded payload, which holds the original
  bytes revert restores;
- ``d``: the payload, zlib-compressed, URL-safe base64 without padding: one header
  line (the line ending migrate wrote, a digest of the region's last line and of the
  lines that followed the region: the anchors ``revert --force`` finds an edited
  region by), then the original region's exact text.

Format v1 (written by earlier releases) is still read:
``# dockerlock: migrated pip -> uv; ... [v1 n=<lines> h=<12 hex> d=<data>]``.

Every field is verified before a record is trusted; a line that carries a record's
marks but does not verify is a ``DamagedRecord`` (revert refuses the file), never an
ordinary comment. A record is integrity-checked, not signed: whoever can edit the
Dockerfile can write any record, as they can write any instruction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import zlib
from collections.abc import Sequence
from typing import NamedTuple

from dockerlock.diagnostics import DockerlockError
from dockerlock.source import MAX_BYTES, Source

PREFIX = "# dockerlock: replaced `"
SUFFIX = "`; `dockerlock revert` restores it"
# A region that only added lines (nothing was there before) or only removed some (nothing
# is there now) says so instead: "replaced `...`" would be untrue.
ADDED = "# dockerlock: added the lines below; `dockerlock revert` removes them"
REMOVED = "# dockerlock: removed `"
MAX_ORIGINAL = MAX_BYTES  # a region's original is never larger than the file it came from
MAX_WHAT = 80  # at most this many characters of the original are quoted in the words

_B64 = r"[A-Za-z0-9_-]+"
_RECORD_V2 = re.compile(r"(?P<indent>[ \t]*)(?:# dockerlock: (?P<verb>replaced|removed) `(?P<what>.*)`; "
                        r"`dockerlock revert` restores it|(?P<added># dockerlock: added the lines below; "
                        r"`dockerlock revert` removes them)) "
                        r"\[v2 n=(?P<n>0|[1-9][0-9]{0,5}) h=(?P<h>[0-9a-f]{16}) c=(?P<c>[0-9a-f]{16}) "
                        rf"d=(?P<d>{_B64})\][ \t]*")
_RECORD_V1 = re.compile(r"(?P<indent>[ \t]*)# dockerlock: migrated pip -> uv;[^\[]*"
                        rf"\[v1 n=(?P<n>[1-9][0-9]{{0,5}}) h=(?P<h>[0-9a-f]{{12}}) d=(?P<d>{_B64})\][ \t]*")
_HEADER = re.compile(r"eol=(?P<eol>lf|crlf) last=(?P<last>[0-9a-f]{12}) "
                     r"next=(?P<count>0|[1-9][0-9]{0,5}):(?P<next>[0-9a-f]{12})(?P<end>:end)?\n")

# What makes a line *meant* to be a record (so that damage to it is reported, not ignored).
# Three marks in different parts of the line, so that one damaged character cannot hide
# a record: the v2 opening words (up to the backtick), the "[v<N> <field>=" block opening, the
# "d=...]" ending; plus "#" or the word "dockerlock". User comments such as "# dockerlock:
# migrated pip -> uv; the api image was done by hand" or "# dockerlock: replaced the base
# image by hand" have none of the first three and stay comments.
_MARKS = re.compile(r"^[ \t]*# dockerlock: (?:replaced `|removed `|added the lines below;)|\[v\d+ [a-z]=|"
                    r"\bd=[A-Za-z0-9_-]*\][ \t]*$")


# What every line ``_MARKS`` matches contains (anchors and ``\b`` left out: a wider net, and
# without a leading ``\b`` the search runs several times faster): one search of a whole file
# answers "could any line be a record?" for the many files that hold none.
_ANY_MARK = re.compile(r"# dockerlock: |\[v\d+ [a-z]=|d=[A-Za-z0-9_-]*\]")


def may_hold_records(text: str) -> bool:
    """False when no line of ``text`` can look like a record (``looks_like_record``)."""
    return _ANY_MARK.search(text) is not None


class DamagedRecord(DockerlockError):
    """A line that is meant to be a migration record but does not verify."""

    kind = "record"


HINT = ("restore this line from version control (`git diff` shows a local edit, `git log -p` an older one), "
        "or delete it and run `dockerlock revert` again to synthesise the pip stanza instead")


class Record(NamedTuple):
    """A record comment as read: the region migrate wrote and the original text revert restores."""

    line: int  # 1-based line of the record comment
    version: int
    lines: int  # n: migrated region length in lines
    region_digest: str  # h
    original: str  # the exact text revert restores
    eol: str | None = None  # line ending migrate wrote (v2); None: unknown (v1)
    last_line: str | None = None  # digest of the region's last line (v2)
    next_count: int | None = None  # how many lines the "next" anchor covers (v2)
    next_digest: str | None = None
    next_at_end: bool = False  # the anchor reaches the end of the file


# -- digests ---------------------------------------------------------------------------------
def _sha(text: str, digits: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:digits]


def digest(text: str) -> str:
    """v1's region digest: exact text, 12 hex digits."""
    return _sha(text, 12)


def lf(text: str) -> str:
    """Line endings read as LF (CRLF conversion by git on Windows is not an edit)."""
    return text.replace("\r\n", "\n")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split after LF only (as ``Source`` does; ``str.splitlines``
    would also split on form feeds and Unicode separators)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return lines + [parts[-1]] if parts[-1] else lines


def _content(line: str) -> str:
    return line[:-2] if line.endswith("\r\n") else line[:-1] if line.endswith("\n") else line


def region_digest(text: str) -> str:
    return _sha(lf(text), 16)


def _lines_digest(lines: Sequence[str]) -> str:
    return _sha("\n".join(_content(line) for line in lines), 12)


def _next_anchor(following: str) -> tuple[list[str], bool]:
    """The lines after a region up to and including the first non-blank one (or to the end)."""
    lines = split_lines(following)
    for i, line in enumerate(lines):
        if _content(line).strip(" \t"):
            return lines[:i + 1], False
    return lines, True


# -- the words ---------------------------------------------------------------------------------
_PIP_WORD = re.compile(r"(?<![\w-])pip[0-9.]*(?![\w-])")


def describe(original: str) -> str:
    """What the record says it replaced: the original's pip line, shortened.

    Deterministic (revert checks the words against the data), printable, one line, no
    leading or trailing blanks: continuation lines are joined, comment and blank lines
    skipped, runs of blanks become one space, other non-printable characters dropped.
    """
    logical: list[str] = []
    pending = ""
    for raw in original.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        stripped = line.rstrip(" \t")
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    chosen = next((x for x in logical if _PIP_WORD.search(x)), logical[0] if logical else "blank lines")
    printable = chosen if chosen.isprintable() else "".join(ch if ch.isprintable() else " " for ch in chosen)
    words = " ".join(printable.split())
    if len(words) > MAX_WHAT:  # cut at a word boundary when there is one in the second half
        cut = words[:MAX_WHAT - 3]
        space = cut.rfind(" ")
        words = cut[:space] + " ..." if space >= MAX_WHAT // 2 else cut + "..."
    return words


# -- writing ---------------------------------------------------------------------------------
def _encode(data: str) -> str:
    # A 4 KiB window and a small hash table: a record's original is a few hundred bytes, and
    # zlib.compress's defaults spend ten times longer setting up their 256 KiB of state than on
    # the data. The stream is standard zlib; _decode reads it with any window.
    deflate = zlib.compressobj(9, zlib.DEFLATED, 12, 4)
    packed = deflate.compress(data.encode("utf-8")) + deflate.flush()
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def words(original: str, lines: int) -> str:
    """The readable part of a v2 record whose region of ``lines`` lines replaced ``original``."""
    if not original:
        return ADDED
    return f"{REMOVED if lines == 0 else PREFIX}{describe(original)}{SUFFIX}"


def make_record_line(original: str, migrated: str, eol: str, following: str) -> str:
    """The v2 record for a region: ``original`` became ``migrated``; ``following`` is the
    file's text after the region (whole lines), ``eol`` the line ending to write."""
    if not original and not migrated:
        raise ValueError("a region that changed nothing has no record")
    migrated_lines = split_lines(migrated)
    anchor, at_end = _next_anchor(following)
    header = (f"eol={'crlf' if eol == chr(13) + chr(10) else 'lf'} last={_lines_digest(migrated_lines[-1:])} "
              f"next={len(anchor)}:{_lines_digest(anchor)}{':end' if at_end else ''}\n")
    payload = header + original
    return (f"{words(original, len(migrated_lines))} [v2 n={len(migrated_lines)} h={region_digest(migrated)} "
            f"c={_sha(payload, 16)} d={_encode(payload)}]{eol}")


# -- reading ---------------------------------------------------------------------------------
def restores_a_stanza(record: Record) -> bool:
    """Does reverting ``record`` bring back a RUN (a pip stanza), rather than only take away lines
    migrate added (the uv binary's COPY) or put back a COPY it removed?"""
    return any(line.lstrip().upper().startswith("RUN") and line.lstrip()[3:4] in (" ", "\t", "")
               for line in record.original.splitlines())


def looks_like_record(text: str) -> bool:
    """True when ``text`` (one line, no line ending) carries a record's marks."""
    if "dockerlock" not in text and not text.lstrip(" \t").startswith("#"):
        return False
    return _MARKS.search(text) is not None


def _damaged(what: str, path: str | None, line: int) -> DamagedRecord:
    return DamagedRecord(f"damaged dockerlock record: {what}; nothing was reverted", path, line, hint=HINT)


def _decode(data: str, path: str | None, line: int) -> str:
    """Strict: canonical base64, one complete zlib stream, nothing after it, UTF-8."""
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        raise _damaged("its data (d=) is not valid base64", path, line) from None
    if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != data:
        raise _damaged("its data (d=) is not valid base64 (cut short or altered)", path, line)
    inflate = zlib.decompressobj()
    try:
        out = inflate.decompress(raw, MAX_ORIGINAL)
    except zlib.error:
        raise _damaged("its data (d=) does not decompress (altered)", path, line) from None
    if inflate.unconsumed_tail:
        raise _damaged(f"its data (d=) decompresses to more than {MAX_ORIGINAL} bytes", path, line)
    if not inflate.eof:
        raise _damaged("its data (d=) is incomplete (cut short)", path, line)
    if inflate.unused_data:
        raise _damaged("its data (d=) has extra bytes after the compressed stream", path, line)
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise _damaged("its data (d=) is not UTF-8 text", path, line) from None


def parse_record(text: str, line: int, path: str | None = None) -> Record | None:
    """Parse one line (without its line ending).

    None: not a record (an ordinary line). ``DamagedRecord``: the line is meant to be a
    record (``looks_like_record``) but some part of it does not verify.
    """
    if not looks_like_record(text):
        return None
    if (m := _RECORD_V2.fullmatch(text)) is not None:
        return _parse_v2(m, line, path)
    if (m := _RECORD_V1.fullmatch(text)) is not None:
        return _parse_v1(m, line, path)
    raise _damaged("the line does not match the record format (v2 or v1)", path, line)


def _parse_v2(m: re.Match, line: int, path: str | None) -> Record:
    payload = _decode(m["d"], path, line)
    if _sha(payload, 16) != m["c"]:
        raise _damaged("its checksum (c=) does not match its data", path, line)
    header = _HEADER.match(payload)
    if header is None:
        raise _damaged("its data (d=) has no valid header", path, line)
    original = payload[header.end():]
    if not original and m["n"] == "0":
        raise _damaged("it covers no lines and restores no text", path, line)
    if m.string[m.end("indent"):m.string.rindex(" [v2 n=")] != words(original, int(m["n"])):
        raise _damaged("its words no longer say what it restores (the quoted line was edited)", path, line)
    return Record(line=line, version=2, lines=int(m["n"]), region_digest=m["h"], original=original,
                  eol="\r\n" if header["eol"] == "crlf" else "\n", last_line=header["last"],
                  next_count=int(header["count"]), next_digest=header["next"], next_at_end=bool(header["end"]))


def _parse_v1(m: re.Match, line: int, path: str | None) -> Record:
    original = _decode(m["d"], path, line)
    if not original:  # v1 regions always replaced text: empty data is damage, not a deletion
        raise _damaged("it restores no text", path, line)
    return Record(line=line, version=1, lines=int(m["n"]), region_digest=m["h"], original=original)


def find_records(lines: Sequence[str], path: str | None = None) -> list[Record]:
    """Every record among ``lines`` (line texts without endings, line 1 first)."""
    return [r for n, text in enumerate(lines, 1) if (r := parse_record(text, n, path)) is not None]


def records_in(src: Source, path: str | None = None) -> list[Record]:
    """``find_records`` over a file: one search of its text first answers for the many files with none."""
    return find_records(src.line_texts(), path) if may_hold_records(src.text) else []


def record_like_lines(src: Source) -> list[str]:
    """The lines of a file that look like records (``looks_like_record``), found the same way."""
    return [text for text in src.line_texts() if looks_like_record(text)] if may_hold_records(src.text) else []


# -- finding the region again ------------------------------------------------------------------
class Region(NamedTuple):
    """Where a record's region is now: the ``count`` lines after the record line."""

    count: int
    intact: bool  # as migrate wrote it (line endings aside)
    converted: bool  # the file's line endings changed since: restore in the current ones


class Unlocatable(Exception):
    """An edited region whose extent cannot be proven (``--force`` refuses it too)."""


def locate(record: Record, after: Sequence[str], eol: str) -> Region:
    """Find ``record``'s region among ``after`` (the file's lines after the record line,
    with their endings; a later record's region already restored). ``eol`` is the line
    ending the file uses there now (the record line's own).

    Intact: the first ``n`` lines are what migrate wrote. Otherwise the region must be
    proven (the rule in docs/record.md), or ``Unlocatable`` is raised.
    """
    n = record.lines
    head = "".join(after[:n])
    if len(after) >= n:
        if record.version == 1:
            variants = (head, lf(head), lf(head).replace("\n", "\r\n"))
            for i, text in enumerate(variants):
                if digest(text) == record.region_digest:
                    return Region(n, True, converted=i > 0 and text != head)
        elif region_digest(head) == record.region_digest:
            return Region(n, True, converted=_converted(record, eol))
    if record.version == 1:
        raise Unlocatable("a v1 record (from an earlier dockerlock release) has no anchors to find an edited "
                          "region by")
    return Region(_edited_extent(record, after), False, converted=_converted(record, eol))


def _converted(record: Record, eol: str) -> bool:
    return record.eol is not None and eol != record.eol


def _edited_extent(record: Record, after: Sequence[str]) -> int:
    """How many lines an edited v2 region spans now, proven by its anchors.

    The region starts after the record line. Its end is proven by the "next" anchor (the
    lines that followed the region at migration; the first place they appear again) and
    by the region's last line: both must agree, or, when the last line itself was changed
    or deleted, the anchor alone may end the region no further than ``n`` lines down.
    """
    n = record.lines
    by_next = _first_next(record, after)
    by_last = next((i + 1 for i, line in enumerate(after) if _lines_digest([line]) == record.last_line), None) \
        if n else None
    if by_next is None:
        raise Unlocatable("the lines that followed the region were changed too, so its end cannot be found")
    if by_last is not None:
        if by_last != by_next:
            raise Unlocatable(f"its last line is now line {by_last} after the record but the line that "
                              f"followed it is not next to it, so lines were added or moved at its end")
        return by_last
    if by_next > n:
        raise Unlocatable(f"its last line was changed or deleted and {by_next} lines now stand where "
                          f"{n} were written, so its end cannot be told apart from lines added after it")
    return by_next


def _first_next(record: Record, after: Sequence[str]) -> int | None:
    """Lines before the first place the "next" anchor matches (None: it matches nowhere)."""
    count = record.next_count or 0
    for k in range(len(after) + 1):
        window = after[k:k + count]
        if len(window) < count:
            return None
        if record.next_at_end and k + count != len(after):
            continue
        if _lines_digest(window) == record.next_digest:
            return k
    return None


def restored_text(record: Record, region: Region, eol: str, followed: bool) -> str:
    """The text that replaces the record line and its region.

    ``followed``: lines follow the region (an original that ended the file without a
    final line ending then gets one, or the next line would be glued onto it).
    """
    text = record.original
    if region.converted:
        text = re.sub(r"\r?\n", lambda _m: eol, text)
    if followed and text and not text.endswith("\n"):
        text += eol
    return text
