"""Restyling part of a rendered line (search highlights, the cursor, a mouse selection)."""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len
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


def padded_strip(segments: list[Segment], width: int, y: int, pad: Style) -> Strip | None:
    """``Strip(segments).extend_cell_length(width, pad).apply_offsets(0, y)`` built at
    once: each of those makes a new strip (seven caches apiece) and a scrolled view
    renders every row this way. None when the segments are wider than ``width`` (the
    caller crops them the general way)."""
    out: list[Segment] = []
    x = cells = 0
    for text, style, _ in segments:
        meta = Style.from_meta({"offset": (x, y)})
        out.append(Segment(text, style + meta if style else meta))
        x += len(text)
        cells += cell_len(text)
    if cells > width:
        return None
    if cells < width:
        out.append(Segment(" " * (width - cells), pad + Style.from_meta({"offset": (x, y)})))
    return Strip(out, width)
