"""The CRI log format, and a tail of a CRI log file that follows the kubelet's rotation.

A CRI runtime writes each line a container prints as ``<RFC3339Nano> <stream> <tag> <text>``:
stream ``stdout`` or ``stderr``, tag ``F`` for a full line or ``P`` for a partial one (a line
longer than the runtime's buffer, 16 KiB in containerd, is cut into ``P`` pieces and ended
by an ``F``). :class:`CriDecoder` turns such lines back into output: pieces joined per
stream, each line stamped with its CRI time, stderr lines in dim red (SGR, which the log
pane obeys, so the text stays the text a copy or a search finds). A line that is not in the
format is shown as it is, never dropped.

The kubelet rotates a log by renaming ``0.log`` to ``0.log.<YYYYmmdd-HHMMSS>`` and asking the
runtime to reopen it, which makes a new ``0.log``; later it gzips the old ones.
:class:`LogTail` keeps reading the renamed file, and once a new one exists reads it from its
start too, the old one's rest first, until the new one has data (the runtime is done with
the old one then). Nothing here imports Textual.
"""

from __future__ import annotations

import os
import re
import stat
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from runtime.stdio import BACKLOG_BYTES, READ_SIZE

STDOUT, STDERR = "stdout", "stderr"
#: How stderr lines look in the pane: dim red, then back to normal.
STDERR_ON, STDERR_OFF = b"\x1b[2;31m", b"\x1b[0m"
#: ``0.log.20251202-001709``: a rotated, not yet compressed, log.
_ROTATED = re.compile(r"\.\d{8}-\d{6}")

Stamped = tuple[float, bytes]
#: The most of an unended line (``P`` pieces) held back per stream waiting for its end.
MAX_PENDING = 64 * 1024
#: A CRI log line longer than this (containerd's are at most 16 KiB of text) is no CRI line.
MAX_LINE = 2 * MAX_PENDING


@dataclass(frozen=True)
class CriLine:
    """One line of a CRI log; ``stream`` "" for a line not in the format (``text``: all of it)."""

    time: float | None
    stream: str
    partial: bool
    text: bytes

    @property
    def bad(self) -> bool:
        return not self.stream


def parse_time(value: bytes) -> float | None:
    """An RFC 3339 time (Go's RFC3339Nano: up to nine fraction digits) as seconds since the
    epoch; None when it is not one or has no zone."""
    try:
        parsed = datetime.fromisoformat(value.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    if parsed.tzinfo is None or b"T" not in value:
        return None
    return parsed.timestamp()


def parse_line(raw: bytes) -> CriLine:
    """Parse one line (without its newline), as the kubelet's ``parseCRILog`` reads it."""
    parts = raw.split(b" ", 3)
    if len(parts) >= 3:
        stamp = parse_time(parts[0])
        stream = parts[1].decode("ascii", "replace")
        # The tag field may carry several tags joined by ':'; only P/F is defined.
        tags = parts[2].split(b":")
        if stamp is not None and stream in (STDOUT, STDERR) and tags[0] in (b"P", b"F"):
            text = parts[3] if len(parts) == 4 else b""
            return CriLine(stamp, stream, tags[0] == b"P", text)
    return CriLine(None, "", False, raw)


class CriDecoder:
    """CRI log bytes in, stamped output out; keeps what a later read completes."""

    def __init__(self) -> None:
        self._rest = b""
        self._pieces: dict[str, list[bytes]] = {STDOUT: [], STDERR: []}
        self._last_time: float | None = None

    def feed(self, data: bytes) -> list[Stamped]:
        """Decode ``data``; a line without its newline yet waits for the next call."""
        *lines, self._rest = (self._rest + data).split(b"\n")
        out: list[Stamped] = []
        for raw in lines:
            out += self._line(parse_line(raw))
        if len(self._rest) > MAX_LINE:
            # No CRI writer makes such a line: a file that is not a CRI log, shown as is.
            raw, self._rest = self._rest, b""
            out += self._line(CriLine(None, "", False, raw))
        return out

    def flush(self) -> list[Stamped]:
        """The output ended: hand on what is still open (an unended line, pending pieces)."""
        out: list[Stamped] = []
        if self._rest:
            raw, self._rest = self._rest, b""
            out += self._line(parse_line(raw))
        for stream, pieces in self._pieces.items():
            if pieces:
                self._pieces[stream] = []
                out.append((self._stamp(None), self._show(stream, b"".join(pieces))))
        return out

    def _line(self, line: CriLine) -> list[Stamped]:
        stamp = self._stamp(line.time)
        if line.bad:
            # Shown as written, stamped as the line before it: order is kept, nothing lost.
            return [(stamp, line.text + b"\n")] if line.text else []
        pieces = self._pieces[line.stream]
        pieces.append(line.text)
        if line.partial:
            if sum(map(len, pieces)) < MAX_PENDING:
                return []
            # A line without end (a process that never prints a newline) is not held
            # without bound: what there is goes out now, and the rest will follow it.
            self._pieces[line.stream] = []
            return [(stamp, self._show(line.stream, b"".join(pieces), end=b""))]
        self._pieces[line.stream] = []
        return [(stamp, self._show(line.stream, b"".join(pieces)))]

    def _stamp(self, value: float | None) -> float:
        if value is not None:
            self._last_time = value
        return self._last_time if self._last_time is not None else time.time()

    @staticmethod
    def _show(stream: str, text: bytes, end: bytes = b"\n") -> bytes:
        if stream == STDERR:
            return STDERR_ON + text + STDERR_OFF + end
        return text + end


def rotated(path: Path) -> list[Path]:
    """The uncompressed rotations of ``path`` (``<name>.<timestamp>``), oldest first."""
    prefix = path.name + "."
    try:
        names = [p.name for p in path.parent.iterdir()]
    except FileNotFoundError:
        return []
    found = [n for n in names if n.startswith(prefix) and _ROTATED.fullmatch(n[len(path.name) :])]
    return [path.parent / n for n in sorted(found)]


class LogTail:
    """Read a CRI log file from an offset on, across the kubelet's renames and reopens."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._fd = -1
        #: The renamed file after a rotation, until the runtime has switched to the new one.
        self._old_fd = -1
        self._inode = -1

    def backlog(self, limit: int = BACKLOG_BYTES) -> bytes:
        """Open the file and return its last ``limit`` bytes, with the rotated files before
        it where it is shorter, from a whole line on; :meth:`read` goes on from there."""
        if self._fd < 0 and not self._open():
            return b""
        size = os.fstat(self._fd).st_size
        start = max(0, size - limit)
        os.lseek(self._fd, start, os.SEEK_SET)
        chunks = [self._drain(self._fd)]
        self._offset = start + len(chunks[0])
        cut = start > 0
        budget = limit - len(chunks[0])
        for path in reversed(rotated(self.path)) if not cut else ():
            if budget <= 0:
                break
            try:
                with path.open("rb") as f:
                    old_size = f.seek(0, os.SEEK_END)
                    f.seek(max(0, old_size - budget))
                    data = f.read(budget)
            except FileNotFoundError:
                continue
            chunks.insert(0, data)
            budget -= len(data)
            if old_size > len(data):
                cut = True
                break
        if cut:
            # The tail starts inside a line: drop that partial first line.
            chunks[0] = chunks[0].partition(b"\n")[2]
        return b"".join(chunks)

    def read(self) -> bytes:
        """Whatever was written since the last read (b"" for nothing new)."""
        new = self._read_current()
        if self._old_fd < 0:
            return new
        # Read after the new file: the runtime's last write to the renamed file comes before
        # its first to the new one, so once the new one has data the old one is done.
        old = self._drain(self._old_fd)
        if new:
            os.close(self._old_fd)
            self._old_fd = -1
        return old + new

    def _read_current(self) -> bytes:
        if self._fd < 0 and not self._open():
            return b""
        data = os.read(self._fd, READ_SIZE * 4)
        if data:
            self._offset += len(data)
            return data
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return b""  # renamed, and not reopened yet: the old file may still grow
        if st.st_ino != self._inode:
            # Rotated and reopened: keep the renamed file open (the runtime may write to it
            # until it has switched) and go on with the new one from its start.
            done = b""
            if self._old_fd >= 0:  # rotated twice: the first renamed file is long done
                done = self._drain(self._old_fd)
                os.close(self._old_fd)
            self._old_fd = self._fd
            self._fd, self._offset = -1, 0
            return done + self._read_current()
        if st.st_size < self._offset:  # truncated in place (copytruncate)
            os.lseek(self._fd, 0, os.SEEK_SET)
            self._offset = 0
        return b""

    @staticmethod
    def _drain(fd: int) -> bytes:
        chunks = []
        while data := os.read(fd, READ_SIZE * 4):
            chunks.append(data)
        return b"".join(chunks)

    def _open(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # a directory named like the log: not (yet) a log
            os.close(fd)
            return False
        offset = self._offset if self._offset <= st.st_size else 0
        os.lseek(fd, offset, os.SEEK_SET)
        self._fd, self._inode, self._offset = fd, st.st_ino, offset
        return True

    def close(self) -> None:
        for fd in (self._fd, self._old_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._old_fd = -1
