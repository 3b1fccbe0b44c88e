"""A program on a real pty, its screen rendered by pyte (what a user's terminal would
show): keys written to it, what its screen shows waited for."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil
import pyte

from ._common import BenchError


class PtyProgram:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        size: tuple[int, int] = (140, 45),
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        pass_fds: Sequence[int] = (),
    ) -> None:
        columns, lines = size
        self.master, tty = os.openpty()
        fcntl.ioctl(tty, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        environ = os.environ | {"TERM": "xterm-256color", "COLORTERM": "truecolor", "TZ": "UTC"}
        #: When the program was started (monotonic), for times to its first paint.
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=tty,
            stdout=tty,
            stderr=tty,
            start_new_session=True,
            pass_fds=pass_fds,
            cwd=cwd,
            env=environ | dict(env or {}),
        )
        os.close(tty)
        os.set_blocking(self.master, False)
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        self.process = psutil.Process(self.proc.pid)

    def pump(self, timeout: float) -> bool:
        """Render what the program wrote, waiting up to ``timeout``; True if anything came."""
        ready, _, _ = select.select([self.master], [], [], max(0.0, timeout))
        got = False
        while ready:
            try:
                data = os.read(self.master, 1 << 16)
            except (BlockingIOError, OSError):  # OSError (EIO): the program closed the pty
                break
            if not data:
                break
            self.stream.feed(data)
            got = True
        return got

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def line_with(self, needle: str) -> str:
        return next((line for line in self.screen.display if needle in line), "")

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> float:
        """Render output until ``predicate()``; the monotonic time it first held."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise BenchError(f"timed out waiting for {what}; screen:\n{self.text()}")
            if self.proc.poll() is not None:
                self.pump(0)
                raise BenchError(f"the program exited ({self.proc.returncode}):\n{self.text()}")
            self.pump(0.02)
        return time.monotonic()

    def wait_for(self, text: str, what: str = "", timeout: float = 30.0) -> float:
        """:meth:`wait` until ``text`` is on the screen."""
        return self.wait(lambda: text in self.text(), what or text, timeout)

    def idle(self, seconds: float) -> None:
        """Keep rendering (a program blocked on a full pty would stop) for ``seconds``."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.pump(left)

    def keys(self, data: bytes) -> float:
        t = time.monotonic()
        os.write(self.master, data)
        return t

    def cpu_seconds(self) -> float:
        t = self.process.cpu_times()
        return float(t.user + t.system)

    def cpu_meter(self) -> Callable[[], float]:
        """From now: a function answering the program's CPU since, in % of a core."""
        c0, t0 = self.cpu_seconds(), time.monotonic()
        return lambda: (self.cpu_seconds() - c0) / (time.monotonic() - t0) * 100

    def rss_bytes(self) -> int:
        return int(self.process.memory_info().rss)

    def close(self, quit_keys: bytes = b"\x11", timeout: float = 30.0) -> int:
        """Quit with ``quit_keys`` (ctrl+q), else SIGTERM, else SIGKILL; the exit status."""
        try:
            if self.proc.poll() is None:
                os.write(self.master, quit_keys)
                deadline = time.monotonic() + timeout
                while self.proc.poll() is None and time.monotonic() < deadline:
                    self.pump(0.05)
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            os.close(self.master)
        return self.proc.returncode
