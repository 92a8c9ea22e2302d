"""Tests for dockerlock.shell.pip and the one pip option table (shell.pip_options).

The installed pip is the oracle: its own option parser runs in a subprocess that
reads no configuration file and no PIP_* variable, so a machine-wide pip.conf
(``constraint=``, ``index-url=``) cannot change what the tests see.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dockerlock.shell import (
    COMMAND_OPTIONS,
    GENERAL_OPTIONS,
    PIP_INSTALL_OPTIONS,
    Action,
    PipInvocation,
    Word,
    exec_form_words,
    find_pip_invocation,
    parse_pip_argv,
    parse_script,
    requirement_like,
    rule_for,
)


def pip_of(text: str, index: int = 0, resolve=None) -> PipInvocation:
    script = parse_script(text)
    inv = find_pip_invocation(script.commands[index], resolve)
    assert inv is not None, text
    return inv


def values(words: tuple[Word, ...]) -> list[str | None]:
    return [w.value for w in words]


# ---------------------------------------------------------------------------
# argv splitting
# ---------------------------------------------------------------------------

def test_exec_form_pip_invocation_has_offsets_into_the_json() -> None:
    text = '["python", "-m", "pip", "install", "-r", "r.txt", "-rmore.txt"]'
    words = exec_form_words(text)
    assert all(text[w.start:w.end] == w.raw for w in words)
    inv = parse_pip_argv(words)
    assert inv.interpreter.value == "python" and inv.program.value == "pip"
    assert inv.subcommand == "install"
    assert values(inv.requirements) == ["r.txt", "more.txt"]
    first = inv.requirements[0]
    assert text[first.start:first.end] == '"r.txt"'
    assert requirement_like(inv)


def test_synthetic_words_work_without_offsets() -> None:
    inv = parse_pip_argv([Word.synthetic(v) for v in ["pip3", "install", "-rreq.txt", "--user"]])
    assert values(inv.requirements) == ["req.txt"]
    assert inv.requirements[0].start == -1
    assert [o.name for o in inv.options] == ["--user"]


# ---------------------------------------------------------------------------
# pip launchers
# ---------------------------------------------------------------------------

# command, program raw, interpreter raw, launcher raws
LAUNCHERS = [
    ("pip install -r r.txt", "pip", None, ["pip"]),
    ("pip3 install -r r.txt", "pip3", None, ["pip3"]),
    ("pip3.11 install -r r.txt", "pip3.11", None, ["pip3.11"]),
    ("/opt/venv/bin/pip install -r r.txt", "/opt/venv/bin/pip", None, ["/opt/venv/bin/pip"]),
    ("$VIRTUAL_ENV/bin/pip install -r r.txt", "$VIRTUAL_ENV/bin/pip", None, ["$VIRTUAL_ENV/bin/pip"]),
    ('"${VIRTUAL_ENV}/bin/pip3" install -r r.txt', '"${VIRTUAL_ENV}/bin/pip3"', None,
     ['"${VIRTUAL_ENV}/bin/pip3"']),
    ("venv/bin/pip3 install -r r.txt", "venv/bin/pip3", None, ["venv/bin/pip3"]),
    ("./pip install -r r.txt", "./pip", None, ["./pip"]),
    ("python -m pip install -r r.txt", "pip", "python", ["python", "-m", "pip"]),
    ("python3 -m pip install -r r.txt", "pip", "python3", ["python3", "-m", "pip"]),
    ("python3.11 -m pip install -r r.txt", "pip", "python3.11", ["python3.11", "-m", "pip"]),
    ("/opt/venv/bin/python -m pip install -r r.txt", "pip", "/opt/venv/bin/python",
     ["/opt/venv/bin/python", "-m", "pip"]),
    ("$VENV/bin/python -m pip install -r r.txt", "pip", "$VENV/bin/python",
     ["$VENV/bin/python", "-m", "pip"]),
    ("py -m pip install -r r.txt", "pip", "py", ["py", "-m", "pip"]),
    ("python -u -m pip install -r r.txt", "pip", "python", ["python", "-u", "-m", "pip"]),
    ("python -I -E -s -B -m pip install -r r.txt", "pip", "python",
     ["python", "-I", "-E", "-s", "-B", "-m", "pip"]),
    ("python -W ignore -X dev -m pip install -r r.txt", "pip", "python",
     ["python", "-W", "ignore", "-X", "dev", "-m", "pip"]),
    ("python -Wignore -uBm pip install -r r.txt", "pip", "python",
     ["python", "-Wignore", "-uBm", "pip"]),
    ("python -mpip install -r r.txt", "pip", "python", ["python", "-mpip"]),
    ("pip --no-cache-dir -q install -r r.txt", "pip", None, ["pip", "--no-cache-dir", "-q"]),
]


@pytest.mark.parametrize("text,program,interpreter,launcher", LAUNCHERS)
def test_launchers(text: str, program: str, interpreter: str | None, launcher: list[str]) -> None:
    inv = pip_of(text)
    assert inv.program.raw == program
    assert (inv.interpreter.raw if inv.interpreter else None) == interpreter
    assert [w.raw for w in inv.launcher_words] == launcher
    assert inv.subcommand == "install"
    assert values(inv.requirements) == ["r.txt"]
    assert inv.wrapper is None and inv.errors == ()
    assert requirement_like(inv)


def test_module_word_of_mpip_is_a_subword() -> None:
    text = "python -mpip install x"
    inv = pip_of(text)
    assert (inv.program.start, inv.program.end, inv.program.raw) == (9, 12, "pip")


def test_dynamic_launcher_is_kept_but_substitution_is_visible() -> None:
    inv = pip_of("$VIRTUAL_ENV/bin/pip install -r r.txt")
    assert inv.program.has_variables and not inv.program.has_substitution
    assert inv.program.expandable({"VIRTUAL_ENV": "/v"}) == "/v/bin/pip"
    assert inv.dynamic == ()
    inv = pip_of("$(dirname $X)/pip install -r r.txt")
    assert inv.program.has_substitution


NOT_PIP = [
    "uv pip install -r r.txt",
    "pipx install black",
    "pipenv install",
    "python -m pipx install x",
    "python script.py -m pip install x",
    'python -c "import pip" install',
    "python -Z -m pip install x",
    "command -v pip",
    "echo pip install -r r.txt",
    "$PIPELINE run x",  # a variable named like pip, but no install from -r
    "$CMD install -r r.txt",  # an unknown variable whose name does not say pip
    "sudo",
]


@pytest.mark.parametrize("text", NOT_PIP)
def test_not_pip(text: str) -> None:
    (cmd,) = parse_script(text).commands
    assert find_pip_invocation(cmd) is None


WRAPPERS = [
    ("sudo pip install -r r.txt", "sudo", ["sudo"]),
    ("sudo -H -u app pip install -r r.txt", "sudo", ["sudo", "-H", "-u", "app"]),
    ("sudo --user=app -E python3 -m pip install -r r.txt", "sudo", ["sudo", "--user=app", "-E"]),
    ("env PIP_INDEX_URL=https://x pip install -r r.txt", "env", ["env", "PIP_INDEX_URL=https://x"]),
    ("env -u HOME A=1 pip install -r r.txt", "env", ["env", "-u", "HOME", "A=1"]),
    ("time pip install -r r.txt", "time", ["time"]),
    ("nice -n 10 pip install -r r.txt", "nice", ["nice", "-n", "10"]),
    ("nice -10 pip install -r r.txt", "nice", ["nice", "-10"]),
    ("/usr/bin/time -v pip install -r r.txt", "time", ["/usr/bin/time", "-v"]),
    ("sudo env A=1 nice pip install -r r.txt", "sudo", ["sudo", "env", "A=1", "nice"]),
    ("timeout 600 pip install -r r.txt", "timeout", ["timeout", "600"]),
    ("gosu app pip install -r r.txt", "gosu", ["gosu", "app"]),
    ("exec pip install -r r.txt", "exec", ["exec"]),
]


@pytest.mark.parametrize("text,wrapper,wrapper_words", WRAPPERS)
def test_wrappers_are_reported_not_dropped(text: str, wrapper: str, wrapper_words: list[str]) -> None:
    inv = pip_of(text)
    assert inv.wrapper == wrapper
    assert [w.raw for w in inv.wrapper_words] == wrapper_words
    assert inv.subcommand == "install"
    assert values(inv.requirements) == ["r.txt"]


# ---------------------------------------------------------------------------
# pip options
# ---------------------------------------------------------------------------

# command, requirements, constraints, editables, packages
TARGETS = [
    ("pip install -r a.txt", ["a.txt"], [], [], []),
    ("pip install -ra.txt", ["a.txt"], [], [], []),
    ("pip install --requirement a.txt", ["a.txt"], [], [], []),
    ("pip install --requirement=a.txt", ["a.txt"], [], [], []),
    ("pip install -r a.txt -r b.txt --requirement=c.txt -rd.txt", ["a.txt", "b.txt", "c.txt", "d.txt"], [], [], []),
    ("pip install -r a.txt -c c1.txt --constraint c2.txt --constraint=c3.txt -cc4.txt",
     ["a.txt"], ["c1.txt", "c2.txt", "c3.txt", "c4.txt"], [], []),
    ("pip install -e . -e ./lib --editable=git+https://x/y#egg=y", [], [], [".", "./lib", "git+https://x/y#egg=y"], []),
    ("pip install .", [], [], [], ["."]),
    ("pip install git+https://github.com/org/repo.git@v1.2#egg=repo", [], [], [],
     ["git+https://github.com/org/repo.git@v1.2#egg=repo"]),
    ("pip install 'uvicorn[standard]>=0.30' ./dist/x-1.0-py3-none-any.whl", [], [], [],
     ["uvicorn[standard]>=0.30", "./dist/x-1.0-py3-none-any.whl"]),
    ("pip install -Ur a.txt", ["a.txt"], [], [], []),
    ("pip install -qUr a.txt pkg", ["a.txt"], [], [], ["pkg"]),
    ("pip install -r -weird-name.txt", ["-weird-name.txt"], [], [], []),
    ("pip install -- -r a.txt", [], [], [], ["-r", "a.txt"]),
    ("pip install - x", [], [], [], ["-", "x"]),
    ('pip install -r "my reqs.txt"', ["my reqs.txt"], [], [], []),
    ('pip install --requirement="my reqs.txt"', ["my reqs.txt"], [], [], []),
]


@pytest.mark.parametrize("text,reqs,cons,edits,pkgs", TARGETS)
def test_requirement_constraint_editable_spellings(text, reqs, cons, edits, pkgs) -> None:
    inv = pip_of(text)
    assert values(inv.requirements) == reqs
    assert values(inv.constraints) == cons
    assert values(inv.editables) == edits
    assert [w.literal for w in inv.packages] == pkgs
    assert inv.errors == ()
    for w in inv.requirements + inv.constraints + inv.editables + inv.packages:
        assert text[w.start:w.end] == w.raw
    assert requirement_like(inv) == bool(reqs)


def test_attached_values_are_subwords_with_exact_spans() -> None:
    text = 'pip install -rreq.txt --requirement="b c.txt" -c$CONS'
    inv = pip_of(text)
    a, b = inv.requirements
    assert (a.raw, a.start, a.end, a.value) == ("req.txt", 14, 21, "req.txt")
    assert (b.raw, b.value) == ('"b c.txt"', "b c.txt")
    assert text[b.start:b.end] == '"b c.txt"'
    (c,) = inv.constraints
    assert c.raw == "$CONS" and c.has_variables and c.expandable({"CONS": "c.txt"}) == "c.txt"
    assert inv.all_options[0].words == (inv.argv[2],)


def test_dynamic_requirement_values() -> None:
    inv = pip_of('pip install -r "$REQ" -r $OTHER')
    assert [w.raw for w in inv.requirements] == ['"$REQ"', "$OTHER"]
    assert all(w.value is None and w.has_variables for w in inv.requirements)
    assert [w.raw for w in inv.dynamic] == ["$OTHER"]  # unquoted: may split


# command, [(canonical name, spelling, value, abbreviated, general)]
OPTIONS = [
    ("pip install -i https://x/simple --extra-index-url https://y -f /wheels --no-index -r r",
     [("--index-url", "-i", "https://x/simple", False, False),
      ("--extra-index-url", "--extra-index-url", "https://y", False, False),
      ("--find-links", "-f", "/wheels", False, False),
      ("--no-index", "--no-index", None, False, False)]),
    ("pip install -ihttps://x -r r", [("--index-url", "-i", "https://x", False, False)]),
    ("pip install --no-cache -r r", [("--no-cache-dir", "--no-cache", None, True, True)]),
    ("pip install --index=https://x -r r", [("--index-url", "--index", "https://x", True, False)]),
    ("pip install --upgrade-s eager -r r", [("--upgrade-strategy", "--upgrade-s", "eager", True, False)]),
    ("pip install --constr c -r r", [("--constraint", "--constr", "c", True, False)]),
    ("pip install -qq -vvv -r r", [("--quiet", "-q", None, False, True)] * 2
     + [("--verbose", "-v", None, False, True)] * 3),
    ("pip install --user --no-warn-script-location --break-system-packages -r r",
     [("--user", "--user", None, False, False),
      ("--no-warn-script-location", "--no-warn-script-location", None, False, False),
      ("--break-system-packages", "--break-system-packages", None, False, False)]),
    ("pip install -t /opt/lib --prefix /usr --root / --src /src -r r",
     [("--target", "-t", "/opt/lib", False, False), ("--prefix", "--prefix", "/usr", False, False),
      ("--root", "--root", "/", False, False), ("--src", "--src", "/src", False, False)]),
    ("pip install -U --force-reinstall -I --no-deps --pre -r r",
     [("--upgrade", "-U", None, False, False), ("--force-reinstall", "--force-reinstall", None, False, False),
      ("--ignore-installed", "-I", None, False, False), ("--no-deps", "--no-deps", None, False, False),
      ("--pre", "--pre", None, False, False)]),
    ("pip install -C k=v --config-settings=a=b --global-option=--x -r r",
     [("--config-settings", "-C", "k=v", False, False),
      ("--config-settings", "--config-settings", "a=b", False, False),
      ("--global-option", "--global-option", "--x", False, False)]),
    ("pip install --no-binary :all: --only-binary=:none: --prefer-binary --require-hashes -r r",
     [("--no-binary", "--no-binary", ":all:", False, False),
      ("--only-binary", "--only-binary", ":none:", False, False),
      ("--prefer-binary", "--prefer-binary", None, False, False),
      ("--require-hashes", "--require-hashes", None, False, False)]),
    ("pip install --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp "
     "--abi cp311 --only-binary=:all: -t /t -r r",
     [("--platform", "--platform", "manylinux2014_x86_64", False, False),
      ("--python-version", "--python-version", "3.11", False, False),
      ("--implementation", "--implementation", "cp", False, False),
      ("--abi", "--abi", "cp311", False, False),
      ("--only-binary", "--only-binary", ":all:", False, False),
      ("--target", "-t", "/t", False, False)]),
    ("pip install --progress-bar off --root-user-action=ignore --report - --dry-run -r r",
     [("--progress-bar", "--progress-bar", "off", False, False),
      ("--root-user-action", "--root-user-action", "ignore", False, False),
      ("--report", "--report", "-", False, False),
      ("--dry-run", "--dry-run", None, False, False)]),
    ("pip install --group dev --use-pep517 --no-use-pep517 --check-build-dependencies "
     "--no-build-isolation --compile --no-compile --no-warn-conflicts --ignore-requires-python -r r",
     [("--group", "--group", "dev", False, False), ("--use-pep517", "--use-pep517", None, False, False),
      ("--no-use-pep517", "--no-use-pep517", None, False, False),
      ("--check-build-dependencies", "--check-build-dependencies", None, False, False),
      ("--no-build-isolation", "--no-build-isolation", None, False, False),
      ("--compile", "--compile", None, False, False), ("--no-compile", "--no-compile", None, False, False),
      ("--no-warn-conflicts", "--no-warn-conflicts", None, False, False),
      ("--ignore-requires-python", "--ignore-requires-python", None, False, False)]),
    ("pip --isolated --require-virtualenv --python /usr/bin/python3 --log /l --no-input "
     "--keyring-provider auto --proxy http://p --retries 3 --timeout 60 --exists-action w "
     "--trusted-host h --cert /c --client-cert /cc --cache-dir /cache --disable-pip-version-check "
     "--no-color --use-feature truststore --use-deprecated legacy-certs --resume-retries 2 --debug "
     "install -r r",
     [("--isolated", "--isolated", None, False, True),
      ("--require-virtualenv", "--require-virtualenv", None, False, True),
      ("--python", "--python", "/usr/bin/python3", False, True), ("--log", "--log", "/l", False, True),
      ("--no-input", "--no-input", None, False, True),
      ("--keyring-provider", "--keyring-provider", "auto", False, True),
      ("--proxy", "--proxy", "http://p", False, True), ("--retries", "--retries", "3", False, True),
      ("--timeout", "--timeout", "60", False, True), ("--exists-action", "--exists-action", "w", False, True),
      ("--trusted-host", "--trusted-host", "h", False, True), ("--cert", "--cert", "/c", False, True),
      ("--client-cert", "--client-cert", "/cc", False, True),
      ("--cache-dir", "--cache-dir", "/cache", False, True),
      ("--disable-pip-version-check", "--disable-pip-version-check", None, False, True),
      ("--no-color", "--no-color", None, False, True),
      ("--use-feature", "--use-feature", "truststore", False, True),
      ("--use-deprecated", "--use-deprecated", "legacy-certs", False, True),
      ("--resume-retries", "--resume-retries", "2", False, True),
      ("--debug", "--debug", None, False, True)]),
]


@pytest.mark.parametrize("text,expected", OPTIONS)
def test_option_table(text: str, expected: list[tuple]) -> None:
    inv = pip_of(text)
    got = [(o.name, o.spelling, o.value.value if o.value else None, o.abbreviated, o.general)
           for o in inv.all_options if o.name != "--requirement"]
    assert got == expected
    assert inv.errors == () and inv.unknown_options == ()
    assert values(inv.requirements) == ["r"]
    assert [(o.name) for o in inv.global_options] == [e[0] for e in expected if e[4]]
    assert [(o.name) for o in inv.options] == [
        e[0] for e in expected if not e[4] and e[0] not in ("--constraint", "--editable")]


def test_general_options_before_and_after_subcommand() -> None:
    text = "pip -q --no-cache-dir install --no-cache-dir -v -r r.txt"
    inv = pip_of(text)
    assert [w.raw for w in inv.launcher_words] == ["pip", "-q", "--no-cache-dir"]
    assert [o.name for o in inv.global_options] == ["--quiet", "--no-cache-dir", "--no-cache-dir", "--verbose"]
    assert inv.options == ()
    assert inv.subcommand_word.raw == "install" and inv.subcommand_word.start == 22
    assert [(o.start, o.end) for o in inv.all_options][-1] == (text.index("-r"), len(text))


# command, unknown options, error fragments
PROBLEMS = [
    ("pip install --req r.txt", ("--req",), ["ambiguous option --req"]),
    ("pip install --requireme r.txt", ("--requireme",), ["ambiguous option --requireme"]),
    ("pip install --no-dep x", ("--no-dep",), ["ambiguous option --no-dep"]),
    ("pip install --bogus -r r.txt", ("--bogus",), ["no such option --bogus"]),
    ("pip install --bogus=3 -r r.txt", ("--bogus",), ["no such option --bogus"]),
    ("pip install -Z -r r.txt", ("-Z",), ["no such option -Z"]),
    ("pip --user install -r r.txt", ("--user",), ["no such option --user before the subcommand"]),
    ("pip install -r", (), ["-r requires a value"]),
    ("pip install --no-deps=1 -r r.txt", (), ["--no-deps does not take a value"]),
    ("pip install --$OPT -r r.txt", ("--$OPT",), ["is not static"]),
    ("pip $CMD -r r.txt", ("-r",), ["subcommand is not static"]),
]


@pytest.mark.parametrize("text,unknown,fragments", PROBLEMS)
def test_unknown_ambiguous_and_malformed_options(text: str, unknown: tuple, fragments: list[str]) -> None:
    inv = pip_of(text)
    assert inv.unknown_options == unknown
    assert len(inv.errors) == len(fragments)
    for err, fragment in zip(inv.errors, fragments):
        assert fragment in err
    for name in unknown:
        (opt,) = [o for o in inv.all_options if o.name == name]
        assert opt.known is False and opt in inv.options


def test_exact_long_name_wins_over_prefix() -> None:
    inv = pip_of("pip install --pre --requirement r.txt")
    assert [(o.name, o.abbreviated) for o in inv.all_options] == [
        ("--pre", False), ("--requirement", False)]


def test_unknown_option_value_with_equals_is_kept() -> None:
    inv = pip_of("pip install --frobnicate=yes -r r.txt")
    (opt,) = inv.options
    assert opt.value.value == "yes" and not opt.known
    assert values(inv.requirements) == ["r.txt"]


SUBCOMMANDS = [
    ("pip wheel -w /wheels -r r.txt", "wheel", [("--wheel-dir", "/wheels")], ["r.txt"], []),
    ("pip wheel --wheel-dir=/w --no-deps .", "wheel", [("--wheel-dir", "/w"), ("--no-deps", None)], [], ["."]),
    ("pip download -d /d -r r.txt --platform manylinux2014_x86_64 --only-binary=:all:", "download",
     [("--dest", "/d"), ("--platform", "manylinux2014_x86_64"), ("--only-binary", ":all:")], ["r.txt"], []),
    ("pip uninstall -y -r r.txt", "uninstall", [("--yes", None)], ["r.txt"], []),
    ("pip install --user .", "install", [("--user", None)], [], ["."]),
    ("pip install --user -r r.txt", "install", [("--user", None)], ["r.txt"], []),
    ("pip freeze", "freeze", [], [], []),
]


@pytest.mark.parametrize("text,sub,opts,reqs,pkgs", SUBCOMMANDS)
def test_subcommands(text, sub, opts, reqs, pkgs) -> None:
    inv = pip_of(text)
    assert inv.subcommand == sub
    assert [(o.name, o.value.value if o.value else None) for o in inv.options] == opts
    assert values(inv.requirements) == reqs
    assert values(inv.packages) == pkgs
    assert requirement_like(inv) == (sub == "install" and bool(reqs))


def test_no_subcommand() -> None:
    inv = pip_of("pip --version")
    assert inv.subcommand is None and inv.subcommand_word is None
    assert [o.name for o in inv.global_options] == ["--version"]
    assert [w.raw for w in inv.launcher_words] == ["pip", "--version"]
    assert not requirement_like(inv)


def test_unlisted_subcommand_options_are_unknown() -> None:
    inv = pip_of("pip list --format=json --verb -v")
    assert inv.subcommand == "list"
    assert inv.unknown_options == ("--format", "--verb")
    assert inv.errors == ()  # pip list has options we do not list: not an error
    assert [o.name for o in inv.global_options] == ["--verbose"]


def test_assignment_prefix_is_kept_on_the_invocation() -> None:
    inv = pip_of("PIP_NO_CACHE_DIR=1 PIP_INDEX_URL=https://x pip install -r x")
    assert [w.raw for w in inv.assignments] == ["PIP_NO_CACHE_DIR=1", "PIP_INDEX_URL=https://x"]
    assert inv.wrapper is None
    assert values(inv.requirements) == ["x"]
    assert requirement_like(inv)


def test_pip_inside_compound_is_found_but_marked() -> None:
    script = parse_script("if [ -f r.txt ]; then pip install -r r.txt; fi")
    pips = [(c, find_pip_invocation(c)) for c in script.commands]
    found = [(c.in_compound, inv.requirements[0].value) for c, inv in pips if inv is not None]
    assert found == [(True, "r.txt")]


def test_pip_option_spans() -> None:
    text = "pip install -i https://x --index-url=https://y -r r.txt"
    inv = pip_of(text)
    spans = [text[o.start:o.end] for o in inv.all_options]
    assert spans == ["-i https://x", "--index-url=https://y", "-r r.txt"]




# ---------------------------------------------------------------------------
# launchers issue 13 names
# ---------------------------------------------------------------------------

# command, program raw, interpreter raw
NEW_LAUNCHERS = [
    ("python${PYTHON_VERSION} -m pip install -r r.txt", "pip", "python${PYTHON_VERSION}"),
    ('"python$PY" -m pip install -r r.txt', "pip", '"python$PY"'),
    ("python3.12 -m pip install -r r.txt", "pip", "python3.12"),
    ("pip3.11 install -r r.txt", "pip3.11", None),
    ("${VIRTUAL_ENV}/bin/pip install -r r.txt", "${VIRTUAL_ENV}/bin/pip", None),
    ("/usr/local/bin/python3.12 -m pip install -r r.txt", "pip", "/usr/local/bin/python3.12"),
]


@pytest.mark.parametrize("text,program,interpreter", NEW_LAUNCHERS)
def test_launchers_from_issue_13(text: str, program: str, interpreter: str | None) -> None:
    inv = pip_of(text)
    assert inv.program.raw == program
    assert (inv.interpreter.raw if inv.interpreter else None) == interpreter
    assert inv.launcher_known and values(inv.requirements) == ["r.txt"]


ARGS = {"PIP": "pip3", "PIP_CMD": "python3 -m pip", "PY": "3.11", "TOOL": "echo"}


def resolve(word: Word) -> str | None:
    """What a Dockerfile ARG gives: the value before the shell splits it into words."""
    if len(word.parts) == 1 and word.raw.lstrip("${").rstrip("}") in ARGS:
        return ARGS[word.raw.lstrip("${").rstrip("}")]
    return word.expandable(ARGS)


# command, recognised, interpreter raw
RESOLVED = [
    ("$PIP install -r r.txt", True, None),
    ("${PIP} install -r r.txt", True, None),
    ('"$PIP" install -r r.txt', True, None),
    ("$PIP_CMD install -r r.txt", True, "$PIP_CMD"),
    ('"$PIP_CMD" install -r r.txt', False, None),  # one word "python3 -m pip": no such program
    ("$TOOL install -r r.txt", False, None),
    ("python$PY -m pip install -r r.txt", True, "python$PY"),
]


@pytest.mark.parametrize("text,recognised,interpreter", RESOLVED)
def test_variable_launchers_resolved_by_the_caller(text: str, recognised: bool, interpreter: str | None) -> None:
    (cmd,) = parse_script(text).commands
    inv = find_pip_invocation(cmd, resolve)
    assert (inv is not None) == recognised
    if inv is not None:
        module = text.startswith("python$PY")
        assert inv.launcher_known and inv.program.raw == ("pip" if module else cmd.words[0].raw)
        assert (inv.interpreter.raw if inv.interpreter else None) == interpreter
        assert inv.subcommand == "install" and values(inv.requirements) == ["r.txt"]
        assert [w.raw for w in inv.launcher_words] == [cmd.words[0].raw] + (
            ["-m", "pip"] if text.startswith("python$PY") else [])


@pytest.mark.parametrize("text", ["$PIP install -r r.txt", "${PIP_BIN} install --no-cache-dir -r r.txt",
                                  '"$MY_PIP" install -r r.txt'])
def test_unresolved_pip_variable_is_reported_not_passed_over(text: str) -> None:
    inv = pip_of(text)
    assert inv.launcher_known is False
    assert inv.program.raw == parse_script(text).commands[0].words[0].raw
    assert requirement_like(inv)


def test_unresolved_variable_without_requirements_is_not_pip() -> None:
    (cmd,) = parse_script("$PIP install flask").commands
    assert find_pip_invocation(cmd) is None


ENV_WRAPPERS = [
    ("env PIP_INDEX_URL=https://x pip install -r r.txt", ["PIP_INDEX_URL=https://x"], True),
    ("env A=1 B=$X pip install -r r.txt", ["A=1", "B=$X"], True),
    ("env -u HOME A=1 pip install -r r.txt", ["A=1"], False),
    ("sudo env A=1 pip install -r r.txt", ["A=1"], False),
    ("nice pip install -r r.txt", [], False),
    ("pip install -r r.txt", [], False),
]


@pytest.mark.parametrize("text,assignments,plain", ENV_WRAPPERS)
def test_env_assignments_are_exposed_apart_from_other_wrappers(text: str, assignments: list[str],
                                                                 plain: bool) -> None:
    inv = pip_of(text)
    assert [w.raw for w in inv.env_assignments] == assignments
    assert inv.plain_env is plain
    assert all(text[w.start:w.end] == w.raw for w in inv.env_assignments)


# ---------------------------------------------------------------------------
# the one option table
# ---------------------------------------------------------------------------

HARMLESS = ["--no-python-version-warning", "--progress-bar off", "--root-user-action=ignore",
            "--default-timeout=100", "--disable-pip-version-check", "-q", "--no-cache-dir", "--retries 5"]


@pytest.mark.parametrize("option", HARMLESS)
def test_harmless_options_are_dropped(option: str) -> None:
    inv = pip_of(f"pip install {option} -r r.txt")
    assert inv.errors == () and inv.unknown_options == ()
    (opt,) = [o for o in inv.all_options if o.name != "--requirement"]
    assert rule_for(opt.name).action is Action.DROP
    assert rule_for(opt.name).why


@pytest.mark.parametrize("name", ["--requirement", "--constraint", "--editable", "--target", "--prefix", "--user"])
def test_options_the_migrate_rule_handles(name: str) -> None:
    assert rule_for(name).action is Action.HANDLED


def test_every_entry_is_complete() -> None:
    for spec in GENERAL_OPTIONS + tuple(s for specs in COMMAND_OPTIONS.values() for s in specs):
        assert spec.action in Action and spec.commands, spec.name
        if spec.action is Action.CARRY:
            assert spec.why == "", spec.name
        else:
            assert spec.why and spec.why[0].islower() or spec.why.startswith(("-", "pip")), spec.name
    for name, spec in PIP_INSTALL_OPTIONS.items():
        assert name == spec.name and (spec.general or "install" in spec.commands)
    spellings = [n for specs in COMMAND_OPTIONS.values() for s in specs for n in s.long_names]
    assert "--default-timeout" in {n for s in GENERAL_OPTIONS for n in s.long_names}
    assert spellings


_PIP_ORACLE = r"""
import json, sys
from pip._internal.cli.main_parser import create_main_parser
from pip._internal.commands import create_command

def options(parser):
    for group in [parser] + parser.option_groups:
        for o in group.option_list:
            yield {"long": o._long_opts, "short": o._short_opts, "takes_value": o.takes_value()}

request = json.load(sys.stdin)
parsers = {"general": list(options(create_main_parser()))}
for name in request["commands"]:
    parsers[name] = list(options(create_command(name).parser))
parses = []
for argv in request["install_argv"]:
    cmd = create_command("install")
    try:
        opts, args = cmd.parser.parse_args(list(argv))
    except SystemExit:
        parses.append(None)
        continue
    parses.append({"requirements": opts.requirements, "constraints": opts.constraints,
                   "editables": opts.editables, "args": args, "quiet": opts.quiet})
json.dump({"parsers": parsers, "parses": parses}, sys.stdout)
"""

ORACLE_ARGV = [
    ["-r", "a.txt", "-rb.txt", "--requirement=c.txt", "x"],
    ["-qqUr", "a.txt", "-c", "c.txt", "--constraint=d.txt", "-e", ".", "pkg"],
    ["--no-cache", "--index=https://x", "-ihttps://y", "-r", "a"],
    ["--req", "a"],
    ["--no-dep", "a"],
    ["--no-deps=1", "a"],
    ["-r"],
    ["--", "-r", "a"],
    ["-rfoo", "-Cx=y", "--config-settings", "k=v", "."],
    ["--user", "--upgrade-strat", "eager", "--no-warn-s", "pkg"],
    ["-Z", "a"],
    ["--no-python-version-warning", "--progress-bar", "off", "--root-user-action=ignore",
     "--default-timeout=100", "-r", "r.txt"],
]


@pytest.fixture(scope="module")
def installed_pip() -> dict:
    """The installed pip's parsers, read hermetically: no config file, no PIP_* variable."""
    check = subprocess.run([sys.executable, "-c", "import pip._internal.commands"], capture_output=True)
    if check.returncode != 0:
        pytest.skip("pip is not installed next to the tests")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # pip then skips every configuration file
    request = {"commands": sorted(COMMAND_OPTIONS), "install_argv": ORACLE_ARGV}
    done = subprocess.run([sys.executable, "-c", _PIP_ORACLE], input=json.dumps(request), env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize("command", ["general"] + sorted(COMMAND_OPTIONS))
def test_every_option_pip_accepts_has_an_entry(installed_pip, command: str) -> None:
    """Every option of the installed pip is in the table, with its arity, short form and an action."""
    ours: dict[str, object] = {}
    for spec in GENERAL_OPTIONS + (COMMAND_OPTIONS.get(command, ()) if command != "general" else ()):
        for name in spec.long_names:
            ours.setdefault(name, spec)
    missing = []
    for opt in installed_pip["parsers"][command]:
        for name in opt["long"]:
            spec = ours.get(name)
            if spec is None:
                missing.append(name)
                continue
            assert spec.takes_value == opt["takes_value"], name
            if opt["short"] and name == opt["long"][0]:
                assert spec.short == opt["short"][0], name
            if command in ("general", "install"):
                assert PIP_INSTALL_OPTIONS[spec.name] is spec and spec.action in Action
    assert missing == [], f"{command}: options pip accepts that the table lacks"


@pytest.mark.parametrize("index", range(len(ORACLE_ARGV)))
def test_argv_parsing_matches_installed_pip(installed_pip, index: int) -> None:
    """pip's own optparse parser is the oracle for what each word means."""
    argv = ORACLE_ARGV[index]
    expected = installed_pip["parses"][index]
    inv = parse_pip_argv([Word.synthetic(v) for v in ["pip", "install", *argv]])
    if expected is None:
        assert inv.errors, argv
        return
    assert inv.errors == ()
    assert values(inv.requirements) == expected["requirements"]
    assert values(inv.constraints) == expected["constraints"]
    assert values(inv.editables) == expected["editables"]
    assert values(inv.packages) == expected["args"]
    assert sum(1 for o in inv.all_options if o.name == "--quiet") == expected["quiet"]


def test_oracle_ignores_a_machine_wide_pip_config(installed_pip, tmp_path, monkeypatch) -> None:
    """A pip.conf with constraint= and index-url= must not leak into the oracle's answers."""
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nconstraint = /nonexistent/c.txt\nindex-url = https://files.example.org/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("PIP_CONSTRAINT", "/nonexistent/other.txt")
    first = installed_pip["parses"][0]
    assert first["constraints"] == []
