"""Rules, each in its own module, each with stable finding codes.

- ``pip_to_uv`` (DLK1xx): pip requirements install -> locked uv step (migrate).
- ``revert`` (DLK3xx): the inverse, from the record or synthesised.
Lock checks (DLK2xx) live in ``dockerlock.lockfile`` and ``dockerlock.checks``.
"""

from __future__ import annotations


def all_codes() -> dict[str, str]:
    """Every finding code with its one-line description (docs, SARIF rules)."""
    from dockerlock.rules import pip_to_uv, revert

    codes = {"DLK001": "file could not be processed (read, decode or parse error)"}
    codes.update(pip_to_uv.CODES)
    codes.update(revert.CODES)
    try:
        from dockerlock import checks

        codes.update(checks.CODES)
    except ImportError:
        pass
    try:
        from dockerlock.lockfile import CHECKS

        codes.update(CHECKS)
    except ImportError:
        pass
    return codes
