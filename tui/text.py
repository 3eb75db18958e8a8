"""Rich renderables the pages share: lines that wrap under themselves."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text


def hanging(lines: Iterable[str | Text], style: str = "") -> Group:
    """Lines whose leading spaces are an indent that their wrapped rest keeps."""
    out = []
    for line in lines:
        text = line if isinstance(line, Text) else Text(line, style=style)
        plain = text.plain
        depth = len(plain) - len(plain.lstrip(" "))
        out.append(Padding(text[depth:], (0, 0, 0, depth)))
    return Group(*out)


def sections(blocks: Iterable[tuple[str, Iterable[str]]]) -> RenderableType:
    """Titled blocks: the first title underlined, each block's lines indented under it."""
    parts: list[RenderableType] = []
    for i, (title, lines) in enumerate(blocks):
        if i:
            parts.append(Text(""))
        parts.append(Text(title, style="bold underline" if i == 0 else "bold"))
        parts.append(hanging(f"  {line}" for line in lines))
    return Group(*parts)
