"""Fixtures for the UI tests: a live backend on runc, the same UI's backend on a private
containerd (``any_backend`` gives each test both), and helpers to await conditions."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from textual import events
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

from runtime import Engine
from tests.conftest import runtime_list, runtime_usable
from tui.backend.base import Backend
from tui.backend.live import LiveBackend

if TYPE_CHECKING:
    from tests.containerd.daemon import Daemon
    from tui.backend.containerd.backend import ContainerdBackend


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


@pytest.fixture
async def on_containerd(containerd: Daemon, tmp: Path) -> AsyncIterator[ContainerdBackend]:
    """A ContainerdBackend in the private containerd's namespace; nothing left afterwards."""
    from tests.containerd.conftest import _cleanup
    from tui.backend.containerd.backend import ContainerdBackend
    from tui.backend.containerd.client import Client

    client = await Client.connect(str(containerd.socket), containerd.namespace)
    backend = await ContainerdBackend.open(client, io_dir=tmp / "io")
    try:
        yield backend
    finally:
        await backend.close()
        left = await _cleanup(client, containerd)
        await client.close()
    assert not left, f"the test left behind: {left}"


@pytest.fixture(params=["engine", "containerd"])
def any_backend(request: pytest.FixtureRequest) -> Backend:
    """The UI's backend on the engine (runc) and on containerd: behaviour that is the
    same on both is tested on both."""
    name = "live" if request.param == "engine" else "on_containerd"
    backend: Backend = request.getfixturevalue(name)
    return backend


def on_screen(app: App[object], screen: type[Screen[object]]) -> bool:
    """Whether ``app`` shows a ``screen``, composed: one is pushed before its widgets exist."""
    return isinstance(app.screen, screen) and app.screen.is_mounted


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


_NAMES = {"/": "slash", "\r": "enter", " ": "space", "=": "equals_sign", ".": "full_stop"}


def burst(app: App[object], keys: list[str]) -> None:
    """Queue every key at once, as the terminal driver does with one read of many keys."""
    assert app._driver is not None
    for key in keys:
        name = _NAMES.get(key, key)
        char = key if len(key) == 1 else None
        event = events.Key(name, char)
        event.set_sender(app)
        app._driver.send_message(event)
