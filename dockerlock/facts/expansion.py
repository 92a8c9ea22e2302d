"""ARG/ENV expansion for the facts: the Dockerfile's own values, then what its base image is
known to set (``${LAMBDA_TASK_ROOT}`` on AWS Lambda images). Pure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

from dockerlock.model import Dockerfile, Instruction
from dockerlock.words import expand as expand_words


class _WithDefaults(Mapping[str, "str | None"]):
    """The values in scope; names the Dockerfile never declares fall back to the base image's."""

    def __init__(self, values: Mapping[str, str | None], defaults: Mapping[str, str]) -> None:
        self.values = values
        self.defaults = defaults

    def __getitem__(self, name: str) -> str | None:
        if name in self.values:
            return self.values[name]
        return self.defaults[name]

    def __contains__(self, name: object) -> bool:
        return name in self.values or name in self.defaults

    def __iter__(self) -> Iterator[str]:
        yield from self.values
        yield from (n for n in self.defaults if n not in self.values)

    def __len__(self) -> int:
        return sum(1 for _ in self)


_NO_VALUES: Mapping[str, str | None] = MappingProxyType({})


def expand(df: Dockerfile, ins: Instruction, raw: str) -> str | None:
    """``raw`` with ARG/ENV references expanded as the build would at ``ins``; None if unknown."""
    if "$" not in raw:  # nothing to look up: quote removal only (most words; skips the scope view)
        return expand_words(raw, _NO_VALUES, df.escape)
    values = df.values_at(ins)
    stage = df.stage_of(ins)
    if stage is not None:
        from dockerlock.facts.images import image_defaults

        _workdir, env = image_defaults(df, stage)
        if env:
            values = _WithDefaults(values, env)
    return expand_words(raw, values, df.escape)
