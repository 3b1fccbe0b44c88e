"""Runtime failures told as a user can act on them."""

from __future__ import annotations

import os
import re
from pathlib import Path

from . import errors


def read_available(fd: int) -> bytes:
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return b""


def with_output(e: errors.RuntimeFailure, output: bytes) -> errors.RuntimeFailure:
    """``e``, told with what the runtime wrote to its stdio before it could log (a panic...)."""
    said = output.decode(errors="replace").strip()
    if not said or said in e.stderr:
        return e
    last = said.splitlines()[-1].strip()
    stderr = "\n".join(part for part in (e.stderr, said) if part)
    return errors.RuntimeFailure(f"{e}: {last}", command=e.command, stderr=stderr)


def criu_failure(what: str, e: errors.RuntimeFailure, dump_log: Path) -> errors.RuntimeFailure:
    """The checkpoint error a user can act on: criu's own reason and where its log is."""
    reason = ""
    try:
        lines = dump_log.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    errors_seen = [line[line.find("Error ") :].strip() for line in lines if "Error (" in line]
    # criu first logs the exit of helpers it ran ("exited, status=1"), which says nothing.
    telling = [line for line in errors_seen if not re.search(r"exited, status=\d+$", line)]
    if telling or errors_seen:
        reason = f"{(telling or errors_seen)[0]} (criu log: {dump_log})"
    elif "unknown command checkpoint" in e.stderr:
        reason = f"{e} (this runtime was built without CRIU support)"
    else:
        reason = str(e)
    return errors.RuntimeFailure(
        f"checkpoint of {what} failed: {reason}", command=e.command, stderr=e.stderr
    )
