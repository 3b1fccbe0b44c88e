"""The shipped containerd session (``python -m tui.sessions.record_containerd``): its header
carries what the live header showed, and ``shimdeck replay`` opens it and shows it."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pexpect
import pyte
import pytest

from tui.app import ShimdeckApp, header_line
from tui.backend.base import BackendInfo, Capability, Status
from tui.backend.recording import Recorder, SessionFormatError
from tui.backend.replay import ReplayBackend
from tui.scenarios import settle
from tui.sessions import CONTAINERD_SESSION, DEMO_SESSION

SHIMDECK = Path(sys.executable).with_name("shimdeck")


def _recorded() -> BackendInfo:
    header = json.loads(CONTAINERD_SESSION.read_text().splitlines()[0])
    d = header["backend"]
    return BackendInfo("containerd", d["runtime"], d["version"], d["address"], d["namespace"])


def test_a_replay_shows_the_header_the_live_ui_showed() -> None:
    live = _recorded()
    replay = ReplayBackend(CONTAINERD_SESSION, instant=True)
    assert replay.info.kind == "replay" and replay.info.recorded == live
    line = header_line(replay.info)
    assert line == header_line(live)
    # The namespace before the socket: at 80 columns a long path is what gets cut.
    assert line == f"containerd {live.version} [default] · {live.address}"


def test_a_session_from_before_headers_carried_the_backend_still_replays(tmp_path: Path) -> None:
    assert '"backend"' not in DEMO_SESSION.read_text().splitlines()[0]
    assert header_line(ReplayBackend(DEMO_SESSION).info) == f"replay · {DEMO_SESSION.name}"
    # And a recorder without the backend's info writes such a header still.
    path = tmp_path / "old.jsonl"
    Recorder(path, runtime="runc", start=datetime.now(UTC)).close()
    assert ReplayBackend(path).info.recorded is None


async def test_the_scene_replays_as_recorded() -> None:
    app = ShimdeckApp(ReplayBackend(CONTAINERD_SESSION, instant=True))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        rows = app.model.rows
        assert sorted(rows) == ["cache", "migrate", "shell", "web", "worker"]
        assert rows["web"].status == Status.RUNNING and rows["worker"].status == Status.PAUSED
        assert rows["migrate"].status == Status.STOPPED
        assert rows["migrate"].task is not None and rows["migrate"].task.exit_status == 3
        assert rows["cache"].task is None
        assert [e.exec_id for e in rows["shell"].execs] == ["exec-1"]
        assert rows["web"].cpu and rows["web"].memory
        assert all(r.container.image == "localhost/busybox:latest" for r in rows.values())
        assert app.sub_title == header_line(_recorded())


@pytest.mark.skipif(not SHIMDECK.exists(), reason=f"{SHIMDECK} is not installed")
def test_shimdeck_replay_opens_the_session_and_shows_the_header() -> None:
    rows, cols = 30, 160
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    env = dict(os.environ, TERM="xterm-256color", XDG_CONFIG_HOME="/nonexistent")
    child = pexpect.spawn(
        str(SHIMDECK),
        ["replay", "--instant", str(CONTAINERD_SESSION)],
        dimensions=(rows, cols),
        env=env,
        timeout=30,
    )
    expected = header_line(_recorded())
    try:
        deadline = time.monotonic() + 30
        text = ""
        while not (expected in text and "migrate" in text):
            if time.monotonic() > deadline:
                raise AssertionError(f"no header {expected!r}; screen:\n{text}")
            with contextlib.suppress(pexpect.TIMEOUT):
                stream.feed(child.read_nonblocking(65536, timeout=0.2))
            text = "\n".join(screen.display)
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_a_screenshot_replay_offers_what_the_recorded_backend_could_do() -> None:
    offered = ReplayBackend(CONTAINERD_SESSION, as_recorded=True).capabilities
    assert Capability.NAMESPACES in offered and Capability.IMAGES in offered
    assert Capability.RESTORE not in offered  # containerd's backend has no restore


def test_a_header_with_unknown_capabilities_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    Recorder(path, runtime="containerd", start=datetime.now(UTC), capabilities=[]).close()
    header = json.loads(path.read_text())
    header["capabilities"] = ["fly"]
    path.write_text(json.dumps(header) + "\n")
    with pytest.raises(SessionFormatError, match="capabilities"):
        ReplayBackend(path)
