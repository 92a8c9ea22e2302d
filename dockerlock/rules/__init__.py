"""The rules, one module each, and the rule sets the commands run.

``MIGRATE``: the gates a pip requirements install passes (image, command line, sources, lock),
then the conversion. ``CHECK``: what ``dockerlock check`` reports. ``revert`` restores
migrated stanzas. Each module declares ``CODES`` (with What / Why / Fix) and a pure ``check``.
"""

from __future__ import annotations

from dockerlock.rules import (
    base_image_packages,
    convert_pip_install,
    earlier_records,
    extra_packages,
    gpu_image,
    lock_covers_step,
    lock_drift,
    lock_present,
    lock_python,
    lock_sources,
    no_deps_lock,
    pip_builds_files,
    pip_command_line,
    pip_environment,
    pip_in_control_flow,
    pip_options,
    pip_wrapper,
    python_too_old,
    requirements_built_during_build,
    requirements_source_unknown,
    run_mount_options,
    windows_image,
)
from dockerlock.rules.base import Code, Decision

#: Asked in this order for each pip stanza (grouped by ``PHASE``; a decision ends the review).
MIGRATE = (earlier_records, windows_image, python_too_old, gpu_image, base_image_packages,
           pip_builds_files, pip_in_control_flow, pip_wrapper, pip_command_line, run_mount_options, pip_options,
           pip_environment,
           extra_packages,
           requirements_built_during_build, requirements_source_unknown,
           lock_present, lock_python, lock_covers_step, lock_sources, lock_drift, no_deps_lock,
           convert_pip_install)


def check_rules():
    from dockerlock.rules import locked_step_lock, unlocked_install, unlocked_uv_install, unmigrated_install

    return (unmigrated_install, locked_step_lock, unlocked_install, unlocked_uv_install)


def documented_modules():
    """Every module that declares finding codes: the rule sets, and ``lock_resolution`` (whose
    findings come from a uv resolution the CLI runs for ``check --resolve``)."""
    from dockerlock.rules import lock_resolution

    return MIGRATE + check_rules() + (lock_resolution,)


def every_code() -> dict[str, Code]:
    """Every finding code dockerlock emits, with its documentation."""
    from dockerlock.diagnostics import Level
    from dockerlock.lockfile import CHECKS
    from dockerlock.rules import revert

    codes: dict[str, Code] = {"DLK001": Code("DLK001", Level.ERROR, "file could not be processed (read, decode "
                                                                    "or parse error)")}
    for module in documented_modules():
        codes.update({c.code: c for c in module.CODES})
    for code, summary in getattr(revert, "CODES", {}).items():
        codes.setdefault(code, Code(code, Level.NOTE, summary))
    for code, summary in CHECKS.items():
        codes.setdefault(code, Code(code, Level.ERROR, summary))
    return dict(sorted(codes.items()))


def all_codes() -> dict[str, str]:
    """Every finding code with its one-line description (docs, SARIF rules)."""
    return {code: c.summary for code, c in every_code().items()}


def decision_of(code: str) -> Decision | None:
    """What a finding with this code decides about a pip stanza (None: nothing)."""
    return _DECISIONS.get(code)


_DECISIONS = {c.code: c.decision for module in MIGRATE for c in module.CODES if c.decision is not None}
