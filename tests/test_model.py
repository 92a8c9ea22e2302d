"""The lossless model: BuildKit agreement (oracle), byte-exact round trip, features."""

from __future__ import annotations

from pathlib import Path

import dockerfile
import pytest

from conftest import corpus_params, model_fixtures
from dockerlock.diagnostics import DecodeError, DockerfileSyntaxError
from dockerlock.edits import apply_edits
from dockerlock.model import Dockerfile
from dockerlock.source import Source

# Deliberate differences from BuildKit's *parser* (dockerfile.parse_string). BuildKit
# parses these but its build then fails, or (trailing escape) silently drops the escape;
# dockerlock refuses to rewrite them and says why.
DELIBERATE = {
    # A fragment with RUN lines and no FROM: "no build stage" at build time.
    "030__alamin516__ai-text-to-speech__Dockerfile": "no FROM instruction",
    # A Jinja template ({% ... %} lines) rather than a Dockerfile.
    "039__cookiecutter__cookiecutter-django__cookiecutter.project_slug--compose--production--django--Dockerfile":
        "before the first FROM",
}


def buildkit_view(data: bytes):
    text = data.decode("utf-8-sig")
    return [(c.cmd.upper(), c.start_line, c.end_line) for c in dockerfile.parse_string(text)]


def our_view(data: bytes, path: str = "<t>"):
    df = Dockerfile.from_bytes(data, path)
    return [(i.keyword, i.start_line, i.end_line) for i in df.instructions]


def assert_oracle(path: Path) -> None:
    data = path.read_bytes()
    if path.name in DELIBERATE:
        with pytest.raises(DockerfileSyntaxError, match=DELIBERATE[path.name]):
            Dockerfile.from_bytes(data, str(path))
        buildkit_view(data)  # ... while BuildKit's parser accepts it
        return
    try:
        expected = buildkit_view(data)
    except dockerfile.GoParseError:
        with pytest.raises(DockerfileSyntaxError):
            Dockerfile.from_bytes(data, str(path))
        return
    assert our_view(data, str(path)) == expected
    # the masked text given to dockerfile-parse locates every instruction the same way
    assert Dockerfile.from_bytes(data).corrections == ()


@pytest.mark.parametrize("path", model_fixtures(), ids=lambda p: p.name)
def test_fixture_instructions_match_buildkit(path):
    assert_oracle(path)


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_corpus_instructions_match_buildkit(path):
    assert_oracle(path)


@pytest.mark.parametrize("path", model_fixtures(), ids=lambda p: p.name)
def test_fixture_round_trip_is_byte_exact(path):
    data = path.read_bytes()
    df = Dockerfile.from_bytes(data)
    assert df.source.encode(apply_edits(df.source.text, [])) == data


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_corpus_round_trip_is_byte_exact(path):
    data = path.read_bytes()
    source = Source.from_bytes(data)
    assert source.encode(apply_edits(source.text, [])) == data
    # CRLF and no-final-newline variants of every corpus file round-trip too
    for variant in (data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), data.rstrip(b"\r\n")):
        src = Source.from_bytes(variant)
        assert src.encode(apply_edits(src.text, [])) == variant


SNIPPETS = {
    "blank continuation line": "FROM x\nRUN a \\\n\n  b\nRUN c\n",
    "backslash then spaces": "FROM x\nRUN a \\  \n  b\nRUN c\n",
    "comment in continuation": "FROM x\nRUN a \\\n  # note\n  b\n",
    "heredoc several per line": "FROM x\nRUN <<A <<-B\nx\nA\n\ty\n\tB\nRUN z\n",
    "heredoc quoted delimiter": "FROM x\nRUN python3 <<'PY'\nprint(1)\nPY\n",
    "heredoc with fd": "FROM x\nRUN cat 3<<EOF\nx\nEOF\n",
    "heredoc not in exec form": 'FROM x\nRUN ["a", "<<EOF"]\nCMD b\n',
    "here-string is not a heredoc": "FROM x\nRUN cat <<<word\nRUN b\n",
    "escape backtick": "# escape=`\nFROM x\nRUN a `\n  b\nRUN c \\\nCMD d\n",
    "crlf": "FROM x\r\nRUN a \\\r\n  b\r\n",
    "lower case and indent": "FROM x\n  run a\n\tcopy b c\n",
    "tabs": "FROM\tx\nRUN\ta \\\n\tb\n",
    "directive then blank stops directives": "# syntax=docker/dockerfile:1\n\n# escape=`\nFROM x\nRUN a \\\n  b\n",
}


@pytest.mark.parametrize("text", SNIPPETS.values(), ids=SNIPPETS.keys())
def test_snippets_match_buildkit(text):
    data = text.encode()
    assert our_view(data) == buildkit_view(data)
    df = Dockerfile.from_bytes(data)
    assert df.source.encode(df.source.text) == data


@pytest.mark.parametrize("name", ["blank continuation line",
                                  "heredoc several per line", "heredoc quoted delimiter"])
def test_prescan_masks_fix_what_dockerfile_parse_gets_wrong(name):
    import io

    from dockerfile_parse import DockerfileParser

    text = SNIPPETS[name]
    raw = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    raw_view = [(s["instruction"], s["startline"] + 1, s["endline"] + 1)
                for s in raw.structure if s["instruction"] != "COMMENT"]
    assert raw_view != buildkit_view(text.encode())       # unmasked, it is wrong...
    df = Dockerfile.from_text(text)
    assert df.corrections == ()                           # ...masked, it agrees with the pre-scan
    assert our_view(text.encode()) == buildkit_view(text.encode())


def test_source_facts():
    src = Source.from_bytes(b"\xef\xbb\xbfFROM x\r\nRUN a\r\nRUN b")
    assert src.bom and src.eol == "\r\n" and not src.final_newline
    assert src.text.startswith("FROM")
    assert src.line_count == 3 and src.line_text(2) == "RUN a"
    assert Source.from_bytes(b"FROM x\nRUN a\n").eol == "\n"


def test_instruction_details():
    text = ("ARG PY=3.11\nFROM --platform=linux/arm64 python:${PY}-slim AS base\n"
            "RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \\\n"
            "    pip install -r r.txt\n"
            'RUN ["pip", "install", "-r", "r.txt"]\n'
            "COPY --chown=app:app --chmod=644 --link a b\n")
    df = Dockerfile.from_text(text)
    stage = df.stages[0]
    assert stage.image == "python:${PY}-slim" and stage.image_expanded == "python:3.11-slim"
    assert stage.platform == "linux/arm64" and stage.name == "base"
    run = df.instructions[2]
    mount = run.flag("mount")
    assert mount.options() == {"type": "cache", "target": "/root/.cache/pip", "sharing": "locked"}
    assert run.body == "pip install -r r.txt" and run.form == "shell"
    # logical text maps back to the exact source characters
    start = run.logical.text.index("pip")
    span = run.logical.source_span(start, start + 3)
    assert df.source.text[span.start:span.end] == "pip"
    assert df.instructions[3].exec_args == ("pip", "install", "-r", "r.txt")
    copy = df.instructions[4]
    assert [(f.name, f.value) for f in copy.flags] == [("chown", "app:app"), ("chmod", "644"), ("link", None)]


def test_heredoc_bodies():
    df = Dockerfile.from_text(SNIPPETS["heredoc several per line"])
    run = df.instructions[1]
    assert [(h.name, h.chomp, h.body) for h in run.heredocs] == [("A", False, "x\n"), ("B", True, "\ty\n")]
    assert (run.start_line, run.end_line) == (2, 6)
    quoted = Dockerfile.from_text(SNIPPETS["heredoc quoted delimiter"]).instructions[1].heredocs[0]
    assert quoted.name == "PY" and not quoted.expand


def test_scope_and_workdir():
    df = Dockerfile.from_bytes((Path(__file__).parent / "fixtures/model/args-stages.Dockerfile").read_bytes())
    last = df.instructions[-1]
    values = df.values_at(last)
    assert values["VENV"] == "/opt/venv"          # ENV inherited from the parent stage
    assert values["PATH"] is None                 # $PATH comes from the base image: unknown
    assert "PY" not in values                     # ARG does not cross into a child stage
    assert df.workdir_at(last) == "/srv/app/sub"  # relative WORKDIR resolved, inherited
    assert df.stages[1].parent == 0
    assert df.expand_at(last, "${VENV}/bin/python") == "/opt/venv/bin/python"
    run_in_base = df.stages[0].instructions[-1]
    assert df.values_at(run_in_base)["PY"] == "3.11"   # ARG PY takes the global default


BAD = [
    (b"", DockerfileSyntaxError, "empty file"),
    (b"# only a comment\n\n", DockerfileSyntaxError, "no instructions"),
    (b"FROM x\nRUN a \\", DockerfileSyntaxError, "continuation at end of file"),
    (b"FROM x\nRUN a \\\n# trailing comment\n", DockerfileSyntaxError, "continuation at end of file"),
    (b"FROM x\nRUN <<EOF\nbody\n", DockerfileSyntaxError, "unterminated heredoc"),
    (b"FROM x\nRUN \xff\xfe\n", DecodeError, "not valid UTF-8"),
    (b"\xff\xfeF\x00R\x00", DecodeError, "UTF-16"),
    (b"\x7fELF\x02\x01\x01\x00\x00", DecodeError, "binary"),
    (b"# escape=x\nFROM x\n", DockerfileSyntaxError, "invalid escape"),
    (b"# escape=`\n# escape=\\\nFROM x\n", DockerfileSyntaxError, "only one"),
]


@pytest.mark.parametrize("data,error,message", BAD, ids=[b[2] for b in BAD])
def test_bad_input_raises_typed_error_with_location(data, error, message):
    with pytest.raises(error, match=message) as info:
        Dockerfile.from_bytes(data, "some/Dockerfile")
    assert info.value.path == "some/Dockerfile"
    assert info.value.line is not None
    assert str(info.value).startswith(f"some/Dockerfile:{info.value.line}: ")
