"""gRPC status codes from containerd, as the engine's ``runtime.errors``.

containerd's errdefs travel as gRPC codes with its message as the details; the UI shows
``runtime.errors`` exactly as it shows the in-process engine's, so map them here.
"""

from __future__ import annotations

import grpc

from runtime import errors

_BY_CODE: dict[grpc.StatusCode, type[errors.Error]] = {
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.UNAVAILABLE: errors.Unavailable,
}

#: Refusals containerd 1.6 sends as UNKNOWN (the shim's errors lose their errdefs code on
#: the way through ttrpc), recognised by their text.
_UNKNOWN_BY_TEXT: tuple[tuple[str, type[errors.Error]], ...] = (
    ("cannot delete a running process", errors.FailedPrecondition),
    ("is not running", errors.FailedPrecondition),
    ("process already finished", errors.NotFound),
)


def from_rpc_error(error: grpc.aio.AioRpcError, call: str) -> errors.Error:
    """The engine error for a failed call; its message is containerd's own."""
    code = error.code()
    details = error.details() or code.name.lower().replace("_", " ")
    kind = _BY_CODE.get(code)
    if code == grpc.StatusCode.UNKNOWN:
        kind = next((k for text, k in _UNKNOWN_BY_TEXT if text in details), None)
    if kind is None:
        return errors.RuntimeFailure(f"containerd {call}: {details}", stderr=details)
    return kind(details)
