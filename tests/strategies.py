"""Hypothesis strategies: Dockerfiles full of pip requirements stanzas, in every shape.

Shared by the property tests (``test_properties.py``) and reusable for revert
properties. Importing this module also registers the Hypothesis profiles:

- ``ci`` (the default): 300 examples per property, no deadline;
- ``nightly``: 5000 examples;
- ``dev``: 50 examples, for quick local iteration.

The active profile is, in order of precedence: pytest's ``--hypothesis-profile=NAME``,
the ``HYPOTHESIS_PROFILE`` environment variable, then ``ci``. (Hypothesis applies
``--hypothesis-profile`` when pytest starts, before this module is imported, so the
name must already be registered then: for a profile other than ``ci`` or ``default``
that needs ``tests/conftest.py`` to import this module. Without it, use
``HYPOTHESIS_PROFILE=nightly``.)

What the generators produce
---------------------------
``dockerfiles()`` draws a whole Dockerfile as bytes: parser directives (``syntax``,
``escape``, including the backtick escape Windows Dockerfiles use), global ARGs
used in ``FROM``, one to three stages (``FROM python:3.11-slim AS builder``, ``FROM
builder``, GPU/conda/Windows bases), venvs (``python -m venv`` + ``ENV PATH``), ARG/ENV
with defaults used in paths, requirements COPY + ``pip install -r`` stanzas (pip,
pip3, ``python -m pip``, venv pips, flags, ``&&`` chains around apt-get,
``--mount=type=cache``, exec form, heredocs), and unrelated instructions. The layout
is then rendered with random physical formatting: continuation lines split anywhere a
``&&`` or word boundary allows, comment lines and blank lines inside continuations,
spaces or tabs after the escape character, tab indentation, lower-case keywords, CRLF
line endings, a UTF-8 BOM, and no final newline.

Every generated file is a valid Dockerfile (BuildKit's parser accepts it); every
requirements file it names exists in ``CONTEXT_FILES`` unless the stanza is meant to
be refused (``missing/requirements.txt``, a URL).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# -- profiles ------------------------------------------------------------------------------
settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("nightly", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None)


def _profile_given_on_command_line() -> bool:
    return any(a == "--hypothesis-profile" or a.startswith("--hypothesis-profile=") for a in sys.argv)


# A profile chosen with --hypothesis-profile is left as it is (re-registering "ci" above
# updates it in place if that is the one). Otherwise, including when Hypothesis has
# loaded its own built-in "ci" profile because it detected a CI environment:
if not _profile_given_on_command_line():
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# -- the build context the generated Dockerfiles refer to ------------------------------------
_LOCK = """lock-version = "1.0"
requires-python = ">=3.9"
created-by = "tests"

[[packages]]
name = "six"
version = "1.16.0"
wheels = [{ url = "https://files.example.org/six-1.16.0-py2.py3-none-any.whl", hashes = { sha256 = "%s" } }]
""" % ("0" * 64)

# Two requirements folders have their lock, two do not yet (migrate --no-lock-check
# previews a migration before the lock exists).
CONTEXT_FILES: dict[str, str] = {
    "requirements.txt": "six==1.16.0\n",
    "pylock.toml": _LOCK,
    "backend/pylock.toml": _LOCK,
    "backend/requirements.txt": "six==1.16.0\nidna==3.7\n",
    "backend/.python-version": "3.11\n",
    "backend/main.py": "print('hi')\n",
    "app/requirements-dev.txt": "six==1.16.0\n",
    "reqs/base.txt": "six==1.16.0\n",
    "reqs/.python-version": "3.11\n",
    "src/app.py": "print('hi')\n",
}


def write_context(root: Path) -> Path:
    """Create ``CONTEXT_FILES`` under ``root`` (a build context for ``dockerfiles()``)."""
    for rel, text in CONTEXT_FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


# -- a tiny layout model --------------------------------------------------------------------
@dataclass(frozen=True)
class Ins:
    """One instruction: the renderer joins ``pieces`` with ``glue`` or breaks the line
    there with a continuation (``glue`` empty: a break inside a word, never joined);
    ``tail`` lines (heredoc bodies and terminators) are written verbatim after it."""

    pieces: tuple[str, ...]
    tail: tuple[str, ...] = ()
    glue: str = " "  # what separates a piece from the escape character / the next piece


@dataclass(frozen=True)
class Line:
    """A comment or blank line between instructions."""

    text: str


REQ_SOURCES = ("requirements.txt", "backend/requirements.txt", "app/requirements-dev.txt", "reqs/base.txt")
LAUNCHERS = (("pip",), ("pip3",), ("python", "-m", "pip"), ("python3", "-m", "pip"),
             ("/usr/local/bin/pip",), ("python3.11", "-m", "pip"))
VENV_LAUNCHERS = (("/opt/venv/bin/pip",), ("/opt/venv/bin/python", "-m", "pip"), ("/opt/venv/bin/pip3",))
PIP_OPTIONS = ("--no-cache-dir", "--upgrade", "-U", "--quiet", "-q", "--disable-pip-version-check",
               "--prefer-binary", "--no-compile", "--progress-bar=off", "--index-url=https://files.example.org/simple",
               "--root-user-action=ignore", "--no-warn-script-location", "--user", "--pre")
BEFORE = ("apt-get update", "apt-get install -y --no-install-recommends gcc libpq-dev",
          "pip install --upgrade pip", "python -m pip install --upgrade pip setuptools wheel",
          "mkdir -p /srv/data", "echo 'pip install -r requirements.txt'", "export DEBIAN_FRONTEND=noninteractive")
AFTER = ("rm -rf /var/lib/apt/lists/*", "apt-get purge -y --auto-remove gcc", "rm -rf /root/.cache",
         "pip check", "python -c 'import six'", "find / -name '*.pyc' -delete")
IMAGES = ("python:3.11-slim", "python:3.12", "python:3.11-slim-bookworm", "tiangolo/uvicorn-gunicorn:python3.11",
          "ghcr.io/astral-sh/uv:python3.11-bookworm-slim",
          "nvidia/cuda:12.1.0-runtime-ubuntu22.04", "continuumio/miniconda3",
          "mcr.microsoft.com/windows/servercore:ltsc2022", "ubuntu:22.04", "${BASE}", "python:${PY}-slim")
COMMENTS = ("# install dependencies", "#comment without a space", "# café ☕ — non-ASCII comment",
            "  # indented comment", "# pip install -r requirements.txt (in a comment)", "#",
            "# dockerlock: migrated by hand, not a record",
            # comments that begin like records (v1's and v2's opening words) but are not
            "# dockerlock: migrated pip -> uv; the api image was done by hand",
            "# dockerlock: replaced the base image by hand", "# dockerlock: ignore=DLK101")


def _word(draw, text: str) -> str:
    """Maybe quote a shell word (single or double quotes) when that is harmless."""
    how = draw(st.sampled_from(("plain", "plain", "plain", "double", "single")))
    if how == "double" and '"' not in text:
        return f'"{text}"'
    if how == "single" and "'" not in text and "$" not in text:
        return f"'{text}'"
    return text


@st.composite
def pip_words(draw, req_path: str, venv: bool) -> list[str]:
    """The words of one ``pip install ... -r <path>`` command."""
    launchers = LAUNCHERS + (VENV_LAUNCHERS if venv else ())
    words = list(draw(st.sampled_from(launchers))) + ["install"]
    opts = draw(st.lists(st.sampled_from(PIP_OPTIONS), max_size=3, unique=True))
    flag = draw(st.sampled_from(("-r", "-r", "--requirement", "--requirement=", "-r<attached>")))
    split = draw(st.integers(0, len(opts)))
    words += opts[:split]
    if flag.endswith("="):
        words.append(flag + req_path)
    elif flag == "-r<attached>":
        words.append("-r" + req_path)
    else:
        words += [flag, req_path]
    words += opts[split:]
    extra = draw(st.integers(0, 19))
    if extra == 0:
        words.append("gunicorn")  # installs a package besides the file: refused
    elif extra == 1:
        words += ["-c", req_path]  # a constraints file
    elif extra == 2:
        words += ["-r", req_path]  # the same file twice
    return words


@st.composite
def requirements_copy(draw, workdir: str | None) -> tuple[list[Ins | Line], str, str | None]:
    """Instructions that bring a requirements file into the image, its path there, and
    the WORKDIR in effect afterwards."""
    src = draw(st.sampled_from(REQ_SOURCES))
    base = src.rsplit("/", 1)[-1]
    kind = draw(st.sampled_from(("file", "dir", "workdir", "env", "arg", "json", "chown", "add", "dircopy",
                                 "missing", "url")))
    lead: list[Ins | Line] = []
    if kind == "file":
        dest = "/tmp/requirements.txt"
        return [Ins((f"COPY {src} {dest}",))], dest, workdir
    if kind == "dir":
        return [Ins((f"COPY {src} /tmp/",))], f"/tmp/{base}", workdir
    if kind == "workdir":
        if workdir is None:
            lead.append(Ins(("WORKDIR /app",)))
            workdir = "/app"
        path = draw(st.sampled_from((base, f"./{base}", f"{workdir}/{base}")))
        return lead + [Ins((f"COPY {src} .",))], path, workdir
    if kind == "env":
        var = draw(st.sampled_from(("ENV", "ARG")))
        lead.append(Ins((f"{var} REQ_DIR=/srv/reqs",)))
        path = draw(st.sampled_from((f"${{REQ_DIR}}/{base}", f"$REQ_DIR/{base}", f"/srv/reqs/{base}")))
        return lead + [Ins((f"COPY {src} ${{REQ_DIR}}/",))], path, workdir
    if kind == "arg":
        lead.append(Ins((f"ARG REQ_FILE={src}",)))
        return lead + [Ins(("COPY ${REQ_FILE} /tmp/requirements.txt",))], "/tmp/requirements.txt", workdir
    if kind == "json":
        return [Ins((f'COPY ["{src}", "/tmp/"]',))], f"/tmp/{base}", workdir
    if kind == "chown":
        return [Ins((f"COPY --chown=1000:1000 --chmod=644 {src} /opt/reqs/",))], f"/opt/reqs/{base}", workdir
    if kind == "add":
        return [Ins((f"ADD {src} /tmp/{base}",))], f"/tmp/{base}", workdir
    if kind == "dircopy":
        if workdir is None:
            lead.append(Ins(("WORKDIR /app",)))
            workdir = "/app"
        return lead + [Ins(("COPY . .",))], draw(st.sampled_from((src, f"{workdir}/{src}"))), workdir
    if kind == "missing":
        return [Ins(("COPY missing/requirements.txt /tmp/requirements.txt",))], "/tmp/requirements.txt", workdir
    return [], "https://files.example.org/requirements.txt", workdir  # url: downloaded at build time


def _chain(draw, command: str) -> list[str]:
    """``before && ... && command && ... && after`` as pieces split at each ``&&``."""
    before = draw(st.lists(st.sampled_from(BEFORE), max_size=2, unique=True))
    after = draw(st.lists(st.sampled_from(AFTER), max_size=2, unique=True))
    parts = before + [command] + after
    pieces: list[str] = []
    for i, part in enumerate(parts):
        if i == 0:
            pieces.append(part)
            continue
        sep = draw(st.sampled_from(("&&", "&&", "&&", ";")))
        if draw(st.booleans()):
            pieces[-1] += f" {sep}"
            pieces.append(part)
        else:
            pieces.append(f"{sep} {part}")
    return pieces


@st.composite
def pip_run(draw, req_path: str, venv: bool) -> Ins:
    """The RUN instruction holding the pip command, in shell, exec or heredoc form."""
    words = draw(pip_words(req_path, venv))
    form = draw(st.sampled_from(("shell", "shell", "shell", "split", "midword", "exec", "heredoc",
                                 "heredoc-chomp", "heredoc-bash", "compound", "double")))
    mount = draw(st.sampled_from(("", "", "--mount=type=cache,target=/root/.cache/pip ",
                                  "--mount=type=cache,target=/root/.cache/pip,sharing=locked ",
                                  "--mount=type=cache,id=pip,target=/root/.cache/pip --network=default ")))
    if form == "exec":
        import json

        return Ins((f"RUN {json.dumps(words)}",))
    quoted = [_word(draw, w) if w == req_path else w for w in words]
    command = " ".join(quoted)
    prefix = draw(st.integers(0, 11))
    if prefix == 0:
        command = "PIP_NO_CACHE_DIR=1 " + command
    elif prefix == 1:
        command = "cd /srv && " + command
    elif prefix == 2:
        command = "pip install --upgrade pip wheel && " + command  # a second pip command in the RUN
    if form.startswith("heredoc"):
        body = [draw(st.sampled_from(("set -eux", "set -e", "apt-get update")))] if draw(st.booleans()) else []
        body.append(command)
        if draw(st.booleans()):
            body.append(draw(st.sampled_from(AFTER)))
        if form == "heredoc-chomp":
            return Ins((f"RUN {mount}<<-EOF",), tuple("\t" + b for b in body) + ("\tEOF",))
        if form == "heredoc-bash":
            return Ins((f"RUN {mount}bash <<'SCRIPT'",), tuple(body) + ("SCRIPT",))
        return Ins((f"RUN {mount}<<EOF",), tuple(body) + ("EOF",))
    if form == "compound":
        # control flow around the command: dockerlock must leave it alone
        shape = draw(st.sampled_from(("(cd /tmp && {c})", "if [ -f /etc/os-release ]; then {c}; fi",
                                      "{c} || true", "{c} | tee /tmp/pip.log", "{ {c}; }",
                                      "for i in 1; do {c}; done")))
        return Ins((f"RUN {mount}" + shape.replace("{c}", command),))
    if form == "double":
        # the same file installed twice in one RUN (two stanzas in one instruction)
        pieces = _chain(draw, f"{command} && {command}")
        return Ins((f"RUN {mount}{pieces[0]}", *pieces[1:]))
    if form == "midword":
        # a continuation inside a word: BuildKit joins the lines with nothing between
        full = f"RUN {mount}{command}"
        at = draw(st.integers(5 + len(mount), len(full) - 1))
        return Ins((full[:at], full[at:]), glue="")
    if form == "split":
        # one continuation inside the pip command itself, between two words
        at = draw(st.integers(1, len(quoted) - 1))
        pieces = [" ".join(quoted[:at]), " ".join(quoted[at:])]
        head = [f"RUN {mount}".rstrip()] if mount and draw(st.booleans()) else []
        if head:
            return Ins(tuple(head + pieces))
        return Ins((f"RUN {mount}{pieces[0]}", pieces[1]))
    pieces = _chain(draw, command)
    if mount and draw(st.booleans()):
        return Ins((f"RUN {mount}".rstrip(), *pieces))
    return Ins((f"RUN {mount}{pieces[0]}", *pieces[1:]))


@st.composite
def stanza(draw, workdir: str | None, venv: bool) -> tuple[list[Ins | Line], str | None]:
    """A requirements COPY and the pip RUN that installs it; and the WORKDIR after them."""
    copy, path, workdir = draw(requirements_copy(workdir))
    out: list[Ins | Line] = list(copy)
    if draw(st.integers(0, 3)) == 0:
        out.append(Line(draw(st.sampled_from(COMMENTS))))
    out.append(draw(pip_run(path, venv)))
    return out, workdir


def _copied_paths(items: list[Ins | Line]) -> list[str]:
    """Image paths the pip RUN of a stanza installs from (to reinstall them later)."""
    out = []
    for item in items:
        if isinstance(item, Ins) and item.pieces[0].lstrip().upper().startswith("RUN"):
            text = " ".join(item.pieces + item.tail)
            for word in text.replace("=", " ").split():
                word = word.strip("\"'[],")
                if word.startswith("/") and word.endswith(".txt"):
                    out.append(word)
    return out


VENV_BLOCKS = (
    [Ins(("RUN python -m venv /opt/venv",)), Ins(('ENV PATH="/opt/venv/bin:$PATH"',))],
    [Ins(('ENV PATH="/opt/venv/bin:$PATH"',)), Ins(("RUN python3 -m venv /opt/venv",))],
    [Ins(("ENV VIRTUAL_ENV=/opt/venv",)), Ins(("RUN python -m venv $VIRTUAL_ENV",)),
     Ins(('ENV PATH="$VIRTUAL_ENV/bin:$PATH"',))],
    [Ins(("RUN python -m venv /opt/venv",))],  # not on PATH: only /opt/venv/bin/pip targets it
)

UNRELATED = (
    [Ins(("RUN apt-get update", "&& apt-get install -y --no-install-recommends build-essential curl",
          "&& rm -rf /var/lib/apt/lists/*"))],
    [Ins(("COPY . .",))],
    [Ins(("COPY src/ /app/src/",))],
    [Ins(('CMD ["python", "main.py"]',))],
    [Ins(("CMD python main.py",))],
    [Ins(("EXPOSE 8000",))],
    [Ins(('LABEL org.opencontainers.image.title="demo app" version="1.0"',))],
    [Ins(("USER 1000",))],
    [Ins(('ENTRYPOINT ["python", "-m", "app"]',))],
    [Ins(("HEALTHCHECK --interval=30s CMD curl -f http://localhost:8000/ || exit 1",))],
    [Ins(("RUN pip install gunicorn==22.0.0",))],
    [Ins(("RUN pip install --upgrade pip",))],
    [Ins(("ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1",))],
    [Ins(("ARG APP_VERSION=1.0",))],
    [Ins(("WORKDIR /srv",))],
    [Ins(("RUN <<EOF",), ("echo building", "EOF"))],
    [Ins(('RUN ["echo", "exec form"]',))],
    [Ins(("RUN echo 'not a pip command: pip install -r requirements.txt'",))],
    [Ins(("SHELL [\"/bin/bash\", \"-c\"]",))],
    [Ins(("ONBUILD COPY requirements.txt /tmp/requirements.txt",)),
     Ins(("ONBUILD RUN pip install -r /tmp/requirements.txt",))],
    [Ins(("COPY <<EOF /tmp/requirements.txt",), ("six==1.16.0", "EOF")),
     Ins(("RUN pip install -r /tmp/requirements.txt",))],
    [Ins(("RUN --mount=type=bind,source=requirements.txt,target=/tmp/req.txt pip install -r /tmp/req.txt",))],
    [Ins(("ARG UNSET_DIR",)), Ins(("RUN pip install -r $UNSET_DIR/requirements.txt",))],
    [Ins(("RUN --network=none --mount=type=secret,id=netrc pip install --no-index -r /tmp/requirements.txt",))],
    [Ins(("COPY --from=ghcr.io/astral-sh/uv:0.5.0 /uv /uvx /bin/",))],
    [Ins(("WORKDIR app",))],
    [Ins(("COPY --from=builder /tmp/requirements.txt /tmp/requirements.txt",)),
     Ins(("RUN pip install -r /tmp/requirements.txt",))],
    [Ins(("COPY --link requirements.txt /tmp/linked/",)), Ins(("RUN pip install -r /tmp/linked/requirements.txt",))],
)


@st.composite
def stage(draw, names: list[str], windows: bool, global_args: bool, copied: list[str]) -> list[Ins | Line]:
    """One build stage: FROM, then a mix of venvs, stanzas and unrelated instructions.

    ``names`` holds the earlier stages' names (this stage's is appended); ``copied``
    the image paths of requirements files copied so far (this stage's are appended)."""
    earlier = list(names)
    parent = None
    if windows:
        image = "mcr.microsoft.com/windows/servercore:ltsc2022"
    elif earlier and draw(st.booleans()):
        parent = image = draw(st.sampled_from(earlier))
    else:
        pool = IMAGES if global_args else IMAGES[:-2]
        image = draw(st.sampled_from(pool[:4])) if draw(st.integers(0, 3)) else draw(st.sampled_from(pool))
    name = draw(st.sampled_from((None, "builder", "build", "runtime", "final")))
    if name in earlier:
        name = None
    platform = "--platform=$BUILDPLATFORM " if draw(st.integers(0, 9)) == 0 else ""
    alias = f" {draw(st.sampled_from(('AS', 'as')))} {name}" if name else ""
    out: list[Ins | Line] = [Ins((f"FROM {platform}{image}{alias}",))]
    if name:
        names.append(name)
    venv = False
    workdir = None
    if parent is None and earlier and draw(st.booleans()):
        out += [Ins((f"COPY --from={draw(st.sampled_from(earlier))} /opt/venv /opt/venv",)),
                Ins(('ENV PATH="/opt/venv/bin:$PATH"',))]
        venv = True
    blocks = draw(st.lists(st.sampled_from(("venv", "stanza", "stanza", "unrelated", "unrelated", "comment",
                                            "blank", "workdir", "reuse")), min_size=1, max_size=7))
    for kind in blocks:
        if kind == "venv" and not venv:
            out += draw(st.sampled_from(VENV_BLOCKS))
            venv = True
        elif kind == "stanza":
            items, workdir = draw(stanza(workdir, venv))
            out += items
            copied.extend(_copied_paths(items))
        elif kind == "reuse" and copied:
            # install a file copied earlier, in this stage or in another one
            out.append(draw(pip_run(draw(st.sampled_from(copied)), venv)))
        elif kind == "unrelated":
            block = draw(st.sampled_from(UNRELATED))
            out += block
            if block[0].pieces[0].startswith("WORKDIR"):
                workdir = "/srv"
        elif kind == "comment":
            out.append(Line(draw(st.sampled_from(COMMENTS))))
        elif kind == "blank":
            out.append(Line(draw(st.sampled_from(("", "   ", "\t")))))
        elif kind == "workdir" and workdir is None:
            out.append(Ins(("WORKDIR /app",)))
            workdir = "/app"
    return out


@st.composite
def layouts(draw, windows: bool | None = None) -> tuple[list[str], list[Ins | Line]]:
    """(directive lines, body) of a Dockerfile before physical formatting."""
    backtick = draw(st.integers(0, 7)) == 0 if windows is None else windows
    directives: list[str] = []
    if draw(st.integers(0, 4)) == 0:
        directives.append("# syntax=docker/dockerfile:1")
    if backtick:
        directives.append("# escape=`")
    elif draw(st.integers(0, 9)) == 0:
        directives.append("# escape=\\")
    body: list[Ins | Line] = []
    if directives and draw(st.booleans()):
        body.append(Line(""))
    global_args = draw(st.integers(0, 2)) == 0
    if global_args:
        body += [Ins(("ARG PY=3.11",)), Ins(("ARG BASE=python:3.11-slim",))]
    names: list[str] = []
    copied: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        body += draw(stage(names, bool(windows), global_args, copied))
        if draw(st.booleans()):
            body.append(Line(""))
    return directives, body


@dataclass(frozen=True)
class Style:
    eol: str
    bom: bool
    final_newline: bool
    indent: str
    lower: bool


@st.composite
def styles(draw) -> Style:
    return Style(eol=draw(st.sampled_from(("\n", "\n", "\r\n", "mixed"))), bom=draw(st.integers(0, 5)) == 0,
                 final_newline=draw(st.integers(0, 5)) != 0,
                 indent=draw(st.sampled_from(("    ", "  ", "\t", "", " \t"))), lower=draw(st.integers(0, 9)) == 0)


def _render(draw, directives: list[str], body: list[Ins | Line], style: Style, escape: str) -> str:
    lines: list[str] = list(directives)
    for item in body:
        if isinstance(item, Line):
            lines.append(item.text)
            continue
        first = item.pieces[0]
        keyword, _, rest = first.partition(" ")
        if style.lower and draw(st.booleans()):
            keyword = keyword.lower()
        sep = "\t" if draw(st.integers(0, 9)) == 0 else " "
        lead = draw(st.sampled_from(("", "", "", "  ", "\t")))
        current = f"{lead}{keyword}{sep}{rest}" if rest else f"{lead}{keyword}"
        for piece in item.pieces[1:]:
            if draw(st.integers(0, 4)) == 0 and item.glue:
                current += item.glue + piece  # no break here
                continue
            trailing = draw(st.sampled_from(("", "", "", " ", "  ", "\t")))
            lines.append(f"{current}{item.glue}{escape}{trailing}")
            for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 2)) == 0 else 0):
                lines.append(draw(st.sampled_from(("", "   ", "\t", style.indent + "# comment inside a continuation",
                                                   "# apt packages", "#", "  # trailing spaces  "))))
            current = (style.indent if item.glue else "") + piece
        lines.append(current)
        lines.extend(item.tail)
    if style.eol == "mixed":  # each line ends in LF or CRLF (editors on two systems)
        ends = [draw(st.sampled_from(("\n", "\r\n"))) for _ in lines]
        text = "".join(line + end for line, end in zip(lines, ends))
        return text if style.final_newline else text[:-len(ends[-1])]
    text = style.eol.join(lines)
    if style.final_newline:
        text += style.eol
    return text


@st.composite
def dockerfile_texts(draw, windows: bool | None = None) -> str:
    directives, body = draw(layouts(windows))
    style = draw(styles())
    escape = "`" if "# escape=`" in directives else "\\"
    text = _render(draw, directives, body, style, escape)
    return ("\ufeff" if style.bom else "") + text


@st.composite
def dockerfiles(draw, windows: bool | None = None) -> bytes:
    """A whole Dockerfile as bytes (UTF-8, maybe with a BOM)."""
    return draw(dockerfile_texts(windows)).encode("utf-8")


# -- mutations of real Dockerfiles ---------------------------------------------------------
MUTATIONS = ("comment_in_continuation", "blank_continuation_line", "spaces_after_escape", "crlf",
             "drop_final_newline", "bom")


def _continued(line: str, escape: str) -> bool:
    return line.rstrip(" \t").endswith(escape) and not line.lstrip().startswith("#")


def mutate(data: bytes, chosen: set[str], seed: int) -> bytes:
    """Apply formatting mutations that keep a Dockerfile's meaning for BuildKit.

    ``seed`` picks which continuation lines get a mutation (deterministic, so
    Hypothesis can shrink it).
    """
    bom = data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode("utf-8") if bom else data.decode("utf-8")
    escape = "`" if any(line.strip().replace(" ", "").lower() == "#escape=`"
                        for line in text.splitlines()[:5]) else "\\"
    crlf = "crlf" in chosen
    lines = text.replace("\r\n", "\n").split("\n")
    final_newline = lines[-1] == ""
    if final_newline:
        lines.pop()
    heredoc_lines = _heredoc_body_lines(lines)
    out: list[str] = []
    for i, line in enumerate(lines):
        pick = (seed >> (i % 60)) & 1
        if i in heredoc_lines or not _continued(line, escape) or not pick:
            out.append(line)
            continue
        if "spaces_after_escape" in chosen:
            line = line.rstrip(" \t") + ("  " if i % 2 else " \t")
        out.append(line)
        if "comment_in_continuation" in chosen:
            out.append("    # mutation: a comment inside the continuation")
        if "blank_continuation_line" in chosen:
            out.append("" if i % 3 else "   ")
    eol = "\r\n" if crlf else "\n"
    text = eol.join(out)
    if final_newline and "drop_final_newline" not in chosen:
        text += eol
    result = text.encode("utf-8")
    if bom or "bom" in chosen:
        result = b"\xef\xbb\xbf" + result
    return result


def _heredoc_body_lines(lines: list[str]) -> set[int]:
    """Indexes of lines inside heredoc bodies (roughly: after ``<<WORD`` until ``WORD``)."""
    import re

    inside: set[int] = set()
    pending: list[tuple[str, bool]] = []
    for i, line in enumerate(lines):
        if pending:
            inside.add(i)
            name, chomp = pending[0]
            if (line.lstrip("\t") if chomp else line) == name:
                pending.pop(0)
            continue
        if line.lstrip().startswith("#"):
            continue
        for m in re.finditer(r"(?<![<\w])\d*<<(-?)(['\"]?)([A-Za-z_][\w.-]*)\2", line):
            pending.append((m.group(3), m.group(1) == "-"))
    return inside


# -- shell scripts (the shell layer's offset properties) -------------------------------------
# Words as a RUN script writes them, with the value the shell gives them (None: dynamic).
_SH_PLAIN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=+,@%-",
                    min_size=1, max_size=8)
# no backtick: after a backtick substitution tree-sitter-bash reads one inside quotes as
# code (a syntax error dockerlock refuses, see test_shell.ERRORS)
_SH_QUOTED = st.text(alphabet="abcdefghijklmnopqrstuvwxyz &|;<>()#*?$\\\"'é€", max_size=8)
_SH_RESERVED = {"if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for",
                "select", "function", "in", "{", "}", "!", "[[", "]]", "time", "coproc", "[", "declare",
                "export", "local", "readonly", "typeset", "unset"}


@st.composite
def shell_words(draw) -> tuple[str, str | None]:
    """(raw, value) for one shell word: plain, quoted, escaped, expansions, substitutions."""
    kind = draw(st.sampled_from(["plain", "single", "double", "escaped", "var", "mixed", "subst", "ansi"]))
    if kind == "plain":
        raw = draw(_SH_PLAIN)
        return raw, raw
    if kind == "single":
        inner = draw(_SH_QUOTED.filter(lambda t: "'" not in t))
        return f"'{inner}'", inner
    if kind == "double":
        inner = draw(_SH_QUOTED.filter(lambda t: not any(c in t for c in "$`\\\"")))
        return f'"{inner}"', inner
    if kind == "escaped":
        # not \` : tree-sitter-bash misreads it after a backtick substitution (test_shell.ERRORS)
        a, b = draw(_SH_PLAIN), draw(st.sampled_from(list(" &|;<>()'\"$*")))
        return f"{a}\\{b}", a + b
    if kind == "var":
        name = draw(st.sampled_from(["HOME", "X", "UV_VERSION"]))
        return draw(st.sampled_from([f"${name}", f"${{{name}}}", f'"${{{name}:-d}}"', f"a${name}b"])), None
    if kind == "mixed":
        a, b = draw(_SH_PLAIN), draw(_SH_PLAIN)
        return f"{a}'{b}'\"{a}\"", a + b + a
    if kind == "ansi":
        return "$'a\\tb'", "a\tb"
    # a bare backtick substitution at most once per command: tree-sitter-bash reads `a` `b`
    # as one substitution (dockerlock refuses that, see test_shell.ERRORS)
    return draw(st.sampled_from(["$(echo hi)", '"`echo hi`"', '"$(echo hi)"'])), None


@st.composite
def shell_commands(draw) -> list[tuple[str, str | None]]:
    # A command name is a plain name: tree-sitter-bash cannot read `1@` or `a@b` as one (the
    # shell can; dockerlock refuses such a RUN, see test_shell.ERRORS).
    name = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)) + \
        draw(st.sampled_from(["", "3", "_x", ".sh", "-get"]))
    if name in _SH_RESERVED:
        name = "cmd"
    return [(name, name)] + draw(st.lists(shell_words(), max_size=4))


SHELL_SEPARATORS = [("&&", " && "), ("||", " || "), (";", "; "), ("|", " | "), ("&", " & "),
                    ("\n", "\n"), ("&&", " &&\\\n    "), ("&&", " &&     "), ("\n", "  # note\n")]


@st.composite
def shell_compound_scripts(draw) -> str:
    """Nested subshells, groups, if/while/for/case, functions and substitutions."""
    simple = st.sampled_from(["a", "b x", "pip install -r r.txt", 'echo "$X"', "c > f", "A=1 B=2",
                              "cat <<EOF\nbody $(d)\nEOF", "[[ -f r && -s r ]]", "x=$(y; z)"])

    def body(depth: int) -> str:
        if depth > 2 or draw(st.booleans()):
            return draw(simple)
        kind = draw(st.sampled_from(["sub", "brace", "if", "while", "for", "case", "func", "subst", "list"]))
        inner = body(depth + 1)
        if kind == "sub":
            return f"( {inner} )"  # `((` would open an arithmetic command
        if kind == "brace":
            return f"{{ {inner}\n}}"
        if kind == "if":
            return f"if {draw(simple)}\nthen {inner}\nelse b; fi"
        if kind == "while":
            return f"while {draw(simple)}\ndo {inner}\ndone"
        if kind == "for":
            return f"for i in 1 $(seq 2); do {inner}\ndone"
        if kind == "case":
            return f"case $V in\n a|b) {inner} ;;\n *) c ;;\nesac"
        if kind == "func":
            return f"f() {{ {inner}\n}}"
        if kind == "subst":
            return f"echo \"$( {inner}\n)\" `date`"
        op = draw(st.sampled_from([" && ", " || ", "; ", " | ", "\n"]))
        return f"{inner}{op}{body(depth + 1)}"

    return body(0)


# The shell properties are cheap to check but costly to generate: a quarter of the profile.
SHELL_EXAMPLES = max(50, settings.default.max_examples // 4)

# Values a generated word may hold (anything but a line break or NUL).
quotable_values = st.text(st.characters(blacklist_characters="\n\r\0", blacklist_categories=("Cs",)), max_size=20)
