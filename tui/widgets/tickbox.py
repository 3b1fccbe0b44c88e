"""A checkbox whose mark shows only while it is checked."""

from __future__ import annotations

from typing import Any

from textual.widgets import Checkbox


class TickBox(Checkbox):
    """Textual's checkbox draws its X in both states and tells them apart by colour alone,
    which a monochrome terminal, a colour-blind user and a screenshot's greys all lose."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._mark()

    def _mark(self) -> None:
        # Shadows the class's BUTTON_INNER, which the button is drawn from.
        self.BUTTON_INNER = "X" if self.value else " "

    def watch_value(self) -> None:
        self._mark()
        super().watch_value()
