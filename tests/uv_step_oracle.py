"""An independent answer to: which file does this ``uv pip`` step read, and did the build put a lock there?

A test oracle for ``test_fuzz``. It shares no code with dockerlock; it is written from
what BuildKit and the shell document, and lets the real shell do the shell's part:

- BuildKit's own parser (the ``dockerfile`` package) splits the file into instructions,
  flags, exec-form arguments and heredocs;
- Dockerfile words (COPY/ADD arguments, WORKDIR, ARG/ENV values, mount options) are
  expanded by ``dockerfile_word`` below, after BuildKit's lexer: single quotes literal,
  double quotes with escapes before ``"``, ``$`` and the escape character, ``$NAME``,
  ``${NAME}`` and ``${NAME:-word}``-style defaults;
- a RUN's words are expanded by ``/bin/sh`` itself (globbing off), with the ARG and ENV
  values in scope as its environment; a word that would run code (``$(...)``, backticks)
  is never handed to it;
- ``cd`` earlier in the same script (scoped by subshells), ``sh -c`` scripts, exec form
  (no expansion at all) and heredoc scripts;
- the lock must be put there by an earlier COPY/ADD in the stage or the stages it is built
  FROM (a single file, a folder, a glob), or by a bind mount on that RUN.

A variable the Dockerfile does not give a value (a base image's ENV, an ARG without a
default) is modelled as an opaque, non-empty value ``/@NAME@`` on both sides, and so is
a base image's working directory (``/@WORKDIR@``): the check then holds for any value
the image might give them. The exceptions are documented defaults: Docker's official
language and distribution images (``python``, ``debian``...) set no WORKDIR, so their
processes start in ``/``; HOME is ``/root`` until a USER instruction. Where the oracle
cannot tell (a COPY destination without a slash that may or may not be an existing
folder, ``${X:-default}`` for an X the Dockerfile never sets), it accepts either reading
or marks the read unchecked, rather than guessing; a run counts its unchecked reads.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import dockerfile

LOCK_NAME = re.compile(r"pylock(\.[^./]+)?\.toml")
SHELLS = {"sh", "bash", "dash", "ash", "zsh"}
#: uv options that take a value (so the value is not taken for the lock of ``uv pip sync``)
UV_VALUE_OPTIONS = {"--python", "-p", "--target", "--prefix", "--index-url", "-i", "--extra-index-url",
                    "--find-links", "-f", "--constraint", "--constraints", "-c", "--link-mode",
                    "--config-setting", "-C", "--python-version", "--python-platform",
                    "--allow-insecure-host", "--cache-dir", "--build-constraints", "-b", "--index-strategy",
                    "--keyring-provider", "--reinstall-package", "--exclude-newer", "--no-binary",
                    "--only-binary", "--index", "--default-index"}
#: Folders every Linux base image has: a COPY to one of them without a slash copies into it.
IMAGE_DIRS = {"/", "/tmp", "/opt", "/usr", "/usr/local", "/usr/src", "/srv", "/home", "/root", "/var", "/etc"}
BASE_WORKDIR = "/@WORKDIR@"
#: Docker Hub's official images that set no WORKDIR (their Dockerfiles are public)
ROOT_WORKDIR_IMAGES = {"python", "debian", "ubuntu", "alpine", "buildpack-deps", "pypy"}


def unknown(name: str) -> str:
    return f"/@{name}@"


class Unsupported(Exception):
    """Syntax this oracle does not model; the step is counted as unchecked, not as passing."""


# -- Dockerfile-level words ---------------------------------------------------------------------
def dockerfile_word(raw: str, env: dict[str, str], escape: str = "\\") -> str:
    """Quote removal and variable expansion the way BuildKit processes a COPY/WORKDIR/ENV word."""
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == escape:
            if i + 1 < n:
                out.append(raw[i + 1])
            i += 2
        elif c == "'":
            j = raw.find("'", i + 1)
            if j < 0:
                raise Unsupported(f"unterminated single quote in {raw!r}")
            out.append(raw[i + 1:j])
            i = j + 1
        elif c == '"':
            i += 1
            while i < n and raw[i] != '"':
                if raw[i] == escape and i + 1 < n and raw[i + 1] in ('"', "$", escape):
                    out.append(raw[i + 1])
                    i += 2
                elif raw[i] == "$":
                    value, i = _dollar(raw, i, env, escape)
                    out.append(value)
                else:
                    out.append(raw[i])
                    i += 1
            if i >= n:
                raise Unsupported(f"unterminated double quote in {raw!r}")
            i += 1
        elif c == "$":
            value, i = _dollar(raw, i, env, escape)
            out.append(value)
        else:
            out.append(c)
            i += 1
    return "".join(out)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _dollar(raw: str, i: int, env: dict[str, str], escape: str) -> tuple[str, int]:
    """``$NAME`` or ``${NAME[op word]}`` at ``raw[i]``: (value, index after it)."""
    if raw.startswith("${", i):
        close = raw.find("}", i)
        if close < 0:
            raise Unsupported(f"unterminated ${{ in {raw!r}")
        m = _NAME.match(raw, i + 2)
        if not m:
            raise Unsupported(f"unsupported parameter in {raw!r}")
        name, rest = m.group(), raw[m.end():close]
        value = env.get(name, unknown(name))
        if rest == "":
            return value, close + 1
        op = rest[:2] if rest[:2] in (":-", ":+", ":?") else rest[:1]
        if op not in (":-", ":+", "-", "+"):
            raise Unsupported(f"unsupported parameter operator in {raw!r}")
        word = dockerfile_word(rest[len(op):], env, escape)
        if op.endswith("-"):
            return (value if value else word), close + 1
        return (word if value else ""), close + 1
    m = _NAME.match(raw, i + 1)
    if not m:
        return "$", i + 1
    return env.get(m.group(), unknown(m.group())), m.end()


# -- the build, instruction by instruction ---------------------------------------------------------
@dataclass
class StageState:
    env: dict[str, str] = field(default_factory=dict)  # ARG and ENV values in scope
    image_env: dict[str, str] = field(default_factory=dict)  # ENV only: what a child stage inherits
    workdir: str = BASE_WORKDIR
    dirs: set[str] = field(default_factory=set)
    #: (image path of a file or folder, context path, is a folder)
    copies: list[tuple[str, str, bool]] = field(default_factory=list)
    user: bool = False  # a USER instruction ran: HOME is that user's (unknown here)

    def run_env(self) -> dict[str, str]:
        """The environment a RUN sees: ARG and ENV values, and HOME=/root for the default
        user (Docker sets it when the image does not)."""
        return self.env if self.user or "HOME" in self.env else {"HOME": "/root", **self.env}


@dataclass(frozen=True)
class LockRead:
    """One lock path a uv step reads: the word as written, where it points, who provides it."""

    line: int
    raw: str
    path: str | None  # absolute, as the shell expands it (None: not known)
    provided_by: str | None  # "COPY of <context path>" / "bind mount of ..." when a lock is put there
    problem: str | None = None  # what is wrong with the word itself (it runs code, it splits)
    unchecked: str | None = None  # why the oracle cannot tell (syntax it does not model)

    @property
    def ok(self) -> bool:
        return self.unchecked is not None or (self.problem is None and self.provided_by is not None)


def lock_reads(text: str, context: Path, changed_only: set[int] | None = None,
               require_existing: bool = True) -> list[LockRead]:
    """Every lock path read by a ``uv pip sync|install`` in the RUNs of ``text`` (those starting
    on a line in ``changed_only``, when given), each with the instruction that provides it.

    ``require_existing``: the lock must be a file in ``context`` (migrate read it). Without it
    (a ``--no-lock-check`` preview, before the lock exists) a COPY or mount naming a
    ``pylock*.toml`` is enough, and a folder copy must at least bring a folder the context has.
    """
    escape = "`" if re.match(r"(\ufeff)?(#[^\n]*\n)*#\s*escape\s*=\s*`", text, re.I) else "\\"
    commands = dockerfile.parse_string(text)
    stages: list[StageState] = []
    names: dict[str, StageState] = {}
    meta: dict[str, str] = {}
    state: StageState | None = None
    reads: list[LockRead] = []
    for cmd in commands:
        kw = cmd.cmd.upper()
        if kw == "FROM":
            state = _stage_start(cmd, stages, names, meta, escape)
            continue
        if state is None:
            if kw == "ARG":
                _arg(cmd, meta, meta, escape)
            continue
        if kw == "ARG":
            _arg(cmd, state.env, meta, escape)
        elif kw == "ENV":
            _env(cmd, state, escape)
        elif kw == "USER":
            state.user = True
        elif kw == "WORKDIR" and cmd.value:
            try:
                state.workdir = _join(state.workdir, dockerfile_word(cmd.value[0], state.env, escape))
            except Unsupported:
                state.workdir = unknown(f"WORKDIR_{cmd.start_line}")
            _add_dirs(state.dirs, state.workdir)
        elif kw in ("COPY", "ADD"):
            _copy(cmd, state, context, escape)
        elif kw == "RUN" and (changed_only is None or cmd.start_line in changed_only):
            reads += _run_reads(cmd, state, context, escape, require_existing)
    return reads


def _stage_start(cmd, stages: list[StageState], names: dict[str, StageState], meta: dict[str, str],
                 escape: str) -> StageState:
    words = list(cmd.value)
    try:
        image = dockerfile_word(words[0], meta, escape).lower() if words else ""
    except Unsupported:
        image = ""
    parent = names.get(image) or (stages[int(image)] if image.isdigit() and int(image) < len(stages) else None)
    if parent is not None:  # FROM an earlier stage: its ENV, WORKDIR and files; not its ARGs
        state = StageState(env=dict(parent.image_env), image_env=dict(parent.image_env), workdir=parent.workdir,
                           dirs=set(parent.dirs), copies=list(parent.copies), user=parent.user)
    else:
        repository = image.split("@")[0].split(":")[0].removeprefix("docker.io/").removeprefix("library/")
        state = StageState(workdir="/" if repository in ROOT_WORKDIR_IMAGES else BASE_WORKDIR)
    if len(words) >= 3 and words[1].lower() == "as":
        names[words[2].lower()] = state
    stages.append(state)
    return state


def _arg(cmd, scope: dict[str, str], meta: dict[str, str], escape: str) -> None:
    for item in cmd.value:
        name, eq, default = item.partition("=")
        if eq:
            try:
                scope[name] = dockerfile_word(default, scope, escape)
            except Unsupported:
                scope.pop(name, None)  # unknown
        elif scope is not meta and name in meta:
            scope[name] = meta[name]  # a global ARG declared again in the stage
        # an ARG without any default: unknown (a --build-arg may set it)


def _env(cmd, state: StageState, escape: str) -> None:
    values = list(cmd.value)
    for name, raw in zip(values[::2], values[1::2]):
        try:
            state.env[name] = state.image_env[name] = dockerfile_word(raw, state.env, escape)
        except Unsupported:
            state.env.pop(name, None)
            state.image_env.pop(name, None)


def _context_path(source: str) -> str:
    """A COPY or mount source as a path in the build context (BuildKit reads ``/x`` as ``x``)."""
    return posixpath.normpath(source.lstrip("/") or ".")


def _join(cwd: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(cwd, path)) if path else cwd


def _add_dirs(dirs: set[str], path: str) -> None:
    while path not in ("/", ""):
        dirs.add(path)
        path = posixpath.dirname(path)


def _copy(cmd, state: StageState, context: Path, escape: str) -> None:
    if cmd.heredocs or any(f.startswith(("--from", "--parents")) for f in cmd.flags):
        return
    words = list(cmd.value)
    if len(words) < 2:
        return
    env = state.env
    try:
        # BuildKit runs every COPY argument, exec form too, through its word processing
        sources = [dockerfile_word(w, env, escape) for w in words[:-1]]
        dest = dockerfile_word(words[-1], env, escape)
    except Unsupported:
        return
    dest_abs = _join(state.workdir, dest)
    into = dest.endswith("/") or len(sources) > 1 or dest in (".", "..") or dest.endswith("/.") \
        or dest_abs in state.dirs or dest_abs in IMAGE_DIRS or any(c in s for s in sources for c in "*?[")
    for src in sources:
        if "://" in src:
            continue
        src_norm = _context_path(src)
        on_disk = context / src_norm
        if any(c in src for c in "*?["):
            for match in sorted(context.glob(src_norm)):
                rel = match.relative_to(context).as_posix()
                state.copies.append((posixpath.join(dest_abs, match.name), rel, match.is_dir()))
        elif src.endswith("/") or src_norm == "." or on_disk.is_dir():
            state.copies.append((dest_abs, src_norm, True))
        elif into:
            state.copies.append((posixpath.join(dest_abs, posixpath.basename(src_norm)), src_norm, False))
        else:
            # No slash, not a folder known to exist: a file named dest, or (if the image has
            # such a folder) a file inside it. Either reading is accepted.
            state.copies.append((dest_abs, src_norm, False))
            state.copies.append((posixpath.join(dest_abs, posixpath.basename(src_norm)), src_norm, False))
    if into:
        _add_dirs(state.dirs, dest_abs)


# -- RUN: the uv steps and what they read ------------------------------------------------------------
def _run_reads(cmd, state: StageState, context: Path, escape: str, require_existing: bool) -> list[LockRead]:
    mounts = _bind_mounts(cmd, state, escape)
    reads: list[tuple[str, str | None, str | None, str | None]] = []  # (raw, path, problem, unchecked)
    if cmd.json:
        argv = list(cmd.value)
        if argv and posixpath.basename(argv[0]) in SHELLS:
            script = _shell_c_script(argv)
            if script is not None:
                reads += _script_reads(script, state.workdir, state.run_env())
        else:
            reads += [(w, _join(state.workdir, w), None, None) for w in _uv_lock_words(argv, argv)]
    else:
        line = cmd.value[0] if cmd.value else ""
        reads += _script_reads(line, state.workdir, state.run_env())
        for heredoc in cmd.heredocs:
            found = _script_reads(heredoc.content, state.workdir, state.run_env())
            if "\r" in heredoc.content:  # BuildKit keeps CRs in a CRLF file's heredoc: the words end in \r,
                # and the original pip step read a path with a \r just the same
                found = [(raw, None, None, "a heredoc body with CRLF line endings") for raw, *_ in found]
            reads += found
    out = []
    for raw, path, problem, unchecked in reads:
        provider = None
        if path is not None and problem is None:
            provider = _provider(path, state, mounts, context, require_existing)
        out.append(LockRead(cmd.start_line, raw, path, provider, problem, unchecked))
    return out


def _shell_c_script(argv: list[str]) -> str | None:
    for k, word in enumerate(argv[1:], 1):
        if not word.startswith("-"):
            return None
        if "c" in word[1:] and not word.startswith("--"):
            return argv[k + 1] if k + 1 < len(argv) else None
    return None


def _bind_mounts(cmd, state: StageState, escape: str) -> list[tuple[str, str]]:
    """(image path, context path) of every plain bind mount of the RUN."""
    out = []
    for flag in cmd.flags:
        if not flag.startswith("--mount="):
            continue
        opts = dict(kv.partition("=")[::2] for kv in flag[len("--mount="):].split(","))
        if opts.get("type", "bind") != "bind" or "from" in opts:
            continue
        target = opts.get("target") or opts.get("dst") or opts.get("destination")
        if not target:
            continue
        try:
            target = _join(state.workdir, dockerfile_word(target, state.env, escape))
            source = _context_path(dockerfile_word(opts.get("source") or opts.get("src") or ".", state.env, escape))
        except Unsupported:
            continue
        out.append((target, source))
    return out


def _provider(path: str, state: StageState, mounts: list[tuple[str, str]], context: Path,
              require_existing: bool) -> str | None:
    for target, source in mounts:
        if path == target or path.startswith(target.rstrip("/") + "/"):
            # the mount hides what earlier instructions put there: it provides the lock or nothing does
            found = _provides(path, target, source, True, context, require_existing) or \
                _provides(path, target, source, False, context, require_existing)
            return f"bind mount of {found}" if found else None
    for image_path, source, is_dir in reversed(state.copies):
        found = _provides(path, image_path, source, is_dir, context, require_existing)
        if found:
            return f"COPY of {found}"
    return None


def _provides(path: str, image_path: str, source: str, is_dir: bool, context: Path,
              require_existing: bool) -> str | None:
    """The context path of the lock put at ``path`` by this copy or mount, if it puts one there."""
    if is_dir:
        if not path.startswith(image_path.rstrip("/") + "/"):
            return None
        ctx = posixpath.normpath(posixpath.join(source, posixpath.relpath(path, image_path)))
    elif path == image_path:
        ctx = source
    else:
        return None
    if ctx.startswith("..") or ctx.startswith("/") or not LOCK_NAME.fullmatch(posixpath.basename(ctx)):
        return None
    if require_existing and not (context / ctx).is_file():
        return None
    if is_dir and not require_existing and not (context / posixpath.dirname(ctx)).is_dir():
        return None  # no lock yet: one made in that folder would be copied there, but there is no such folder
    return ctx


# -- shell scripts ---------------------------------------------------------------------------------
RESERVED = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time", "exec"}


def _script_reads(script: str, cwd: str | None, env: dict[str, str]) -> list[tuple]:
    """(raw word, absolute path, problem, unchecked) for each lock word of each uv command."""
    out = []
    stack = [cwd]
    for depth, words in shell_commands(script):
        while len(stack) > depth + 1:
            stack.pop()
        while len(stack) < depth + 1:
            stack.append(stack[-1])
        words = _strip_prefix(words)
        if not words:
            continue
        name = _plain(words[0])
        if name == "cd":
            args = [w for w in words[1:] if _plain(w) not in ("-P", "-L", "--")]
            try:
                value = shell_values(args[0], env) if len(args) == 1 and not _runs_code(args[0]) else []
            except Unsupported:
                value = []
            stack[-1] = _join(stack[-1], value[0]) if stack[-1] is not None and len(value) == 1 else None
        elif name is not None and posixpath.basename(name) in SHELLS:
            plain = [_plain(w) for w in words]
            if None in plain:
                continue
            inner = _shell_c_script(plain)  # type: ignore[arg-type]
            if inner is not None:
                out += _script_reads(inner, stack[-1], env)
        elif name is not None and posixpath.basename(name) == "uv":
            for raw in _uv_lock_words(words, [_plain(w) for w in words]):
                out.append(_evaluate(raw, stack[-1], env))
    return out


def _evaluate(raw: str, cwd: str | None, env: dict[str, str]) -> tuple:
    if _runs_code(raw):
        return raw, None, "the lock path runs code when the shell expands it", None
    defaulted = [n for n in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?[-=]", raw) if n not in env]
    if defaulted:  # set by the base image, or unset so the default applies: the oracle cannot tell
        return raw, None, None, f"a default for {defaulted[0]}, which the Dockerfile does not set"
    try:
        values = shell_values(raw, env)
    except Unsupported as exc:
        return raw, None, None, str(exc)
    if len(values) != 1:
        return raw, None, f"the lock path expands to {len(values)} words: {values!r}", None
    if cwd is None and not values[0].startswith("/"):
        return raw, None, None, "a cd earlier in the script goes where the oracle cannot follow"
    return raw, _join(cwd or "/", values[0]), None, None


def _strip_prefix(words: list[str]) -> list[str]:
    """Drop reserved words, ``NAME=value`` assignments and ``env [VAR=x]`` in front of a command."""
    k = 0
    while k < len(words):
        plain = _plain(words[k])
        if plain in RESERVED or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[k], re.S):
            k += 1
        elif plain == "env":
            k += 1
            while k < len(words) and ("=" in words[k] or words[k].startswith("-")):
                k += 1
        else:
            break
    return words[k:]


def _uv_lock_words(words: list[str], plain: list[str | None]) -> list[str]:
    """The raw words naming locks in ``uv pip sync LOCK`` / ``uv pip install -r LOCK``."""
    if len(plain) < 3 or plain[1] != "pip" or plain[2] not in ("sync", "install"):
        return []
    out = []
    k = 3
    while k < len(words):
        p = plain[k]
        if plain[2] == "sync" and (p is None or not p.startswith("-")):  # None: a word with expansions
            out.append(words[k])
        elif p in ("-r", "--requirement", "--requirements") and k + 1 < len(words):
            out.append(words[k + 1])
            k += 1
        elif p is not None and p.startswith(("--requirement=", "--requirements=")):
            out.append(words[k].split("=", 1)[1])
        elif p is not None and p.startswith("-r") and not p.startswith("--"):
            out.append(words[k][2:])
        elif p in UV_VALUE_OPTIONS:
            k += 1
        k += 1
    return out


def _plain(raw: str) -> str | None:
    """A word's value when it has quotes at most (no expansions outside single quotes); else None."""
    if _expands(raw):
        return None
    try:
        return dockerfile_word(raw, {}, "\\")
    except Unsupported:
        return None


def _expands(raw: str) -> bool:
    """Does the word hold a ``$`` or backtick the shell would act on (outside single quotes)?"""
    return _unquoted_scan(raw, lambda i: raw[i] in "$`")


def _runs_code(raw: str) -> bool:
    """Would the shell run a command while expanding this word (``$(...)``, backticks)?"""
    return _unquoted_scan(raw, lambda i: raw[i] == "`" or raw.startswith("$(", i))


def _unquoted_scan(raw: str, hit) -> bool:
    """Is ``hit(i)`` true at some index outside single quotes (backslash escapes skipped)?"""
    quote, i = None, 0
    while i < len(raw):
        c = raw[i]
        if quote == "'":
            quote = None if c == "'" else quote
        elif c == "\\":
            i += 1
        elif c == "'" and quote is None:
            quote = "'"
        elif c == '"':
            quote = None if quote == '"' else '"'
        elif hit(i):
            return True
        i += 1
    return False


def shell_values(raw: str, env: dict[str, str]) -> list[str]:
    """The fields ``/bin/sh`` makes of one word (no command substitution in it; globbing off)."""
    assert not _runs_code(raw)
    names = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", raw))
    shell_env = {name: unknown(name) for name in names | {"HOME"}}
    shell_env.update(env)
    shell_env["PATH"] = "/nonexistent"  # nothing can run even if the oracle is wrong
    done = subprocess.run(["/bin/sh", "-fc", 'printf "%s\\0" ' + raw], env=shell_env, capture_output=True,
                          cwd="/", timeout=10)
    if done.returncode != 0:
        raise Unsupported(f"/bin/sh could not expand {raw!r}: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode().split("\0")[:-1]


def shell_commands(script: str) -> list[tuple[int, list[str]]]:
    """Simple commands of a shell script as (subshell depth, raw words), in order.

    Separators: ``&&``, ``||``, ``;``, ``|``, ``&``, newlines; ``(``/``)`` open and close a
    subshell. Quotes, escapes, ``$(...)``, ``${...}`` and backticks stay inside words;
    redirections and their targets are dropped; heredoc bodies are skipped.
    """
    out: list[tuple[int, list[str]]] = []
    words: list[str] = []
    word: list[str] | None = None
    depth = 0
    pending_heredocs: list[str] = []
    skip_next_word = False
    i, n = 0, len(script)

    def end_word() -> None:
        nonlocal word, skip_next_word
        if word is not None:
            if skip_next_word:
                skip_next_word = False
            else:
                words.append("".join(word))
        word = None

    def end_command() -> None:
        nonlocal words
        end_word()
        if words:
            out.append((depth, words))
        words = []

    while i < n:
        c = script[i]
        if c == "\\" and i + 1 < n:
            if script[i + 1] == "\n":
                i += 2
                continue
            word = (word or []) + [script[i:i + 2]]
            i += 2
        elif c in "'\"`":
            j = _closing(script, i)
            word = (word or []) + [script[i:j]]
            i = j
        elif c == "$" and script.startswith(("$(", "${"), i):
            j = _balanced(script, i + 1)
            word = (word or []) + [script[i:j]]
            i = j
        elif c in " \t":
            end_word()
            i += 1
        elif c == "#" and word is None:
            i = script.find("\n", i) if "\n" in script[i:] else n
        elif c == "\n":
            end_command()
            i += 1
            for delimiter in pending_heredocs:
                while i < n:
                    end = script.find("\n", i)
                    end = n if end < 0 else end
                    line, i = script[i:end], end + 1
                    if line.strip("\t") == delimiter:
                        break
            pending_heredocs = []
        elif c in ";&|":
            end_command()
            i += 2 if script.startswith(("&&", "||", ";;"), i) else 1
        elif c == "(":
            end_command()
            depth += 1
            i += 1
        elif c == ")":
            end_command()
            depth = max(0, depth - 1)
            i += 1
        elif c in "<>":
            if word is not None and "".join(word).isdigit():
                word = None  # a file descriptor number
            end_word()
            m = re.match(r"<<-?\s*(['\"]?)([A-Za-z_][\w.-]*)\1|[<>]+&?-?|<>", script[i:])
            if m and m.group(2):
                pending_heredocs.append(m.group(2))
            else:
                skip_next_word = True  # the redirect's target
            i += m.end() if m else 1
        else:
            word = (word or []) + [c]
            i += 1
    end_command()
    return out


def _closing(s: str, i: int) -> int:
    """Index after the quote (or backtick) that closes the one at ``s[i]``."""
    q = s[i]
    j = i + 1
    while j < len(s):
        if s[j] == "\\" and q != "'":
            j += 2
            continue
        if s[j] == q:
            return j + 1
        if q == '"' and s.startswith(("$(", "${"), j):
            j = _balanced(s, j + 1)
            continue
        j += 1
    return len(s)


def _balanced(s: str, i: int) -> int:
    """Index after the bracket that closes the ``(`` or ``{`` at ``s[i]``."""
    open_, close = s[i], ")" if s[i] == "(" else "}"
    depth, j = 0, i
    while j < len(s):
        c = s[j]
        if c in "'\"`":
            j = _closing(s, j)
            continue
        if c == "\\":
            j += 2
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(s)
