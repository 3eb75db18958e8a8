"""What the TUI tests share beyond fixtures."""

from __future__ import annotations

import io
from typing import Any


def plain(renderable: Any, width: int = 100) -> str:
    """What a widget's content reads as, without styles."""
    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()
