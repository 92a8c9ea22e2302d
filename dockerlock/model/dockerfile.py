"""The parsed Dockerfile: directives, stages and instructions, and what is in scope where."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from dockerlock.model.instruction import Directive, Instruction
from dockerlock.model.locate import build_instructions, locate
from dockerlock.model.scan import prescan
from dockerlock.model.scopes import (
    META,
    Scopes,
    Var,
    assign_stage,
    name_value_error,
    parse_arg,
    resolve_workdirs,
)
from dockerlock.source import Source
from dockerlock.words import expand, split_words


@dataclass
class Stage:
    """A build stage: its FROM, base image, name, platform and instructions."""

    index: int
    from_instruction: Instruction
    image: str  # as written
    image_expanded: str | None  # with global ARG defaults applied
    name: str | None
    platform: str | None
    parent: int | None  # index of the earlier stage this one is built FROM
    instructions: list[Instruction] = field(default_factory=list)

    @property
    def start_line(self) -> int:
        return self.from_instruction.start_line


class Dockerfile:
    """A parsed Dockerfile: directives, stages and instructions, all pointing into ``source``."""

    def __init__(self, source: Source, directives: tuple[Directive, ...], escape: str,
                 instructions: tuple[Instruction, ...]) -> None:
        self.source = source
        self.directives = directives
        self.escape = escape
        self.instructions = instructions
        self.cache: dict[object, object] = {}  # derived facts (e.g. parsed RUN commands), per model
        self.meta_args: dict[str, Var] = {}
        self.stages: list[Stage] = []
        self._parents: list[int | None] = []
        self._scopes = Scopes(self._parents)
        self._build_stages()

    # -- construction -----------------------------------------------------------------
    @classmethod
    def parse(cls, source: Source) -> "Dockerfile":
        """Parse ``source`` as BuildKit would; raise ``DockerfileSyntaxError`` where it would
        fail, or where dockerlock refuses to guess (see ``scan.py`` for how)."""
        scan = prescan(source)
        instructions = build_instructions(scan, locate(scan))
        if not instructions:
            raise scan.error("file has no instructions (only comments or blank lines)", 1)
        dockerfile = cls(source, tuple(scan.directives), scan.escape, tuple(instructions))
        if not dockerfile.stages:
            raise scan.error("no FROM instruction: a Dockerfile must start a stage with FROM",
                             instructions[0].start_line)
        first_non_arg = next((x for x in instructions if x.keyword != "ARG"), None)
        if first_non_arg is not None and first_non_arg.keyword != "FROM":
            raise scan.error(f"{first_non_arg.keyword} before the first FROM: only ARG may come "
                             "before FROM", first_non_arg.start_line)
        for ins in instructions:
            if ins.keyword in ("ENV", "LABEL") and (problem := name_value_error(ins, scan.escape)):
                raise scan.error(problem, ins.start_line)
        return dockerfile

    @classmethod
    def from_bytes(cls, data: bytes, path: str = "<input>") -> "Dockerfile":
        return cls.parse(Source.from_bytes(data, path))

    @classmethod
    def from_text(cls, text: str, path: str = "<input>") -> "Dockerfile":
        return cls.parse(Source.from_text(text, path))

    def _build_stages(self) -> None:
        names: dict[str, int] = {}
        for ins in self.instructions:
            if ins.keyword == "FROM":
                stage = self._make_stage(ins, names)
                self.stages.append(stage)
                self._parents.append(stage.parent)
                if stage.name:
                    names[stage.name.lower()] = stage.index
                stage.instructions.append(ins)
            elif self.stages:
                self.stages[-1].instructions.append(ins)
            elif ins.keyword == "ARG":
                values = self._scopes.view(META, ins.index).values_view()
                for var in parse_arg(ins, self.escape, values):
                    self._scopes.assign(META, ins.index, var)
                    self.meta_args[var.name] = var

    def _make_stage(self, ins: Instruction, names: dict[str, int]) -> Stage:
        words = split_words(ins.logical.text, ins.body_start, escape=self.escape)
        image = words[0].raw if words else ""
        name = None
        if len(words) >= 3 and words[1].raw.lower() == "as":
            name = words[2].raw
        meta = self._scopes.view(META, ins.index).values_view()
        image_expanded = expand(image, meta, self.escape) if image else None
        platform_flag = ins.flag("platform")
        parent = names.get((image_expanded or image).lower())
        return Stage(index=len(self.stages), from_instruction=ins, image=image,
                     image_expanded=image_expanded, name=name,
                     platform=platform_flag.value if platform_flag else None, parent=parent)

    # -- queries ----------------------------------------------------------------------
    def stage_of(self, ins: Instruction) -> Stage | None:
        return self.stages[ins.stage] if ins.stage >= 0 else None

    def stage_named(self, name: str) -> Stage | None:
        lowered = name.lower()
        for stage in self.stages:
            if stage.name and stage.name.lower() == lowered:
                return stage
        if lowered.isdigit() and int(lowered) < len(self.stages):
            return self.stages[int(lowered)]
        return None

    def var_at(self, ins: Instruction, name: str) -> Var | None:
        """The ARG/ENV variable ``name`` in scope *before* ``ins`` runs, or None."""
        return self._scope_chain.lookup(ins.stage, ins.index, name)

    def scope_at(self, ins: Instruction) -> Mapping[str, Var]:
        """ARG/ENV variables in scope *before* ``ins`` runs (values unexpanded in ``raw``).

        A read-only view: creating it costs nothing, each lookup a bisection; iterating
        it lists every name in scope (linear). Prefer ``var_at`` for one name.
        """
        return self._scope_chain.view(ins.stage, ins.index)

    def values_at(self, ins: Instruction) -> Mapping[str, str | None]:
        """Like ``scope_at``, with each variable's expanded value (None: unknown)."""
        return self._scope_chain.view(ins.stage, ins.index).values_view()

    def expand_at(self, ins: Instruction, raw: str) -> str | None:
        """Expand ARG/ENV references in ``raw`` as BuildKit would at ``ins``; None if unknown."""
        return expand(raw, self.values_at(ins), self.escape)

    def workdir_at(self, ins: Instruction) -> str | None:
        """Working directory in effect at ``ins``; None when only the base image knows it."""
        return self._workdirs.get(ins.index)

    @cached_property
    def _scope_chain(self) -> Scopes:
        """The stages' ARG/ENV assignments, recorded on first use (meta ARGs are already in)."""
        for stage in self.stages:
            assign_stage(self._scopes, stage.index, stage.instructions, self.escape, self.meta_args)
        return self._scopes

    @cached_property
    def _workdirs(self) -> dict[int, str | None]:
        return resolve_workdirs(self.stages, self.expand_at)

    # -- rendering helpers ------------------------------------------------------------
    def render_lines(self, lines: list[str]) -> str:
        """Join generated lines with the file's line ending (each line terminated)."""
        eol = self.source.eol
        return "".join(line + eol for line in lines)
