"""Source: the exact text of a Dockerfile and how to turn it back into the same bytes.

Everything downstream works on ``Source.text`` (decoded, BOM removed, line endings
*kept as they are*), with offsets as ``str`` indices. Because strict UTF-8 decoding is
a bijection, ``Source.encode(Source.text) == original bytes`` always holds; edits
splice ``text`` and re-encode, so bytes outside an edit can never change.
"""

from __future__ import annotations

import bisect
import codecs
from dataclasses import dataclass, field
from itertools import accumulate

from dockerlock.diagnostics import DecodeError, DockerfileSyntaxError

#: The one size limit for a Dockerfile (docs/commands.md, "Paths"). Real ones are a few KiB;
#: anything larger is refused before it is read, so a stray log or image named like a
#: Dockerfile cannot cost seconds of parsing.
MAX_BYTES = 1024 * 1024


def size_error(size: int, path: str, *, at_least: bool = False) -> DecodeError:
    """The message for a file over ``MAX_BYTES`` (``at_least``: reading stopped at the limit)."""
    return DecodeError(f"file is {'over ' if at_least else ''}{size} bytes; refusing anything over 1 MiB "
                       "(Dockerfiles are a few KiB: is this really one?)", path)


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open range ``[start, end)`` of offsets into ``Source.text``."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad span {self.start}..{self.end}")

    def overlaps(self, other: "Span") -> bool:
        # Two insertions at the same point, or an insertion at a span's edge, do not overlap.
        if self.start == self.end or other.start == other.end:
            return self.start < other.end and other.start < self.end
        return self.start < other.end and other.start < self.end

    def contains(self, other: "Span") -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True)
class Source:
    """Decoded Dockerfile text plus the facts needed to write it back byte for byte."""

    path: str
    text: str
    bom: bool = False
    eol: str = "\n"
    final_newline: bool = True
    line_starts: tuple[int, ...] = field(default=(0,), repr=False)

    @classmethod
    def from_bytes(cls, data: bytes, path: str = "<input>") -> "Source":
        if len(data) > MAX_BYTES:
            raise size_error(len(data), path)
        if not data:
            raise DockerfileSyntaxError("empty file: a Dockerfile needs at least one instruction", path, 1)
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise DecodeError("file is UTF-16 (it starts with a UTF-16 byte-order mark); "
                              "Dockerfiles must be UTF-8", path, 1,
                              hint="re-save the file as UTF-8")
        nul = data.find(b"\x00")
        if nul >= 0:
            raise DecodeError("binary file (contains NUL bytes), not a Dockerfile", path,
                              data.count(b"\n", 0, nul) + 1)
        bom = data.startswith(codecs.BOM_UTF8)
        body = data[len(codecs.BOM_UTF8):] if bom else data
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = body.count(b"\n", 0, exc.start) + 1
            raise DecodeError(f"not valid UTF-8 (byte 0x{body[exc.start]:02x} at offset "
                              f"{exc.start + (3 if bom else 0)})", path, line,
                              hint="re-save the file as UTF-8") from None
        return cls.from_text(text, path, bom=bom)

    @classmethod
    def from_text(cls, text: str, path: str = "<input>", *, bom: bool = False) -> "Source":
        pieces = text.split("\n")  # each line start is one past the previous newline
        starts = list(accumulate([len(piece) + 1 for piece in pieces[:-1]], initial=0))
        crlf = text.count("\r\n")
        newlines = len(starts) - 1
        final_newline = text.endswith("\n")
        if final_newline:
            starts.pop()  # no line begins after the last newline
        eol = "\r\n" if newlines and crlf * 2 > newlines else "\n"
        return cls(path=path, text=text, bom=bom, eol=eol, final_newline=final_newline,
                   line_starts=tuple(starts))

    # -- conversion back to bytes -------------------------------------------------------
    def encode(self, text: str) -> bytes:
        data = text.encode("utf-8")
        return codecs.BOM_UTF8 + data if self.bom else data

    def to_bytes(self) -> bytes:
        return self.encode(self.text)

    # -- lines ---------------------------------------------------------------------------
    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def line_of(self, offset: int) -> int:
        """1-based line number holding ``offset``."""
        return bisect.bisect_right(self.line_starts, offset)

    def line_span(self, line: int, *, with_eol: bool = True) -> Span:
        """Span of 1-based ``line``, with or without its line ending."""
        start = self.line_starts[line - 1]
        end = self.line_starts[line] if line < len(self.line_starts) else len(self.text)
        if not with_eol:
            if end > start and self.text[end - 1] == "\n":
                end -= 1
                if end > start and self.text[end - 1] == "\r":
                    end -= 1
        return Span(start, end)

    def line_text(self, line: int) -> str:
        """Content of 1-based ``line`` without its line ending."""
        span = self.line_span(line, with_eol=False)
        return self.text[span.start:span.end]

    def line_texts(self) -> list[str]:
        """Every line's content without its line ending (``line_text`` of each, in one go)."""
        text, starts = self.text, self.line_starts
        out = []
        for start, end in zip(starts, [*starts[1:], len(text)]):
            line = text[start:end]
            if line.endswith("\n"):
                line = line[:-2] if line.endswith("\r\n") else line[:-1]
            out.append(line)
        return out
