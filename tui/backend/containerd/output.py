"""Where a process shimdeck did not start sends its output, and how shimdeck can read it.

``Tasks.Get`` reports the stdio the process was created with: a log file (``file://``, or
shimdeck's logger), FIFOs
(ctr's, nerdctl's -t, an earlier shimdeck's), a ``binary://`` logging driver (nerdctl and
docker without a tty), or nothing. FIFOs are reopened only where they exist on this host;
otherwise a registered :data:`LogLocator` (the CRI console, from the labels the CRI sets)
may name a log file, and failing that the note says where the output goes instead.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

from .cio import logged_to
from .records import ContainerRecord, ProcessRecord

#: A log file a process's output also goes to, known from its container (None: not known).
LogLocator = Callable[[ContainerRecord, str], Path | None]

_locators: list[LogLocator] = []


def register_log_locator(locator: LogLocator) -> Callable[[], None]:
    """Consult ``locator`` for processes whose stdio shimdeck cannot open; returns its
    removal (a test's, or a console module unloading)."""
    _locators.append(locator)
    return lambda: _locators.remove(locator)


@dataclass(frozen=True)
class OutputSource:
    kind: Literal["fifos", "log", "none"]
    #: The log file to tail (kind "log").
    path: Path | None = None
    #: For the user: why this source, or where the output goes instead (kind "none").
    note: str = ""


def _is_fifo(path: str) -> bool:
    try:
        return stat.S_ISFIFO(Path(path).stat().st_mode)
    except OSError:
        return False


def where_output_goes(process: ProcessRecord, container: ContainerRecord | None) -> OutputSource:
    """How to read ``process``'s output from here."""
    name = f"exec {process.exec_id}" if process.exec_id else process.container_id
    stdout = process.stdout
    if (log := logged_to(stdout)) is not None:
        return OutputSource("log", log)
    fifos = [p for p in (process.stdin, stdout, process.stderr) if p and "://" not in p]
    if stdout and "://" not in stdout and all(_is_fifo(p) for p in fifos):
        return OutputSource("fifos")
    if container is not None:
        for locate in _locators:
            path = locate(container, process.exec_id)
            if path is not None:
                return OutputSource("log", path, f"{name}'s output is logged to {path}")
    if not stdout:
        return OutputSource("none", note=f"{name} was started without any output to read")
    if stdout.startswith("binary://"):
        driver = unquote(urlparse(stdout).path)
        return OutputSource(
            "none", note=f"{name}'s output goes to the logging program {driver} (binary://)"
        )
    missing = next((p for p in fifos if not _is_fifo(p)), stdout)
    return OutputSource(
        "none",
        note=f"{name}'s output goes to {stdout}, but {missing} is not a FIFO on this host "
        "(made in another mount namespace, or removed)",
    )
