"""Seeded mutants of Dockerfiles for ``test_fuzz``: the shapes dockerlock handles, mutated.

``make_mutant(seed)`` is deterministic: the same seed gives the same bytes and the same
build context, so a failure is reproduced by its seed alone.

Bases: the real Dockerfiles of ``../shared/corpus`` (when present) and ``SHAPES``, small
Dockerfiles written for the shapes dockerlock converts or must refuse (chains, heredocs,
exec form, ``sh -c``, bind mounts, ``--user``/``--target``/``--prefix``, ARG and quoted
paths, WORKDIR changes, the backtick escape, comments and blank lines in continuations).

Mutations (one to three per mutant, from ``TEXT_MUTATIONS``, then maybe one of
``BYTE_MUTATIONS``) change formatting (whitespace, continuation splits, comments and blank
lines inside continuations, CRLF, BOM), quoting of paths, add ``cd``, move WORKDIR,
duplicate stanzas, insert unknown instructions and record-like comments, change the form
of a RUN (exec form, ``sh -c``, heredoc), and break the file (truncation, bit flips, NUL
bytes, Latin-1). Many mutants are no longer valid Dockerfiles; that is the point.

``fuzz_context.write_context`` builds the build context that fits a mutant.
"""

from __future__ import annotations

import json
import os
import posixpath
import random
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from conftest import corpus_dockerfiles
from strategies import _heredoc_body_lines, mutate

SHAPES: dict[str, str] = {
    "workdir-dot": "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
                   "RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nCMD [\"python\", \"app.py\"]\n",
    "chain": "FROM python:3.12\nCOPY requirements.txt /tmp/requirements.txt\n"
             "RUN apt-get update \\\n    && pip install --upgrade pip \\\n"
             "    && pip install -r /tmp/requirements.txt \\\n    && rm -rf /var/lib/apt/lists/*\n",
    "venv-stages": "FROM python:3.11 AS builder\nENV PATH=\"/opt/venv/bin:$PATH\"\nRUN python -m venv /opt/venv\n"
                   "COPY backend/requirements.txt /tmp/requirements.txt\n"
                   "RUN pip install --no-cache-dir --upgrade -r /tmp/requirements.txt\n\n"
                   "FROM python:3.11-slim\nWORKDIR /app\nCOPY --from=builder /opt/venv /opt/venv\n"
                   "ENV PATH=\"/opt/venv/bin:$PATH\"\nCOPY backend/ .\n",
    "heredoc": "# syntax=docker/dockerfile:1\nFROM python:3.11-slim\nCOPY requirements.txt /tmp/\n"
               "RUN <<EOF\nset -eux\npip install -r /tmp/requirements.txt\nEOF\n",
    "heredoc-bash": "FROM python:3.11-slim\nWORKDIR /srv\nCOPY requirements.txt ./\n"
                    "RUN bash <<'SCRIPT'\ncd /srv\npython3 -m pip install -r requirements.txt\nSCRIPT\n",
    "exec": "FROM python:3.11-slim\nCOPY requirements.txt /tmp/\n"
            "RUN [\"pip\", \"install\", \"-r\", \"/tmp/requirements.txt\"]\n",
    "sh-c": "FROM python:3.11-slim\nCOPY requirements.txt /tmp/\n"
            "RUN sh -c 'pip install -r /tmp/requirements.txt && pip check'\n",
    "bind-mount": "FROM python:3.11-slim\nWORKDIR /app\n"
                  "RUN --mount=type=cache,target=/root/.cache/pip \\\n"
                  "    --mount=type=bind,source=requirements.txt,target=requirements.txt \\\n"
                  "    python -m pip install -r requirements.txt\nCOPY . .\n",
    "user": "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --user -r requirements.txt\n",
    "target": "FROM python:3.12-slim\nWORKDIR /var/task\nCOPY requirements.txt .\n"
              "RUN pip install -r requirements.txt --target \"/var/task/deps\"\n",
    "prefix": "FROM python:3.11-slim AS builder\nCOPY requirements.txt /tmp/\n"
              "RUN pip install --prefix=/install -r /tmp/requirements.txt\n"
              "FROM python:3.11-slim\nCOPY --from=builder /install /usr/local\n",
    "arg-path": "FROM python:3.11-slim\nWORKDIR /app\nARG REQ=/tmp/requirements.txt\n"
                "COPY requirements.txt /tmp/\nRUN pip install -r $REQ\n",
    "arg-dir": "ARG PY=3.11\nFROM python:${PY}-slim\nENV REQ_DIR=/srv/reqs\nCOPY requirements.txt ${REQ_DIR}/\n"
               "RUN pip install -r \"${REQ_DIR}/requirements.txt\"\n",
    "quoted": "FROM python:3.11-slim\nCOPY requirements.txt /tmp/requirements.txt\n"
              "RUN pip install -r \"/tmp/requirements.txt\"\n",
    "quoted-space": "FROM python:3.11-slim\nCOPY [\"requirements.txt\", \"/tmp/dir with space/\"]\n"
                    "RUN pip install -r '/tmp/dir with space/requirements.txt'\n",
    "literal-dollar": "FROM python:3.11-slim\nCOPY [\"requirements.txt\", \"/tmp/$(touch pwn)/\"]\n"
                      "RUN pip install -r '/tmp/$(touch pwn)/requirements.txt'\n",
    "workdir-moves": "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\nWORKDIR /srv\n"
                     "RUN pip install -r /app/requirements.txt\nWORKDIR sub\nCOPY . .\n",
    "cd-chain": "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt sub/\n"
                "RUN cd sub && PIP_NO_CACHE_DIR=1 pip install -r requirements.txt && cd .. && ls\n",
    "test-stage": "FROM python:3.11-slim AS base\nWORKDIR /app\nCOPY requirements.txt .\n"
                  "RUN pip install -r requirements.txt\n\nFROM base AS test\nCOPY requirements-test.txt .\n"
                  "RUN pip install -r requirements-test.txt\n",
    "backtick": "# escape=`\nFROM python:3.11-slim\nCOPY requirements.txt /tmp/\n"
                "RUN pip install `\n    --no-cache-dir `\n    -r /tmp/requirements.txt\n",
    "continuation-comments": "FROM python:3.11-slim\nCOPY requirements.txt /tmp/\n"
                             "RUN apt-get update && \\\n    # the python deps\n\n"
                             "    pip install --no-cache-dir \\\n  \t-r /tmp/requirements.txt \\  \n"
                             "    && rm -rf /root/.cache\n",
    "copy-dot": "FROM python:3.11-slim\nWORKDIR /app\nCOPY . /app\nRUN pip install -r /app/requirements.txt\n"
                "CMD [\"python\", \"-m\", \"app\"]\n",
    "venv-pip": "FROM python:3.11-slim\nRUN python -m venv /opt/venv\nCOPY reqs/base.txt /opt/\n"
                "RUN --mount=type=cache,target=/root/.cache/pip /opt/venv/bin/pip install -r /opt/base.txt\n",
    "two-files": "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt requirements-dev.txt ./\n"
                 "RUN pip install -r requirements.txt -r requirements-dev.txt\n",
    "home": "FROM python:3.11-slim\nCOPY requirements.txt /root/\nRUN pip install -r ~/requirements.txt \\\n"
            "    && pip install -r $HOME/requirements.txt\n",
    "uv-already": "FROM python:3.11-slim\nCOPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/\n"
                  "COPY pylock.toml /tmp/\nRUN uv pip install -r /tmp/pylock.toml --system\n"
                  "COPY requirements.txt /tmp/\nRUN pip install -r /tmp/requirements.txt\n",
}

DIRECTORIES = ("/tmp", "/", "..", "sub", "/srv/app", '"$HOME"', "/opt/venv", "/app")
RECORD_LIKE = (
    "# dockerlock: migrated pip -> uv; the api image was done by hand",
    "# dockerlock: migrated by hand last year, see the wiki",
    "# dockerlock: replaced the base image by hand",
    "# dockerlock: replaced `RUN pip install -r requirements.txt`; `dockerlock revert` restores it",
    "# dockerlock: replaced `RUN pip install -r /tmp/requirements.txt`; `dockerlock revert` restores it "
    "[v2 n=2 h=0000000000000000 c=0000000000000000 d=eNoDAAAAAAE]",
    "# dockerlock: migrated pip -> uv; [v1 n=1 h=000000000000 d=eNoDAAAAAAE]",
    "    # dockerlock: added the lines below; `dockerlock revert` removes them [v2 n=1 h=0 c=0 d=]",
    "# dockerlock: ignore=DLK101",
)
PIP_FLAGS = (" --user", " --target /install", " --prefix=/install", " --no-deps", " -c constraints.txt",
             " --upgrade", " -e .", " gunicorn", " --require-hashes", " --no-compile", " -q",
             " --index-url https://files.example.org/simple", " --root /x", " --break-system-packages")
REQUIREMENTS_NAMES = ("requirements-test.txt", "requirements/prod.txt", "reqs.txt", "requirements_dev.txt",
                      "requirements.in", "deps/requirements.txt")
UNKNOWN = ("FOO bar", "MAINTAINER someone", "ONBUILD RUN pip install -r requirements.txt", "FROMAGE x",
           "STOPSIGNAL SIGTERM", "VOLUME /data")

PIP_RE = re.compile(r"(?:python[\d.]*\s+-m\s+pip|\S*pip[\d.]*)\s+install\b")
REQ_RE = re.compile(r"(-r|--requirement)(\s+|=)(\"[^\"]*\"|'[^']*'|[^\s\"'\\]+)")


@dataclass(frozen=True)
class Mutant:
    seed: int
    base: str
    mutations: tuple[str, ...]
    data: bytes
    locks: bool  # the build context holds the locks (else only the requirements)
    python_version: bool  # a .python-version at the context root
    flags: tuple[str, ...]  # migrate's options for this mutant

    def describe(self) -> str:
        return f"seed {self.seed}: {self.base} + {', '.join(self.mutations) or 'nothing'} {' '.join(self.flags)}"


# -- line helpers -------------------------------------------------------------------------------------
class Lines:
    """A Dockerfile as LF lines, with what the mutations must not touch (heredoc bodies,
    parser directives) and where instructions start."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.escape = "`" if re.match(r"(#[^\n]*\n)*#\s*escape\s*=\s*`", text) else "\\"

    def text(self) -> str:
        return "\n".join(self.lines)

    def body(self) -> set[int]:
        return _heredoc_body_lines(self.lines)

    def continued(self, i: int) -> bool:
        line = self.lines[i]
        return line.rstrip(" \t").endswith(self.escape) and not line.lstrip().startswith("#")

    def starts(self) -> list[int]:
        """Indexes of lines that start an instruction."""
        body, out, inside = self.body(), [], False
        for i, line in enumerate(self.lines):
            if i in body:
                continue
            stripped = line.strip()
            if not inside and stripped and not stripped.startswith("#"):
                out.append(i)
            if stripped.startswith("#") or (not stripped and inside):
                continue
            inside = self.continued(i)
        return out

    def after_from(self) -> list[int]:
        starts = self.starts()
        first = next((k for k, i in enumerate(starts) if self.lines[i].lstrip().upper().startswith("FROM")), None)
        return [] if first is None else starts[first + 1:] + [len(self.lines) - 1]

    def plain(self) -> list[int]:
        """Lines outside heredoc bodies that are not comments, blank or directives."""
        body = self.body()
        first = self.starts()[0] if self.starts() else 0
        return [i for i, line in enumerate(self.lines)
                if i not in body and i >= first and line.strip() and not line.lstrip().startswith("#")]

    def extent(self, start: int) -> int:
        """Index after the instruction starting at ``start``: its continuation lines (comment
        and blank lines among them) and heredoc bodies."""
        body, i, inside = self.body(), start, self.continued(start)
        while i + 1 < len(self.lines):
            following = self.lines[i + 1].strip()
            if i + 1 not in body and not inside:
                break
            i += 1
            if i not in body and following and not following.startswith("#"):
                inside = self.continued(i)
        return i + 1

    def pip_starts(self) -> list[int]:
        return [s for s in self.starts() if self.lines[s].lstrip().upper().startswith("RUN")
                and PIP_RE.search("\n".join(self.lines[s:self.extent(s)]))]

    def pip_lines(self) -> list[int]:
        """Lines with a pip install on them (heredoc bodies included), comments excepted."""
        return [i for i, line in enumerate(self.lines) if PIP_RE.search(line) and not line.lstrip().startswith("#")]


def _pick(rng: random.Random, items):
    return rng.choice(items) if items else None


# -- text mutations: (Lines, rng) -> None, in place ------------------------------------------------------
def m_whitespace(doc: Lines, rng: random.Random) -> None:
    i = _pick(rng, doc.plain())
    if i is None:
        return
    line = doc.lines[i]
    spaces = [k for k, c in enumerate(line) if c == " "]
    if spaces and rng.random() < 0.7:
        k = rng.choice(spaces)
        doc.lines[i] = line[:k] + rng.choice(("  ", "\t", " \t ", "   ")) + line[k + 1:]
    else:
        doc.lines[i] = line + rng.choice((" ", "\t", "  "))


def m_split_line(doc: Lines, rng: random.Random) -> None:
    i = _pick(rng, doc.plain())
    if i is None:
        return
    line = doc.lines[i]
    spaces = [k for k, c in enumerate(line) if c == " " and k > 0]
    if not spaces:
        return
    k = rng.choice(spaces)
    indent = rng.choice(("    ", "\t", "", "  "))
    doc.lines[i:i + 1] = [line[:k] + " " + doc.escape, indent + line[k + 1:]]


def _strategy_mutation(name: str):
    def apply(doc: Lines, rng: random.Random) -> None:
        data = mutate(doc.text().encode("utf-8"), {name}, rng.getrandbits(60))
        doc.lines = data.decode("utf-8").split("\n")
    apply.__name__ = f"m_{name}"
    return apply


def m_quote_path(doc: Lines, rng: random.Random) -> None:
    candidates = [i for i in doc.pip_lines() if REQ_RE.search(doc.lines[i])]
    if candidates and rng.random() < 0.8:
        i = rng.choice(candidates)
        m = rng.choice(list(REQ_RE.finditer(doc.lines[i])))
        path = m.group(3)
        if path[0] in "\"'":
            quoted = path[1:-1]
        else:
            head, _, base = path.rpartition("/")
            forms = [f'"{path}"', f"'{path}'" if "$" not in path else f'"{path}"']
            if head:
                forms += [f'"{head}"/{base}', f"{head}/'{base}'", f'"{head}/"{base}']
            quoted = rng.choice(forms)
        doc.lines[i] = doc.lines[i][:m.start(3)] + quoted + doc.lines[i][m.end(3):]
        return
    copies = [i for i in doc.starts() if re.match(r"\s*(COPY|ADD)\s+[^\[]", doc.lines[i], re.I)
              and not doc.continued(i)]
    i = _pick(rng, copies)
    if i is not None:
        head, _, dest = doc.lines[i].rstrip().rpartition(" ")
        if dest and dest[0] not in "\"'":
            doc.lines[i] = f'{head} "{dest}"'


def m_path_form(doc: Lines, rng: random.Random) -> None:
    """The same file by another spelling: ``--requirement=``, ``-rPATH``, ``./``, ``//``, ``..``."""
    candidates = [i for i in doc.pip_lines() if REQ_RE.search(doc.lines[i])]
    i = _pick(rng, candidates)
    if i is None:
        return
    m = rng.choice(list(REQ_RE.finditer(doc.lines[i])))
    path = m.group(3)
    head, _, base = path.rpartition("/")
    forms = [f"--requirement={path}", f"-r{path}", f"--requirement {path}", f"-r ./{path}" if path[0] not in "/\"'$~" else
             f"-r {path}", f"-r {head}//{base}" if head else f"-r .//{base}",
             f"-r {head}/../{head.rsplit('/', 1)[-1]}/{base}" if head.count("/") >= 1 and head[0] == "/" else f"-r {path}"]
    doc.lines[i] = doc.lines[i][:m.start()] + rng.choice(forms) + doc.lines[i][m.end():]


def m_user(doc: Lines, rng: random.Random) -> None:
    at = _pick(rng, doc.pip_starts())
    if at is not None:
        doc.lines.insert(at, rng.choice(("USER app", "USER 1000:1000", "USER root", "ENV HOME=/home/app")))


def m_add_cd(doc: Lines, rng: random.Random) -> None:
    lines = [i for i in doc.pip_lines() if not doc.lines[i].lstrip().upper().startswith("RUN [")]
    i = _pick(rng, lines)
    if i is None:
        return
    m = PIP_RE.search(doc.lines[i])
    directory = rng.choice(DIRECTORIES)
    cd = rng.choice((f"cd {directory} && ", f"cd {directory}; ", f"(cd {directory} && "))
    line = doc.lines[i][:m.start()] + cd + doc.lines[i][m.start():]
    if cd.startswith("("):
        line = line.rstrip(" \t" + doc.escape) + ")" + (" " + doc.escape if doc.continued(i) else "")
    doc.lines[i] = line


def m_move_workdir(doc: Lines, rng: random.Random) -> None:
    workdirs = [i for i in doc.starts() if doc.lines[i].lstrip().upper().startswith("WORKDIR")]
    choice = rng.random()
    if workdirs and choice < 0.3:
        del doc.lines[rng.choice(workdirs)]
        return
    at = _pick(rng, doc.after_from())
    if at is None:
        return
    if workdirs and choice < 0.6:
        src = rng.choice(workdirs)
        line = doc.lines.pop(src)
        doc.lines.insert(min(at, len(doc.lines)), line)
        return
    target = rng.choice(("/srv", "app", "/app/sub", "$APP_HOME", "/tmp", "../x"))
    new = [f"WORKDIR {target}"]
    if target.startswith("$"):
        new.insert(0, "ARG APP_HOME=/home/app")
    doc.lines[at:at] = new


def m_duplicate_stanza(doc: Lines, rng: random.Random) -> None:
    start = _pick(rng, doc.pip_starts())
    if start is None:
        return
    end = doc.extent(start)
    starts = [s for s in doc.starts() if s < start]
    copy_start = next((s for s in reversed(starts) if re.match(r"\s*(COPY|ADD)\b", doc.lines[s], re.I)), start)
    block = doc.lines[copy_start:end] if rng.random() < 0.6 else doc.lines[start:end]
    at = end if rng.random() < 0.5 else (_pick(rng, [s for s in doc.starts() if s > start]) or len(doc.lines))
    doc.lines[at:at] = list(block)


def m_unknown_instruction(doc: Lines, rng: random.Random) -> None:
    at = _pick(rng, doc.after_from() + doc.pip_starts() * 2)
    if at is not None:
        doc.lines.insert(at, rng.choice(UNKNOWN))


def m_record_like_comment(doc: Lines, rng: random.Random) -> None:
    at = _pick(rng, doc.after_from() + doc.pip_starts() * 2 + [0])
    if at is not None:
        doc.lines.insert(at, rng.choice(RECORD_LIKE + (real_record(rng),)))


def m_rename_requirements(doc: Lines, rng: random.Random) -> None:
    name = rng.choice(REQUIREMENTS_NAMES)
    text = doc.text()
    if "requirements.txt" in text:
        doc.lines = text.replace("requirements.txt", name).split("\n")


def m_arg_path(doc: Lines, rng: random.Random) -> None:
    candidates = [i for i in doc.pip_lines() if REQ_RE.search(doc.lines[i])
                  and "$" not in REQ_RE.search(doc.lines[i]).group(3)]
    i = _pick(rng, candidates)
    if i is None:
        return
    m = REQ_RE.search(doc.lines[i])
    path = m.group(3).strip("\"'")
    kind, name = rng.choice(("ARG", "ENV")), rng.choice(("REQ", "REQUIREMENTS_FILE"))
    head, _, base = path.rpartition("/")
    if head and rng.random() < 0.4:
        value, use = head, rng.choice((f"${name}/{base}", f"${{{name}}}/{base}", f'"${name}"/{base}'))
    else:
        value, use = path, rng.choice((f"${name}", f"${{{name}}}", f'"${name}"', f"${{{name}:-{path}}}"))
    doc.lines[i] = doc.lines[i][:m.start(3)] + use + doc.lines[i][m.end(3):]
    starts = [s for s in doc.starts() if s <= i]
    where = rng.random()
    if where < 0.15:  # before the first FROM: a global ARG the stage does not see
        first = doc.starts()[0] if doc.starts() else 0
        doc.lines.insert(first, f"ARG {name}={value}")
    else:
        at = starts[-1] if where < 0.6 and starts else \
            next((s + 1 for s in reversed(starts) if doc.lines[s].lstrip().upper().startswith("FROM")), 0)
        doc.lines.insert(at, f"{kind} {name}={value}")


def _single_line_runs(doc: Lines) -> list[int]:
    return [s for s in doc.pip_starts() if doc.extent(s) == s + 1 and "<<" not in doc.lines[s]
            and not re.match(r"\s*RUN\s+(\[|--)", doc.lines[s], re.I)]


def m_exec_form(doc: Lines, rng: random.Random) -> None:
    i = _pick(rng, _single_line_runs(doc))
    if i is None:
        return
    head, _, body = doc.lines[i].lstrip().partition(" ")
    try:
        words = shlex.split(body)
    except ValueError:
        return
    if any(w in ("&&", "||", ";", "|") or w.endswith(";") for w in words):
        if rng.random() < 0.5:
            return
        words = ["/bin/sh", "-c", body]
    doc.lines[i] = f"{head} {json.dumps(words)}"


def m_sh_c(doc: Lines, rng: random.Random) -> None:
    i = _pick(rng, [s for s in _single_line_runs(doc) if "'" not in doc.lines[s]])
    if i is not None:
        head, _, body = doc.lines[i].lstrip().partition(" ")
        doc.lines[i] = f"{head} {rng.choice(('sh -c', 'bash -lc', '/bin/sh -ec'))} '{body}'"


def m_heredoc_form(doc: Lines, rng: random.Random) -> None:
    i = _pick(rng, _single_line_runs(doc))
    if i is None:
        return
    head, _, body = doc.lines[i].lstrip().partition(" ")
    form = rng.random()
    if form < 0.4:
        doc.lines[i:i + 1] = [f"{head} <<EOF", body, "EOF"]
    elif form < 0.7:
        doc.lines[i:i + 1] = [f"{head} <<-EOF", "\t" + body, "\tEOF"]
    else:
        doc.lines[i:i + 1] = [f"{head} bash <<'SCRIPT'", "set -e", body, "SCRIPT"]


def m_bind_mount(doc: Lines, rng: random.Random) -> None:
    i = _pick(rng, [s for s in doc.pip_starts() if REQ_RE.search(doc.lines[s])])
    if i is None:
        return
    path = REQ_RE.search(doc.lines[i]).group(3).strip("\"'")
    source = rng.choice(("requirements.txt", "backend/requirements.txt", posixpath.basename(path)))
    doc.lines[i] = re.sub(r"^(\s*RUN\s+)", rf"\1--mount=type=bind,source={source},target={path} ",
                          doc.lines[i], count=1, flags=re.I)
    copies = [s for s in doc.starts() if s < i and re.match(r"\s*COPY\b.*requirements", doc.lines[s], re.I)]
    if copies and rng.random() < 0.5:
        del doc.lines[copies[-1]]


def m_pip_flags(doc: Lines, rng: random.Random) -> None:
    i = _pick(rng, [k for k in doc.pip_lines() if not doc.lines[k].lstrip().upper().startswith("RUN [")])
    if i is not None:
        m = PIP_RE.search(doc.lines[i])
        doc.lines[i] = doc.lines[i][:m.end()] + rng.choice(PIP_FLAGS) + doc.lines[i][m.end():]


def m_lowercase_keyword(doc: Lines, rng: random.Random) -> None:
    i = _pick(rng, doc.starts())
    if i is not None:
        line = doc.lines[i]
        word = line.split(None, 1)[0] if line.split() else ""
        doc.lines[i] = line.replace(word, word.lower(), 1)


def m_delete_line(doc: Lines, rng: random.Random) -> None:
    if len(doc.lines) > 1:
        del doc.lines[rng.randrange(len(doc.lines))]


def m_swap_lines(doc: Lines, rng: random.Random) -> None:
    if len(doc.lines) > 2:
        k = rng.randrange(len(doc.lines) - 1)
        doc.lines[k], doc.lines[k + 1] = doc.lines[k + 1], doc.lines[k]


def m_duplicate_line(doc: Lines, rng: random.Random) -> None:
    k = rng.randrange(len(doc.lines))
    doc.lines.insert(k, doc.lines[k])


def m_escape_backtick(doc: Lines, rng: random.Random) -> None:
    if doc.escape == "`" or (doc.lines and re.match(r"#\s*escape", doc.lines[0])):
        return
    body = doc.body()
    doc.lines = ["# escape=`"] + [line.rstrip(" \t")[:-1] + "`" if i not in body and doc.continued(i) else line
                                  for i, line in enumerate(doc.lines)]
    doc.escape = "`"


def m_cache_mount(doc: Lines, rng: random.Random) -> None:
    i = _pick(rng, doc.pip_starts())
    if i is not None:
        doc.lines[i] = re.sub(r"^(\s*RUN\s+)", r"\1--mount=type=cache,target=/root/.cache/pip ", doc.lines[i],
                              count=1, flags=re.I)


def m_venv(doc: Lines, rng: random.Random) -> None:
    froms = [s for s in doc.starts() if doc.lines[s].lstrip().upper().startswith("FROM")]
    i = _pick(rng, froms)
    if i is not None:
        doc.lines[i + 1:i + 1] = rng.choice((["RUN python -m venv /opt/venv", 'ENV PATH="/opt/venv/bin:$PATH"'],
                                             ["ENV VIRTUAL_ENV=/opt/venv", "RUN python3 -m venv $VIRTUAL_ENV",
                                              'ENV PATH="$VIRTUAL_ENV/bin:$PATH"']))


def m_copy_dot_before(doc: Lines, rng: random.Random) -> None:
    i = _pick(rng, doc.pip_starts())
    if i is not None:
        doc.lines.insert(i, rng.choice(("COPY . .", "COPY . /app", "COPY . /tmp/", "ADD . /srv")))


def m_json_copy(doc: Lines, rng: random.Random) -> None:
    copies = [i for i in doc.starts() if re.match(r"\s*COPY\s+[^-\[\s]\S*\s+\S+\s*$", doc.lines[i], re.I)]
    i = _pick(rng, copies)
    if i is not None:
        keyword, *args = doc.lines[i].split()
        doc.lines[i] = f"{keyword} {json.dumps(args)}"


def m_comment_or_blank(doc: Lines, rng: random.Random) -> None:
    at = _pick(rng, doc.after_from())
    if at is not None:
        doc.lines.insert(at, rng.choice(("", "# a comment", "   ", "#", "# pip install -r requirements.txt")))


def m_base_image(doc: Lines, rng: random.Random) -> None:
    """Another base image: one whose working directory dockerlock cannot know, a GPU image
    (deferred unless --include-gpu), an earlier stage, Alpine, a variable."""
    froms = [s for s in doc.starts() if doc.lines[s].lstrip().upper().startswith("FROM")]
    i = _pick(rng, froms)
    if i is not None:
        image = rng.choice(("mycorp/python-base:3.11", "public.ecr.aws/lambda/python:3.12",
                            "nvidia/cuda:12.1.0-runtime-ubuntu22.04", "python:3.12-alpine", "0", "${BASE}",
                            "ghcr.io/astral-sh/uv:python3.11-bookworm-slim"))
        words = doc.lines[i].split()
        doc.lines[i] = " ".join([words[0], image] + words[2:])


#: name -> (mutation, weight): the ones that reach what migrate writes weigh more
TEXT_MUTATIONS = {f.__name__[2:]: (f, w) for f, w in (
    (m_whitespace, 1), (m_split_line, 2), (_strategy_mutation("comment_in_continuation"), 1),
    (_strategy_mutation("blank_continuation_line"), 1), (_strategy_mutation("spaces_after_escape"), 1),
    (m_quote_path, 3), (m_add_cd, 2), (m_move_workdir, 2), (m_duplicate_stanza, 2), (m_unknown_instruction, 1),
    (m_record_like_comment, 1), (m_rename_requirements, 1), (m_arg_path, 3), (m_exec_form, 1), (m_sh_c, 1),
    (m_heredoc_form, 1), (m_bind_mount, 2), (m_pip_flags, 2), (m_lowercase_keyword, 1), (m_delete_line, 1),
    (m_swap_lines, 1), (m_duplicate_line, 1), (m_escape_backtick, 1), (m_cache_mount, 1), (m_venv, 1),
    (m_copy_dot_before, 2), (m_json_copy, 1), (m_comment_or_blank, 1), (m_base_image, 1), (m_path_form, 2),
    (m_user, 1))}


# -- byte mutations ------------------------------------------------------------------------------------
def b_crlf(data: bytes, rng: random.Random) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def b_mixed_eol(data: bytes, rng: random.Random) -> bytes:
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    return b"".join(line + (b"\r\n" if rng.random() < 0.5 else b"\n") for line in lines[:-1]) + lines[-1]


def b_bom(data: bytes, rng: random.Random) -> bytes:
    return data if data.startswith(b"\xef\xbb\xbf") else b"\xef\xbb\xbf" + data


def b_drop_final_newline(data: bytes, rng: random.Random) -> bytes:
    return data.rstrip(b"\r\n")


def b_truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(len(data))] if data else data


def b_byte_flip(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    k = rng.randrange(len(data))
    return data[:k] + bytes([data[k] ^ (1 << rng.randrange(8))]) + data[k + 1:]


def b_nul(data: bytes, rng: random.Random) -> bytes:
    k = rng.randrange(len(data) + 1)
    return data[:k] + b"\0" + data[k:]


def b_latin1(data: bytes, rng: random.Random) -> bytes:
    k = rng.randrange(len(data) + 1)
    return data[:k] + b"# caf\xe9\n" + data[k:]


BYTE_MUTATIONS = {f.__name__[2:]: f for f in (b_crlf, b_crlf, b_mixed_eol, b_bom, b_drop_final_newline,
                                              b_truncate, b_byte_flip, b_nul, b_latin1)}


# -- mutants ---------------------------------------------------------------------------------------------
def bases() -> list[tuple[str, bytes]]:
    """The corpus files (unless ``DOCKERLOCK_FUZZ_CORPUS=0``) and the shapes."""
    use_corpus = os.environ.get("DOCKERLOCK_FUZZ_CORPUS", "1") != "0"
    corpus = [(p.name, p.read_bytes()) for p in corpus_dockerfiles()] if use_corpus else []
    return corpus + [(name, text.encode()) for name, text in SHAPES.items()]


_BASES: list[tuple[str, bytes]] | None = None


def make_mutant(seed: int) -> Mutant:
    global _BASES
    if _BASES is None:
        _BASES = bases()
    rng = random.Random(seed)
    shapes = [b for b in _BASES if b[0] in SHAPES]
    corpus = [b for b in _BASES if b[0] not in SHAPES]
    name, data = rng.choice(corpus if corpus and rng.random() < 0.4 else shapes)
    mutations: list[str] = []
    bom = data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode("utf-8") if bom else data.decode("utf-8")
    crlf = "\r\n" in text
    doc = Lines(text.replace("\r\n", "\n"))
    names = sorted(TEXT_MUTATIONS)
    for key in rng.choices(names, weights=[TEXT_MUTATIONS[n][1] for n in names], k=rng.choice((1, 1, 2, 2, 3))):
        TEXT_MUTATIONS[key][0](doc, rng)
        mutations.append(key)
    text = doc.text()
    data = (b"\xef\xbb\xbf" if bom else b"") + (text.replace("\n", "\r\n") if crlf else text).encode("utf-8")
    if rng.random() < 0.4:
        key = rng.choice(sorted(BYTE_MUTATIONS))
        data = BYTE_MUTATIONS[key](data, rng)
        mutations.append(key)
    locks = rng.random() < 0.85
    flags = tuple(f for f, p in (("--no-lock-check", 0.5), ("--include-gpu", 0.3)) if rng.random() < p)
    return Mutant(seed, name, tuple(mutations), data, locks, rng.random() < 0.5, flags)


REQUIREMENTS = "six==1.16.0\n"


# -- a real record, for the record-like-comment mutation ------------------------------------------------------
_RECORDS: list[str] = []


def real_record(rng: random.Random) -> str:
    """A genuine record line (from migrating a shape), maybe tampered with."""
    if not _RECORDS:
        import tempfile

        from dockerlock.engine import migrate_dockerfile
        from dockerlock.loading import context_at
        from dockerlock.model import Dockerfile
        from dockerlock.settings import Settings

        settings = Settings(lock_check=False, include_gpu=True)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "requirements.txt").write_text(REQUIREMENTS)
            for name in ("chain", "quoted", "workdir-dot"):
                df = Dockerfile.from_text(SHAPES[name], "Dockerfile")
                result = migrate_dockerfile(df, context_at(Path(tmp), df, settings), settings)
                _RECORDS.extend(line for line in (result.new_text or "").splitlines()
                                if line.startswith("# dockerlock:"))
    record = rng.choice(_RECORDS)
    tamper = rng.random()
    if tamper < 0.3:
        return record
    if tamper < 0.6:
        return record[:rng.randrange(len(record))]
    k = rng.randrange(len(record))
    return record[:k] + rng.choice("0aZ=-_ ]") + record[k + 1:]
