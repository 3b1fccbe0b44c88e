"""A line chart as a self-contained SVG, written by hand (no plotting dependency)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

#: Colour-blind-safe (Okabe-Ito), one per series, and a marker shape each.
COLOURS = ("#0072B2", "#56B4E9", "#D55E00", "#E69F00", "#009E73", "#CC79A7", "#000000")
MARKERS = ("circle", "square", "diamond", "triangle", "circle", "square", "diamond")


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks covering [lo, hi] on a log axis."""
    ticks: list[float] = []
    e = math.floor(math.log10(lo))
    while True:
        for m in (1, 2, 5):
            v = m * 10**e
            if v > hi * 1.0001:
                return ticks
            if v >= lo * 0.9999:
                ticks.append(v)
        e += 1


def _fmt(v: float) -> str:
    return f"{v:g}" if v < 1e4 else f"{v / 1e3:g}k"


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    r = 4.0
    if kind == "square":
        return (
            f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}"'
            f' fill="{colour}"/>'
        )
    if kind == "diamond":
        d = r + 1
        pts = f"{x:.1f},{y - d:.1f} {x + d:.1f},{y:.1f} {x:.1f},{y + d:.1f} {x - d:.1f},{y:.1f}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    if kind == "triangle":
        pts = f"{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y + r:.1f} {x - r - 1:.1f},{y + r:.1f}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"/>'


def line_chart(
    series: dict[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = 760,
    height: int = 460,
    dashed: Sequence[str] = (),
) -> str:
    """Series of (x, y) points, both axes logarithmic, a legend on the right."""
    points = [p for pts in series.values() for p in pts if p[0] > 0 and p[1] > 0]
    if not points:
        raise ValueError("nothing to plot")
    xs = sorted({p[0] for p in points})
    y_lo = min(p[1] for p in points)
    y_hi = max(p[1] for p in points)
    y_ticks = _log_ticks(10 ** math.floor(math.log10(y_lo)), y_hi)
    y_min, y_max = y_ticks[0], max(y_ticks[-1], y_hi)
    if y_ticks[-1] < y_hi:
        nxt = _log_ticks(y_ticks[-1], y_hi * 10)
        y_max = next((t for t in nxt if t >= y_hi), y_hi)
        y_ticks.append(y_max)
    left, right, top, bottom = 70, 170, 40, 55
    pw, ph = width - left - right, height - top - bottom
    lx0, lx1 = math.log10(xs[0]), math.log10(xs[-1])
    ly0, ly1 = math.log10(y_min), math.log10(y_max)

    def px(x: float) -> float:
        return left + (math.log10(x) - lx0) / ((lx1 - lx0) or 1) * pw

    def py(y: float) -> float:
        return top + ph - (math.log10(y) - ly0) / ((ly1 - ly0) or 1) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left + pw / 2:.0f}" y="22" text-anchor="middle" font-size="15"'
        f' font-weight="bold">{escape(title)}</text>',
    ]
    for t in y_ticks:
        y = py(t)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for x in xs:
        xp = px(x)
        out.append(f'<line x1="{xp:.1f}" y1="{top}" x2="{xp:.1f}" y2="{top + ph}" stroke="#eee"/>')
        out.append(f'<text x="{xp:.1f}" y="{top + ph + 18}" text-anchor="middle">{_fmt(x)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    out.append(
        f'<text x="{left + pw / 2:.0f}" y="{height - 14}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    out.append(
        f'<text x="18" y="{top + ph / 2:.0f}" text-anchor="middle"'
        f' transform="rotate(-90 18 {top + ph / 2:.0f})">{escape(y_label)}</text>'
    )
    for i, (name, pts) in enumerate(series.items()):
        colour, marker = COLOURS[i % len(COLOURS)], MARKERS[i % len(MARKERS)]
        good = [(x, y) for x, y in pts if x > 0 and y > 0]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in good)
        dash = ' stroke-dasharray="6 4"' if name in dashed else ""
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
        )
        for x, y in good:
            tip = f"<title>{escape(name)}: {_fmt(x)}, {y:.1f}</title>"
            out.append(f"<g>{tip}{_marker(marker, px(x), py(y), colour)}</g>")
        ly = top + 14 + i * 22
        lx = left + pw + 16
        out.append(
            f'<line x1="{lx}" y1="{ly}" x2="{lx + 26}" y2="{ly}" stroke="{colour}"'
            f' stroke-width="2"{dash}/>'
        )
        out.append(_marker(marker, lx + 13, ly, colour))
        out.append(f'<text x="{lx + 32}" y="{ly + 4}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
