"""A failed ``Tasks.Checkpoint`` in the engine's words: CRIU's reason and its log's path.

containerd's runc shim answers a failed dump with the runtime's error and, in it,
``path= <bundle>/criu-dump.log``, the log CRIU wrote (a copy the shim keeps; the work
directory goes). That log is on this host, so the reason is read from it as the engine
reads its own (:func:`runtime.checkpoint.failed_line`).
"""

from __future__ import annotations

import re
from pathlib import Path

from runtime import errors
from runtime.checkpoint import failed_line

_LOG_PATH = re.compile(r"path= ?(\S+?\.log)")


def checkpoint_failure(what: str, e: errors.Error) -> errors.RuntimeFailure:
    """The one-line error for a failed checkpoint of ``what`` ("task 'web'")."""
    said = str(e)
    match = _LOG_PATH.search(said)
    log = Path(match.group(1)) if match else None
    line = failed_line(log, "Dumping FAILED.") if log is not None else None
    if line is not None:
        reason = f"{line} (criu log: {log})"
    else:
        reason = said.splitlines()[0] if said else type(e).__name__
    return errors.RuntimeFailure(f"checkpoint of {what} failed: {reason}", stderr=said)
