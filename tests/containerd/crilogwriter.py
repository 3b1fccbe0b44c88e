"""A stand-in for the CRI runtime's log writer and the kubelet's log rotation.

``python -m tests.containerd.crilogwriter LOG`` reads JSON commands from stdin, one a line,
and answers each on stdout once it is done (so a test waits on the answer, not on time):

- ``{"op": "line", "stream": "stdout", "tag": "F", "text": "..."}``: append a CRI line stamped
  now (nine fraction digits, as Go's RFC3339Nano writes); answers the timestamp;
- ``{"op": "raw", "text": "..."}``: append the text and a newline as they are;
- ``{"op": "rename"}``: the kubelet renames the log to ``LOG.<YYYYmmdd-HHMMSS>``; writes
  go on into the renamed file until
- ``{"op": "reopen"}``: the runtime opens a new ``LOG`` and writes there from now on.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path


def main(path: Path) -> None:
    out = path.open("ab", buffering=0)
    for command in sys.stdin:
        op = json.loads(command)
        answer = "ok"
        if op["op"] == "line":
            now = datetime.now(UTC)
            answer = now.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
            out.write(f"{answer} {op['stream']} {op['tag']} {op['text']}\n".encode())
        elif op["op"] == "raw":
            out.write(op["text"].encode() + b"\n")
        elif op["op"] == "rename":
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            os.rename(path, f"{path}.{stamp}")
        elif op["op"] == "reopen":
            out.close()
            out = path.open("ab", buffering=0)
        print(answer, flush=True)
    out.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
