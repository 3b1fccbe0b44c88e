"""Every main-screen action the backend can do in the command palette (ctrl+p), by name."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .screens.main import ACTIONS, NEEDS, MainScreen, action_keys

if TYPE_CHECKING:
    from .app import ShimdeckApp


def _title(action: str, label: str) -> str:
    return {
        "attach": "Attach console",
        "filter": "Filter",
        "sort": "Sort containers",
        "labels": "Edit labels",
        "create": "New container",
    }.get(action, label)


class ActionsProvider(Provider):
    def _commands(self) -> list[tuple[str, str, str]]:
        app = cast("ShimdeckApp", self.app)
        keymap = app.config.keymap
        can = app.backend.capabilities
        return [
            (f"{_title(action, label)} ({action_keys(key, action, keymap)})", action, help)
            for key, action, label, help in ACTIONS
            if NEEDS.get(action) in (None, *can)
        ]

    async def _run(self, action: str) -> None:
        screen = self.screen
        if action in ("help", "quit"):
            await self.app.run_action(action)
        elif isinstance(screen, MainScreen):
            await screen.run_action(action)

    async def discover(self) -> Hits:
        for title, action, help in self._commands():
            yield DiscoveryHit(title, partial(self._run, action), help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, action), help=help)
