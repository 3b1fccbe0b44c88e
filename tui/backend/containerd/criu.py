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
    action: Literal["checkpoint", "restore"], what: str, e: errors.Error
) -> errors.RuntimeFailure:
    """The one-line error for a failed ``action`` of ``what`` ("task 'web'")."""
    said = str(e)
    match = _LOG_PATH.search(said)
    log = Path(match.group(1)) if match else None
    line = failed_line(log, _MARKERS[action]) if log is not None else None
    if line is not None:
        reason = f"{line} (criu log: {log})"
    else:
        reason = said.splitlines()[0] if said else type(e).__name__
    return errors.RuntimeFailure(f"{action} of {what} failed: {reason}", stderr=said)
