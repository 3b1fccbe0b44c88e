"""``shimdeck demo`` in a real pty: attach to the shell, see the pane's size follow the outer
terminal, detach, quit, and find nothing left behind."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pyte
import pytest

from tests.conftest import runtime_list, runtime_usable

SHIMDECK = Path(sys.executable).with_name("shimdeck")


class Terminal:
    """The outer terminal: a pexpect child whose output is rendered by pyte."""

    def __init__(self, child: pexpect.spawn, rows: int, cols: int) -> None:
        self.child = child
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def resize(self, rows: int, cols: int) -> None:
        self.screen.resize(rows, cols)
        self.child.setwinsize(rows, cols)

    def wait(self, predicate: Callable[[str], bool], what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.text()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{self.text()}")
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.2))
            except pexpect.TIMEOUT:
                continue

    def send(self, data: str) -> None:
        self.child.send(data)


@pytest.fixture
def need_root_runc() -> None:
    why = runtime_usable("runc")
    if why:
        pytest.skip(why)
    if not SHIMDECK.exists():
        pytest.skip(f"{SHIMDECK} is not installed (pip install -e .)")


def spawn_demo(root: Path, rows: int, cols: int) -> tuple[pexpect.spawn, Terminal]:
    """``shimdeck demo`` on runc in a real terminal of ``rows`` x ``cols``."""
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
    child = pexpect.spawn(
        str(SHIMDECK),
        ["demo", "--root", str(root), "--runtime", "runc"],
        dimensions=(rows, cols),
        env=env,
        timeout=30,
    )
    return child, Terminal(child, rows, cols)


def end(child: pexpect.spawn) -> None:
    """A failed test's demo: SIGTERM first, which quits as ``q`` does (its containers
    stopped and deleted); a SIGKILL would leave them running, and their processes, handed to
    this process (a subreaper), as zombies failing every test after."""
    if child.isalive():
        child.kill(signal.SIGTERM)
        with contextlib.suppress(pexpect.EOF, pexpect.TIMEOUT):
            child.expect(pexpect.EOF, timeout=60)
    if child.isalive():
        child.terminate(force=True)
    child.close()


def test_demo_attach_resize_detach_quit(need_root_runc: None, tmp: Path) -> None:
    root = tmp / "root"
    child, term = spawn_demo(root, 30, 100)
    try:
        term.wait(lambda t: "flood" in t and "crash" in t and "top " in t, "the demo containers")
        term.send("/")
        term.send("shell")
        term.send("\r")
        term.wait(lambda t: "filter: shell" in t, "the filter")
        term.send("a")
        term.wait(lambda t: "console" in t and "# " in t, "the shell's prompt")
        term.send("stty size\r")
        term.wait(lambda t: "\n29 100" in t, "stty size = pane size (29 rows, 100 columns)")
        term.resize(24, 80)
        term.wait(lambda t: "tty 80x23" in t, "the pane at its new size")
        term.send("clear; stty size\r")
        term.wait(lambda t: "\n23 80" in t, "stty size after the resize (23 rows, 80 columns)")
        term.send("\x1d")  # ctrl+]
        term.wait(lambda t: "containers" in t and "events" in t, "the main screen")
        term.send("q")
        child.expect(pexpect.EOF, timeout=60)
    finally:
        end(child)
    assert child.exitstatus == 0, child.before
    assert runtime_list("runc", root / "runc") == []
    assert not (root / "demo").exists()  # the demo's bundles


def test_attached_to_the_flooding_flood_its_lines_show_within_a_second(
    need_root_runc: None, tmp: Path
) -> None:
    """Issue 9, bug 1: the pane of a flooding ``yes`` stayed blank, attach after attach."""
    root = tmp / "root"
    child, term = spawn_demo(root, 45, 140)
    flood = "flood: the quick brown fox"
    try:
        term.wait(lambda t: "flood" in t and "crash" in t and "top " in t, "the demo containers")
        term.send("/flood\r")
        term.wait(lambda t: "filter: flood" in t, "the filter")
        term.send("s")
        # Its own row must say running: other containers' starts and states are on screen too.
        term.wait(lambda t: bool(re.search(r"^ flood +running +\d+", t, re.M)), "flood started")
        for attempt in range(3):
            term.send("a")
            term.wait(
                lambda t: t.startswith(" console  flood") and t.count(flood) >= 20,
                f"the pane and flood's lines (attach {attempt + 1})",
                timeout=1.0,
            )
            term.send("\x1d")  # ctrl+]
            term.wait(lambda t: "containers" in t and "events" in t, "the main screen")
            term.screen.reset()  # the next pane must draw its lines anew
        term.send("q")
        child.expect(pexpect.EOF, timeout=60)
    finally:
        end(child)
    assert child.exitstatus == 0, child.before
    assert runtime_list("runc", root / "runc") == []
