"""The lossless Dockerfile model: stages and instructions with exact source spans.

How a Dockerfile is read (one locator):

1. ``scan``: a pre-scan applies BuildKit's line rules for what dockerfile-parse cannot
   see (parser directives and the escape character, heredoc bodies, comment and blank
   lines inside continuations, odd whitespace after the escape) and writes a *masked*
   copy of the text, same line numbering, where dockerfile-parse reads what BuildKit reads;
2. ``locate``: dockerfile-parse locates the instructions (keyword, first and last line)
   on that copy, and each located span becomes an ``Instruction`` (``instruction``):
   its logical line joined by BuildKit's rules, flags, exec form, heredocs;
3. ``dockerfile``: stages from the FROM lines, and ARG/ENV scopes and working
   directories per instruction (``scopes``), computed on first use.

Nothing here re-serialises an instruction: every instruction keeps its span into
``Source.text``, and edits splice that text (``dockerlock.edits``).
"""

from dockerlock.model.dockerfile import Dockerfile, Stage
from dockerlock.model.instruction import (
                                          EXEC_FORM_KEYWORDS,
                                          HEREDOC_KEYWORDS,
                                          KEYWORDS,
                                          Directive,
                                          Flag,
                                          Heredoc,
                                          Instruction,
                                          LogicalLine,
)
from dockerlock.model.scopes import Var

__all__ = ["EXEC_FORM_KEYWORDS", "HEREDOC_KEYWORDS", "KEYWORDS", "Directive", "Dockerfile", "Flag", "Heredoc",
           "Instruction", "LogicalLine", "Stage", "Var"]
