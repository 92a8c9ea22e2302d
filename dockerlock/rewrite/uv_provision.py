"""How uv gets into a stage: one ``COPY --from=<uv image> /uv /uvx /bin/`` per stage lineage
(the layout uv's Docker guide recommends, which Renovate can bump), or, as a house style,
``pip install uv==X`` into its own venv.

When the uv pin comes from an ARG the Dockerfile declares (``--uv-version '${UV_VERSION}'``),
the uv image is named in a stage of its own, ``FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv``
(BuildKit expands global ARGs in FROM, not in ``COPY --from``), and stages copy from it.
"""

from __future__ import annotations

from dockerlock.edits import Edit
from dockerlock.model import Dockerfile
from dockerlock.rewrite.layer_order import leading_comments
from dockerlock.settings import UV_IMAGE, Settings


def uv_provision_line(settings: Settings, stage: str | None = None) -> str:
    if settings.uv_source == "pip":
        return (f"RUN python3 -m venv /opt/uv && /opt/uv/bin/python -m pip install --no-cache-dir "
                f"uv=={settings.uv_version}")
    return f"COPY --from={stage or settings.uv_image_ref()} /uv /uvx /bin/"


def uv_stage(df: Dockerfile) -> str | None:
    """The name of a stage built FROM the uv image, if the file has one."""
    for stage in df.stages:
        if stage.name and (UV_IMAGE in stage.image or stage.image.startswith("astral-sh/uv")):
            return stage.name
    return None


def uv_stage_name(df: Dockerfile) -> str:
    taken = {s.name.lower() for s in df.stages if s.name}
    return next(name for name in ("uv", "uv-bin", "uv-binaries", "dockerlock-uv") if name not in taken)


def uv_stage_insertion(df: Dockerfile, settings: Settings, name: str) -> Edit:
    """``FROM <uv image>:${ARG} AS <name>`` before the first stage (and the comments above it)."""
    first = df.stages[0].from_instruction
    at = leading_comments(df, first).start
    return Edit.insert(at, df.render_lines([f"FROM {settings.uv_image_ref()} AS {name}"]))
