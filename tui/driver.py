"""The terminal driver, handing input to the app one event-loop turn sooner.

Textual's driver reads the terminal in a thread and hands each event over with
``run_coroutine_threadsafe(app._post_message(event))``: one turn of the loop makes the task,
the next runs it, and only the turn after that does the app see the event. While a console
floods, every turn carries a frame, a parse slice and a pty read, so each turn a key waits
is felt (issue 9: a key's echo). ``call_soon_threadsafe(app.post_message, event)`` queues
it in the first turn; the order of events is kept (both run in the order they were sent).
"""

from __future__ import annotations

from textual.driver import Driver
from textual.message import Message


def prompt_driver(base: type[Driver]) -> type[Driver]:
    """``base`` with input queued on the app at the loop's next turn."""

    class PromptDriver(base):  # type: ignore[valid-type,misc]
        def send_message(self, message: Message) -> None:
            self._loop.call_soon_threadsafe(self._app.post_message, message)

    PromptDriver.__name__ = PromptDriver.__qualname__ = f"Prompt{base.__name__}"
    return PromptDriver
