"""How uv gets into a stage: one ``COPY --from=<uv image> /uv /uvx /bin/`` per stage lineage
(the layout uv's Docker guide recommends, which Renovate can bump), or, as a house style,
``pip install uv==X`` into its own venv."""

from __future__ import annotations

from dockerlock.model import Dockerfile
from dockerlock.settings import Settings


def uv_provision_line(settings: Settings) -> str:
    if settings.uv_source == "pip":
        return (f"RUN python3 -m venv /opt/uv && /opt/uv/bin/python -m pip install --no-cache-dir "
                f"uv=={settings.uv_version}")
    return f"COPY --from={settings.uv_image_ref()} /uv /uvx /bin/"


def uv_provision_text(df: Dockerfile, settings: Settings) -> str:
    return df.render_lines([uv_provision_line(settings)])
