"""The one table of pip options: how pip parses each one, and what it means for a locked uv step.

Every option of ``pip install`` (pip's general options included) has an entry, and a
test reads the installed pip's own option parser to keep it so.  The same entries
drive argv parsing (``shell.pip``), migrate's planning and verify.  Options only
``pip wheel``/``download``/``uninstall`` accept are here for parsing those commands.

Actions for the uv step that replaces ``pip install -r``:

- ``carry``: uv has the same meaning; passed on (``uv_name`` when uv spells it differently);
- ``drop``: no effect on what is installed (output, progress, cache, timeouts, retries,
  warnings, or decided by the lock); dropped and reported;
- ``refuse``: changes what is installed or how, and uv cannot say the same: the stanza
  stays as it is, with ``why`` as the reason;
- ``handled``: the migrate rule decides itself (``-r``, ``-c``, ``-e``, ``--target``,
  ``--prefix``, ``--user``); ``why`` is its reason while it refuses the option.

``replayed`` options are passed to pip when ``verify`` re-runs the original install (they
decide what pip resolves).  ``legacy`` options are gone from current pip but recognised so that old Dockerfiles parse.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

__all__ = ["Action", "OptionSpec", "OPTIONS", "GENERAL_OPTIONS", "COMMAND_OPTIONS", "PIP_INSTALL_OPTIONS",
           "rule_for"]


class Action(StrEnum):
    CARRY = "carry"
    DROP = "drop"
    REFUSE = "refuse"
    HANDLED = "handled"


class OptionSpec(NamedTuple):
    """One pip option: its spellings, whether it takes a value, where pip accepts it, its action."""

    name: str
    takes_value: bool
    action: Action
    why: str
    short: str | None = None
    aliases: tuple[str, ...] = ()
    commands: frozenset[str] = frozenset()  # "general", or the subcommands that accept it
    uv_name: str | None = None
    legacy: bool = False
    replayed: bool = False  # verify passes it to pip when it re-runs the original install

    @property
    def long_names(self) -> tuple[str, ...]:
        return (self.name,) + self.aliases

    @property
    def general(self) -> bool:
        return "general" in self.commands


_G = frozenset({"general"})
_I = frozenset({"install"})
_IW = frozenset({"install", "wheel"})
_ID = frozenset({"install", "download"})
_IU = frozenset({"install", "uninstall"})
_IWD = frozenset({"install", "wheel", "download"})
_ALL = frozenset({"install", "wheel", "download", "uninstall"})

C, D, R, H = Action.CARRY, Action.DROP, Action.REFUSE, Action.HANDLED

_OUTPUT = "pip output option: no effect on what is installed"
_LOCKED = "the lock pins every version"
_NETWORK = "network tuning: no effect on what is installed (uv has its own settings)"
_NOT_INSTALL = "not an option of pip install"
_GONE = "removed from current pip; delete it (the pip in the image rejects it too)"


def _o(name: str, takes_value: bool, action: Action, why: str, commands: frozenset[str], *,
       short: str | None = None, aliases: tuple[str, ...] = (), uv: str | None = None,
       legacy: bool = False, replayed: bool = False) -> OptionSpec:
    return OptionSpec(name, takes_value, action, why, short, aliases, commands, uv, legacy, replayed)


OPTIONS: tuple[OptionSpec, ...] = (
    # -- general options (every pip command) --------------------------------------------
    _o("--help", False, R, "pip --help installs nothing", _G, short="-h"),
    _o("--version", False, R, "pip --version installs nothing", _G, short="-V"),
    _o("--debug", False, D, "pip debugging option: no effect on what is installed", _G),
    _o("--isolated", False, D, "uv reads neither pip's configuration files nor PIP_* variables", _G),
    _o("--require-virtualenv", False, D, "a pip safety check; the uv step names its environment", _G,
       aliases=("--require-venv",)),
    _o("--python", True, R, "pip --python installs into another interpreter; migrate that step by hand", _G),
    _o("--verbose", False, D, _OUTPUT, _G, short="-v"),
    _o("--quiet", False, D, _OUTPUT, _G, short="-q"),
    _o("--log", True, D, _OUTPUT, _G, aliases=("--log-file", "--local-log")),
    _o("--no-input", False, D, "uv never prompts during a build", _G),
    _o("--keyring-provider", True, R, "uv's keyring support differs; set up credentials for uv by hand", _G),
    _o("--proxy", True, R, "uv takes proxies from HTTPS_PROXY/HTTP_PROXY; set those instead", _G),
    _o("--no-proxy-env", False, R, "uv always reads HTTPS_PROXY/HTTP_PROXY; unset them for the step instead", _G),
    _o("--retries", True, D, _NETWORK, _G),
    _o("--timeout", True, D, _NETWORK, _G, aliases=("--default-timeout",)),
    _o("--resume-retries", True, D, _NETWORK, _G),
    _o("--exists-action", True, D, "answers pip's prompt about existing checkouts; uv does not prompt", _G),
    _o("--trusted-host", True, C, "", _G, uv="--allow-insecure-host"),
    _o("--cert", True, R, "uv takes certificates from SSL_CERT_FILE; set it instead", _G),
    _o("--client-cert", True, R, "uv has no client-certificate option", _G),
    _o("--cache-dir", True, D, "uv keeps its own cache", _G),
    _o("--no-cache-dir", False, D, "replaced by uv's --no-cache or a uv cache mount", _G),
    _o("--disable-pip-version-check", False, D, _OUTPUT, _G),
    _o("--no-color", False, D, _OUTPUT, _G),
    _o("--no-python-version-warning", False, D, _OUTPUT, _G),
    _o("--use-feature", True, D, "pip feature flags change how pip resolves; the lock fixes the result", _G),
    _o("--use-deprecated", True, D, "pip feature flags change how pip resolves; the lock fixes the result", _G),
    _o("--skip-requirements-regex", True, R, _GONE, _G, legacy=True),
    # -- what to install ------------------------------------------------------------------
    _o("--requirement", True, H, "the requirements file the lock stands in for", _ALL, short="-r"),
    _o("--constraint", True, H, "constraints are applied when the lock is compiled (uv pip compile -c ...)",
       _IWD, short="-c"),
    _o("--editable", True, H, "editable installs are not part of a lock", _IW, short="-e"),
    _o("--build-constraint", True, C, "", _IWD, uv="--build-constraints"),
    _o("--requirements-from-script", True, R, "installs a script's inline (PEP 723) dependencies, which the "
       "lock does not list", _IWD),
    _o("--group", True, R, "dependency groups from pyproject.toml are not a requirements install", _IWD),
    _o("--no-deps", False, D, "the lock lists every dependency already", _IWD, aliases=("--no-dependencies",)),
    _o("--only-deps", False, R, "installs the dependencies without the listed packages; the lock installs both",
       _IWD, aliases=("--only-dependencies",)),
    _o("--src", True, R, "--src relocates editable checkouts", _IWD,
       aliases=("--source", "--source-dir", "--source-directory")),
    # -- where to install -------------------------------------------------------------------
    _o("--target", True, H, "--target installs into a plain directory, not an environment", _I, short="-t"),
    _o("--prefix", True, H, "--prefix installs into a custom prefix", _I),
    _o("--user", False, H, "--user installs into ~/.local; uv pip has no user scheme", _I),
    _o("--no-user", False, D, "the default: no user install", _I),
    _o("--root", True, R, "--root installs under another root directory", _I),
    _o("--break-system-packages", False, C, "", _IU),
    _o("--dry-run", False, R, "--dry-run installs nothing", _I),
    _o("--platform", True, R, "installs for another platform; that needs a lock made for it", _ID),
    _o("--python-version", True, R, "installs for another Python version; that needs a lock made for it", _ID),
    _o("--implementation", True, R, "installs for another interpreter; that needs a lock made for it", _ID),
    _o("--abi", True, R, "installs for another ABI; that needs a lock made for it", _ID),
    _o("--report", True, R, "--report writes a pip-specific JSON report", _I),
    # -- resolution, decided by the lock ------------------------------------------------------
    _o("--upgrade", False, D, _LOCKED, _I, short="-U"),
    _o("--upgrade-strategy", True, D, _LOCKED, _I),
    _o("--force-reinstall", False, D, "the target environment is built from the lock", _I),
    _o("--ignore-installed", False, D, "the target environment is built from the lock", _I, short="-I"),
    _o("--ignore-requires-python", False, D, "the lock was resolved for the image's Python", _IWD),
    _o("--pre", False, D, _LOCKED, _IWD, replayed=True),
    _o("--all-releases", True, D, _LOCKED, _IWD),
    _o("--only-final", True, D, _LOCKED, _IWD),
    _o("--prefer-binary", False, D, "the lock names the exact files", _IWD, replayed=True),
    _o("--uploaded-prior-to", True, D, _LOCKED, _IWD),
    _o("--refresh-package", True, D, "cache freshness: the lock names the exact files", _IWD),
    _o("--require-hashes", False, D, "dockerlock adds --require-hashes itself when the lock allows it", _IWD),
    _o("--no-require-hashes", False, D, "dockerlock decides hash checking from the lock", _IWD),
    # -- where packages come from: uv reads the same options -----------------------------------
    _o("--index-url", True, C, "", _IWD, short="-i", aliases=("--pypi-url",), replayed=True),
    _o("--extra-index-url", True, C, "", _IWD, replayed=True),
    _o("--no-index", False, C, "", _IWD, replayed=True),
    _o("--find-links", True, C, "", _IWD, short="-f", replayed=True),
    _o("--only-binary", True, C, "", _IWD, replayed=True),
    _o("--no-binary", True, C, "", _IWD, replayed=True),
    # -- building ------------------------------------------------------------------------------
    _o("--no-build-isolation", False, C, "", _IWD, replayed=True),
    _o("--config-settings", True, C, "", _IW, short="-C", uv="--config-setting"),
    _o("--use-pep517", False, D, "uv always builds with PEP 517", _IWD),
    _o("--no-use-pep517", False, D, "uv always builds with PEP 517", _IWD, legacy=True),
    _o("--check-build-dependencies", False, D, "a pip build check: no effect on what is installed", _IWD),
    _o("--no-clean", False, D, "pip's build-directory housekeeping", _IWD),
    _o("--global-option", True, R, "--global-option passes setup.py options uv cannot pass", _IWD, legacy=True),
    _o("--build-option", True, R, "--build-option passes setup.py options uv cannot pass", frozenset({"wheel"}),
       legacy=True),
    _o("--install-option", True, R, _GONE, _I, legacy=True),
    _o("--egg", False, R, _GONE, _I, legacy=True),
    _o("--build", True, R, _GONE, _IW, short="-b", aliases=("--build-dir",), legacy=True),
    _o("--process-dependency-links", False, R, _GONE, _IWD, legacy=True),
    # -- after the install ----------------------------------------------------------------------
    _o("--compile", False, D, "dockerlock passes --compile-bytecode", _I),
    _o("--no-compile", False, D, "no --compile-bytecode is added", _I),
    _o("--no-warn-script-location", False, D, _OUTPUT, _I),
    _o("--no-warn-conflicts", False, D, _OUTPUT, _I),
    _o("--progress-bar", True, D, _OUTPUT, _IWD),
    _o("--root-user-action", True, D, _OUTPUT, _IU),
    # -- other subcommands (parsed, never part of an install) -----------------------------------
    _o("--wheel-dir", True, R, _NOT_INSTALL, frozenset({"wheel"}), short="-w"),
    _o("--no-verify", False, R, _NOT_INSTALL, frozenset({"wheel"})),
    _o("--dest", True, R, _NOT_INSTALL, frozenset({"download"}), short="-d",
       aliases=("--destination-dir", "--destination-directory")),
    _o("--yes", False, R, _NOT_INSTALL, frozenset({"uninstall"}), short="-y"),
)

GENERAL_OPTIONS: tuple[OptionSpec, ...] = tuple(o for o in OPTIONS if o.general)
COMMAND_OPTIONS: dict[str, tuple[OptionSpec, ...]] = {
    command: tuple(o for o in OPTIONS if command in o.commands)
    for command in ("install", "wheel", "download", "uninstall")
}
# Every option `pip install` accepts, by canonical name.
PIP_INSTALL_OPTIONS: dict[str, OptionSpec] = {o.name: o for o in GENERAL_OPTIONS + COMMAND_OPTIONS["install"]}


def rule_for(name: str) -> OptionSpec | None:
    """The entry for a canonical ``pip install`` option name (``--index-url``, not ``-i``)."""
    return PIP_INSTALL_OPTIONS.get(name)
