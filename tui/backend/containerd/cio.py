"""Task and exec stdio over containerd, after containerd's ``pkg/cio``, outliving shimdeck.

Containers on containerd keep running after shimdeck quits, so their IO must not need it:

- without a tty, output goes to a log file, stdout and stderr together, written by a logger
  the shim starts (``binary://``, see :class:`LogIO`), and nobody has to drain anything;
- with a tty, the client makes FIFOs ``<dir>/<id>-stdin`` and ``<dir>/<id>-stdout`` and holds
  them open *before* ``Tasks.Create``/``Exec`` (the shim opens stdout for writing, blocking
  until a reader exists), then drains stdout for as long as it runs: a FIFO nobody reads
  fills at 64 KiB and blocks the process. containerd keeps no backlog, so we keep one,
  bounded as the engine's (:data:`runtime.stdio.BACKLOG_BYTES`).

Before the shim has opened its ends we hold each FIFO ``O_RDWR`` (open never blocks, and a
write end exists so reads never see a premature EOF); :meth:`FifoIO.connected` then switches
to plain read/write ends, so the end of the process's output is a real EOF. The shim opens a
task's FIFOs in ``Tasks.Create`` but an exec's only in ``Tasks.Start``: call ``connected``
after that call, never before (a lone reader would see EOF and leave the shim waiting).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shlex
import stat
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from runtime import errors
from runtime.stdio import BACKLOG_BYTES, READ_SIZE, OutputStream

#: The shim's logger for a process without a tty: appends its stdout (fd 3) and stderr (fd
#: 4) to one file, one ``cat`` each, once it has said it is ready by closing fd 5. A ``sh``
#: waits for them, so the SIGTERM the shim sends at the task's delete ends only the ``sh``:
#: each ``cat`` still copies to its pipe's end.
_LOGGER = "exec 5>&-; /bin/cat <&3 >>{log} 4<&- & /bin/cat <&4 >>{log} 3<&- & exec 3<&- 4<&-; wait"


@dataclass(frozen=True)
class LogIO:
    """Output of a process without a tty, in a file the shim's logger writes.

    Not the ``file://`` scheme, where the shim writes the file itself: its copy of stdout
    closes the file at its end without waiting for stderr's (containerd #3118, still so in
    1.6 and 2.x), so what a process writes to stderr as it exits, often why it did, is lost.
    A ``binary://`` logger has a descriptor of its own for each.
    """

    path: Path

    @property
    def uri(self) -> str:
        path = str(self.path.resolve())
        script = _LOGGER.format(log=shlex.quote(path))
        # One query key only: the shim passes keys and values as arguments in map order. The
        # fragment, which the shim ignores, names the file for :func:`logged_to`.
        query = urllib.parse.urlencode({"-c": script}, quote_via=urllib.parse.quote)
        return f"binary:///bin/sh?{query}#{urllib.parse.quote(path)}"

    @property
    def stdin(self) -> str:
        return ""

    @property
    def stdout(self) -> str:
        return self.uri

    @property
    def stderr(self) -> str:
        return self.uri


def logged_to(uri: str) -> Path | None:
    """The log file a stdio URI of a :class:`LogIO` writes (``file://``: an earlier
    shimdeck's), or None."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "file":
        return Path(urllib.parse.unquote(parsed.path))
    if parsed.scheme == "binary" and parsed.path == "/bin/sh" and parsed.fragment:
        return Path(urllib.parse.unquote(parsed.fragment))
    return None


def log_io(dir: Path, id: str) -> LogIO:
    dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # There once the task or exec is: the logger may open it only after the shim has gone on.
    (dir / f"{id}.log").touch(mode=0o600)
    return LogIO(dir / f"{id}.log")


class FifoIO:
    """A tty process's stdin and stdout FIFOs, held open and drained by this process."""

    def __init__(
        self, stdin: Path, stdout: Path, stdin_fd: int, stdout_fd: int, stderr_fd: int = -1
    ) -> None:
        self.stdin_path = stdin
        self.stdout_path = stdout
        self._stdin_fd = stdin_fd
        self._stdout_fd = stdout_fd
        #: A process without a tty started by another client (ctr) has a stderr FIFO too;
        #: its output joins stdout's, as in the log file.
        self._stderr_fd = stderr_fd
        self._backlog: deque[bytes] = deque()
        self._backlog_size = 0
        self._streams: set[OutputStream] = set()
        self.ended = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(stdout_fd, self._on_readable)
        if stderr_fd >= 0:
            self._loop.add_reader(stderr_fd, self._on_stderr)

    # -- making and reopening -------------------------------------------------------------

    @classmethod
    def create(cls, dir: Path, id: str) -> FifoIO:
        """Make ``<dir>/<id>-stdin|stdout`` and hold them; pass :attr:`stdin`/:attr:`stdout`
        to ``Tasks.Create``/``Exec``, then call :meth:`connected` (after Create for a task,
        after Start for an exec)."""
        dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        stdin, stdout = dir / f"{id}-stdin", dir / f"{id}-stdout"
        for path in (stdin, stdout):
            try:
                os.mkfifo(path, 0o600)
            except FileExistsError:
                raise errors.AlreadyExists(f"FIFO {path} exists already") from None
        flags = os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC
        return cls(stdin, stdout, os.open(stdin, flags), os.open(stdout, flags))

    @classmethod
    def reopen(cls, stdin: str, stdout: str, stderr: str = "") -> FifoIO:
        """Attach to FIFOs a running shim holds (as ``Tasks.Get`` reports them)."""
        for path in (stdin, stdout, stderr):
            if not path:
                continue
            try:
                mode = os.stat(path).st_mode
            except FileNotFoundError:
                raise errors.NotFound(f"FIFO {path} does not exist") from None
            if not stat.S_ISFIFO(mode):
                raise errors.InvalidArgument(f"{path} is not a FIFO")
        if not stdout:
            raise errors.InvalidArgument("the process has no stdout FIFO to attach to")
        stdout_fd = os.open(stdout, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        stderr_fd = os.open(stderr, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC) if stderr else -1
        stdin_fd = -1
        if stdin:
            try:
                stdin_fd = os.open(stdin, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as e:
                if e.errno != errno.ENXIO:  # no reader: the process has closed its stdin
                    os.close(stdout_fd)
                    if stderr_fd >= 0:
                        os.close(stderr_fd)
                    raise
        return cls(Path(stdin), Path(stdout), stdin_fd, stdout_fd, stderr_fd)

    @property
    def stdin(self) -> str:
        return str(self.stdin_path)

    @property
    def stdout(self) -> str:
        return str(self.stdout_path)

    def connected(self) -> None:
        """The shim holds its ends now: keep plain ends only (see the module's docstring)."""
        reader = os.open(self.stdout_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        self._loop.remove_reader(self._stdout_fd)
        os.close(self._stdout_fd)
        self._stdout_fd = reader
        self._loop.add_reader(reader, self._on_readable)
        if self._stdin_fd >= 0:
            writer = os.open(self.stdin_path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            os.close(self._stdin_fd)
            self._stdin_fd = writer

    # -- output ---------------------------------------------------------------------------

    def _on_readable(self) -> None:
        try:
            data = os.read(self._stdout_fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_stdout()
            return
        self._offer(data)

    def _close_stdout(self) -> None:
        if self._stdout_fd >= 0:
            self._loop.remove_reader(self._stdout_fd)
            os.close(self._stdout_fd)
            self._stdout_fd = -1
        if self._stderr_fd < 0:
            self._end()

    def _on_stderr(self) -> None:
        try:
            data = os.read(self._stderr_fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_stderr()
            if self._stdout_fd < 0:
                self._end()
            return
        self._offer(data)

    def _close_stderr(self) -> None:
        if self._stderr_fd >= 0:
            self._loop.remove_reader(self._stderr_fd)
            os.close(self._stderr_fd)
            self._stderr_fd = -1

    def _offer(self, data: bytes) -> None:
        self._backlog.append(data)
        self._backlog_size += len(data)
        while self._backlog_size > BACKLOG_BYTES and len(self._backlog) > 1:
            self._backlog_size -= len(self._backlog.popleft())
        stamp = time.time()
        for s in self._streams:
            s._offer(data, stamp)

    def _end(self) -> None:
        """The end of output (both ends at EOF), or a close: streams end too."""
        self._close_stderr()
        if self._stdout_fd >= 0:
            self._loop.remove_reader(self._stdout_fd)
            os.close(self._stdout_fd)
            self._stdout_fd = -1
        for s in list(self._streams):
            s._end()
        self.ended.set()

    def backlog(self) -> bytes:
        """The most recent output (at most ``BACKLOG_BYTES`` and one read more)."""
        return b"".join(self._backlog)

    def stream(self) -> OutputStream:
        s = OutputStream(self._streams.discard)
        if self.ended.is_set():
            s._end()
        else:
            self._streams.add(s)
        return s

    # -- input ----------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self._stdin_fd < 0:
            raise errors.FailedPrecondition(f"stdin of {self.stdin_path.name} is closed")
        try:
            os.write(self._stdin_fd, data)
        except BlockingIOError:
            raise errors.Unavailable("the process is not reading its input") from None
        except BrokenPipeError:
            raise errors.FailedPrecondition("the process has closed its input") from None

    def close_stdin(self) -> None:
        """Close our end of stdin; the process sees EOF after ``Tasks.CloseIO``."""
        if self._stdin_fd >= 0:
            os.close(self._stdin_fd)
            self._stdin_fd = -1

    # -- teardown -------------------------------------------------------------------------

    def close(self) -> None:
        """Stop draining and close our ends (the FIFOs stay for a later reopen)."""
        self.close_stdin()
        self._end()

    def remove(self) -> None:
        """Close and unlink the FIFOs (once the process is deleted)."""
        self.close()
        for path in (self.stdin_path, self.stdout_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
