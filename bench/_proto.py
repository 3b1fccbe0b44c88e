"""The one control protocol of the bench's helper processes (the bare worker, the UI
child): a request is a JSON line naming ``op`` and its arguments, answered by one JSON
line, ``{"error": ...}`` when the handler raised."""

from __future__ import annotations

import inspect
import json
from typing import Any


class BenchError(RuntimeError):
    """A benchmark could not measure what it meant to (a failed command, a wrong result)."""


def request(op: str, **kw: Any) -> bytes:
    return (json.dumps({"op": op, **kw}) + "\n").encode()


def reply(line: bytes, what: str) -> dict[str, Any]:
    if not line:
        raise BenchError(f"{what}: the process died")
    answer: dict[str, Any] = json.loads(line)
    if "error" in answer:
        raise BenchError(f"{what}: {answer['error']}")
    return answer


def _split(line: bytes) -> tuple[str, dict[str, Any]]:
    req = json.loads(line)
    return req.pop("op"), req


def _encode(out: Any) -> bytes:
    return (json.dumps(out) + "\n").encode()


def answer(handler: object, line: bytes) -> tuple[str, bytes]:
    """The server side: ``handler.op_<op>(**args)``, its reply as a line."""
    op, kw = _split(line)
    try:
        out = getattr(handler, f"op_{op}")(**kw)
    except Exception as e:  # reported to the benchmark, which raises it there
        out = {"error": f"{type(e).__name__}: {e}"}
    return op, _encode(out)


async def answer_async(handler: object, line: bytes) -> tuple[str, bytes]:
    """:func:`answer` where handlers may be coroutines."""
    op, kw = _split(line)
    try:
        out = getattr(handler, f"op_{op}")(**kw)
        if inspect.isawaitable(out):
            out = await out
    except Exception as e:
        out = {"error": f"{type(e).__name__}: {e}"}
    return op, _encode(out)
