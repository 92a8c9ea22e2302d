"""Where a path in the image comes from: COPY/ADD sources, bind mounts, working directories.

Pure: existence questions go to the build context's index, never to the disk.
"""

from __future__ import annotations

import fnmatch
import posixpath
from typing import NamedTuple

from dockerlock.context import BuildContext
from dockerlock.facts.expansion import expand
from dockerlock.model import Dockerfile, Flag, Instruction
from dockerlock.words import split_words


def split_copy(df: Dockerfile, ins: Instruction) -> tuple[tuple[str, ...], str] | None:
    """Sources and destination of a COPY/ADD as written (None for heredoc copies; cached: every
    stanza's provider search reads the same COPYs)."""
    key = ("split_copy", ins.index)
    if key not in df.cache:
        df.cache[key] = _split_copy(df, ins)
    return df.cache[key]  # type: ignore[return-value]


def _split_copy(df: Dockerfile, ins: Instruction) -> tuple[tuple[str, ...], str] | None:
    if ins.heredocs:
        return None
    if ins.exec_args is not None:
        args = list(ins.exec_args)
    else:
        args = [w.raw for w in split_words(ins.logical.text, ins.body_start, escape=df.escape)]
    if len(args) < 2:
        return None
    return tuple(args[:-1]), args[-1]


def workdir_of(df: Dockerfile, ins: Instruction) -> str | None:
    """The working directory ``ins`` runs in: the last WORKDIR, else the base image's own —
    ``/`` for the official images that set none (python, debian, ubuntu, alpine...), /var/task
    for AWS Lambda's — else None."""
    workdir = df.workdir_at(ins)
    if workdir is not None:
        return workdir
    stage = df.stage_of(ins)
    if stage is None:
        return None
    from dockerlock.facts.images import image_defaults

    first = _first_workdirs(df).get(stage.index)
    if first is not None and first < ins.index:
        return None  # a WORKDIR dockerlock cannot resolve
    return image_defaults(df, stage)[0]


def _first_workdirs(df: Dockerfile) -> dict[int, int]:
    """Stage index -> index of the first WORKDIR in the stage or the stages it is built FROM."""
    key = ("first-workdirs",)
    if key not in df.cache:
        first: dict[int, int] = {}
        for stage in df.stages:
            own = next((x.index for x in stage.instructions if x.keyword == "WORKDIR"), None)
            inherited = first.get(stage.parent) if stage.parent is not None else None
            found = [i for i in (own, inherited) if i is not None]
            if found:
                first[stage.index] = min(found)
        df.cache[key] = first
    return df.cache[key]  # type: ignore[return-value]


def absolute_in_image(path: str, cwd: str | None) -> str:
    if path.startswith("/"):
        return posixpath.normpath(path)
    base = cwd if cwd is not None else "/?"  # unknown base-image workdir: still comparable
    return posixpath.normpath(posixpath.join(base, path))


def known_dirs(df: Dockerfile, ins: Instruction) -> set[str]:
    """Folders that exist when ``ins`` runs: /, /tmp, every WORKDIR so far, the base image's."""
    stage = df.stage_of(ins)
    if stage is None:
        return {"/", "/tmp"}
    inherited, own = _workdir_folders(df)[stage.index]
    dirs = set(inherited)
    for index, folders in own:
        if index >= ins.index:
            break
        dirs |= folders
    return dirs


def _workdir_folders(df: Dockerfile) -> dict[int, tuple[frozenset[str], list[tuple[int, frozenset[str]]]]]:
    """Per stage: the folders that exist when it starts (base image, WORKDIRs of the stages it is
    built FROM), and its own WORKDIRs in order with the folders each creates (cached per file)."""
    from dockerlock.facts.images import image_defaults

    key = ("workdir-folders",)
    if key in df.cache:
        return df.cache[key]  # type: ignore[return-value]
    table: dict[int, tuple[frozenset[str], list[tuple[int, frozenset[str]]]]] = {}
    for stage in df.stages:
        if stage.parent is not None and stage.parent in table:
            parent_start, parent_own = table[stage.parent]
            start = set(parent_start).union(*(f for _i, f in parent_own))
        else:
            start = {"/", "/tmp"} | _with_parents(image_defaults(df, stage)[0])
        own = []
        for x in stage.instructions:
            if x.keyword == "WORKDIR" and x.index + 1 < len(df.instructions):
                own.append((x.index, frozenset(_with_parents(df.workdir_at(df.instructions[x.index + 1])))))
        table[stage.index] = (frozenset(start), own)
    df.cache[key] = table
    return table


def _with_parents(folder: str | None) -> set[str]:
    out = set()
    while folder and folder != "/":
        out.add(folder)
        folder = posixpath.dirname(folder)
    return out


class CopySource(NamedTuple):
    """How a COPY/ADD puts one path into the image."""

    context_path: str | None  # the path in the build context (or the other stage, with --from)
    dir_copy: bool  # it arrives inside a copied folder
    sole_source: bool  # the COPY copies just this file
    dest_is_dir: bool  # the COPY's destination is a folder
    source_raw: str  # the COPY source word that brings it, as written (keeps ${VARS})


def copy_provides(df: Dockerfile, context: BuildContext, ins: Instruction, image_path: str) -> CopySource | None:
    """Does ``ins`` (a COPY/ADD) put ``image_path`` into the image, and from where?"""
    parts = split_copy(df, ins)
    if parts is None:
        return None
    sources, dest = parts
    dest_value = expand(df, ins, dest)
    if dest_value is None:
        return None
    workdir = workdir_of(df, ins)
    dest_abs = absolute_in_image(dest_value, workdir)
    # Docker copies *into* a destination that already exists as a directory; every
    # WORKDIR (and its parents) exists by the time a later COPY runs.
    dest_is_dir = dest_value.endswith("/") or len(sources) > 1 or dest_value in (".", "..") \
        or dest_value.endswith("/.") or dest_abs in known_dirs(df, ins)
    frm = ins.flag("from") is not None
    for src in sources:
        src_value = expand(df, ins, src)
        if src_value is None:
            continue
        is_dir = src_value in (".", "./") or src_value.endswith("/") or (not frm and context.is_dir(src_value))
        if not is_dir and not frm and not dest_is_dir and not context.exists(src_value) \
                and not any(c in src_value for c in "*?["):
            # Unknown on disk, copied to a *file* destination: a path below that destination
            # can only come from a directory. (Into a folder destination, a missing source
            # could be either, so it is not taken as the provider of anything but its name.)
            below = image_path.startswith(dest_abs.rstrip("/") + "/")
            rel = posixpath.relpath(image_path, dest_abs) if below else ""
            is_dir = below and rel != posixpath.basename(src_value)
        if is_dir:
            rel = posixpath.relpath(image_path, dest_abs) if image_path.startswith(dest_abs.rstrip("/") + "/") \
                or dest_abs == "/" else None
            if rel and not rel.startswith(".."):
                ctx = posixpath.normpath(posixpath.join(src_value, rel))
                return CopySource(ctx, True, False, True, src)
            continue
        target = posixpath.join(dest_abs, posixpath.basename(src_value)) if dest_is_dir or \
            (not frm and context.is_dir(dest_value)) else dest_abs
        if target == image_path:
            return CopySource(posixpath.normpath(src_value), False, len(sources) == 1, target != dest_abs, src)
        if any(c in src_value for c in "*?[") and dest_is_dir and \
                fnmatch.fnmatch(posixpath.basename(image_path), posixpath.basename(src_value)) and \
                posixpath.dirname(image_path) == dest_abs:
            ctx = posixpath.join(posixpath.dirname(src_value), posixpath.basename(image_path))
            return CopySource(posixpath.normpath(ctx), False, False, True, src)
    return None


class MountSource(NamedTuple):
    """A ``RUN --mount=type=bind`` that puts a path at ``image_path`` for the RUN's duration."""

    flag: Flag
    options: dict[str, str]
    context_path: str | None  # None when the mount reads another stage or image (from=)
    from_: str | None
    whole_file: bool  # the mount's target is the path itself (not a folder holding it)


def bind_mount_provides(df: Dockerfile, ins: Instruction, image_path: str) -> MountSource | None:
    """The bind mount of ``ins`` that provides ``image_path``, if any (the docker init template
    binds ``requirements.txt`` instead of copying it)."""
    workdir = workdir_of(df, ins)
    for flag in ins.flags_named("mount"):
        options = flag.options()
        if options.get("type", "bind") != "bind":
            continue
        target = options.get("target") or options.get("dst") or options.get("destination")
        if not target:
            continue
        target_value = expand(df, ins, target)
        if target_value is None:
            continue
        target_abs = absolute_in_image(target_value, workdir)
        source = options.get("source") or options.get("src") or ""
        source_value = expand(df, ins, source) if source else ""
        if source_value is None:
            continue
        from_ = options.get("from")
        if image_path == target_abs:
            return MountSource(flag, options, None if from_ else posixpath.normpath(source_value or "."),
                               from_, True)
        if image_path.startswith(target_abs.rstrip("/") + "/"):
            rel = posixpath.relpath(image_path, target_abs)
            ctx = posixpath.normpath(posixpath.join(source_value or ".", rel))
            return MountSource(flag, options, None if from_ else ctx, from_, False)
    return None
