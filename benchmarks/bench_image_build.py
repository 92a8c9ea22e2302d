"""Image builds, pip Dockerfile vs migrated (uv + pylock.toml): cold, and after an app-code change.

Uses the example app (tests/fixtures/verify_app/context: a pip Dockerfile) and dockerlock's own
migrate output for it; its pylock.toml is generated at run time, as ``dockerlock lock`` makes it
for the image (Python 3.11, linux/amd64). ``dockerlock.verify.builds.verify_builds`` builds both
``--repeat`` times cold (``--no-cache``) and rebuilds both ``--repeat`` times after a change to
main.py; the median of each figure is printed with its spread. The images the run made are
removed at the end.

Builder: ``--builder auto`` (default), as root on a machine with the shared container-build harness
(../shared/tools/container-build), provisions podman with the harness (setup + base images, timed
separately; removed afterwards unless HARNESS_DIR is set); elsewhere it uses docker buildx /
docker / podman, whichever works. Without either it exits with status 2 and says why.

    python benchmarks/bench_image_build.py [--builder auto|harness|docker-buildx|docker|podman] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from dockerlock.diagnostics import DockerlockError
from dockerlock.locking import ImageTarget, compile_lock
from dockerlock.verify import VerifyError, ratio
from dockerlock.verify.builds import Builder, detect_builder, verify_builds
from dockerlock.verify.venvs import find_uv

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "tests" / "fixtures" / "verify_app"
HARNESS = ROOT.parent / "shared" / "tools" / "container-build" / "harness.sh"


@dataclass
class HarnessBuilder(Builder):
    """podman provisioned by the harness: heredoc compat rewrite and local uv images before builds."""

    harness_dir: Path | None = None
    uv_images: set[str] = field(default_factory=set)

    def build(self, context, dockerfile, tag, *, no_cache, extra_args=()):
        assert self.harness_dir is not None
        text = Path(dockerfile).read_text()
        wanted = sorted(set(re.findall(r"ghcr\.io/astral-sh/uv:([A-Za-z0-9._-]+)", text)) - self.uv_images)
        if wanted:
            subprocess.run([str(HARNESS), "uv-image", *wanted], check=True, capture_output=True,
                           env=dict(os.environ, HARNESS_DIR=str(self.harness_dir)), timeout=600)
            self.uv_images.update(wanted)
        handle, compat = tempfile.mkstemp(prefix="Dockerfile.", dir=self.harness_dir / "tmp")
        os.close(handle)
        try:
            subprocess.run([sys.executable, str(self.harness_dir / "dockerfile_compat.py"), str(dockerfile),
                            compat], check=True, capture_output=True, timeout=60)
            return super().build(context, Path(compat), tag, no_cache=no_cache, extra_args=extra_args)
        finally:
            os.unlink(compat)


def harness_builder(directory: Path) -> tuple[HarnessBuilder, float]:
    env = dict(os.environ, HARNESS_DIR=str(directory))
    started = time.perf_counter()
    for step in ("setup", "bases"):
        print(f"  harness: {step} ...", file=sys.stderr, flush=True)
        done = subprocess.run([str(HARNESS), step], env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise VerifyError(f"harness.sh {step} failed",
                              output_tail="\n".join((done.stdout + done.stderr).splitlines()[-15:]))
    seconds = time.perf_counter() - started
    exported = shlex.split(subprocess.run([str(HARNESS), "env"], env=env, capture_output=True, text=True,
                                          check=True).stdout)
    podman_env = dict(item.split("=", 1) for item in exported if "=" in item)
    detected = detect_builder("podman", env=podman_env)
    return HarnessBuilder("podman", detected.executable, env=podman_env,
                          build_args=("--pull=never", "--network=host"), start_args=("--network=bridge",),
                          harness_dir=directory), seconds


def harness_usable() -> str | None:
    if not HARNESS.is_file():
        return f"no container-build harness at {HARNESS}"
    if os.geteuid() != 0:
        return "the container-build harness needs root"
    return None


def migrate_in_memory(context: Path) -> str:
    """dockerlock migrate of the example's Dockerfile, without writing it."""
    from dockerlock.engine import migrate_dockerfile
    from dockerlock.loading import context_at
    from dockerlock.model import Dockerfile
    from dockerlock.settings import Settings

    df = Dockerfile.from_bytes((context / "Dockerfile").read_bytes(), "Dockerfile")
    result = migrate_dockerfile(df, context_at(context, df, Settings()), Settings())
    if result.error is not None or result.new_text is None:
        raise SystemExit(f"migrate failed on the example: {result.error}")
    return result.new_text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builder", choices=["auto", "harness", "docker-buildx", "docker", "podman"],
                        default="auto")
    parser.add_argument("--repeat", type=int, default=3, help="cold builds and rebuilds of each image")
    parser.add_argument("--health", action="store_true", help="also start both images and probe /v1/health")
    args = parser.parse_args()

    harness_dir: Path | None = None
    setup_seconds = None
    builder: Builder | None = None
    problem = harness_usable()
    if args.builder == "harness" or (args.builder == "auto" and problem is None):
        if problem:
            print(f"cannot benchmark image builds: {problem}", file=sys.stderr)
            return 2
        harness_dir = Path(os.environ.get("HARNESS_DIR") or tempfile.mkdtemp(prefix="dlk-bench-h-", dir="/tmp"))
    else:
        try:
            builder = detect_builder(None if args.builder == "auto" else args.builder)
        except DockerlockError as exc:
            print(f"cannot benchmark image builds: {exc}"
                  + (f"\n  (and {problem})" if problem else ""), file=sys.stderr)
            return 2
    try:
        if harness_dir is not None:
            try:
                builder, setup_seconds = harness_builder(harness_dir)
            except (DockerlockError, subprocess.SubprocessError) as exc:
                print(f"cannot benchmark image builds: {exc}", file=sys.stderr)
                return 2
        assert builder is not None
        uv = find_uv()
        with tempfile.TemporaryDirectory(prefix="dockerlock-bench-build-") as tmp:
            context = Path(tmp, "context")
            shutil.copytree(APP / "context", context)
            compile_lock(context / "requirements.txt", target=ImageTarget("3.11"), uv=uv,
                         env=dict(os.environ, UV_NO_CONFIG="1"), timeout=600)
            migrated = migrate_in_memory(context)
            print(f"  {args.repeat} cold build(s) and rebuild(s) of each image ...", file=sys.stderr, flush=True)
            last = verify_builds(context / "Dockerfile", migrated, context, builder=builder,
                                 app_file=Path("main.py"), repeat=args.repeat,
                                 health_path="/v1/health" if args.health else None)
        samples = last.samples
        print(f"image builds with {builder.kind} ({builder.executable}); example app, "
              f"{len(last.original_packages)}/{len(last.migrated_packages)} distributions; "
              f"median of {args.repeat} run(s), spread in brackets")
        if setup_seconds is not None:
            print(f"harness setup + base images: {setup_seconds:.1f} s (once, not part of the figures)")
        print(f"{'':<28} {'pip':>18} {'uv+lock':>18} {'ratio':>6}")
        for label, kind in (("cold build (--no-cache)", "cold"), ("rebuild after app change", "rebuild")):
            pip, uv_side = samples[f"original-{kind}"], samples[f"migrated-{kind}"]
            print(f"{label:<28} {pip.describe(1):>18} {uv_side.describe(1):>18} {ratio(pip, uv_side):>5.1f}x")
        print(f"cached steps on rebuild: pip {last.original_rebuild.cached_steps}, "  # type: ignore[union-attr]
              f"uv {last.migrated_rebuild.cached_steps}")  # type: ignore[union-attr]
        print(f"images removed after the run: {len(last.removed_images)}")
        print("same packages in both images: " + ("yes" if not last.differences else
              "NO: " + "; ".join(d.describe() for d in last.differences)))
        print("import smoke test (migrated): " + ("ok" if last.smoke.ok else f"FAILED: {last.smoke.failed}")
              + f" ({len(last.smoke.modules)} modules)")
        if last.health:
            print("health: " + ", ".join(f"{side} HTTP {h.status}" for side, h in last.health.items()))
        return 0 if last.ok else 1
    except DockerlockError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if harness_dir is not None and "HARNESS_DIR" not in os.environ:
            subprocess.run([str(HARNESS), "cleanup"], env=dict(os.environ, HARNESS_DIR=str(harness_dir)),
                           capture_output=True, timeout=300)


if __name__ == "__main__":
    sys.exit(main())
