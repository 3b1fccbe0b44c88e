"""Fixtures for the UI tests: a live backend on runc, and helpers to await conditions."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from runtime import Engine
from tests.conftest import runtime_list, runtime_usable
from tui.backend.live import LiveBackend


@pytest.fixture(scope="session", autouse=True)
def utc() -> Iterator[None]:
    """Event times show in local time: make that UTC so screens match everywhere."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture
def need_runc() -> None:
    why = runtime_usable("runc")
    if why:
        pytest.skip(why)


@pytest.fixture
async def live(need_runc: None, tmp: Path, rootfs: Path) -> AsyncIterator[LiveBackend]:
    """A LiveBackend over a private runc engine; everything it made is gone afterwards."""
    async with Engine(root=tmp / "root", runtime="runc") as engine:
        backend = LiveBackend(engine, bundles=tmp / "bundles", rootfs=rootfs)
        try:
            yield backend
        finally:
            await backend.close()
            for c in engine.containers.list():
                await backend.remove(c.id)
            assert engine.containers.list() == []
    assert runtime_list("runc", tmp / "root" / "runc") == []
    shutil.rmtree(tmp / "bundles", ignore_errors=True)


async def wait_for(
    pilot: Pilot[None], predicate: Callable[[], object], timeout: float = 15.0, what: str = ""
) -> None:
    """Let the app run until ``predicate()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.02)


async def type_text(pilot: Pilot[None], text: str) -> None:
    keys = {" ": "space", "\r": "enter", "\n": "enter"}
    await pilot.press(*(keys.get(ch, ch) for ch in text))
