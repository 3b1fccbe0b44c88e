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
    return encode({"op": op, **kw})


def reply(line: bytes, what: str) -> dict[str, Any]:
    if not line:
        raise BenchError(f"{what}: the process died")
    answer: dict[str, Any] = json.loads(line)
    if "error" in answer:
        raise BenchError(f"{what}: {answer['error']}")
    return answer


def answer(handler: object, line: bytes) -> tuple[str, Any]:
    """The server side: ``op`` and what ``handler.op_<op>(**args)`` returned (awaitable for
    :func:`answer_async`), or an ``error`` reply if it raised."""
    req = json.loads(line)
    op = req.pop("op")
    try:
        return op, getattr(handler, f"op_{op}")(**req)
    except Exception as e:  # reported to the benchmark, which raises it there
        return op, {"error": f"{type(e).__name__}: {e}"}


def encode(out: Any) -> bytes:
    return (json.dumps(out) + "\n").encode()


async def answer_async(handler: object, line: bytes) -> bytes:
    """:func:`answer` where handlers may be coroutines: the reply line."""
    _, out = answer(handler, line)
    try:
        return encode(await out if inspect.isawaitable(out) else out)
    except Exception as e:
        return encode({"error": f"{type(e).__name__}: {e}"})
