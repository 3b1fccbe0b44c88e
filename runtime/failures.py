"""Runtime failures told as a user can act on them."""

from __future__ import annotations

import os

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
