"""Which files of the build context a Dockerfile's rules will read.

The loader asks this until the answer stops growing (requirements files name their includes
only once read). Pure: computed from the model and what is already loaded.
"""

from __future__ import annotations

import posixpath

from dockerlock.context import BuildContext, ContextEscape, context_relative
from dockerlock.facts.copies import split_copy
from dockerlock.facts.locks import lock_candidates, python_version_files
from dockerlock.facts.requirements import context_requirements
from dockerlock.facts.stanzas import pip_stanzas
from dockerlock.facts.uv_steps import locked_steps
from dockerlock.model import Dockerfile
from dockerlock.settings import Settings


def copy_sources(df: Dockerfile) -> list[str]:
    """Context-relative sources of the COPY/ADD instructions (to infer the context root)."""
    sources: list[str] = []
    for ins in df.instructions:
        if ins.keyword in ("COPY", "ADD") and ins.flag("from") is None:
            parts = split_copy(df, ins)
            if parts:
                sources.extend(s for s in parts[0] if "://" not in s)
    return sources


def files_needed(df: Dockerfile, ctx: BuildContext, settings: Settings) -> set[str]:
    wanted: set[str] = set()
    lock_folders: set[str] = set()
    for stanza in pip_stanzas(df, ctx, settings):
        for file in stanza.files:
            if file.context_path and file.problem is None:
                wanted.add(file.context_path)
                _, missing = context_requirements(ctx, file.context_path, constraint=file.option == "-c")
                wanted |= missing
        for lock in lock_candidates(settings, stanza):
            wanted.add(lock)
            lock_folders.add(posixpath.dirname(lock))
    for step in locked_steps(df, ctx):
        if step.lock_context_path:
            wanted.add(step.lock_context_path)
            folder = posixpath.dirname(step.lock_context_path)
            lock_folders.add(folder)
            for requirements in step.requirements_paths(ctx):
                wanted.add(requirements)
                _, missing = context_requirements(ctx, requirements)
                wanted |= missing
    for folder in lock_folders:
        wanted.update(python_version_files(folder))
    # the contents are looked up by normalised context path (``COPY /pylock.toml`` reads pylock.toml)
    return {_normal(w) for w in wanted if ctx.index.is_file(w) or not ctx.index.complete}


def _normal(path: str) -> str:
    try:
        return context_relative(path)
    except ContextEscape:
        return path  # the reader reports it as leaving the context
