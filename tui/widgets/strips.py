"""Restyling part of a rendered line (search highlights, the cursor, a mouse selection)."""

from __future__ import annotations

from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip


def restyle(strip: Strip, start: int, end: int, change: Callable[[Style], Style]) -> Strip:
    """``strip`` with the cells ``start <= x < end`` restyled by ``change``."""
    length = strip.cell_length
    if end <= start or start >= length:
        return strip
    parts = strip.divide([start, min(end, length), length])
    before, middle, after = parts[0], parts[1], parts[2] if len(parts) > 2 else Strip([])
    changed = Strip([Segment(s.text, change(s.style or Style())) for s in middle])
    return Strip.join([before, changed, after])


def add_style(extra: Style, style: Style) -> Style:
    return style + extra
