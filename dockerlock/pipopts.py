"""What each pip install option means for the locked uv step.

One table, one place: every option pip accepts gets an action.

- ``carry``: uv has the same meaning; pass it on (``uv_name`` when uv spells it differently).
- ``drop``: no meaning once the lock pins everything (``--upgrade``) or handled by
  dockerlock itself (``--no-cache-dir`` becomes ``--no-cache``); dropped and reported.
- ``refuse``: the install does something a locked ``uv pip`` step cannot reproduce
  (``--user``, ``--target``): the stanza is left untouched, with this reason.

Options missing from the table are unknown: the finding is not convertible.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OptionRule:
    action: str  # "carry" | "drop" | "refuse"
    why: str = ""
    uv_name: str | None = None


_C, _D, _R = "carry", "drop", "refuse"

PIP_INSTALL_OPTIONS: dict[str, OptionRule] = {
    # where packages come from: uv reads the same options
    "--index-url": OptionRule(_C),
    "--extra-index-url": OptionRule(_C),
    "--find-links": OptionRule(_C),
    "--no-index": OptionRule(_C),
    "--trusted-host": OptionRule(_C, uv_name="--allow-insecure-host"),
    "--break-system-packages": OptionRule(_C),
    "--no-build-isolation": OptionRule(_C),
    "--only-binary": OptionRule(_C),
    "--no-binary": OptionRule(_C),
    "--config-settings": OptionRule(_C, uv_name="--config-setting"),
    "--require-hashes": OptionRule(_D, "dockerlock adds --require-hashes itself when the lock allows it"),
    # meaningless under a lock, or replaced by dockerlock's own choice
    "--no-cache-dir": OptionRule(_D, "replaced by uv's --no-cache or a uv cache mount"),
    "--cache-dir": OptionRule(_D, "uv keeps its own cache"),
    "--upgrade": OptionRule(_D, "the lock pins every version"),
    "--upgrade-strategy": OptionRule(_D, "the lock pins every version"),
    "--force-reinstall": OptionRule(_D, "the target environment is built from the lock"),
    "--ignore-installed": OptionRule(_D, "the target environment is built from the lock"),
    "--no-deps": OptionRule(_D, "the lock lists every dependency already"),
    "--pre": OptionRule(_D, "the lock pins every version"),
    "--prefer-binary": OptionRule(_D, "the lock names the exact files"),
    "--ignore-requires-python": OptionRule(_D, "the lock was resolved for the image's Python"),
    "--use-pep517": OptionRule(_D, "uv always builds with PEP 517"),
    "--no-use-pep517": OptionRule(_D, "uv always builds with PEP 517"),
    "--check-build-dependencies": OptionRule(_D, "no uv equivalent"),
    "--compile": OptionRule(_D, "dockerlock passes --compile-bytecode"),
    "--no-compile": OptionRule(_D, "no --compile-bytecode is added"),
    "--no-warn-script-location": OptionRule(_D, "pip output option"),
    "--no-warn-conflicts": OptionRule(_D, "pip output option"),
    "--progress-bar": OptionRule(_D, "pip output option"),
    "--root-user-action": OptionRule(_D, "pip output option"),
    "--disable-pip-version-check": OptionRule(_D, "pip output option"),
    "--no-color": OptionRule(_D, "pip output option"),
    "--no-input": OptionRule(_D, "pip output option"),
    "--quiet": OptionRule(_D, "pip output option"),
    "--verbose": OptionRule(_D, "pip output option"),
    "--log": OptionRule(_D, "pip output option"),
    "--retries": OptionRule(_D, "uv has its own retry policy (UV_HTTP_RETRIES)"),
    "--timeout": OptionRule(_D, "uv reads UV_HTTP_TIMEOUT instead"),
    "--resume-retries": OptionRule(_D, "no uv equivalent"),
    "--exists-action": OptionRule(_D, "no uv equivalent"),
    "--isolated": OptionRule(_D, "pip configuration option"),
    "--require-virtualenv": OptionRule(_D, "pip configuration option"),
    "--use-feature": OptionRule(_D, "pip feature flag"),
    "--use-deprecated": OptionRule(_D, "pip feature flag"),
    "--constraint": OptionRule(_D, "constraints are applied when the lock is compiled "
                                   "(uv pip compile -c ...)"),
    # cannot be reproduced by a locked step
    # carried by the conversion itself: uv has --target and --prefix with pip's layout, and pip's
    # user scheme is the prefix layout under the user base (uv's --prefix)
    "--user": OptionRule(_C, "becomes --prefix under `python -m site --user-base`", uv_name="--prefix"),
    "--target": OptionRule(_C),
    "--prefix": OptionRule(_C),
    "--root": OptionRule(_R, "--root installs under another root directory"),
    "--src": OptionRule(_R, "--src relocates editable checkouts"),
    "--editable": OptionRule(_R, "editable installs are not part of a lock"),
    "--report": OptionRule(_R, "--report writes a pip-specific JSON report"),
    "--dry-run": OptionRule(_R, "--dry-run installs nothing"),
    "--platform": OptionRule(_R, "cross-platform pip installs need a dedicated lock"),
    "--python-version": OptionRule(_R, "cross-version pip installs need a dedicated lock"),
    "--implementation": OptionRule(_R, "cross-interpreter pip installs need a dedicated lock"),
    "--abi": OptionRule(_R, "cross-ABI pip installs need a dedicated lock"),
    "--proxy": OptionRule(_R, "uv takes proxies from HTTPS_PROXY/HTTP_PROXY; set them instead"),
    "--cert": OptionRule(_R, "uv takes certificates from SSL_CERT_FILE; set it instead"),
    "--client-cert": OptionRule(_R, "uv has no client-certificate option"),
    "--keyring-provider": OptionRule(_R, "uv's keyring support differs; review by hand"),
    "--global-option": OptionRule(_R, "--global-option passes setup.py options uv cannot pass"),
    "--python": OptionRule(_R, "pip --python selects another interpreter; review by hand"),
    "--group": OptionRule(_R, "dependency groups from pyproject.toml are not a requirements install"),
    "--help": OptionRule(_R, "--help installs nothing"),
    "--version": OptionRule(_R, "--version installs nothing"),
    "--debug": OptionRule(_D, "pip debugging option"),
}


def rule_for(name: str) -> OptionRule | None:
    return PIP_INSTALL_OPTIONS.get(name)
