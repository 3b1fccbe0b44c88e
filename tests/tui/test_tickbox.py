"""Checkboxes tell checked from unchecked by their mark, not by colour alone."""

from __future__ import annotations

from textual.app import App, ComposeResult

from tui.widgets.tickbox import TickBox


class _Boxes(App[None]):
    def compose(self) -> ComposeResult:
        yield TickBox("on", True, id="on", compact=True)
        yield TickBox("off", False, id="off", compact=True)


async def test_the_mark_shows_only_while_checked() -> None:
    app = _Boxes()
    async with app.run_test() as pilot:
        on, off = app.query_one("#on", TickBox), app.query_one("#off", TickBox)
        assert "X" in on.render().plain and "X" not in off.render().plain
        off.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert off.value and "X" in off.render().plain
        await pilot.press("enter")
        await pilot.pause()
        assert not off.value and "X" not in off.render().plain
