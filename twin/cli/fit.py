"""Text fitted to a terminal's columns: a line wraps at spaces onto indented
continuation lines, and a name longer than the room breaks only after a `/`, `.`
or `,` (`route/chat/` + `end_to_end.p95`), never inside a word, so that a name
read off the screen is still the name to type."""

from __future__ import annotations

import re
import textwrap

HANG = 4
"""How much deeper than its first line a wrapped line's continuation starts."""
_BREAK = re.compile(r"(?<=[/.,])(?=.)")


def wrap(line: str, width: int, hang: int = HANG) -> list[str]:
    """`line` as lines of at most `width` columns (a single token longer than the
    room, with no `/`, `.` or `,` to break at, stays whole)."""
    if len(line) <= width:
        return [line]
    lead = line[:len(line) - len(line.lstrip(" "))]
    more = lead + " " * hang
    if width - len(more) < 8:  # too deep an indent to be worth keeping
        more = lead
    lines = textwrap.wrap(line.strip(), width, initial_indent=lead, subsequent_indent=more,
                          break_long_words=False, break_on_hyphens=False)
    out: list[str] = []
    for i, part in enumerate(lines):
        if len(part) <= width:
            out.append(part)
            continue
        indent = lead if i == 0 else more
        out += _split(part[len(indent):], width, indent, more)
    return out or [line]


def cell(text: str, width: int) -> str:
    """A table cell's text pre-wrapped to `width` (Rich folds a long word anywhere)."""
    return "\n".join(part for line in text.split("\n") for part in wrap(line, width, hang=0))


def longest_word(text: str) -> int:
    """The widest piece of `text` that `wrap` never breaks."""
    return max((len(p) for word in text.split() for p in _BREAK.split(word)), default=0)


def _split(word: str, width: int, first: str, more: str) -> list[str]:
    """A long name in lines of at most `width` columns, broken after `/`, `.` or `,`."""
    out: list[str] = []
    current, indent = "", first
    for piece in _BREAK.split(word):
        if current and len(indent) + len(current) + len(piece) > width:
            out.append(indent + current)
            current, indent = "", more
        current += piece
    if current:
        out.append(indent + current)
    return out
