"""A Static that keeps its height while its content is replaced.

Replacing a Static's content lays the whole screen out again, twice when its
height changes: on a detail pane that follows a cursor, that is most of what a
key costs. A Pane measures the new content at its own width and lays the screen
out only when it must grow; a shorter content leaves blank lines below it.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.widgets import Static


class Pane(Static):
    def __init__(self, content: RenderableType = "", **kwargs: object):
        super().__init__(content, **kwargs)  # type: ignore[arg-type]
        self.lines = 0

    def show(self, content: RenderableType) -> None:
        width = self.content_size.width
        if isinstance(content, str):
            content = Text(content)
        if width <= 0:
            self.update(content)
            return
        console = self.app.console
        height = len(console.render_lines(content, console.options.update_width(width), pad=False))
        if height > self.lines:
            self.lines = height
            self.styles.min_height = height + self.styles.padding.top + self.styles.padding.bottom
            self.update(content)
        else:
            self.update(content, layout=False)
