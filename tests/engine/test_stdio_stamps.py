"""Output is stamped with the time the engine read it (real pipes, the engine's own IO)."""

from __future__ import annotations

import asyncio
import os
import time

from runtime import stdio
from runtime.stdio import ProcessIO


async def read_until(io: ProcessIO, size: int) -> None:
    for _ in range(500):
        if len(io.backlog()) >= size:
            return
        await asyncio.sleep(0.01)  # safety net only: the reader runs as the loop turns
    raise AssertionError(f"backlog stayed at {len(io.backlog())} bytes")


async def test_backlog_and_stream_carry_read_times() -> None:
    io = ProcessIO(False, None)
    _, out_w, _ = io.make_pipes()
    try:
        before = time.time()
        os.write(out_w, b"first\n")
        await read_until(io, 6)
        stream = io.stream()
        middle = time.time()
        os.write(out_w, b"second\n")
        pieces = await asyncio.wait_for(stream.next_stamped(), 5)
        after = time.time()
        assert [data for _, data in pieces] == [b"second\n"]
        assert middle <= pieces[0][0] <= after
        backlog = io.stamped_backlog()
        assert b"".join(d for _, d in backlog) == io.backlog() == b"first\nsecond\n"
        assert before <= backlog[0][0] <= middle <= backlog[-1][0]
        # A plain iteration still gets bytes.
        os.write(out_w, b"third\n")
        assert await asyncio.wait_for(stream.__anext__(), 5) == b"third\n"
        stream.close()
    finally:
        io.close()


async def test_the_stamps_are_bounded_and_cover_the_whole_backlog(monkeypatch: object) -> None:
    monkeypatch.setattr(stdio, "BACKLOG_STAMPS", 8)  # type: ignore[attr-defined]
    io = ProcessIO(False, None)
    io.make_pipes()
    try:
        for i in range(50):
            io._feed(b"%d\n" % i)
        assert len(io._stamps) <= 8
        assert b"".join(d for _, d in io.stamped_backlog()) == io.backlog()
    finally:
        io.close()
