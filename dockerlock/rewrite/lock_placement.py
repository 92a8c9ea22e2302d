"""Where the lock lands in the image, and the word the uv step reads it by.

The lock goes where the requirements file went: beside it, brought in the same way (a COPY
line replacing or joining the requirements COPY, a bind mount replacing the requirements
mount, or the folder copy that already brings both). The uv step must read *exactly* the path
the lock was copied to, as the shell expands it, so the step's word is derived from the
shell's value of the pip word (``-r "/tmp/requirements.txt"`` -> ``/tmp/pylock.toml``; a
variable directory is kept as written: ``$wdir/requirements.txt`` -> ``$wdir/pylock.toml``),
and both ends are checked against each other before anything is planned.
"""

from __future__ import annotations

import bisect
import posixpath
from typing import NamedTuple

from dockerlock.context import BuildContext
from dockerlock.edits import Edit
from dockerlock.facts.commands import run_commands
from dockerlock.facts.copies import absolute_in_image, split_copy, workdir_of
from dockerlock.facts.expansion import expand
from dockerlock.facts.stanzas import PipStanza, RequirementsFile
from dockerlock.model import Dockerfile, Instruction
from dockerlock.rewrite.quoting import copy_arguments, kept_as_written
from dockerlock.shell import UnquotableWord, quote_word

_CSV_UNSAFE = set(',"\'\n\r')


class LockPlacement(NamedTuple):
    """Where a converted step's lock comes from in the image, and the edits that bring it there."""

    image_path: str  # where the lock is in the image ("/?/..." when the working directory is unknown)
    step_word: str  # shell text the uv step reads the lock by
    copy_line: str | None = None  # a COPY line that brings the lock (None: it arrives another way)
    replaces: Instruction | None = None  # the requirements COPY that copy_line replaces
    mount_edit: Edit | None = None  # the requirements bind mount rewritten for the lock
    with_folder: Instruction | None = None  # a folder COPY that already brings the lock
    notes: tuple[str, ...] = ()
    problem: str | None = None


def place_lock(df: Dockerfile, ctx: BuildContext, stanza: PipStanza, lock_path: str) -> LockPlacement:
    first = stanza.requirements[0]
    assert first.provider is not None and first.context_path is not None and first.image_path is not None
    lock_base = _image_lock_name(stanza, lock_path)
    image_path = posixpath.join(posixpath.dirname(first.image_path), lock_base)
    word = _step_word(first, lock_base, image_path)
    if word is None:
        return LockPlacement(image_path, "", problem=f"the lock path {image_path} cannot be written as a shell word")
    problem = _check_step_word(df, stanza, word, image_path)
    if problem:
        return LockPlacement(image_path, word, problem=problem)
    beside = posixpath.dirname(lock_path) == posixpath.dirname(first.context_path)
    provider = first.provider
    if provider.mount is not None:
        return _by_mount(df, stanza, first, lock_path, image_path, word, beside)
    assert provider.copy is not None
    if provider.copy.dir_copy:
        folder = posixpath.normpath(posixpath.dirname(first.context_path))
        inside = lock_path.startswith(_source_folder(first) + "/") or _source_folder(first) in ("", ".")
        if inside and beside:
            return LockPlacement(image_path, word, with_folder=provider.instruction)
        line = _lock_copy_line(df, ctx, provider.instruction, lock_path, posixpath.dirname(image_path) + "/",
                               None, folder)
        return _checked_copy(df, stanza, LockPlacement(image_path, word, copy_line=line), image_path)
    dest = _lock_dest(df, provider.instruction, provider.copy.dest_is_dir)
    renamed = lock_base != posixpath.basename(lock_path)
    line = _lock_copy_line(df, ctx, provider.instruction, lock_path, dest + lock_base if renamed else dest,
                           provider.copy.source_raw if beside else None, posixpath.dirname(first.context_path),
                           with_python_version=not renamed)
    if line is None:
        return LockPlacement(image_path, word, problem="the lock path cannot be written safely in a COPY line")
    notes: list[str] = []
    replaces = None
    if provider.copy.sole_source and len(stanza.requirements) == 1 and not _used_elsewhere(df, stanza, first):
        replaces = provider.instruction
    elif not provider.copy.sole_source or len(stanza.requirements) > 1:
        notes.append("kept the requirements COPY: it copies other files too")
    else:
        notes.append("kept the requirements COPY: a later instruction still uses the file")
    return _checked_copy(df, stanza, LockPlacement(image_path, word, copy_line=line, replaces=replaces,
                                                   notes=tuple(notes)), image_path)


def _image_lock_name(stanza: PipStanza, lock_path: str) -> str:
    """The lock's name in the image: the context lock's name, unless a single-file COPY renamed the
    requirements on the way in (``COPY contrib/requirements.txt base_requirements.txt``). Then the lock
    is named after the image's name (``pylock.base.toml``), as the requirements were: two files the
    original kept apart in the image stay apart, instead of two locks landing on one path."""
    from dockerlock.lock_names import lock_name

    context_base = posixpath.basename(lock_path)
    files = stanza.requirements
    if any(f.provider is None or f.provider.copy is None or f.provider.copy.dir_copy for f in files):
        return context_base
    image_names = [posixpath.basename(f.image_path or "") for f in files]
    if image_names == [posixpath.basename(f.context_path or "") for f in files]:
        return context_base
    named = lock_name(image_names)
    return posixpath.basename(named) if named else context_base


def _source_folder(first: RequirementsFile) -> str:
    """The build-context folder a folder COPY copies (``COPY backend/ /app/`` -> ``backend``)."""
    assert first.context_path is not None and first.image_path is not None
    copy = first.provider.copy if first.provider else None
    raw = copy.source_raw if copy else "."
    return posixpath.normpath(raw.strip("\"'").rstrip("/") or ".") if "$" not in raw else \
        posixpath.normpath(posixpath.dirname(first.context_path))


# -- the step's word -------------------------------------------------------------------------
def _step_word(first: RequirementsFile, lock_base: str, image_path: str) -> str | None:
    raw, value = first.word.raw, first.value
    assert value is not None
    base = posixpath.basename(value)
    try:
        if first.word.value is not None:  # fully static: derive from the shell's value, quote afresh
            return quote_word(posixpath.join(posixpath.dirname(value), lock_base))
    except UnquotableWord:
        return None
    # A variable directory stays as written, so --build-arg keeps working.
    for opening, closing in (("", ""), ('"', '"')):
        if raw.startswith(opening) and raw.endswith("/" + base + closing):
            head = raw[len(opening):len(raw) - len(base) - len(closing)]
            if kept_as_written(head):
                return f"{opening}{head}{lock_base}{closing}"
    if image_path.startswith("/?"):
        return None
    try:
        return quote_word(image_path)
    except UnquotableWord:
        return None


def _check_step_word(df: Dockerfile, stanza: PipStanza, word: str, image_path: str) -> str | None:
    """The safety net for the point of the rewrite: the step reads where the lock is."""
    value = expand(df, stanza.instruction, word)
    if value is None:
        return f"cannot tell which path `{word}` names at build time"
    if absolute_in_image(value, stanza.cwd) != image_path:
        return (f"the uv step would read {absolute_in_image(value, stanza.cwd)} but the lock lands at {image_path}")
    return None


# -- by COPY ---------------------------------------------------------------------------------
def _lock_dest(df: Dockerfile, provider: Instruction, dest_is_dir: bool) -> str:
    """The requirements COPY's destination folder, as written (``.`` -> ``./``, ``/app/r.txt`` -> ``/app/``)."""
    parts = split_copy(df, provider)
    assert parts is not None
    dest = parts[1]
    if not kept_as_written(dest):  # quoted or escaped: work from BuildKit's value of the word
        value = expand(df, provider, dest)
        dest = value if value is not None else dest
    folder = dest.rstrip("/") if dest_is_dir else posixpath.dirname(dest)
    if folder in ("", "."):
        return "./"
    return folder.rstrip("/") + "/"


def _lock_copy_line(df: Dockerfile, ctx: BuildContext, provider: Instruction, lock_path: str, dest: str,
                    source_raw: str | None, requirements_folder: str, *, with_python_version: bool = True
                    ) -> str | None:
    """``COPY [flags] <lock> [<.python-version>] <dest>`` in the provider's style (a ``dest`` naming
    a file renames the lock, and then it travels alone)."""
    lock_dir = posixpath.dirname(lock_path)
    python_version = posixpath.join(lock_dir, ".python-version") if lock_dir else ".python-version"
    sources = [_source_text(source_raw, lock_path)]
    if with_python_version and ctx.is_file(python_version):
        sources.append(_source_text(source_raw, python_version))
    elif dest.endswith("/") and dest != "./":
        dest = dest + posixpath.basename(lock_path)
    flags = " ".join(f.raw for f in provider.flags if f.name in ("chown", "chmod", "link"))
    args = copy_arguments(sources + [dest])
    if args is None:
        return None
    return f"COPY {flags + ' ' if flags else ''}{args}"


def _source_text(source_raw: str | None, context_path: str) -> str:
    """How to write a COPY source beside the requirements: keep the requirements source's variable
    folder (``${SERVICE}/requirements.txt`` -> ``${SERVICE}/pylock.toml``) when it has one."""
    name = posixpath.basename(context_path)
    if source_raw and "$" in source_raw and "/" in source_raw:
        head = source_raw.rsplit("/", 1)[0]
        if kept_as_written(head) and "$" not in source_raw.rsplit("/", 1)[1]:
            return f"{head}/{name}"
    return context_path


def _checked_copy(df: Dockerfile, stanza: PipStanza, placement: LockPlacement, image_path: str) -> LockPlacement:
    """The COPY line must put the lock where the step reads it (same check, other end)."""
    assert placement.copy_line is not None
    at = placement.replaces or stanza.instruction
    dest = _copy_destination(df, at, placement.copy_line)
    if dest is None:
        return LockPlacement(image_path, placement.step_word, problem="cannot tell where the lock COPY puts the lock")
    landed = absolute_in_image(dest, workdir_of(df, at))
    if dest.endswith("/"):
        landed = posixpath.join(landed, posixpath.basename(image_path))
    if landed != image_path:
        return LockPlacement(image_path, placement.step_word,
                             problem=f"the lock COPY would put the lock at {landed}, not {image_path}")
    return placement


def _copy_destination(df: Dockerfile, at: Instruction, line: str) -> str | None:
    """The destination of a generated COPY line, as BuildKit will read it at ``at``."""
    import json

    args = line.split(" ", 1)[1]
    while args.startswith("--"):
        args = args.split(" ", 1)[1]
    if args.startswith("["):
        dest = json.loads(args)[-1]
        # JSON form: no quote removal; a '$' would still be expanded, and we never write one here
        return None if "$" in dest else dest
    return expand(df, at, args.rsplit(" ", 1)[-1])


def _used_elsewhere(df: Dockerfile, stanza: PipStanza, first: RequirementsFile) -> bool:
    """Does any other instruction mention the requirements file (rm, another pip, COPY --from)?"""
    assert first.provider is not None and first.image_path is not None
    provider = first.provider.instruction
    base = posixpath.basename(first.image_path)
    text = df.source.text
    starts = df.cache.get(("instruction-starts",))
    if starts is None:
        starts = df.cache[("instruction-starts",)] = [ins.span.start for ins in df.instructions]
    at = text.find(base, provider.span.end)
    while at >= 0:  # every later mention, by its instruction (comments between them count for none)
        ins = df.instructions[bisect.bisect_right(starts, at) - 1]
        if ins.index not in (provider.index, stanza.instruction.index) and ins.span.start <= at < ins.span.end:
            return True
        at = text.find(base, at + len(base))
    commands, _ = run_commands(df, stanza.instruction)
    own = stanza.command.source_span()
    return any(c.position != stanza.command.position and not c.source_span().contains(own)
               and any(base in w.raw for w in c.argv) for c in commands)


# -- by bind mount (the docker init template) ---------------------------------------------------
def _by_mount(df: Dockerfile, stanza: PipStanza, first: RequirementsFile, lock_path: str, image_path: str,
              word: str, beside: bool) -> LockPlacement:
    mount = first.provider.mount if first.provider else None
    assert mount is not None
    if not mount.whole_file:
        folder = posixpath.normpath(mount.options.get("source") or mount.options.get("src") or ".")
        if beside and (folder in ("", ".") or lock_path.startswith(folder + "/")):
            return LockPlacement(image_path, word)  # the mounted folder holds the lock too
        return LockPlacement(image_path, word, problem="the lock lies outside the bind-mounted folder")
    if len(stanza.requirements) > 1:
        return LockPlacement(image_path, word, problem="several requirements files are bind-mounted; "
                                                       "bind the lock by hand")
    options = dict(mount.options)
    # A source or target written with a variable ($REQ) is replaced by its value: the folder
    # part of the raw text ("" for "$REQ") is not where the file is.
    for key in ("source", "src"):
        if key in options:
            source = options[key]
            options[key] = posixpath.join(posixpath.dirname(source), posixpath.basename(lock_path)) \
                if beside and "$" not in source else lock_path
    for key in ("target", "dst", "destination"):
        if key in options:
            target = options[key]
            if "$" in target and image_path.startswith("/?"):
                return LockPlacement(image_path, word, problem="the bind mount's target depends on a working "
                                                               "directory dockerlock does not know")
            options[key] = image_path if "$" in target else \
                posixpath.join(posixpath.dirname(target), posixpath.basename(lock_path))
    if any(set(v) & _CSV_UNSAFE for v in options.values()):
        return LockPlacement(image_path, word, problem="the bind mount's options need quoting dockerlock does not write")
    edit = Edit(stanza.instruction.logical.source_span(mount.flag.start, mount.flag.end),
                _mount_text(mount.flag.raw, options))
    return LockPlacement(image_path, word, mount_edit=edit)


def _mount_text(raw: str, options: dict[str, str]) -> str:
    """The mount flag with its source and target values replaced; every other field keeps its
    spelling and place (``Source=``, a bare ``ro``). A value written in quotes is rewritten from
    ``options`` whole, in the lower-case spelling BuildKit reads."""
    name, _, value = raw.partition("=")
    if set(value) & set("'\""):
        return "--mount=" + ",".join(f"{k}={v}" for k, v in options.items())
    fields = []
    for field in value.split(","):
        key, sep, _old = field.partition("=")
        lower = key.strip().lower()
        fields.append(f"{key}={options[lower]}" if sep and lower in _PATH_KEYS else field)
    return f"{name}={','.join(fields)}"


_PATH_KEYS = frozenset({"source", "src", "target", "dst", "destination"})
