"""A failed ``Tasks.Checkpoint`` or restoring ``Tasks.Start`` in the engine's words: CRIU's
reason and its log's path.

containerd's runc shim answers a failed dump or restore with the runtime's error and, in
it, ``path= <bundle>/criu-dump.log`` (or ``restore.log``), the log CRIU wrote. That log is
on this host, so the reason is read from it as the engine reads its own
(:func:`runtime.checkpoint.failed_line`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from runtime import errors
from runtime.checkpoint import failed_line

_LOG_PATH = re.compile(r"path= ?(\S+?\.log)")
_MARKERS = {"checkpoint": "Dumping FAILED.", "restore": "Restoring FAILED."}


def criu_failure(
    action: Literal["checkpoint", "restore"], what: str, e: errors.Error, work: Path | None = None
) -> errors.RuntimeFailure:
    """The one-line error for a failed ``action`` of ``what`` ("task 'web'"). ``work``:
    CRIU's work directory, where the shim's error names no log (a restore's)."""
    said = str(e)
    match = _LOG_PATH.search(said)
    log = Path(match.group(1)) if match else None
    if log is None and work is not None and (work / f"{action}.log").is_file():
        log = work / f"{action}.log"
    line = failed_line(log, _MARKERS[action]) if log is not None else None
    if line is not None:
        reason = f"{line} (criu log: {log})"
    else:
        reason = said.splitlines()[0] if said else type(e).__name__
    return errors.RuntimeFailure(f"{action} of {what} failed: {reason}", stderr=said)
