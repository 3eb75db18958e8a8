"""What the TUI tests share beyond fixtures."""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Callable, Coroutine
from typing import Any


def plain(renderable: Any, width: int = 100) -> str:
    """What a widget's content reads as, without styles."""
    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """An async test run on its own event loop (Textual's run_test is async; this suite
    has no asyncio plugin). The fixtures are the async function's own arguments."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run
