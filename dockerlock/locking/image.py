"""What a lock is compiled for: the image's Python and platform, not every Python there is.

``uv pip compile --universal --python-version 3.11`` treats 3.11 as a lower bound and resolves
for 3.13+ too; on real requirements (omi's pusher: ``langchain-community`` needs numpy >= 2.1 on
3.13, the file pins 1.26.4) that fails although the image only ever runs 3.11. So the default
target is the image: ``--python-version X.Y --python-platform <triple>``, and the written lock's
``requires-python`` admits exactly that series (``>=3.11,<3.12``), as omi's own lock script does.
``--universal`` remains available for a lock shared by several images.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockerlock.diagnostics import ConfigError
from dockerlock.lock_names import LockOrigin
from dockerlock.lockfile.target import _architecture, _python_parts

DEFAULT_PLATFORM = "linux/amd64"
UNIVERSAL = "universal"

# Machine (as _architecture spells it) -> the glibc triple uv 0.13.9's --python-platform accepts.
_UV_TRIPLES = {
    "x86_64": "x86_64-unknown-linux-gnu",
    "aarch64": "aarch64-unknown-linux-gnu",
    "riscv64": "riscv64-unknown-linux",
}
# The same for musl (Alpine) images: uv picks musllinux wheels for these.
_UV_MUSL_TRIPLES = {
    "x86_64": "x86_64-unknown-linux-musl",
    "aarch64": "aarch64-unknown-linux-musl",
}
GLIBC, MUSL = "glibc", "musl"
# A uv Linux platform value's leading machine -> Docker's platform spelling.
_UV_MACHINES = {"x86_64": "linux/amd64", "aarch64": "linux/arm64", "riscv64": "linux/riscv64"}


def uv_platform(platform: str, libc: str = GLIBC) -> str:
    """Docker's ``linux/<arch>`` (and the image's C library) -> the value for uv's ``--python-platform``.

    Raises ``ConfigError`` for platforms uv cannot resolve for one by one (uv 0.13.9 knows
    x86_64, aarch64 and riscv64 Linux with glibc, x86_64 and aarch64 with musl): lock those
    with ``--universal``.
    """
    machine = _architecture(platform)
    triple = (_UV_MUSL_TRIPLES if libc == MUSL else _UV_TRIPLES).get(machine)
    if triple is None:
        known = "x86_64 and aarch64 musl" if libc == MUSL else "x86_64, aarch64 and riscv64"
        raise ConfigError(f"uv cannot resolve for {platform} ({machine}{', musl' if libc == MUSL else ''}) "
                          f"alone: its --python-platform knows {known} Linux only",
                          hint="lock with --universal, which covers every platform")
    return triple


def libc_of(uv_value: str) -> str:
    """The C library a uv ``--python-platform`` value names (``x86_64-unknown-linux-musl``: musl)."""
    return MUSL if "musl" in uv_value.lower() else GLIBC


def parse_platform(value: str) -> tuple[str, str]:
    """A ``--python-platform`` argument -> (Docker platform, uv's value).

    Accepts Docker's spelling (``linux/arm64``) or a uv Linux value (``x86_64-manylinux_2_28``,
    passed to uv as given). An image runs Linux: Windows and macOS values are refused.
    """
    value = value.strip()
    if "/" in value:
        return value.lower(), uv_platform(value)
    machine = value.split("-", 1)[0]
    if "linux" in value and machine in _UV_MACHINES:
        return _UV_MACHINES[machine], value
    raise ConfigError(f"not an image platform: {value!r}",
                      hint="use Docker's spelling (linux/amd64, linux/arm64) or a uv Linux value such as "
                           "x86_64-manylinux_2_28")


def series(python: str) -> str:
    """``3.11.9`` -> ``3.11``: the X.Y a lock records as its target."""
    return ".".join(python.split(".")[:2])


@dataclass(frozen=True)
class ImageTarget:
    """The Python and platform a lock is compiled for.

    ``python``: ``X.Y`` or ``X.Y.Z`` (None only for a universal lock: uv's default lower bound).
    ``platform``: Docker's spelling. ``uv_platform``: the value given to uv (default: the glibc
    triple for ``platform``). ``universal``: resolve for every platform and every Python from
    ``python`` up; ``platform`` is then ignored.
    """

    python: str | None
    platform: str = DEFAULT_PLATFORM
    universal: bool = False
    uv_platform: str | None = None
    libc: str = GLIBC  # musl for an Alpine image

    def __post_init__(self) -> None:
        if self.python is not None:
            parts = _python_parts(self.python)  # ConfigError when it is not a version
            if len(parts) < 2 and not self.universal:
                raise ConfigError(f"Python {self.python} names no minor version: a lock for an image is "
                                  "compiled for one X.Y series",
                                  hint="pass --python-version X.Y (the image's), or pin the image tag")
        elif not self.universal:
            raise ConfigError("no Python version to lock for",
                              hint="pass --python-version X.Y, or add a .python-version file")
        if not self.universal and self.uv_platform is None:
            object.__setattr__(self, "uv_platform", uv_platform(self.platform, self.libc))

    @classmethod
    def from_origin(cls, origin: LockOrigin) -> "ImageTarget":
        """The target a ``[tool.dockerlock]`` record says the lock was compiled for."""
        if origin.platform == UNIVERSAL:
            return cls(origin.python, universal=True)
        return cls(origin.python, origin.platform or DEFAULT_PLATFORM, libc=origin.libc or GLIBC)

    def compile_options(self) -> list[str]:
        """``uv pip compile`` options for this target."""
        options = ["--universal"] if self.universal else ["--python-platform", str(self.uv_platform)]
        if self.python:
            options += ["--python-version", self.python]
        return options

    def requires_python(self) -> str | None:
        """What the lock's ``requires-python`` must say: exactly the image's series
        (``>=3.11,<3.12``; ``>=3.11.9,<3.12`` for a patch release). None for a universal lock
        (uv's own value stays)."""
        if self.universal or self.python is None:
            return None
        major, minor = _python_parts(self.python)[:2]
        return f">={self.python},<{major}.{minor + 1}"

    @property
    def origin_platform(self) -> str:
        """The platform as ``[tool.dockerlock]`` records it."""
        return UNIVERSAL if self.universal else self.platform

    @property
    def origin_libc(self) -> str | None:
        """The C library as ``[tool.dockerlock]`` records it: only musl is written (glibc is the default)."""
        return MUSL if not self.universal and self.libc == MUSL else None

    @property
    def origin_python(self) -> str | None:
        return series(self.python) if self.python else None

    def describe(self) -> str:
        """``Python 3.11 on linux/amd64``; ``Python 3.11 and later on every platform (universal)``."""
        if self.universal:
            python = f"Python {self.python} and later" if self.python else "uv's default Python and later"
            return f"{python} on every platform (universal)"
        shown = self.platform
        if self.uv_platform != uv_platform(self.platform, self.libc):
            shown += f" ({self.uv_platform})"
        elif self.libc == MUSL:
            shown += " (musl)"
        return f"Python {self.python} on {shown}"
