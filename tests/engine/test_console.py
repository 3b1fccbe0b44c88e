"""Consoles and stdio: ptys with resize, EOF only on close_io, floods never block."""

from __future__ import annotations

import asyncio

import pytest

from runtime import Engine, errors
from runtime.stdio import OutputStream

from .helpers import read_until, stop


async def _start(
    engine: Engine, make_bundle, id: str, args: list[str], terminal: bool
) -> OutputStream:
    """Create and start a task; return a stream of its output from before it started."""
    await engine.containers.create(id, make_bundle(args, terminal=terminal))
    await engine.tasks.create(id)
    stream = engine.tasks.io(id).stream()
    await engine.tasks.start(id)
    return stream


async def test_resize_is_seen_inside_with_sigwinch(engine: Engine, make_bundle) -> None:
    stream = await _start(engine, make_bundle, "tty", ["sh"], terminal=True)
    io = engine.tasks.io("tty")
    assert io.terminal
    await engine.tasks.resize_pty("tty", 100, 30)
    io.write(b"stty size | tr ' ' x\n")
    await read_until(stream, b"30x100")
    await stop(engine, "tty")


async def test_resize_sends_sigwinch(engine: Engine, make_bundle) -> None:
    # Without job control the shell shares the tty's foreground group, so it gets SIGWINCH.
    script = "trap 'stty size | tr \" \" y' WINCH; echo READY; while :; do sleep 0.02; done"
    stream = await _start(engine, make_bundle, "winch", ["sh", "-c", script], terminal=True)
    await read_until(stream, b"READY")
    await engine.tasks.resize_pty("winch", 132, 43)
    await read_until(stream, b"43y132")
    await stop(engine, "winch")


async def test_size_set_before_the_console_exists_is_applied(engine: Engine, make_bundle) -> None:
    await _start(engine, make_bundle, "box", ["sleep", "1000"], terminal=False)
    await engine.tasks.exec("box", "t", ["sh", "-c", "read go; stty size"], terminal=True)
    await engine.tasks.resize_pty("box", 77, 22, exec_id="t")
    io = engine.tasks.io("box", "t")
    stream = io.stream()
    await engine.tasks.start("box", "t")
    io.write(b"go\n")
    await read_until(stream, b"22 77")
    assert (await engine.tasks.wait("box", "t")).exit_status == 0
    with pytest.raises(errors.FailedPrecondition, match="stopped"):
        await engine.tasks.resize_pty("box", 80, 24, exec_id="t")
    await stop(engine, "box")


async def test_runc_sizes_the_pty_before_the_process_runs(engine: Engine, make_bundle) -> None:
    if engine.runtime_name != "runc":
        pytest.skip("crun 1.8 ignores process.consoleSize for exec: the size lands just after")
    await _start(engine, make_bundle, "box", ["sleep", "1000"], terminal=False)
    await engine.tasks.exec("box", "now", ["stty", "size"], terminal=True)
    await engine.tasks.resize_pty("box", 91, 33, exec_id="now")
    await engine.tasks.start("box", "now")
    assert (await engine.tasks.wait("box", "now")).exit_status == 0
    io = engine.tasks.io("box", "now")
    assert await io.drain(5)
    assert io.backlog() == b"33 91\r\n"
    await stop(engine, "box")


async def test_bad_sizes_and_non_terminals_are_refused(engine: Engine, make_bundle) -> None:
    await _start(engine, make_bundle, "pipe", ["sleep", "1000"], terminal=False)
    with pytest.raises(errors.FailedPrecondition, match="no terminal"):
        await engine.tasks.resize_pty("pipe", 80, 24)
    for w, h in [(0, 24), (80, -1), (70000, 24), (True, 24)]:
        with pytest.raises(errors.InvalidArgument):
            await engine.tasks.resize_pty("pipe", w, h)
    await stop(engine, "pipe")


async def test_only_close_io_is_eof(engine: Engine, make_bundle) -> None:
    await _start(engine, make_bundle, "cat", ["cat"], terminal=False)
    io = engine.tasks.io("cat")
    reader = io.stream()
    io.write(b"first\n")
    await read_until(reader, b"first\n")
    reader.close()  # a reader going away is a detach, not EOF
    again = io.stream()
    io.write(b"second\n")
    await read_until(again, b"second\n")
    assert (await engine.tasks.state("cat")).status == "running"
    await engine.tasks.close_io("cat")
    assert (await engine.tasks.wait("cat")).exit_status == 0
    with pytest.raises(errors.FailedPrecondition, match="closed"):
        io.write(b"late")
    await stop(engine, "cat")


async def test_close_io_on_a_terminal_sends_eof(engine: Engine, make_bundle) -> None:
    await _start(engine, make_bundle, "tcat", ["cat"], terminal=True)
    await engine.tasks.close_io("tcat")
    assert (await engine.tasks.wait("tcat")).exit_status == 0
    await stop(engine, "tcat")


@pytest.mark.parametrize("terminal", [False, True], ids=["pipe", "pty"])
async def test_a_flood_never_blocks_the_process_or_the_engine(
    engine: Engine, make_bundle, terminal: bool
) -> None:
    # 40 times the backlog's cap and 10 times the log's: more proves nothing more. A pty
    # carries `yes` at 3 to 8 MB/s even to a bare reader's tight loop, so 100 MB took 32 to
    # 45 s with both cores busy, against the 60 s safety net below.
    size = 10_000_000
    await _start(
        engine,
        make_bundle,
        "flood",
        ["sh", "-c", f"yes flood | head -c {size}; echo; echo END"],
        terminal=terminal,
    )
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    t = asyncio.ensure_future(ticker())
    try:
        # Nobody reads the output: the engine drains it anyway, so the task finishes.
        assert (await asyncio.wait_for(engine.tasks.wait("flood"), 60)).exit_status == 0
    finally:
        t.cancel()
    io = engine.tasks.io("flood")
    assert await io.drain(10)
    assert io.backlog().rstrip().endswith(b"END")
    assert len(io.backlog()) <= 256 * 1024
    assert io.log_path is not None and io.log_path.stat().st_size <= 1024 * 1024
    assert ticks > 0  # the loop kept running during the flood
    await stop(engine, "flood")


async def test_end_of_a_terminal_process_ends_its_stream(engine: Engine, make_bundle) -> None:
    stream = await _start(engine, make_bundle, "bye", ["sh", "-c", "read x; echo bye-$x"], True)
    io = engine.tasks.io("bye")
    io.write(b"now\n")
    out = b""
    async for chunk in stream:  # ends at EIO on the master, which is not an error
        out += chunk
    assert b"bye-now" in out
    assert (await engine.tasks.wait("bye")).exit_status == 0
    await stop(engine, "bye")


async def test_the_log_follows_a_live_process(engine: Engine, make_bundle) -> None:
    stream = await _start(engine, make_bundle, "logged", ["cat"], terminal=False)
    io = engine.tasks.io("logged")
    io.write(b"to the log\n")
    await read_until(stream, b"to the log\n")
    # The log is written before any stream is fed, so it already holds what was read.
    assert io.log_path is not None and b"to the log\n" in io.log_path.read_bytes()
    await stop(engine, "logged")
