"""The command palette's entries of the page in front: one provider for every page.

A screen lists what it offers as `commands() -> [Command]` (every component to
show or to take the blast radius of, every scenario to run); this provider
matches them against what is typed, and lists the `discover` ones before anything is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.command import DiscoveryHit, Hit, Hits, Provider


@dataclass(frozen=True)
class Command:
    title: str
    callback: Callable[[], object]
    help: str = ""
    discover: bool = False


class ScreenCommands(Provider):
    """The active screen's own commands, fuzzy-matched."""

    def _commands(self) -> list[Command]:
        commands = getattr(self.screen, "commands", None)
        return commands() if callable(commands) else []

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for c in self._commands():
            score = matcher.match(c.title)
            if score > 0:
                yield Hit(score, matcher.highlight(c.title), c.callback, text=c.title,
                          help=c.help or None)

    async def discover(self) -> Hits:
        for c in self._commands():
            if c.discover:
                yield DiscoveryHit(c.title, c.callback, text=c.title, help=c.help or None)
