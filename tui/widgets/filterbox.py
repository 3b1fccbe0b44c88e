"""The main screen's filter box: an Input that does not lay the screen out at each key."""

from __future__ import annotations

from textual.geometry import Size
from textual.widgets import Input


class FilterBox(Input):
    """Textual's Input (8.2.8) sets its ``virtual_size`` (a layout reactive) to its text's
    width at every change of value: every key typed laid out the whole screen, about half
    of a filter keystroke's time at 2,000 containers. A box of fixed width needs only its
    scroll range updated, which is what Textual itself does with a size it needs no layout
    for; Input's own handler then finds the size unchanged."""

    def _watch_value(self, value: str) -> None:
        size = Size(self.content_width, 1)
        if size != self.virtual_size and not self.styles.auto_dimensions:
            self.set_reactive(Input.virtual_size, size)
            self._scroll_update(size)
        super()._watch_value(value)
