"""DLK103: a pip step of a GPU/specialised image is deferred until the user opts in."""

from __future__ import annotations

from dockerlock.diagnostics import Level
from dockerlock.facts.images import gpu_reason
from dockerlock.rules.base import Code, Decision, Phase

GPU_IMAGE = Code(
    "DLK103", Level.WARNING, "GPU/specialised image deferred (use --include-gpu)",
    what="The image is built on a CUDA/ROCm/framework base, or installs the CUDA runtime in any stage.",
    why="GPU images pin framework wheels to driver versions and often install from extra indexes; "
        "teams migrate them last, after the plain images are proven.",
    fix="Run `dockerlock migrate --include-gpu` (or set include-gpu = true) when you are ready.",
    decision=Decision.DEFERRED)
CODES = (GPU_IMAGE,)
PHASE = Phase.IMAGE


def check(stanza, rc):
    if rc.settings.include_gpu:
        return
    reason = gpu_reason(rc.df, stanza.stage)
    if reason:
        yield GPU_IMAGE.at(f"GPU/specialised image ({reason}); deferred by default, convert with --include-gpu",
                           rc.path, stanza.line)
