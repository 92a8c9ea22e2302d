"""What a stage's base image tells: its lineage, its Python, and what kind of image it is.

Pure: read from the model (FROM lines with ARG defaults applied), never from a registry.
"""

from __future__ import annotations

import posixpath
import re

from dockerlock.model import Dockerfile, Instruction, Stage

_GPU_IMAGE = re.compile(r"cuda|nvidia|cudnn|pytorch/pytorch|tensorflow/tensorflow|rocm|gpu|"
                        r"huggingface/transformers-pytorch|paddlepaddle", re.I)
_GPU_APT = re.compile(r"\b(cuda-[\w.-]+|nvidia-[\w.-]+|libcudnn[\w.-]*|libnccl[\w.-]*|"
                      r"cuda-toolkit[\w.-]*|libcublas[\w.-]*)\b")
_GPU_APT_NAMES = ("cuda", "nvidia", "libcudnn", "libnccl", "libcublas")  # one is in every match above
_PACKAGE_MANAGERS = re.compile(r"\b(apt-get|apt|yum|dnf|microdnf|apk|conda|mamba)\b")
_CUDA_ENV = re.compile(r"\b(CUDA_HOME|NVIDIA_VISIBLE_DEVICES|NVIDIA_DRIVER_CAPABILITIES|CUDA_VERSION)\b|"
                       r"/usr/local/cuda|/usr/local/nvidia")
_WINDOWS_IMAGE = re.compile(r"windows|servercore|nanoserver|ltsc20\d\d", re.I)
_WINDOWS_SHELL = re.compile(r"powershell|pwsh|cmd(\.exe)?\b", re.I)
_ALPINE = re.compile(r"(?:^|[/:_.-])alpine", re.I)  # alpine:3.20, python:3.12-alpine3.20, org/alpine-python
_CONDA_IMAGE = re.compile(r"conda|mamba|jupyter/|micromamba|/jupyter|scipy-notebook|datascience-notebook", re.I)
#: Images whose documented working directory, without a WORKDIR, is ``/``: Docker's official
#: language and distribution images (they set no WORKDIR) and the images built FROM scratch.
_ROOT_WORKDIR_IMAGES = frozenset({"python", "pypy", "debian", "ubuntu", "alpine", "fedora", "centos",
                                  "rockylinux", "almalinux", "amazonlinux", "busybox", "scratch",
                                  "buildpack-deps", "opensuse/leap", "archlinux", "oraclelinux"})


#: What some well-known base images set that a Dockerfile built on them relies on without
#: declaring it (documented by their publishers): (WORKDIR, ENV). AWS Lambda's Python images
#: run in /var/task and name it LAMBDA_TASK_ROOT.
_IMAGE_DEFAULTS: dict[str, tuple[str, dict[str, str]]] = {
    "lambda/python": ("/var/task", {"LAMBDA_TASK_ROOT": "/var/task", "LAMBDA_RUNTIME_DIR": "/var/runtime"}),
    "amazon/aws-lambda-python": ("/var/task", {"LAMBDA_TASK_ROOT": "/var/task",
                                               "LAMBDA_RUNTIME_DIR": "/var/runtime"}),
}


def image_defaults(df: Dockerfile, stage: Stage) -> tuple[str | None, dict[str, str]]:
    """(WORKDIR, ENV) the stage's base image sets, as far as dockerlock knows them."""
    image = root_image(df, stage)
    repository = image_repository(image)
    if repository in _IMAGE_DEFAULTS:
        workdir, env = _IMAGE_DEFAULTS[repository]
        return workdir, env
    return ("/" if repository in _ROOT_WORKDIR_IMAGES else None), {}


def lineage(df: Dockerfile, stage: Stage) -> list[Stage]:
    """The stage and the stages it is built FROM, nearest first."""
    out = [stage]
    while out[-1].parent is not None:
        out.append(df.stages[out[-1].parent])
    return out


def runs_before(df: Dockerfile, earlier: Instruction, ins: Instruction) -> bool:
    """Has ``earlier`` run by the time ``ins`` runs: in ``ins``'s stage (not after it), or in a
    stage that stage is built FROM? (Other stages only reach it through COPY --from.)"""
    stage = df.stages[ins.stage]
    if earlier.stage == ins.stage:
        return earlier.index <= ins.index
    return any(s.index == earlier.stage for s in lineage(df, stage)[1:])


def root_image(df: Dockerfile, stage: Stage) -> str:
    """The external image at the bottom of the stage's lineage (ARG defaults applied)."""
    root = lineage(df, stage)[-1]
    return root.image_expanded or root.image


def image_python(df: Dockerfile, stage: Stage) -> str | None:
    """The CPython version the stage's base image implies (``python:3.11-slim`` -> ``3.11``)."""
    from dockerlock.lockfile import python_from_image

    return python_from_image(root_image(df, stage))


def image_libc(df: Dockerfile, stage: Stage) -> str:
    """``musl`` for an Alpine-based image (``python:3.12-alpine``, ``alpine:3.20``), else ``glibc``.

    The C library decides which wheels install: an Alpine image takes musllinux wheels and no
    manylinux one, so its lock must be compiled for musl. Read from the image's name only; an
    image built on Alpine under another name counts as glibc.
    """
    return "musl" if _ALPINE.search(root_image(df, stage)) else "glibc"


#: Base images whose interpreter holds an application installed against a constraints file
#: its publishers require for any further install (Airflow's and Superset's documented
#: images), by repository prefix. Images with a few loose packages (the tiangolo FastAPI
#: images) are not here: there the lock's versions are what the image should run.
_PACKAGED_IMAGES = ("apache/airflow", "astronomer/astro-runtime", "apache/superset")


def preinstalled_packages(df: Dockerfile, stage: Stage) -> str | None:
    """The base image when it is known to ship Python packages in its interpreter, else None."""
    image = root_image(df, stage)
    repository = image_repository(image)
    return image if repository.startswith(_PACKAGED_IMAGES) else None


def image_repository(image: str) -> str:
    """``docker.io/library/python:3.11@sha256:..`` -> ``python``; ``ghcr.io/org/img:1`` -> ``org/img``."""
    reference = image.split("@", 1)[0]
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        reference = reference[:colon]
    parts = reference.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # a registry host
    if parts and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts).lower()


def windows_reason(df: Dockerfile, stage: Stage) -> str | None:
    image = root_image(df, stage)
    if _WINDOWS_IMAGE.search(image):
        return f"Windows base image {image}"
    key = ("windows-shell", stage.index)
    if key not in df.cache:
        df.cache[key] = next((f"Windows shell (SHELL on line {ins.start_line})" for ins in stage.instructions
                              if ins.keyword == "SHELL" and _WINDOWS_SHELL.search(ins.body)), None)
    return df.cache[key]  # type: ignore[return-value]


def is_conda_image(df: Dockerfile, stage: Stage) -> bool:
    return bool(_CONDA_IMAGE.search(root_image(df, stage)))


def gpu_reason(df: Dockerfile, stage: Stage) -> str | None:
    """Why the image this stage belongs to is a GPU/specialised one, or None.

    Judged over the whole file, not just the stage: omi's diarizer installs its requirements
    in a plain builder stage and copies the venv into a stage that installs the CUDA runtime,
    so the image that ships is a GPU image all the same.
    """
    image = root_image(df, stage)
    if _GPU_IMAGE.search(image):
        return f"base image {image}"
    key = ("gpu-reason",)
    if key not in df.cache:
        df.cache[key] = _file_gpu_reason(df)
    return df.cache[key]  # type: ignore[return-value]


def _file_gpu_reason(df: Dockerfile) -> str | None:
    for other in df.stages:
        other_image = other.image_expanded or other.image
        if _GPU_IMAGE.search(other_image):
            return f"stage on line {other.start_line} builds FROM {other_image}"
    for ins in df.instructions:
        if ins.keyword == "RUN" and any(name in ins.body for name in _GPU_APT_NAMES):
            m = _GPU_APT.search(ins.body)
            if m and _PACKAGE_MANAGERS.search(ins.body):
                return f"installs {m.group(1)} (line {ins.start_line})"
        if ins.keyword == "ENV" and _CUDA_ENV.search(ins.body):
            return f"sets up CUDA (line {ins.start_line})"
    return None


def uv_image_stage(df: Dockerfile, stage: Stage) -> bool:
    """Is the stage built FROM a uv image (uv is on PATH already)?"""
    image = root_image(df, stage)
    return "astral-sh/uv" in image or posixpath.basename(image_repository(image)) == "uv"
