"""Feeding output to an :class:`~.emulator.Emulator` in time-bounded slices.

Bytes are only queued by :meth:`Feeder.feed`; :meth:`Feeder.parse` hands them to the
emulator until a time budget (on the clock it was given) is spent, so a flooding process
costs a bounded share of the event loop. When the queue grows to many screens, it is cut
to its tail at a safe point (a full clear or a line start), and the screen is reset before
the tail is parsed: what is left on screen is what a real terminal would show once the
flood had scrolled past. The cut never touches the screen itself: a frame drawn before
the next parse shows the last parsed screen, never an empty one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from .emulator import Emulator


@dataclass
class FeedStats:
    """Counters a benchmark or test can read (bytes, and repaints of changed rows)."""

    fed: int = 0
    parsed: int = 0
    skipped: int = 0
    skips: int = 0
    repaints: int = 0
    #: ``time.perf_counter()`` of the last repaint request: key-to-repaint latency ends here.
    last_repaint: float = 0.0


class Feeder:
    """The queue of output not parsed yet, and how much of it to parse when."""

    #: Share of wall time spent parsing while output is queued (budget / timer period).
    PARSE_SHARE: ClassVar[float] = 0.006 * 60
    #: The parse budget of the tick that skipped ahead (the tail is about a screen).
    SKIP_BUDGET: ClassVar[float] = 0.015
    #: Bytes handed to pyte at a time (the budget is checked between slices).
    SLICE: ClassVar[int] = 4096
    #: The most output kept queued, in seconds of wall time to parse it (at the rate
    #: measured so far, in the share of each tick spent parsing): a flood beyond it is cut
    #: to its tail, so the pane lags the process by about this much.
    MAX_LAG: ClassVar[float] = 0.05
    #: Floor of the backlog that triggers skipping ahead.
    MIN_SKIP_BYTES: ClassVar[int] = 16 * 1024
    #: The tail kept: the last screens' worth of lines, within these bounds.
    MIN_TAIL_BYTES: ClassVar[int] = 4 * 1024
    MAX_TAIL_BYTES: ClassVar[int] = 64 * 1024

    def __init__(
        self,
        emulator: Emulator,
        *,
        clock: Callable[[], float] = time.perf_counter,
        filter: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.emulator = emulator
        self.clock = clock
        self.filter = filter
        self.stats = FeedStats()
        self._pending = bytearray()
        #: The queue was cut: skip the screen before parsing what is left.
        self._skip_due = 0
        #: Bytes parsed per second (an estimate until measured).
        self.parse_rate = 500_000.0
        #: Parse everything, skipping nothing (a log view being rebuilt from what it kept).
        self.hold_skips = False

    # -- queueing ---------------------------------------------------------------------------

    def feed(self, data: bytes, *, size: int | None = None) -> None:
        """Queue ``data``; ``size`` is what it came from, if a filter changed its length
        (what ``stats.fed`` counts)."""
        self.stats.fed += len(data) if size is None else size
        if not data:
            return
        if self.filter is not None:
            data = self.filter(data)
        self._pending += data
        # Keep memory bounded between parses too.
        if not self.hold_skips and len(self._pending) > 4 * self.skip_threshold:
            self._cut()

    @property
    def pending_bytes(self) -> int:
        return len(self._pending)

    @property
    def skip_threshold(self) -> int:
        return max(self.MIN_SKIP_BYTES, int(self.parse_rate * self.PARSE_SHARE * self.MAX_LAG))

    @property
    def tail_bytes(self) -> int:
        """The most kept when skipping ahead (the cut is at the start of a line)."""
        s = self.emulator.screen
        return min(self.MAX_TAIL_BYTES, max(self.MIN_TAIL_BYTES, 4 * s.lines * s.columns))

    def _cut(self) -> None:
        buf = self._pending
        start = max(0, len(buf) - self.tail_bytes)
        # A full clear makes everything before it irrelevant to what is on screen.
        clear = max(buf.rfind(b"\x1b[2J", start), buf.rfind(b"\x1bc", start))
        if clear >= start:
            cut = clear
        else:
            # Else the start of the last screen of lines (each fills a row or more, so
            # scrolled text is whole), or of the first whole line in the tail (text drawn
            # with cursor moves).
            pos, lines = len(buf), 0
            while lines < self.emulator.screen.lines + 1:
                pos = buf.rfind(b"\n", start, pos)
                if pos < 0:
                    break
                lines += 1
            if pos >= 0:
                cut = pos + 1
            else:
                newline = buf.find(b"\n", start)
                cut = newline + 1 if newline >= 0 else start
        if cut <= 0:
            return
        self.stats.skipped += cut
        self.stats.skips += 1
        self._skip_due += cut
        del buf[:cut]

    # -- parsing ----------------------------------------------------------------------------

    def parse(self, budget: float | None) -> str:
        """Parse queued output for ``budget`` seconds at most (None: all of it); return the
        replies the program asked for (cursor position and the like)."""
        if not self._pending:
            return ""
        if not self.hold_skips and len(self._pending) > self.skip_threshold:
            self._cut()
        if self._skip_due:
            self.emulator.skip(f"··· {self._skip_due:,} bytes of output skipped ···")
            self._skip_due = 0
            if budget is not None:
                # What is left is about a screen: draw it whole now rather than over ticks.
                budget = max(budget, self.SKIP_BUDGET)
        began = self.clock()
        deadline = None if budget is None else began + budget
        view = memoryview(self._pending)
        done = 0
        try:
            while done < len(view):
                chunk = bytes(view[done : done + self.SLICE])
                self.emulator.feed(chunk)
                done += len(chunk)
                if deadline is not None and self.clock() >= deadline:
                    break
        finally:
            view.release()
            del self._pending[:done]
            self.stats.parsed += done
        elapsed = self.clock() - began
        if done >= self.SLICE and elapsed > 0:
            # What this pane parses per second, here, now: the backlog kept follows it.
            self.parse_rate += (done / elapsed - self.parse_rate) * 0.25
        return self.emulator.take_replies()
