"""Tests for dockerlock.shell: commands, words, wrappers and quoting (pip argv: test_pip_argv).

Offsets are the contract with the Dockerfile model, so most tests check
``script[x.start:x.end] == x.raw`` besides the values.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

import strategies  # noqa: F401  (registers the Hypothesis profiles)
from dockerlock.diagnostics import DockerlockError
from dockerlock.shell import (
    Script,
    ShellParseError,
    SimpleCommand,
    UnquotableWord,
    WrappedScript,
    Word,
    exec_form_words,
    find_pip_invocation,
    parse_exec_form,
    parse_script,
    quote_word,
    wrapped_script,
)

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def check_offsets(script: Script) -> None:
    """Every span the module reports must slice back to its raw text."""
    text = script.text
    for cmd in script.commands:
        assert text[cmd.start:cmd.end] == cmd.raw
        for w in cmd.words + cmd.assignments:
            assert text[w.start:w.end] == w.raw, w
        for r in cmd.redirects:
            assert r.start < r.end <= len(text)
            if r.target is not None:
                assert text[r.target.start:r.target.end] == r.target.raw
            if r.heredoc is not None:
                assert text[r.heredoc.start:r.heredoc.end] == r.heredoc.raw
        for span, op in ((cmd.operator_before_span, cmd.operator_before),
                         (cmd.operator_after_span, cmd.operator_after)):
            if op is None:
                assert span is None
            else:
                assert text[span[0]:span[1]] == op


def parse(text: str) -> Script:
    script = parse_script(text)
    check_offsets(script)
    return script


def summary(cmd: SimpleCommand) -> tuple:
    return (cmd.raw, tuple(w.raw for w in cmd.words), cmd.operator_before, cmd.operator_after)


def values(words: tuple[Word, ...]) -> list[str | None]:
    return [w.value for w in words]


# ---------------------------------------------------------------------------
# splitting into commands
# ---------------------------------------------------------------------------

CHAINS = [
    ("a && b", [("a", ("a",), None, "&&"), ("b", ("b",), "&&", None)]),
    ("a || b; c", [("a", ("a",), None, "||"), ("b", ("b",), "||", ";"), ("c", ("c",), ";", None)]),
    ("a | b |& c", [("a", ("a",), None, "|"), ("b", ("b",), "|", "|&"), ("c", ("c",), "|&", None)]),
    ("a & b", [("a", ("a",), None, "&"), ("b", ("b",), "&", None)]),
    ("a;", [("a", ("a",), None, ";")]),
    ("a &", [("a", ("a",), None, "&")]),
    ("a | b && c", [("a", ("a",), None, "|"), ("b", ("b",), "|", "&&"), ("c", ("c",), "&&", None)]),
    ("a\nb\n", [("a", ("a",), None, "\n"), ("b", ("b",), "\n", None)]),
    ("a;\n\nb", [("a", ("a",), None, ";"), ("b", ("b",), ";", None)]),
    ("a &&\n\n  b", [("a", ("a",), None, "&&"), ("b", ("b",), "&&", None)]),
    ("a |\n b", [("a", ("a",), None, "|"), ("b", ("b",), "|", None)]),
    ("echo 'x && y' && z", [("echo 'x && y'", ("echo", "'x && y'"), None, "&&"),
                             ("z", ("z",), "&&", None)]),
    ('echo "a;b" \\; c', [('echo "a;b" \\; c', ("echo", '"a;b"', "\\;", "c"), None, None)]),
    ("! grep -q x f && y", [("grep -q x f", ("grep", "-q", "x", "f"), None, "&&"),
                            ("y", ("y",), "&&", None)]),
    ("a && \\\n b", [("a", ("a",), None, "&&"), ("b", ("b",), "&&", None)]),
    ("", []),
    ("   # only a comment", []),
]


@pytest.mark.parametrize("text,expected", CHAINS)
def test_chains_split_with_operators(text: str, expected: list[tuple]) -> None:
    script = parse(text)
    assert [summary(c) for c in script.commands] == expected


def test_operator_spans_point_at_the_operator() -> None:
    text = "apt-get update  &&  pip install x ;  echo done"
    a, b, c = parse(text).commands
    assert a.operator_after_span == (16, 18) == b.operator_before_span
    assert b.operator_after_span == (34, 35) == c.operator_before_span
    assert text[b.operator_after_span[0]] == ";"


LIBLC3 = (
    "apt-get update && apt-get install -y --no-install-recommends git meson ninja-build "
    "&& git clone --depth 1 https://github.com/google/liblc3.git /tmp/liblc3 "
    "&& cd /tmp/liblc3 && meson setup build && ninja -C build && ninja -C build install "
    "&& ldconfig && pip install --no-cache-dir -r /tmp/requirements.txt "
    "&& rm -rf /tmp/liblc3 /var/lib/apt/lists/*"
)


def test_ten_command_apt_chain() -> None:
    script = parse(LIBLC3)
    names = [c.words[0].value for c in script.commands]
    assert names == ["apt-get", "apt-get", "git", "cd", "meson", "ninja", "ninja",
                     "ldconfig", "pip", "rm"]
    assert all(c.depth == 0 for c in script.commands)
    ops = [(c.operator_before, c.operator_after) for c in script.commands]
    assert ops[0] == (None, "&&") and ops[-1] == ("&&", None)
    assert all(o == ("&&", "&&") for o in ops[1:-1])
    pip = script.commands[8]
    assert pip.raw == "pip install --no-cache-dir -r /tmp/requirements.txt"
    inv = find_pip_invocation(pip)
    assert values(inv.requirements) == ["/tmp/requirements.txt"]
    req = inv.requirements[0]
    assert LIBLC3[req.start:req.end] == "/tmp/requirements.txt"
    rm = script.commands[9]
    assert [w.value for w in rm.words] == ["rm", "-rf", "/tmp/liblc3", None]
    assert rm.words[3].has_glob and rm.words[3].literal == "/var/lib/apt/lists/*"


def test_joined_continuation_body_keeps_exact_offsets() -> None:
    text = "apt-get update &&     pip install -r /tmp/r.txt &&     rm -rf /var/lib/apt/lists/*"
    a, b, c = parse(text).commands
    assert (a.start, a.end) == (0, 14)
    assert (b.start, b.end) == (22, 47)
    assert b.raw == "pip install -r /tmp/r.txt"
    assert [(w.start, w.end) for w in b.words] == [(22, 25), (26, 33), (34, 36), (37, 47)]
    assert (c.start, c.end) == (55, len(text))


def test_heredoc_style_script_with_set_eux() -> None:
    text = (
        "#!/bin/bash\n"
        "set -eux\n"
        "\n"
        "apt-get update\n"
        "pip install --no-cache-dir \\\n"
        "    -r /tmp/requirements.txt   # pinned\n"
        "rm -rf /var/lib/apt/lists/*\n"
    )
    script = parse(text)
    assert [c.words[0].value for c in script.commands] == ["set", "apt-get", "pip", "rm"]
    pip = script.commands[2]
    assert pip.raw == "pip install --no-cache-dir \\\n    -r /tmp/requirements.txt"
    assert pip.operator_before == "\n" and pip.operator_after == "\n"
    assert values(pip.words) == ["pip", "install", "--no-cache-dir", "-r", "/tmp/requirements.txt"]
    assert script.commands[-1].operator_after is None  # trailing newline is not an operator


TRAILING_COMMENTS = [
    ("pip install -r r.txt # install deps", ["pip install -r r.txt"]),
    ("pip install -r r.txt# not a comment", ["pip install -r r.txt# not a comment"]),
    ("a # one && b\nc", ["a", "c"]),
    ("a;# c\nb", ["a", "b"]),
    ("echo '#' \"#\" x#y", ["echo '#' \"#\" x#y"]),
]


@pytest.mark.parametrize("text,raws", TRAILING_COMMENTS)
def test_comments_are_not_words(text: str, raws: list[str]) -> None:
    assert [c.raw for c in parse(text).commands] == raws


def test_assignments_and_redirects_are_separated_from_words() -> None:
    text = 'PIP_NO_CACHE_DIR=1 A="x y" pip install -r x 2>&1 >/dev/null'
    (cmd,) = parse(text).commands
    assert [w.raw for w in cmd.assignments] == ["PIP_NO_CACHE_DIR=1", 'A="x y"']
    assert cmd.assignments[1].value == "A=x y"
    assert values(cmd.words) == ["pip", "install", "-r", "x"]
    assert cmd.has_redirects
    assert [(r.op, r.fd, r.target.raw) for r in cmd.redirects] == [(">&", 2, "1"), (">", None, "/dev/null")]
    assert cmd.end == len(text)


def test_word_after_command_name_is_not_an_assignment() -> None:
    (cmd,) = parse("env A=1 pip").commands
    assert cmd.assignments == ()
    assert values(cmd.words) == ["env", "A=1", "pip"]


def test_heredoc_inside_script_keeps_body_out_of_commands() -> None:
    text = "cat <<EOF > /etc/pip.conf\n[global]\nindex-url = $IDX\nEOF\npip install -r r.txt\n"
    cat, pip = parse(text).commands
    assert cat.raw == "cat <<EOF > /etc/pip.conf"
    body = cat.redirects[0].heredoc
    assert body.raw == "[global]\nindex-url = $IDX\n"
    assert body.has_variables and body.expandable({"IDX": "https://x"}) == "[global]\nindex-url = https://x\n"
    assert pip.raw == "pip install -r r.txt" and pip.operator_before == "\n"


def test_quoted_heredoc_body_is_literal() -> None:
    text = "cat <<'EOF'\n$HOME $(rm -rf /)\nEOF"
    (cat,) = parse(text).commands
    body = cat.redirects[0].heredoc
    assert body.value == "$HOME $(rm -rf /)\n"
    assert not body.has_substitution


def test_unquoted_heredoc_with_substitution_reports_nested_command() -> None:
    text = "cat <<EOF\n$(pip install -r r.txt)\nEOF\n"
    cat, nested = parse(text).commands
    assert cat.redirects[0].heredoc.has_substitution
    assert nested.raw == "pip install -r r.txt" and nested.depth == 1


# ---------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------

# raw word, value, literal, has_variables, has_substitution, has_glob
WORDS = [
    ("plain", "plain", "plain", False, False, False),
    ("'single $X'", "single $X", "single $X", False, False, False),
    ('"double"', "double", "double", False, False, False),
    ('"uv==${UV_VERSION}"', None, None, True, False, False),
    ("$VIRTUAL_ENV/bin/pip", None, None, True, False, False),
    ("a\\ b", "a b", "a b", False, False, False),
    ('"a\\"b\\$c\\d"', 'a"b$c\\d', 'a"b$c\\d', False, False, False),
    ("$(cat x)", None, None, False, True, False),
    ("`cat x`", None, None, False, True, False),
    ('"$(cat x)"', None, None, False, True, False),
    ("<(ls)", None, None, False, True, False),
    ("${X:-$(y)}", None, None, True, True, False),
    ("$((1 + 2))", None, None, True, False, False),
    ("$(( $(n) + 1 ))", None, None, True, True, False),
    ("~/x", None, None, True, False, False),
    ("*.txt", None, "*.txt", False, False, True),
    ("'*.txt'", "*.txt", "*.txt", False, False, False),
    ("foo[bar]", None, "foo[bar]", False, False, True),
    ("'foo[bar]>=1'", "foo[bar]>=1", "foo[bar]>=1", False, False, False),
    ("{a,b}", None, "{a,b}", False, False, True),
    ("{}", "{}", "{}", False, False, False),
    ("[", "[", "[", False, False, False),
    ("$'a\\tb'", "a\tb", "a\tb", False, False, False),
    ('$"x"', "x", "x", False, False, False),
    ("a$", "a$", "a$", False, False, False),
    ("''", "", "", False, False, False),
    ("https://x/?a=1", None, "https://x/?a=1", False, False, True),
]


@pytest.mark.parametrize("raw,value,literal,has_var,has_sub,has_glob", WORDS)
def test_word_analysis(raw, value, literal, has_var, has_sub, has_glob) -> None:
    text = f"cmd {raw} tail"
    (cmd,) = parse(text).top_level
    assert [w.raw for w in cmd.words] == ["cmd", raw, "tail"]
    w = cmd.words[1]
    assert (w.start, w.end) == (4, 4 + len(raw))
    assert (w.value, w.literal, w.has_variables, w.has_substitution, w.has_glob) == (
        value, literal, has_var, has_sub, has_glob)


ENV = {"UV_VERSION": "0.8.4", "VIRTUAL_ENV": "/opt/venv", "EMPTY": "", "HOME": "/root",
       "SPACED": "a b"}

EXPANSIONS = [
    ('"uv==${UV_VERSION}"', "uv==0.8.4"),
    ("uv==$UV_VERSION", "uv==0.8.4"),
    ("$VIRTUAL_ENV/bin/pip", "/opt/venv/bin/pip"),
    ("${MISSING:-default}", "default"),
    ("${MISSING-default}", "default"),
    ("${EMPTY:-default}", "default"),
    ("x${EMPTY-default}y", "xy"),
    ("${UV_VERSION:+set}", "set"),
    ("${MISSING:+set}x", "x"),
    ("${MISSING:-$VIRTUAL_ENV}", "/opt/venv"),
    ("${MISSING:-\"a b\"}", "a b"),
    ("~/.cache", "/root/.cache"),
    ("$MISSING", None),
    ("${UV_VERSION%.*}", None),
    ("$(cat x)", None),
    ("$SPACED", None),           # unquoted: would be split into two words
    ('"$SPACED"', "a b"),
    ("$EMPTY", None),            # the word disappears entirely
    ('"$EMPTY"', ""),
    ("*.txt", None),
    ("~other/x", None),
    ("plain", "plain"),
]


@pytest.mark.parametrize("raw,expected", EXPANSIONS)
def test_expandable(raw: str, expected: str | None) -> None:
    (cmd,) = parse(f"echo {raw}").top_level
    assert cmd.words[1].expandable(ENV) == expected


def test_line_continuation_inside_a_word() -> None:
    text = "echo ab\\\ncd ef"
    (cmd,) = parse(text).commands
    assert [w.raw for w in cmd.words] == ["echo", "ab\\\ncd", "ef"]
    assert cmd.words[1].value == "abcd"


def test_substitutions_report_nested_commands_in_compound() -> None:
    text = 'pip install -r $(find / -name "req*.txt" | head -1) && echo `date`'
    cmds = parse(text).commands
    assert [(c.raw, c.depth, c.in_compound) for c in cmds] == [
        ('pip install -r $(find / -name "req*.txt" | head -1)', 0, False),
        ('find / -name "req*.txt"', 1, True),
        ("head -1", 1, True),
        ("echo `date`", 0, False),
        ("date", 1, True),
    ]
    assert cmds[1].operator_after == "|"
    assert cmds[0].operator_after == "&&" and cmds[3].operator_before == "&&"
    inv = find_pip_invocation(cmds[0])
    assert inv.requirements[0].has_substitution
    assert inv.requirements[0] in inv.dynamic


SUBSTITUTION_BOUNDARIES = [
    ("echo $(echo case) x", ["$(echo case)", "x"]),  # `case` as an argument is not a keyword
    ("echo $(case $V in a) b;; esac) x", ["$(case $V in a) b;; esac)", "x"]),
    ("echo $( (a) ) x", ["$( (a) )", "x"]),
    (r"echo $(echo ')' \)) x", [r"$(echo ')' \))", "x"]),
    ("echo $((2 * (3 + 4))) x", ["$((2 * (3 + 4)))", "x"]),
]


@pytest.mark.parametrize("text,args", SUBSTITUTION_BOUNDARIES)
def test_substitution_boundaries(text: str, args: list[str]) -> None:
    (cmd,) = parse(text).top_level
    assert [w.raw for w in cmd.words[1:]] == args


def test_process_substitution_is_a_word_with_nested_commands() -> None:
    text = "diff <(sort a) >(tee b) && c"
    diff, sort, tee, c = parse(text).commands
    assert [w.raw for w in diff.words] == ["diff", "<(sort a)", ">(tee b)"]
    assert diff.words[1].has_substitution and not diff.has_redirects
    assert (sort.raw, sort.depth, tee.raw, tee.depth) == ("sort a", 1, "tee b", 1)
    assert c.operator_before == "&&"


# ---------------------------------------------------------------------------
# compound commands
# ---------------------------------------------------------------------------

# script, [(raw, depth)]
COMPOUNDS = [
    ("(cd /src && pip install -r r.txt) && rm -rf /src",
     [("cd /src", 1), ("pip install -r r.txt", 1), ("rm -rf /src", 0)]),
    ("{ pip install -r r.txt; } > /log 2>&1", [("pip install -r r.txt", 1)]),
    ('if [ -f r.txt ]; then pip install -r r.txt; else echo none; fi && echo ok',
     [("[ -f r.txt ]", 1), ("pip install -r r.txt", 1), ("echo none", 1), ("echo ok", 0)]),
    ("for f in a b; do pip install $f; done", [("pip install $f", 1)]),
    ("while read l; do echo $l; done < <(ls)", [("read l", 1), ("echo $l", 1), ("ls", 1)]),
    ("install() { pip install -r \"$1\"; }\ninstall r.txt", [('pip install -r "$1"', 2), ("install r.txt", 0)]),
    ("set -e\nif [ -n \"$REQ\" ]; then\n  pip install -r \"$REQ\"\nfi\n",
     [("set -e", 0), ('[ -n "$REQ" ]', 1), ('pip install -r "$REQ"', 1)]),
    # what bashlex used to reject: tree-sitter-bash reads them all
    ("case \"$X\" in\n  a) pip install -r a.txt ;;\n  *) echo other ;;\nesac\necho end",
     [("pip install -r a.txt", 1), ("echo other", 1), ("echo end", 0)]),
    ("[[ -f r.txt && -s r.txt ]] && pip install -r r.txt",
     [("[[ -f r.txt && -s r.txt ]]", 0), ("pip install -r r.txt", 0)]),
    ("(( n > 1 )) && pip install -r r.txt", [("pip install -r r.txt", 0)]),
    ("if true; then echo $((1 + 2)); fi; pip install -r r.txt",
     [("true", 1), ("echo $((1 + 2))", 1), ("pip install -r r.txt", 0)]),
    ("{ time pip install -r r.txt; } 2> /t", [("time pip install -r r.txt", 1)]),
    ("for ((i = 0; i < 3; i++)); do echo $i; done && pip install x", [("echo $i", 1), ("pip install x", 0)]),
    ('(echo "$(a && b)")', [('echo "$(a && b)"', 1), ("a", 2), ("b", 2)]),
    ("case x in\n (a|b) c ;;\n *) d\nesac", [("c", 1), ("d", 1)]),
    ("X=$(case $V in a) echo 1;; *) echo 2;; esac) && pip install -r r.txt",
     [("X=$(case $V in a) echo 1;; *) echo 2;; esac)", 0), ("echo 1", 2), ("echo 2", 2),
      ("pip install -r r.txt", 0)]),
    ("f() ( a )", [("a", 2)]),
    ("function f { a && b; }", [("a", 2), ("b", 2)]),
    ("x $(a) && for f in $(ls) *.txt; do b; done > out", [("x $(a)", 0), ("a", 1), ("ls", 2), ("b", 1)]),
]


@pytest.mark.parametrize("text,expected", COMPOUNDS)
def test_compound_commands_are_marked(text: str, expected: list[tuple]) -> None:
    script = parse(text)
    assert [(c.raw, c.depth) for c in script.commands] == expected
    assert [c.in_compound for c in script.commands] == [d > 0 for _, d in expected]
    assert [c.raw for c in script.top_level] == [r for r, d in expected if d == 0]


def test_operators_do_not_leak_across_compound_boundaries() -> None:
    a, b, c = parse("a && (b) || c").commands
    assert (a.operator_before, a.operator_after) == (None, "&&")
    assert (b.operator_before, b.operator_after, b.depth) == (None, None, 1)
    assert (c.operator_before, c.operator_after) == ("||", None)


# script, [(raw, before, after)]: the list operators inside compound commands
COMPOUND_OPERATORS = [
    ("if a; then b; elif c; then d; else e; fi",
     [("a", None, ";"), ("b", None, ";"), ("c", None, ";"), ("d", None, ";"), ("e", None, ";")]),
    ("if x\nthen\n  y\n  z\nfi\nw", [("x", None, None), ("y", None, "\n"), ("z", "\n", None), ("w", "\n", None)]),
    ("{ a;\n b; }", [("a", None, ";"), ("b", ";", ";")]),
    ("a | (b; c) && d", [("a", None, "|"), ("b", None, ";"), ("c", ";", None), ("d", "&&", None)]),
    ("a;\n\n{ b; }\n# c\nd &", [("a", None, ";"), ("b", None, ";"), ("d", "\n", "&")]),
    ("apt-get update && (pip install -r r.txt || true) && rm -rf x",
     [("apt-get update", None, "&&"), ("pip install -r r.txt", None, "||"), ("true", "||", None),
      ("rm -rf x", "&&", None)]),
]


@pytest.mark.parametrize("text,expected", COMPOUND_OPERATORS)
def test_operators_inside_compounds(text: str, expected: list[tuple]) -> None:
    assert [(c.raw, c.operator_before, c.operator_after) for c in parse(text).commands] == expected


def test_fallback_case_and_cond_keep_operators() -> None:
    script = parse("[[ -f r.txt && -s r.txt ]] && pip install -r r.txt")
    cond, pip = script.commands
    assert values(cond.words) == ["[[", "-f", "r.txt", "&&", "-s", "r.txt", "]]"]
    assert cond.operator_after == "&&" and pip.operator_before == "&&"
    assert find_pip_invocation(pip) is not None


# ---------------------------------------------------------------------------
# where the grammar's reading is corrected
# ---------------------------------------------------------------------------


def test_assignments_then_newline_are_their_own_command() -> None:
    """tree-sitter-bash reads ``A=1 B=2<newline>cmd`` as one command; the shell does not."""
    text = "A=1 B=2\nB=3 C=4 # set\npip install -r r.txt"
    a, b, pip = parse(text).commands
    assert ([w.raw for w in a.assignments], a.words) == (["A=1", "B=2"], ())
    assert ([w.raw for w in b.assignments], b.words) == (["B=3", "C=4"], ())
    assert pip.assignments == () and values(pip.words) == ["pip", "install", "-r", "r.txt"]
    assert (a.operator_after, b.operator_before, b.operator_after, pip.operator_before) == ("\n",) * 4
    assert find_pip_invocation(pip).assignments == ()


def test_assignments_then_newline_inside_a_pipeline_and_redirect() -> None:
    a, echo, x = parse("A=1 B=2\necho > f | x").commands
    assert a.raw == "A=1 B=2" and echo.raw == "echo > f" and echo.redirects[0].target.value == "f"
    assert (echo.operator_before, echo.operator_after, x.operator_before) == ("\n", "|", "|")


def test_line_continuation_joins_two_pieces_of_one_word() -> None:
    text = "pip install -r req\\\nuirements.txt"
    (cmd,) = parse(text).commands
    assert values(cmd.words) == ["pip", "install", "-r", "requirements.txt"]
    assert cmd.words[3].raw == "req\\\nuirements.txt"


def test_dollar_space_inside_double_quotes_is_literal() -> None:
    (cmd,) = parse('echo "a $ b" "$"').commands
    assert values(cmd.words) == ["echo", "a $ b", "$"]


def test_heredoc_after_command_on_the_same_line() -> None:
    text = "cat <<EOF > /etc/x && pip install -r r.txt\nbody $(y)\nEOF\necho done"
    cat, pip, y, echo = parse(text).commands
    assert cat.raw == "cat <<EOF > /etc/x" and [r.op for r in cat.redirects] == ["<<", ">"]
    assert cat.redirects[0].heredoc.raw == "body $(y)\n" and cat.redirects[0].heredoc.has_substitution
    assert (pip.raw, pip.operator_before, pip.operator_after) == ("pip install -r r.txt", "&&", "\n")
    assert (y.raw, y.depth) == ("y", 1)
    assert (echo.raw, echo.operator_before) == ("echo done", "\n")


def test_heredoc_piped_into_a_command() -> None:
    cat, sh = parse("cat <<EOF | sh\npip install x\nEOF").commands
    assert (cat.operator_after, sh.raw, sh.operator_before) == ("|", "sh", "|")
    assert cat.redirects[0].heredoc.value == "pip install x\n"


def test_strip_tabs_heredoc_body_keeps_its_lines() -> None:
    text = "cat <<-EOF\n\tx $A\n\tEOF\nb"
    cat, b = parse(text).commands
    body = cat.redirects[0].heredoc
    assert body.raw == "\tx $A\n" and body.expandable({"A": "1"}) == "\tx 1\n"
    assert b.operator_before == "\n"


def test_non_ascii_text_keeps_character_offsets() -> None:
    text = "echo 'héllo wörld' && pip install -r /tmp/ré€.txt # ünïcode\nls 😀"
    echo, pip, ls = parse(text).commands
    assert values(echo.words) == ["echo", "héllo wörld"]
    assert pip.words[3].value == "/tmp/ré€.txt" and ls.words[1].value == "😀"


# tree-sitter-bash reads `a && b > f` as `(a && b) > f`; the redirect belongs to b
TRAILING_REDIRECTS = [
    ("set -o pipefail && pip install -r r.txt 2>&1 | tee /log",
     [("set -o pipefail", None, "&&", []), ("pip install -r r.txt 2>&1", "&&", "|", [">&"]),
      ("tee /log", "|", None, [])]),
    ("a || b > f && c", [("a", None, "||", []), ("b > f", "||", "&&", [">"]), ("c", "&&", None, [])]),
    ("a && { b; } > f", [("a", None, "&&", []), ("b", None, ";", [])]),
    ("a | b 2>/dev/null >> log", [("a", None, "|", []), ("b 2>/dev/null >> log", "|", None, [">", ">>"])]),
]


@pytest.mark.parametrize("text,expected", TRAILING_REDIRECTS)
def test_trailing_redirect_belongs_to_the_last_command(text: str, expected: list[tuple]) -> None:
    got = [(c.raw, c.operator_before, c.operator_after, [r.op for r in c.redirects]) for c in parse(text).commands]
    assert got == expected


def test_redirect_alone_is_a_command() -> None:
    red, echo = parse("> /tmp/log 2>&1\necho").commands
    assert (red.raw, red.words, [r.op for r in red.redirects]) == ("> /tmp/log 2>&1", (), [">", ">&"])
    assert (red.operator_after, echo.operator_before) == ("\n", "\n")


def test_array_assignment_is_opaque() -> None:
    (cmd,) = parse("A=(1 2)").commands
    assert cmd.assignments[0].raw == "A=(1 2)" and cmd.assignments[0].has_substitution
    (cmd,) = parse("local -x B=(3)").commands
    assert [w.raw for w in cmd.words] == ["local", "-x", "B=(3)"]


# ---------------------------------------------------------------------------
# errors: a script with a parse error is refused, never half read
# ---------------------------------------------------------------------------

ERRORS = [
    ("echo 'unterminated", 4),
    ('pip install "uv==1', 12),
    ("echo $(cat x", 12),
    ("echo ${X", 5),
    ("echo `date", 10),
    ("a &&", 4),
    ("a && && b", 2),
    ("; a", 0),
    ("a | ", 3),
    ("if true; then a", 0),
    ("a >", 2),
    ("case x in a) b;; *) c", 21),
    ("cat <<EOF", 4),
    ("cat <<A <<B\na\nA\nb\nB", 8),  # two heredocs on one line: beyond the grammar
    ("1@", 0),  # a command name tree-sitter-bash cannot read
    ("echo $(# comment )\n) x", 18),  # the comment hides the ')' from the grammar
    ("a `echo hi` 0\\`", 2),  # an escaped backtick after a backtick substitution
    ("echo `a` `b`", 7),  # the grammar reads one substitution from the first to the last backtick
    ("a \"`b`\" '` '", 2),  # a quoted backtick after a backtick substitution
]


@pytest.mark.parametrize("text,offset", ERRORS)
def test_unparseable_scripts_raise(text: str, offset: int) -> None:
    with pytest.raises(ShellParseError) as info:
        parse_script(text)
    assert info.value.offset == offset
    assert info.value.reason
    assert isinstance(info.value, DockerlockError)


def test_error_reason_names_what_is_missing() -> None:
    with pytest.raises(ShellParseError) as info:
        parse_script("echo $(cat x")
    assert info.value.reason == "missing ')'"


# ---------------------------------------------------------------------------
# exec form
# ---------------------------------------------------------------------------

EXEC_FORMS = [
    ('["pip", "install", "-r", "x"]', ["pip", "install", "-r", "x"]),
    ('  [ "a" ,"b"]  ', ["a", "b"]),
    ("[]", []),
    ('["a\\"b", "\\u00e9"]', ['a"b', "é"]),
    ('["pip", 1]', None),
    ("[pip]", None),
    ('"pip"', None),
    ("['pip']", None),
    ('["pip",]', None),
    ('["pip"] x', None),
    ("pip install -r x", None),
]


@pytest.mark.parametrize("text,expected", EXEC_FORMS)
def test_parse_exec_form(text: str, expected: list[str] | None) -> None:
    assert parse_exec_form(text) == expected


def test_exec_form_words_have_offsets_into_the_json() -> None:
    text = '["python", "-m", "pip", "install", "-r", "r.txt"]'
    words = exec_form_words(text)
    assert all(text[w.start:w.end] == w.raw for w in words)
    assert values(words) == ["python", "-m", "pip", "install", "-r", "r.txt"]


# ---------------------------------------------------------------------------
# sh -c wrappers
# ---------------------------------------------------------------------------


def inner_commands(text: str, index: int = 0) -> tuple[WrappedScript, Script]:
    cmd = parse(text).commands[index]
    wrapped = wrapped_script(cmd.words, text)
    assert isinstance(wrapped, WrappedScript), wrapped
    inner = wrapped.parse()
    check_offsets(inner)  # offsets into the *outer* text
    assert inner.text == text
    return wrapped, inner


# outer script, inner script text
WRAPPED = [
    ("sh -c 'pip install -r requirements.txt && rm -rf /root/.cache'",
     "pip install -r requirements.txt && rm -rf /root/.cache"),
    ('/bin/sh -c "pip install --no-cache-dir -r /app/requirements.txt"',
     "pip install --no-cache-dir -r /app/requirements.txt"),
    ("LIBRARY_PATH=/usr/lib /bin/sh -c \"apk add gcc && pip install -r r.txt\"",
     "apk add gcc && pip install -r r.txt"),
    ("bash -lc 'python -m pip install -r r.txt'", "python -m pip install -r r.txt"),
    ("bash -e -o pipefail -c 'pip install -r r.txt' name arg", "pip install -r r.txt"),
    ("dash -c pip\\ install", None),  # an escape inside: not one to one
    ("sh -c date", "date"),
]


@pytest.mark.parametrize("text,inner", [w for w in WRAPPED if w[1] is not None])
def test_wrapped_scripts_are_parsed_in_place(text: str, inner: str) -> None:
    wrapped, script = inner_commands(text)
    assert wrapped.text == inner
    assert text[wrapped.start:wrapped.end] == inner
    pip = next((c for c in script.commands if find_pip_invocation(c)), None)
    if "pip" in inner:
        inv = find_pip_invocation(pip)
        req = inv.requirements[0]
        assert text[req.start:req.end] == req.raw and req.value.endswith("r.txt") or "requirements" in req.value


def test_an_edit_from_inner_words_lands_in_the_outer_text() -> None:
    text = "apt-get update && sh -c 'pip install -q -r /app/requirements.txt' && echo ok"
    _, script = inner_commands(text, 1)
    (pip,) = script.commands
    req = find_pip_invocation(pip).requirements[0]
    edited = text[:req.start] + quote_word("/app/pylock.toml") + text[req.end:]
    assert edited == "apt-get update && sh -c 'pip install -q -r /app/pylock.toml' && echo ok"
    assert text[pip.start:pip.end] == pip.raw == "pip install -q -r /app/requirements.txt"


NOT_EXACT = [
    'sh -c "pip install -r $REQ"',
    'sh -c "pip install -r \\"r.txt\\""',
    "sh -c 'pip install '\"-r r.txt\"",
    'bash -c "echo `date`"',
    "dash -c pip\\ install",
]


@pytest.mark.parametrize("text", NOT_EXACT)
def test_wrapped_scripts_with_inexact_quoting_give_a_reason(text: str) -> None:
    (cmd,) = parse(text).top_level
    reason = wrapped_script(cmd.words, text)
    assert reason == f"pip runs inside `{cmd.words[0].value}` -c` with quoting dockerlock cannot rewrite exactly" \
        .replace("` -c`", " -c`")


NOT_WRAPPERS = ["sh script.sh", "bash -x install.sh arg", "sh", "bash -c", "python -c 'print(1)'",
                "sh --rcfile x -c 'a'", "bash $FLAGS -c 'a'"]


@pytest.mark.parametrize("text", NOT_WRAPPERS)
def test_not_a_shell_running_a_script(text: str) -> None:
    (cmd,) = parse(text).top_level
    assert wrapped_script(cmd.words, text) is None


def test_exec_form_wrapper_maps_into_the_json() -> None:
    text = '["/bin/bash", "-c", "pip install -r /app/requirements.txt && echo $HOME"]'
    words = exec_form_words(text)
    wrapped = wrapped_script(words, text)
    assert isinstance(wrapped, WrappedScript)
    script = wrapped.parse()
    check_offsets(script)
    pip, echo = script.commands
    req = find_pip_invocation(pip).requirements[0]
    assert text[req.start:req.end] == "/app/requirements.txt"
    assert echo.words[1].has_variables


def test_exec_form_wrapper_with_json_escapes_is_refused() -> None:
    text = '["sh", "-c", "pip install -r \\"r.txt\\""]'
    assert wrapped_script(exec_form_words(text), text) == \
        "pip runs inside `sh -c` with quoting dockerlock cannot rewrite exactly"


def test_wrapped_script_with_a_syntax_error_raises() -> None:
    text = "sh -c 'pip install -r \"r.txt'"
    (cmd,) = parse(text).commands
    with pytest.raises(ShellParseError):
        wrapped_script(cmd.words, text).parse()


# ---------------------------------------------------------------------------
# quoting generated words
# ---------------------------------------------------------------------------

QUOTED = [
    ("/tmp/pylock.toml", "/tmp/pylock.toml"),
    ("pylock.dev.toml", "pylock.dev.toml"),
    ("/tmp/$(touch pwn)/pylock.toml", "'/tmp/$(touch pwn)/pylock.toml'"),
    ('"/tmp/pylock.toml', "'\"/tmp/pylock.toml'"),
    ("it's here", "'it'\\''s here'"),
    ("a b", "'a b'"),
    ("*.toml", "'*.toml'"),
    ("`id`", "'`id`'"),
    ("$HOME", "'$HOME'"),
    ("~/x", "'~/x'"),
    ("{a,b}", "'{a,b}'"),
    ("#x", "'#x'"),
    ("A=1", "A=1"),  # an argument, never the first word: not an assignment
    ("", "''"),
    ("a\\b", "'a\\b'"),
    ("=x", "'=x'"),
    ("--python=/opt/venv/bin/python", "--python=/opt/venv/bin/python"),
]


@pytest.mark.parametrize("value,expected", QUOTED)
def test_quote_word(value: str, expected: str) -> None:
    text = quote_word(value)
    assert text == expected
    (cmd,) = parse(f"uv pip install -r {text} --system").commands
    word = cmd.words[4]
    assert (word.raw, word.value) == (text, value)
    assert not word.has_substitution and not word.has_variables and not word.has_glob


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\0b"])
def test_quote_word_refuses_line_breaks(value: str) -> None:
    with pytest.raises(UnquotableWord):
        quote_word(value)


# ---------------------------------------------------------------------------
# performance and laziness
# ---------------------------------------------------------------------------


def test_typical_run_body_parses_well_under_a_millisecond() -> None:
    text = ("apt-get update && apt-get install -y --no-install-recommends build-essential git && "
            "pip install --no-cache-dir -r /tmp/requirements.txt && rm -rf /var/lib/apt/lists/* && "
            "echo \"done $X\"")
    assert 180 <= len(text) <= 220
    rounds = 200
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for i in range(rounds):
            parse_script.__wrapped__(text)  # past the memo
        best = min(best, (time.perf_counter() - t0) / rounds)
    assert best < 1e-3, f"{best * 1e3:.3f} ms per parse"


def test_importing_the_shell_layer_does_not_load_tree_sitter() -> None:
    import subprocess
    import sys

    code = ("import sys, dockerlock.shell; assert 'tree_sitter' not in sys.modules; "
            "dockerlock.shell.parse_script('a'); assert 'tree_sitter' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- which RUNs get a shell parse at all ------------------------------------------------------------
@pytest.mark.parametrize("text, mentions", [
    ("pip install -r r.txt", True), ("PIP3.11 install x", True), ("python -m pip install x", True),
    ("set -o pipefail && make", False), ("uvicorn main:app", False), ("uv pip sync p.toml", True),
    ("python -m venv /opt/venv", True), (". /opt/app/bin/Activate", True), ("conda install x", True),
    ("${PIP_CMD} install -r r.txt", True), ('"$INSTALLER" wheel .', True), ("$X installer", False),
    ("apt-get install -y curl", False), ("pip-compile r.in", False), ("echo my-pip", False),
])
def test_runs_that_mention_python_tooling(text, mentions):
    from dockerlock.facts.commands import _mentions_tooling

    assert _mentions_tooling(text) is mentions


# The single case-blind pattern the staged check replaced: on ASCII text both must agree.
_ONE_PATTERN = __import__("re").compile(
    r"(?<![\w-])(?:pip[0-9.]*|uv)(?![\w-])|venv|activate|conda"
    r"|\$\{?[A-Za-z_]\w*\}?[\"']?\s+(?:install|wheel|download)(?![\w-])", __import__("re").I)


@given(st.lists(st.sampled_from(["pip", "PIP", "uv", "Uv", "venv", "ACTIVATE", "conda", "$", "${", "}", "X",
                                 "install", "Wheel", "download", "3", ".", "-", "_", " ", "\t", "\n", '"', "a",
                                 "fail", "icorn"]), max_size=10).map("".join))
def test_the_staged_check_agrees_with_one_case_blind_pattern(text):
    from dockerlock.facts.commands import _mentions_tooling

    assert _mentions_tooling(text) == bool(_ONE_PATTERN.search(text))


@pytest.mark.parametrize("run, is_pip", [
    ("pip install -r r.txt", True), ('"p"ip install -r r.txt', True), ("p\\ip install -r r.txt", True),
    ("$PIP install -r r.txt", True), ("env A=1 python3 -m pip install -r r.txt", True),
    ("/opt/venv/bin/pip3.11 install x", True), ("apt-get install -y python3-pip", False),
    ("echo pip", False), ("rm -rf /tmp/x", False), ("python -m venv /v", False),
])
def test_which_commands_are_pip(run, is_pip):
    from dockerlock.facts.commands import pip_invocation, run_commands
    from dockerlock.model import Dockerfile

    df = Dockerfile.from_text(f"FROM python:3.12\nARG PIP=pip\nRUN {run}\n")
    commands, problem = run_commands(df, df.instructions[-1])
    assert problem is None
    assert (pip_invocation(df, commands[0]) is not None) is is_pip
