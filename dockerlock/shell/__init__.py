"""The shell layer: tree-sitter-bash parses RUN scripts; thin modules turn its nodes into values.

- ``words``: Word and its parts, quote removal, expansion (``Word.expandable``);
- ``adapter``: scripts -> ``SimpleCommand``/``Redirect`` with exact offsets;
- ``pip`` / ``pip_options``: pip command lines and the one table of pip options;
- ``wrappers``: ``sh -c '...'`` and exec-form JSON; ``quoting``: generated words.

Pure: no I/O.  tree-sitter is imported on the first parse, not on import.
"""

from dockerlock.shell.adapter import Redirect, Script, SimpleCommand, parse_script
from dockerlock.shell.pip import (
                                  PipInvocation,
                                  PipOption,
                                  Resolver,
                                  find_pip_invocation,
                                  parse_pip_argv,
                                  requirement_like,
)
from dockerlock.shell.pip_options import (
                                  COMMAND_OPTIONS,
                                  GENERAL_OPTIONS,
                                  PIP_INSTALL_OPTIONS,
                                  Action,
                                  OptionSpec,
                                  rule_for,
)
from dockerlock.shell.quoting import UnquotableWord, quote_word
from dockerlock.shell.words import Lit, Param, ShellParseError, Subst, Tilde, Word
from dockerlock.shell.wrappers import (
                                  WrappedScript,
                                  exec_form_words,
                                  parse_exec_form,
                                  wrapped_script,
)

__all__ = [
    "ShellParseError",
    "Lit",
    "Param",
    "Subst",
    "Tilde",
    "Word",
    "Redirect",
    "SimpleCommand",
    "Script",
    "parse_script",
    "parse_exec_form",
    "exec_form_words",
    "OptionSpec",
    "Action",
    "PipOption",
    "PipInvocation",
    "Resolver",
    "find_pip_invocation",
    "parse_pip_argv",
    "requirement_like",
    "GENERAL_OPTIONS",
    "COMMAND_OPTIONS",
    "PIP_INSTALL_OPTIONS",
    "rule_for",
    "quote_word",
    "UnquotableWord",
    "WrappedScript",
    "wrapped_script",
]
