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


async def answer(handler: object, line: bytes) -> bytes:
    """The server side: what ``handler.op_<op>(**args)`` returned (awaited if a coroutine),
    or an ``error`` reply if it raised, as a reply line."""
    req = json.loads(line)
    try:
        out = getattr(handler, f"op_{req.pop('op')}")(**req)
        out = await out if inspect.isawaitable(out) else out
    except Exception as e:  # reported to the benchmark, which raises it there
        out = {"error": f"{type(e).__name__}: {e}"}
    return (json.dumps(out) + "\n").encode()
