"""What containerd does not report about a process, read from /proc (containerd runs on
this host: its pids are ours).

containerd's Task has no start time and ``Tasks.Get`` no command line; for a process
shimdeck did not see start (or an exec it did not send), /proc is the only source left.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import psutil


def started_at(pid: int) -> datetime | None:
    """When process ``pid`` began (None: no such process, or not ours to read)."""
    if pid <= 0:
        return None
    with contextlib.suppress(psutil.Error):
        return datetime.fromtimestamp(psutil.Process(pid).create_time(), UTC)
    return None


def command_line(pid: int) -> tuple[str, ...]:
    """Process ``pid``'s argv (empty: no such process, or not ours to read)."""
    if pid <= 0:
        return ()
    with contextlib.suppress(psutil.Error):
        return tuple(psutil.Process(pid).cmdline())
    return ()
