"""docs/rules.md's code sections, written from the rules' own ``Code`` docs.

``python -m dockerlock.rules.catalog`` rewrites the part of docs/rules.md between the
``<!-- codes:start -->`` and ``<!-- codes:end -->`` markers; a test keeps it in step.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dockerlock.rules.base import Code, Decision

START, END = "<!-- codes:start -->", "<!-- codes:end -->"
_EFFECT = {Decision.CONVERTED: "converts the stanza", Decision.REFUSED: "leaves the stanza as is",
           Decision.DEFERRED: "defers the stanza", Decision.BLOCKED: "nothing is written for the file"}


def documented_codes() -> list[Code]:
    from dockerlock.rules import documented_modules

    codes = {c.code: c for module in documented_modules() for c in module.CODES}
    return [codes[k] for k in sorted(codes)]


def render() -> str:
    parts = []
    for code in documented_codes():
        effect = f"; {_EFFECT[code.decision]}" if code.decision else ""
        parts.append(f"### {code.code} — {code.summary}\n\n**{code.level.value}**{effect}. {code.what}\n\n"
                     f"*Why:* {code.why}\n\n*Fix:* {code.fix}\n")
    return "\n".join(parts)


def rewrite(text: str) -> str:
    head, rest = text.split(START, 1)
    _old, tail = rest.split(END, 1)
    return f"{head}{START}\n\n{render()}\n{END}{tail}"


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/rules.md")
    path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
