"""A pane that follows a cursor: the cursor paints first, the pane after, the newest wins.

Holding an arrow key sends highlights faster than a pane can lay itself out
again; each highlight only records its target, and the pane is brought up to
date once, after the screen has painted the cursor that moved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Follow(Generic[T]):
    def __init__(self, owner: Any, apply: Callable[[T], None]):
        self.owner = owner  # a widget or screen: its call_after_refresh
        self.apply = apply
        self.target: T | None = None
        self.waiting = False
        self.merged = 0  # targets that a newer one replaced before they were shown

    def __call__(self, target: T) -> None:
        if self.waiting:
            self.merged += 1
        self.target = target
        if not self.waiting:
            self.waiting = True
            self.owner.call_after_refresh(self._apply)

    def _apply(self) -> None:
        self.waiting = False
        if self.target is not None:
            self.apply(self.target)
