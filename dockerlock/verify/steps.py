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

from dataclasses import dataclass, replace
from pathlib import Path

from dockerlock.context import BuildContext
from dockerlock.diagnostics import DockerlockError
from dockerlock.engine import migrate_dockerfile
from dockerlock.loading import ContextLoader
from dockerlock.lock_targets import lock_targets
from dockerlock.model import Dockerfile
from dockerlock.runner import read_dockerfile
from dockerlock.settings import Settings
from dockerlock.shell.pip_options import rule_for
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
    from dockerlock.engine import review
    from dockerlock.facts.locks import choose_lock
    from dockerlock.rules.base import Decision, RuleContext
    from dockerlock.rules.revert import revert_dockerfile

    # verify is how a user sees what a lock that drifted from its requirements would change:
    # plan the migration anyway (migrate itself refuses it) and let the comparison show it.
    settings = replace(settings, allow_drift=True)
    data = read_dockerfile(path)
    current = Dockerfile.from_bytes(data, str(path))
    loader = ContextLoader()
    context = loader.load(path, current, settings)
    reverted = revert_dockerfile(current, context, settings)
    if reverted.error is not None:
        raise reverted.error
    already = reverted.new_text is not None
    original = Dockerfile.from_text(reverted.new_text, str(path)) if already else current
    context = loader.load(path, original, settings)
    reviews = review(RuleContext(original, context, settings))
    blocked = next((r for r in reviews if r.decision is Decision.BLOCKED), None)
    if blocked is not None and blocked.decisive is not None:
        raise DockerlockError(blocked.decisive.message, str(path), blocked.stanza.line)
    pythons = {target.line: target.python for target in lock_targets(original, context, settings)}
    pairs = []
    for r in reviews:
        if r.decision is not Decision.CONVERTED:
            continue
        lock = choose_lock(context, settings, r.stanza).context_path
        assert lock is not None
        pairs.append(StepPair(r.stanza.line, _pip_step(context, r.stanza),
                              UvStep(lock=context.path(lock), mode=r.stanza.mode), pythons.get(r.stanza.line)))
    if not pairs:
        reasons = "; ".join(f"line {r.stanza.line}: {r.decisive.message if r.decisive else r.decision}"
                            for r in reviews) or "no pip requirements install found"
        raise DockerlockError(f"nothing to verify ({reasons})", str(path))
    migrated = migrate_dockerfile(original, context, settings)
    if migrated.error is not None:
        raise migrated.error
    migrated_text = current.source.text if already else (migrated.new_text or current.source.text)
    return VerifyInputs(path, context, original.source.text, migrated_text, tuple(pairs), already)


def _pip_step(context: BuildContext, st) -> PipStep:
    requirements = tuple(context.path(r.context_path) for r in st.requirements)
    options: list[str] = []
    for opt in st.pip.all_options:
        rule = rule_for(opt.name)
        if rule is not None and rule.replayed:
            options.append(opt.name)
            if opt.value is not None:
                options.append(opt.value.value if opt.value.value is not None else opt.value.raw)
    # -c constraints were applied when the lock was compiled; the pip side runs without them
    return PipStep(requirements=requirements, options=tuple(options))


def guess_app_file(inputs: VerifyInputs) -> Path | None:
    """A context file COPYed after the dependency step, to time a rebuild after an app change.

    The first plain ``COPY``/``ADD`` (not ``--from``) after the last converted stanza: a
    file source as is, or the first file (sorted) inside a directory source. None when
    nothing qualifies; ``verify`` then says it skipped the rebuild timing.
    """
    from dockerlock.facts.copies import split_copy

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
