"""A process's stdio as the engine holds it: pipes or a pty master.

The engine drains every output fd as soon as it is readable, whether anyone is attached or
not, so a container never blocks on a full pipe. What it reads goes to a bounded in-memory
ring (the backlog), a size-capped log file, and any live streams. The engine keeps its own
write end of stdin, so a reader detaching is not EOF; only :meth:`ProcessIO.close_stdin` is.

Each read is stamped with the wall-clock time it was read at: :meth:`ProcessIO.stamped_backlog`
and :meth:`OutputStream.next_stamped` hand output out as ``(time, bytes)`` pieces, so a
viewer can show when each line came, and merge the output of several processes in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import struct
import termios
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from . import errors

BACKLOG_BYTES = 256 * 1024
LOG_BYTES = 1024 * 1024
STREAM_BYTES = 8 * 1024 * 1024
READ_SIZE = 65536
READS_PER_WAKEUP = 64
#: Seconds of reading per wakeup, at most. A pty under a flood is readable again as soon as
#: it is read (a read costs 35 to 90 us for 4 KiB), so 64 reads held the event loop, and the
#: UI's keys and frames with it, for 8 to 40 ms at a time; the rest is read on the next turn.
READ_BUDGET = 0.002
#: Read times kept for the backlog, at most (older bytes take the time of an older read).
BACKLOG_STAMPS = 4096

#: A piece of output and the time (``time.time()``) the engine read it.
Stamped = tuple[float, bytes]


class OutputStream:
    """Live output from the moment it was opened; iterate with ``async for``.

    A consumer that falls more than ``STREAM_BYTES`` behind loses the oldest chunks;
    ``dropped`` counts the bytes it missed. Iteration ends at the end of output or on close.
    """

    def __init__(self, on_close: Callable[[OutputStream], None]) -> None:
        #: Tells the owner (which offers the output) to stop offering it to this stream.
        self._on_close = on_close
        self._chunks: deque[Stamped] = deque()
        self._size = 0
        self._wakeup = asyncio.Event()
        self._ended = False
        self.dropped = 0

    def _offer(self, data: bytes, stamp: float) -> None:
        self._chunks.append((stamp, data))
        self._size += len(data)
        while self._size > STREAM_BYTES and len(self._chunks) > 1:
            _, old = self._chunks.popleft()
            self._size -= len(old)
            self.dropped += len(old)
        self._wakeup.set()

    def _end(self) -> None:
        self._ended = True
        self._wakeup.set()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        return b"".join(data for _, data in await self.next_stamped())

    async def next_stamped(self) -> list[Stamped]:
        """Everything queued (at least one piece), each with its read time; raises
        ``StopAsyncIteration`` at the end of output."""
        while not self._chunks:
            if self._ended:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        # Hand over everything queued at once: fewer wakeups for a fast producer.
        chunks = list(self._chunks)
        self._chunks.clear()
        self._size = 0
        return chunks

    def close(self) -> None:
        self._on_close(self)
        self._end()


class LogFile:
    """Append-only output log capped at ``limit`` bytes: when full it moves to ``.1``."""

    def __init__(self, path: Path, limit: int = LOG_BYTES) -> None:
        self.path = path
        self._limit = limit
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._size = os.fstat(self._fd).st_size

    def write(self, data: bytes) -> None:
        if self._fd < 0:
            return
        if self._size + len(data) > self._limit:
            os.close(self._fd)
            os.replace(self.path, self.path.with_name(self.path.name + ".1"))
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._size = 0
            data = data[-self._limit :]
        os.write(self._fd, data)
        self._size += len(data)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class ProcessIO:
    """Stdio of one process. ``terminal`` processes have a pty master; others have pipes."""

    def __init__(self, terminal: bool, log_path: Path | None) -> None:
        self.terminal = terminal
        self.log_path = log_path
        self._loop = asyncio.get_running_loop()
        self._log = LogFile(log_path) if log_path is not None else None
        self._ring = bytearray()
        #: (offset in all output, read time) of the reads the ring holds, oldest first.
        self._stamps: deque[tuple[int, float]] = deque()
        self._total = 0
        self._streams: set[OutputStream] = set()
        self._readers: set[int] = set()
        self._stdin = -1
        self._pending = bytearray()
        self._stdin_eof = False
        self._size: tuple[int, int] | None = None
        # Set at the end of output: once every output fd is closed, or the IO is closed.
        self._eof = asyncio.Event()
        self._child_fds: list[int] = []
        self.attached = True

    # -- set-up ---------------------------------------------------------------------------

    def make_pipes(self) -> tuple[int, int, int]:
        """Create the stdin pipe and one pipe for stdout and stderr; return the container's
        ends as its 0/1/2 (close them after).

        Both outputs go to the same backlog, log and streams, so one pipe loses nothing: it
        keeps their interleaving as written, and costs one reader on the loop, not two.
        """
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        self._stdin = in_w
        os.set_blocking(in_w, False)
        self._child_fds = [in_r, out_w]
        self._watch(out_r)
        return in_r, out_w, out_w

    def close_child_ends(self) -> None:
        """Drop our copies of the container's ends, so EOF comes when the container closes its."""
        for fd in self._child_fds:
            os.close(fd)
        self._child_fds = []

    def set_master(self, master: int) -> None:
        """Take the pty master received from the runtime's console socket."""
        os.set_blocking(master, False)
        self._stdin = master
        if self._size is not None:
            self._apply_size(master, *self._size)
        self._watch(master)
        self._flush()

    def detach(self) -> None:
        """Mark this IO as gone (a re-adopted process whose fds died with the earlier engine)."""
        self.attached = False
        self._eof.set()

    def _watch(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._readers.add(fd)
        self._loop.add_reader(fd, self._on_readable, fd)

    # -- output ---------------------------------------------------------------------------

    def _on_readable(self, fd: int) -> None:
        # A pty hands out about 4 KiB per read: take what is there (for READ_BUDGET at
        # most) in one go, so the ring, the log and the streams are fed once per wakeup.
        chunks: list[bytes] = []
        ended = False
        deadline = time.monotonic() + READ_BUDGET
        for _ in range(READS_PER_WAKEUP):
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError as e:
                # EIO on a pty master: every slave fd is closed, which is the end of output.
                if e.errno != errno.EIO:
                    raise
                data = b""
            if not data:
                ended = True
                break
            chunks.append(data)
            if time.monotonic() >= deadline:
                break
        if chunks:
            self._feed(b"".join(chunks) if len(chunks) > 1 else chunks[0])
        if ended:
            self._close_reader(fd)

    def _feed(self, data: bytes) -> None:
        stamp = time.time()
        self._stamps.append((self._total, stamp))
        self._total += len(data)
        self._ring += data
        if len(self._ring) > BACKLOG_BYTES:
            del self._ring[: len(self._ring) - BACKLOG_BYTES]
        start = self._total - len(self._ring)
        stamps = self._stamps
        while len(stamps) > 1 and (stamps[1][0] <= start or len(stamps) > BACKLOG_STAMPS):
            stamps.popleft()
        if self._log is not None:
            self._log.write(data)
        for stream in self._streams:
            stream._offer(data, stamp)

    def _close_reader(self, fd: int) -> None:
        self._loop.remove_reader(fd)
        self._readers.discard(fd)
        if fd != self._stdin:
            os.close(fd)
        if not self._readers:
            self._eof.set()
            for stream in list(self._streams):
                stream._end()
            self._streams.clear()

    def read_now(self) -> bytes:
        """Take in what the output fds hold right now; return the backlog."""
        for fd in list(self._readers):
            self._on_readable(fd)
        return self.backlog()

    def backlog(self) -> bytes:
        """The most recent output, at most ``BACKLOG_BYTES``."""
        return bytes(self._ring)

    def stamped_backlog(self) -> list[Stamped]:
        """The backlog as pieces, each with the time it was read (about: see BACKLOG_STAMPS)."""
        start = self._total - len(self._ring)
        marks = list(self._stamps)
        pieces: list[Stamped] = []
        for i, (offset, stamp) in enumerate(marks):
            end = marks[i + 1][0] if i + 1 < len(marks) else self._total
            begin = start if i == 0 else max(offset, start)
            if end > begin:
                pieces.append((stamp, bytes(self._ring[begin - start : end - start])))
        return pieces

    def stream(self) -> OutputStream:
        """Live output from now on (see :class:`OutputStream`)."""
        s = OutputStream(self._streams.discard)
        if self._eof.is_set():
            s._end()
        else:
            self._streams.add(s)
        return s

    async def drain(self, timeout: float) -> bool:
        """Wait until the output reached its end; False if ``timeout`` passed first."""
        if self._eof.is_set():  # the common case at a delete: no task, no timer
            return True
        try:
            await asyncio.wait_for(self._eof.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # -- input ----------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Queue ``data`` for the process's stdin (or tty); never blocks the engine."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise errors.InvalidArgument(f"stdin data must be bytes, not {type(data).__name__}")
        if not self.attached:
            raise errors.FailedPrecondition("stdin of this process is not held by this engine")
        if self._stdin_eof:
            raise errors.FailedPrecondition("stdin of this process was closed")
        self._pending += data
        self._flush()

    def _flush(self) -> None:
        if self._stdin < 0 or not self._pending:
            return
        try:
            n = os.write(self._stdin, self._pending)
        except BlockingIOError:
            n = 0
        except OSError as e:
            if e.errno not in (errno.EPIPE, errno.EIO):
                raise
            self._pending.clear()  # the reader is gone; what it would have read is moot
            return
        del self._pending[:n]
        if self._pending:
            self._loop.add_writer(self._stdin, self._on_writable)

    def _on_writable(self) -> None:
        self._loop.remove_writer(self._stdin)
        self._flush()
        if not self._pending and self._stdin_eof:
            self._close_stdin_now()

    def close_stdin(self) -> None:
        """Deliver EOF: close the pipe, or send the tty's EOF character (^D)."""
        if self._stdin_eof:
            return
        if self.terminal:
            self.write(b"\x04")
            return
        self._stdin_eof = True
        if not self._pending:
            self._close_stdin_now()

    def _close_stdin_now(self) -> None:
        if self._stdin >= 0 and not self.terminal:
            with contextlib.suppress(OSError):
                self._loop.remove_writer(self._stdin)
            os.close(self._stdin)
            self._stdin = -1

    # -- terminal size --------------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int] | None:
        """The last (width, height) asked for, if any."""
        return self._size

    def resize(self, width: int, height: int) -> None:
        self._size = (width, height)
        if self._stdin >= 0 and self.terminal:
            self._apply_size(self._stdin, width, height)

    @staticmethod
    def _apply_size(master: int, width: int, height: int) -> None:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    # -- teardown -------------------------------------------------------------------------

    def close(self) -> None:
        """Release every fd and end every stream."""
        for fd in list(self._readers):
            self._close_reader(fd)
        self.close_child_ends()
        if self._stdin >= 0:
            with contextlib.suppress(OSError, ValueError):
                self._loop.remove_writer(self._stdin)
            if self._stdin not in self._readers:
                os.close(self._stdin)
            self._stdin = -1
        if self._log is not None:
            self._log.close()
        self._eof.set()
