"""DLK121: a record comment the file already has would stop revert, so migrate writes nothing."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.rules.base import Code, Decision, Phase

EARLIER_RECORD = Code(
    "DLK121", Level.ERROR, "a record revert cannot use is already in the file: nothing written for the file",
    what="A line looks like a dockerlock record but is damaged (truncated, edited, copied from another "
         "file), or the region below a record was edited since the migration that wrote it.",
    why="`dockerlock revert` stops at such a line, so a migration written now could not be undone: "
        "migrate only writes what revert can restore exactly.",
    fix="Restore the line or its region from version control, or delete the line if it is not a record; "
        "`dockerlock revert --force` restores an edited region.",
    decision=Decision.BLOCKED)
CODES = (EARLIER_RECORD,)
PHASE = Phase.IMAGE

_HINT = "restore it from version control, or delete the line if it is not a dockerlock record"


def check(stanza, rc):
    problem = rc.cache.get("earlier-record")
    if problem is None:
        problem = rc.cache["earlier-record"] = _first_problem(rc) or ()
    if problem:
        line, reason = problem
        yield EARLIER_RECORD.at(f"{reason}: `dockerlock revert` would refuse this file, so a migration "
                                "written now could not be undone", rc.path, line, hint=_HINT)


def _first_problem(rc) -> tuple[int, str] | None:
    """(line, why) for the first record-like line revert would stop at; None when all are usable."""
    from dockerlock.record import DamagedRecord, records_in
    from dockerlock.rules.revert import planned_restores  # late: the revert rule imports the engine

    src = rc.df.source
    try:
        records = records_in(src, rc.path)
    except DamagedRecord as exc:
        return exc.line or 1, f"this line looks like a dockerlock record but is damaged ({_detail(exc)})"
    for restore in planned_restores(src, records):
        if restore.region is None or not restore.region.intact:
            return restore.record.line, "the region below this record was edited after migration"
    return None


def _detail(exc) -> str:
    return exc.reason.removeprefix("damaged dockerlock record: ").removesuffix("; nothing was reverted")
