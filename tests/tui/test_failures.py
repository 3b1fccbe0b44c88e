"""Every failed action is told the same way: an error notification, its text never markup."""

from __future__ import annotations

from textual.app import App

from runtime import errors
from tui.failures import notify_failure

from .conftest import wait_for


async def test_an_engine_error_and_a_bug_are_told_alike() -> None:
    app: App[None] = App()
    async with app.run_test(notifications=True) as pilot:
        notify_failure(app, "start [b]x[/b]", errors.NotFound("no task \x1b[2J'x'"))
        notify_failure(app, "kill x", ValueError("[red]boom"), timeout=3)
        await wait_for(pilot, lambda: len(app._notifications) == 2, what="both notes")
        first, second = app._notifications
        assert (first.title, first.message) == ("start [b]x[/b] failed", "no task ^[[2J'x'")
        assert (second.title, second.message) == ("kill x failed", "ValueError: [red]boom")
        assert (first.severity, first.markup, second.timeout) == ("error", False, 3)
