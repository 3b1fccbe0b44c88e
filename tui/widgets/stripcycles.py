"""Textual's ``Strip`` without the reference cycle it makes of nearly every painted line.

``Strip.divide`` and ``Strip.crop_extend`` cache each result on the strip itself. When the
result is that same strip (the compositor divides every line it paints at the line's own
width; a line cropped to the width it has), the strip's cache holds the strip: a cycle.
Reference counting never frees such a strip (nor its seven caches and its segments); only
the cyclic collector does. So every frame left its lines as cyclic garbage (a flooding
console pane ~14,000 objects a second), the collector's full passes came every second and
walked the whole heap (60 to 140 ms each in the app, most of the key-to-echo tail), and
raising the thresholds made each pass longer still (0.7 s).

:func:`install` wraps both methods so that this one answer, the strip itself, is returned
without being cached (it costs nothing to compute); every other result is still cached.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.style import Style
from textual.strip import Strip

_divide = Strip.divide
_crop_extend = Strip.crop_extend


def _divide_without_cycle(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    cuts = list(cuts)
    length = self.cell_length
    if [cut for cut in cuts if cut <= length] == [length]:
        return [self]
    return _divide(self, cuts)


def _crop_extend_without_cycle(self: Strip, start: int, end: int, style: Style | None) -> Strip:
    if start <= 0 and end == self.cell_length:
        return self
    return _crop_extend(self, start, end, style)


def install() -> None:
    """Patch ``Strip`` (once; calling again changes nothing)."""
    Strip.divide = _divide_without_cycle  # type: ignore[method-assign]
    Strip.crop_extend = _crop_extend_without_cycle  # type: ignore[method-assign]
