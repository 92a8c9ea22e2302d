"""Which Python environment a pip command installs into, and what that environment already holds.

``uv pip sync`` makes an environment match the lock exactly: it uninstalls everything else.
So sync is only chosen for an environment proven fresh — a venv created in this stage that
nothing has installed into since. Anything earlier (a glob of wheels, a local path, ``.``, a
base image's site-packages, an inherited stage, a script dockerlock cannot read) makes the
step a non-destructive ``uv pip install -r``, and the reason is kept for ``-v`` output.
Pure.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from dockerlock import shell
from dockerlock.facts.expansion import expand
from dockerlock.model import Dockerfile, Instruction

_SYSTEM_BIN_DIRS = {"/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin"}
#: ``<folder>/bin`` PATH entries that are other tools' folders, not environments: the user scheme's
#: scripts (``~/.local/bin``), Rust, Poetry, pyenv, Go, Node, Java, CUDA, cloud SDKs.
_TOOL_FOLDER = re.compile(r"(?:^|/)(?:\.local|\.?cargo|\.rustup|\.?poetry|\.?pyenv|\.?go|golang|\.?nvm|node|nodejs|"
                          r"node_modules|\.deno|\.bun|\.rye|jvm|java|jdk[\w.-]*|jre[\w.-]*|gradle[\w.-]*|maven|"
                          r"\.sdkman|cuda[\w.-]*|nvidia|google-cloud-sdk|dotnet|flutter|texlive|postgresql)(?:/|$)",
                          re.I)
VENV_CREATE = re.compile(r"^(?:\S*/)?(?:python[0-9.]*|py)$")
#: Programs that cannot put Python distributions into an environment: a RUN made only of
#: these between a venv's creation and the pip step keeps the venv fresh.
HARMLESS_PROGRAMS = frozenset({
    "apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper", "dpkg", "dpkg-reconfigure", "rpm",
    "mkdir", "rm", "rmdir", "cp", "mv", "ln", "chmod", "chown", "chgrp", "touch", "echo", "printf", "cd",
    "set", "export", "true", "false", "test", "[", "useradd", "groupadd", "adduser", "addgroup", "usermod",
    "curl", "wget", "tar", "unzip", "gzip", "gunzip", "xz", "cat", "sed", "awk", "grep", "find", "ls", "tee",
    "ldconfig", "update-ca-certificates", "locale-gen", "localedef", "sleep", "which", "command", "id",
    "whoami", "umask", "ulimit", "exit", "git", "ssh-keyscan", "npm", "yarn", "node", "corepack",
    "update-alternatives", "sh", "bash", "env", "date", "du", "df", "uname", "addgroup", "rustup",
})
#: pip installs of only these names upgrade the installer itself, not the application.
TOOL_PACKAGES = frozenset({"pip", "setuptools", "wheel", "uv"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def venv_created_by(argv: tuple[shell.Word, ...]) -> tuple[str, bool] | None:
    """(path, with system site-packages) for ``python -m venv X`` / ``virtualenv X`` / ``uv venv X``."""
    values = [w.raw if w.value is None else w.value for w in argv]
    if not values:
        return None
    prog = posixpath.basename(values[0])
    rest: list[str] = []
    if VENV_CREATE.match(values[0]) and "-m" in values[1:3]:
        i = values.index("-m")
        if i + 1 < len(values) and values[i + 1] in ("venv", "virtualenv"):
            rest = values[i + 2:]
        else:
            return None
    elif prog == "virtualenv":
        rest = values[1:]
    elif prog == "uv" and len(values) > 1 and values[1] == "venv":
        rest = values[2:]
    else:
        return None
    positional = [v for v in rest if not v.startswith("-")]
    path = positional[-1] if positional else (".venv" if prog == "uv" else None)
    if path is None:
        return None
    return path, "--system-site-packages" in rest


def activated_venv(argv: tuple[shell.Word, ...]) -> str | None:
    """``. /opt/venv/bin/activate`` or ``source ...``: the venv it activates."""
    if len(argv) >= 2 and (argv[0].value in (".", "source")):
        path = argv[1].value if argv[1].value is not None else argv[1].raw
        if path.endswith("/bin/activate"):
            return path[: -len("/bin/activate")]
    return None


def venv_of(program: str) -> str | None:
    """The venv an interpreter or pip path belongs to (``/opt/venv/bin/python`` -> ``/opt/venv``),
    or None for the system's own bin folders and bare names."""
    folder = posixpath.dirname(program)
    if folder.endswith("/bin") and folder not in _SYSTEM_BIN_DIRS:
        return folder[: -len("/bin")]
    return None


def path_venv_dir(path_value: str | None, raw: str | None, created=lambda folder: False) -> str | None:
    """The venv whose ``bin`` comes first on PATH, read from the raw ENV text; None when a system
    folder (or the inherited ``$PATH``) comes first. Folders of other tools (``~/.local/bin``,
    ``~/.cargo/bin``, Poetry's, Go's, CUDA's...) hold no Python of their own and are passed over,
    unless ``created(folder)``: the file makes a venv there (Poetry installed into /opt/poetry)."""
    text = raw if raw is not None else path_value
    if not text:
        return None
    for entry in text.strip().strip('"').strip("'").split(":"):
        if entry in _SYSTEM_BIN_DIRS or entry.startswith("$"):
            return None
        if not entry.endswith("/bin"):
            continue
        folder = entry[: -len("/bin")]
        if _TOOL_FOLDER.search(folder) and not created(folder):
            continue
        return folder
    return None


def installed_names(pip: shell.PipInvocation) -> list[str | None]:
    """The project names a pip install command asks for (None for anything that is not a name:
    a glob, a path, ``.``, a URL, a variable)."""
    names: list[str | None] = []
    for word in pip.packages:
        value = word.value
        if value is None or "/" in value or value.startswith(".") or "://" in value or value.endswith(
                (".whl", ".tar.gz", ".zip")):
            names.append(None)
            continue
        match = _NAME.match(value.strip("'\""))
        names.append(match.group(0).lower().replace("_", "-") if match else None)
    return names


def upgrades_only_tools(pip: shell.PipInvocation) -> bool:
    """``pip install --upgrade pip setuptools wheel`` (or uv): the installer, not the application."""
    if pip.requirements or pip.editables or not pip.packages:
        return False
    return all(name in TOOL_PACKAGES for name in installed_names(pip))


class Target(NamedTuple):
    """Where a pip command installs, as uv must be told.

    ``kind``: ``venv`` (``python`` is its interpreter), ``system`` (the image's interpreter:
    ``--system``, or ``--python <python>`` for a versioned launcher such as ``python3.12``),
    ``target`` / ``prefix`` (``directory``), ``user`` (the user scheme: uv's ``--prefix`` under
    ``python -m site --user-base``). ``python``, ``directory`` and ``venv`` are shell text as
    the Dockerfile wrote them (``$VENV/bin/python`` keeps ``$VENV``); ``venv_value`` is the
    venv path with ARG/ENV defaults applied, for comparing environments.
    """

    kind: str
    python: str | None
    how: str
    directory: str | None = None
    venv: str | None = None
    venv_value: str | None = None

    @property
    def key(self) -> str:
        """Identifies the environment for "what did it receive before?" questions."""
        if self.kind == "venv":
            return f"venv:{(self.venv_value or self.venv or '').rstrip('/')}"
        if self.kind in ("target", "prefix"):
            return f"{self.kind}:{self.directory}"
        return self.kind


@dataclass
class EnvState:
    """What has happened to environments in a stage so far (walked in instruction order)."""

    venvs: dict[str, str] = field(default_factory=dict)  # path -> "created" | "copied" | "inherited"
    created_in: dict[str, int] = field(default_factory=dict)  # venv -> stage index
    created_line: dict[str, int] = field(default_factory=dict)
    system_site: set[str] = field(default_factory=set)  # venvs created with --system-site-packages
    received: dict[str, list[str]] = field(default_factory=dict)  # target key -> what went in, with line
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (line, program) dockerlock cannot read
    uv: bool = False

    def inherit(self) -> "EnvState":
        """The state a stage built FROM this one starts with."""
        return EnvState({v: "inherited" for v in self.venvs}, dict(self.created_in), dict(self.created_line),
                        set(self.system_site), {k: list(v) for k, v in self.received.items()},
                        list(self.unknown), self.uv)

    def created(self, venv: str, stage: int, line: int, system_site: bool) -> None:
        venv = venv.rstrip("/") or "/"
        self.venvs[venv] = "created"
        self.created_in[venv] = stage
        self.created_line[venv] = line
        self.received.pop(f"venv:{venv}", None)
        if system_site:
            self.system_site.add(venv)
        else:
            self.system_site.discard(venv)

    def copied_into(self, folder: str, line: int) -> None:
        folder = folder.rstrip("/") or "/"
        self.venvs[folder] = "copied"
        self.receive(f"venv:{folder}", f"files copied from another stage (line {line})")

    def receive(self, key: str, what: str) -> None:
        self.received.setdefault(key, []).append(what)

    def sync_or_install(self, target: Target, stage: int, line: int) -> tuple[str, str]:
        """("sync" | "install", why): sync only into a venv proven fresh."""
        if target.kind != "venv":
            reasons = {"system": "the target is the image's system interpreter, which already holds packages",
                       "target": f"--target {target.directory} may hold other files and packages",
                       "prefix": f"--prefix {target.directory} may hold other packages",
                       "user": "the user site may hold other packages"}
            return "install", reasons.get(target.kind, "the target may hold other packages")
        venv = (target.venv_value or target.venv or "").rstrip("/") or "/"
        origin = self.venvs.get(venv)
        if origin in ("copied", "inherited"):
            return "install", f"{target.venv} comes from another stage and may hold other packages"
        if origin != "created" or self.created_in.get(venv) != stage:
            return "install", f"{target.venv} was not created in this stage; it may hold other packages"
        if venv in self.system_site:
            return "install", f"{target.venv} sees the system site-packages (--system-site-packages)"
        earlier = self.received.get(target.key)
        if earlier:
            return "install", f"{target.venv} already received other packages earlier in this stage ({earlier[0]})"
        created = self.created_line.get(venv, 0)
        unknown = [(n, prog) for n, prog in self.unknown if created <= n < line]
        if unknown:
            n, prog = unknown[0]
            return "install", (f"{target.venv} may have received packages from `{prog}` (line {n}), "
                               "which dockerlock cannot see into")
        return "sync", f"{target.venv} is a fresh venv created in this stage"


def target_of(df: Dockerfile, ins: Instruction, pip: shell.PipInvocation, activated: str | None,
              conda: bool = False) -> Target:
    """The environment a pip command installs into (before options such as --target)."""
    launcher = pip.interpreter if pip.interpreter is not None else pip.program
    text = launcher.value if launcher.value is not None else launcher.raw
    if "/" in text:
        venv = venv_of(text)
        if venv:
            return _venv_target(df, ins, venv, f"runs {text}")
        return Target("system", _launcher_python(text), f"runs {text}")
    if activated:
        return _venv_target(df, ins, activated, f"the RUN activates {activated}")
    path_var = df.var_at(ins, "PATH")
    if path_var is not None:
        venv = path_venv_dir(path_var.value, path_var.raw, lambda folder: _venv_made_before(df, ins, folder))
        if venv:
            return _venv_target(df, ins, venv, f"ENV PATH puts {venv}/bin first (line {path_var.line})")
    venv_var = df.var_at(ins, "VIRTUAL_ENV")
    if venv_var is not None and venv_var.value and path_var is not None and "VIRTUAL_ENV" in (path_var.raw or ""):
        return _venv_target(df, ins, venv_var.value, "ENV VIRTUAL_ENV is on PATH")
    how = ("the conda environment's interpreter (first on PATH)" if conda
           else "no virtual environment is active: the image's interpreter")
    return Target("system", _launcher_python(text), how)


def _venv_made_before(df: Dockerfile, ins: Instruction, folder: str) -> bool:
    """Does a RUN before ``ins`` create a venv at ``folder`` (``python -m venv /opt/poetry``)?"""
    made = re.compile(r"(?:-m\s+venv|virtualenv|\buv\s+venv)\b[^;&|\n]*?\s" + re.escape(folder) + r"/?(?=$|[\s;&|])",
                      re.M)
    return any(x.keyword == "RUN" and x.index < ins.index and made.search(x.body) for x in df.instructions)


def _venv_target(df: Dockerfile, ins: Instruction, venv: str, how: str) -> Target:
    value = expand(df, ins, venv) if "$" in venv else venv
    return Target("venv", f"{venv}/bin/python", how, venv=venv, venv_value=value)


_VERSIONED = re.compile(r"^(python|pip)(\d+\.\d+|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)$")


def _launcher_python(program: str) -> str | None:
    """``python3.12`` / ``pip3.12`` / ``python${PYTHON_VERSION}`` name one interpreter among
    several: uv must get ``--python python3.12`` (as written) rather than ``--system``, which
    takes the first ``python3`` on PATH."""
    match = _VERSIONED.match(posixpath.basename(program))
    return f"python{match.group(2)}" if match else None
