"""From a Dockerfile to the two dependency steps ``verify`` compares.

Works on a file in either state:

- not migrated yet: the migration is planned in memory;
- migrated by dockerlock (record) or by hand (no record): the original is recovered with
  ``revert`` in memory first, then the migration is planned from it.

Either way we get, per converted stanza, the original pip step (requirements files and
pip options, as host paths in the build context) and the uv step (lock path and
sync/install), plus the original and migrated Dockerfile texts for image builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockerlock.context import BuildContext, infer_context
from dockerlock.diagnostics import DockerlockError
from dockerlock.engine import migrate_dockerfile
from dockerlock.lock_targets import lock_targets
from dockerlock.model import Dockerfile
from dockerlock.pipopts import rule_for
from dockerlock.runner import LockCache, copy_sources, read_dockerfile
from dockerlock.settings import Settings
from dockerlock.verify.venvs import PipStep, UvStep


@dataclass(frozen=True)
class StepPair:
    line: int  # line of the pip stanza in the original Dockerfile
    pip: PipStep
    uv: UvStep
    python: str | None = None  # the image's Python (FROM tag through ARGs, else .python-version)


@dataclass(frozen=True)
class VerifyInputs:
    path: Path
    context: BuildContext
    original_text: str  # the pip version of the Dockerfile
    migrated_text: str  # the uv version
    pairs: tuple[StepPair, ...]
    already_migrated: bool


def load_inputs(path: Path, settings: Settings) -> VerifyInputs:
    from dockerlock.rules.pip_to_uv import CONVERTED, FAILED, plan_migration
    from dockerlock.rules.revert import revert_dockerfile

    data = read_dockerfile(path)
    current = Dockerfile.from_bytes(data, str(path))
    context = infer_context(path, copy_sources(current), settings.context)
    reverted = revert_dockerfile(current, context, settings)
    if reverted.error is not None:
        raise reverted.error
    already = reverted.new_text is not None
    original = Dockerfile.from_text(reverted.new_text, str(path)) if already else current
    locks = LockCache(context)
    plan = plan_migration(original, context, settings, locks)
    failed = [st for st in plan.stanzas if st.status == FAILED]
    if failed:
        raise DockerlockError("; ".join(failed[0].reasons), str(path), failed[0].line)
    pythons = {target.line: target.python for target in lock_targets(original, context, settings)}
    pairs = []
    for st in plan.stanzas:
        if st.status != CONVERTED:
            continue
        pairs.append(StepPair(st.line, _pip_step(context, st), _uv_step(context, st), pythons.get(st.line)))
    if not pairs:
        reasons = "; ".join(f"line {st.line}: {'; '.join(st.reasons)}" for st in plan.stanzas) or \
            "no pip requirements install found"
        raise DockerlockError(f"nothing to verify ({reasons})", str(path))
    migrated = migrate_dockerfile(original, context, settings, locks)
    if migrated.error is not None:
        raise migrated.error
    migrated_text = current.source.text if already else (migrated.new_text or current.source.text)
    return VerifyInputs(path, context, original.source.text, migrated_text, tuple(pairs), already)


def _pip_step(context: BuildContext, st) -> PipStep:
    requirements = tuple(context.path(r.context_path) for r in st.requirements)
    options: list[str] = []
    for opt in st.pip.all_options:
        rule = rule_for(opt.name)
        if rule is None or opt.name in ("--constraint", "--requirement", "--editable"):
            continue
        if opt.name in ("--index-url", "--extra-index-url", "--find-links", "--no-index", "--pre",
                        "--only-binary", "--no-binary", "--prefer-binary", "--no-build-isolation"):
            options.append(opt.name)
            if opt.value is not None:
                options.append(opt.value.value if opt.value.value is not None else opt.value.raw)
    # -c constraints were applied when the lock was compiled; the pip side runs without them
    return PipStep(requirements=requirements, options=tuple(options))


def _uv_step(context: BuildContext, st) -> UvStep:
    return UvStep(lock=context.path(st.lock_context_path), mode=st.mode)


def guess_app_file(inputs: VerifyInputs) -> Path | None:
    """A context file COPYed after the dependency step, to time a rebuild after an app change.

    The first plain ``COPY``/``ADD`` (not ``--from``) after the last converted stanza: a
    file source as is, or the first file (sorted) inside a directory source. None when
    nothing qualifies; ``verify`` then says it skipped the rebuild timing.
    """
    from dockerlock.facts import split_copy

    df = Dockerfile.from_text(inputs.original_text, str(inputs.path))
    last = max(pair.line for pair in inputs.pairs)
    skip = {p.name for pair in inputs.pairs for p in pair.pip.requirements} | {"pylock.toml", ".python-version"}
    for ins in df.instructions:
        if ins.start_line <= last or ins.keyword not in ("COPY", "ADD") or ins.flag("from") is not None:
            continue
        parts = split_copy(df, ins)
        if parts is None:
            continue
        for source in parts[0]:
            if "$" in source or any(c in source for c in "*?[") or "://" in source:
                continue
            try:
                host = inputs.context.path(source)
            except ValueError:
                continue
            if host.is_file() and host.name not in skip:
                return host
            if host.is_dir():
                for candidate in sorted(host.rglob("*")):
                    if candidate.is_file() and candidate.name not in skip and ".git" not in candidate.parts:
                        return candidate
    return None
