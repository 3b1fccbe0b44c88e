"""Errors the engine raises, shaped like containerd's errdefs.

Every message names the object and the reason, so a caller can show it as is.
"""

from __future__ import annotations


class Error(Exception):
    """Base of every engine error."""


class NotFound(Error):
    """The container, task or exec does not exist (any more)."""


class AlreadyExists(Error):
    """An object with that id exists already."""


class InvalidArgument(Error):
    """The request itself is malformed: a bad id, path, signal or size."""


class FailedPrecondition(Error):
    """The operation is illegal in the object's current state."""


class Unavailable(Error):
    """The engine is closed or a required host facility is missing."""


class RuntimeFailure(Error):
    """The OCI runtime binary (or CRIU under it) failed.

    ``stderr`` holds what the runtime said; ``command`` the argv that failed.
    """

    def __init__(self, message: str, *, command: list[str] | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.command = command or []
        self.stderr = stderr
