"""Helpers for engine tests: await events and conditions, never sleep."""

from __future__ import annotations

import asyncio
import functools
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from runtime import Engine
from runtime.checkpoint import find_criu
from runtime.events import Subscription
from runtime.types import Event

TIMEOUT = 20.0


async def next_event(
    sub: Subscription, pred: Callable[[Event], bool], timeout: float = TIMEOUT
) -> Event:
    async def find() -> Event:
        async for ev in sub:
            if pred(ev):
                return ev
        raise AssertionError("subscription closed")

    return await asyncio.wait_for(find(), timeout)


def drain(sub: Subscription) -> list[Event]:
    out = []
    while (ev := sub.get_nowait()) is not None:
        out.append(ev)
    return out


async def read_until(stream: object, needle: bytes, timeout: float = TIMEOUT) -> bytes:
    buf = b""

    async def run() -> bytes:
        nonlocal buf
        async for chunk in stream:  # type: ignore[attr-defined]
            buf += chunk
            if needle in buf:
                return buf
        raise AssertionError(f"output ended before {needle!r}: {buf[-500:]!r}")

    return await asyncio.wait_for(run(), timeout)


async def stop(engine: Engine, id: str) -> None:
    """Kill the task if it still runs, wait for its exit, delete it."""
    if (await engine.tasks.state(id)).status != "stopped":
        await engine.tasks.kill(id, signal.SIGKILL)
    await engine.tasks.wait(id)
    await engine.tasks.delete(id)


@functools.cache
def working_criu() -> str | None:
    """The CRIU the engine finds by default, if it passes ``criu check``."""
    criu = find_criu()
    if criu is None or subprocess.run([criu, "check"], capture_output=True).returncode != 0:
        return None
    return criu


def crippled_criu(criu: str, where: Path) -> Path:
    """``criu`` run without PATH, written under ``where``: it cannot start iptables-restore
    or tar, so its dumps and restores fail as they do on a host that lacks them."""
    bad = where / "bad" / "criu"
    bad.parent.mkdir()
    bad.write_text(f'#!/bin/sh\nPATH=/nonexistent exec {criu} "$@"\n')
    bad.chmod(0o755)
    return bad


@functools.cache
def runtime_lacks_criu(runtime: str) -> bool:
    """crun built without CRIU (Debian 12's) has no checkpoint command at all."""
    out = subprocess.run([runtime, "checkpoint", "--help"], capture_output=True, text=True)
    return "unknown command" in out.stdout + out.stderr
