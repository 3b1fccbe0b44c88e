"""A new theme restyles every pane at once: nothing keeps the colours of the old one."""

from __future__ import annotations

import re

import pytest
from rich.style import Style
from textual.pilot import Pilot

from tui.app import ShimdeckApp
from tui.backend.replay import ReplayBackend
from tui.config import Config
from tui.scenarios import console_ready, select, settle
from tui.sessions import DEMO_SESSION
from tui.widgets.tables import ContainersTable

from .conftest import wait_for


def screen(app: ShimdeckApp) -> str:
    """The screen as an SVG, without the id Textual derives from its contents."""
    return re.sub(r"terminal-\d+", "terminal", app.export_screenshot())


def row_styles(app: ShimdeckApp, y: int) -> list[Style | None]:
    return [segment.style for segment in app.screen.query_one(ContainersTable).render_line(y)]


async def open_console(pilot: Pilot[None]) -> None:
    await select(pilot, "top")
    await pilot.press("a")
    await console_ready(pilot)


async def shown(start: str, to: str, *, console: bool) -> str:
    """The screen started in theme ``start`` and then switched to ``to``."""
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True), config=Config(theme=start))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        if console:
            await open_console(pilot)
        if start != to:
            main = app.screen_stack[0].query_one(ContainersTable)
            background = main.rich_style.bgcolor
            before = row_styles(app, 2) if not console else []
            app.theme = to
            await wait_for(pilot, lambda: main.rich_style.bgcolor != background, what="restyle")
            await pilot.pause()
            if not console:  # a row drawn from the row cache changed colour
                after = row_styles(app, 2)
                assert len(after) == len(before) and after != before
                assert {s.bgcolor for s in after if s} != {s.bgcolor for s in before if s}
        return screen(app)


async def shown_after_switch(to: str, console: bool) -> tuple[str, str]:
    """(the screen switched from textual-dark to ``to``, the same started in ``to``)."""
    return (
        await shown("textual-dark", to, console=console),
        await shown(to, to, console=console),
    )


@pytest.mark.parametrize("theme", ["textual-light", "nord"])
async def test_the_main_screen_restyles_at_once(theme: str) -> None:
    switched, fresh = await shown_after_switch(theme, console=False)
    assert switched == fresh


async def test_the_console_pane_restyles_at_once() -> None:
    switched, fresh = await shown_after_switch("nord", console=True)
    assert switched == fresh
