"""What the engine reads from an OCI spec and from callers, checked before any use."""

from __future__ import annotations

import json
import os
import signal as _signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import errors


def load_spec(bundle: Path) -> dict[str, Any]:
    path = f"{bundle}/config.json"
    try:
        # Raw reads: a text-mode open() adds an fstat, an isatty ioctl and a seek per task.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            chunks = [os.read(fd, 1 << 16)]
            while len(chunks[-1]) == 1 << 16:  # a short read of a regular file is its end
                chunks.append(os.read(fd, 1 << 16))
        finally:
            os.close(fd)
        spec = json.loads(b"".join(chunks))
    except FileNotFoundError:
        raise errors.InvalidArgument(f"bundle {bundle} has no config.json") from None
    except (OSError, ValueError) as e:
        raise errors.InvalidArgument(f"cannot read {path}: {e}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("process"), dict):
        raise errors.InvalidArgument(f"{path} has no process section")
    check_process(spec["process"], path)
    return spec


def check_process(process: dict[str, Any], path: str | Path) -> None:
    """Refuse what the engine itself reads from a spec when it is malformed, naming the field.

    The rest is the runtime's to judge; its error is passed on as it is.
    """

    def strings(value: object) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    args = process.get("args")
    if not strings(args) or not args:
        raise errors.InvalidArgument(f"{path}: process.args must be a non-empty list of strings")
    if not isinstance(process.get("terminal", False), bool):
        raise errors.InvalidArgument(f"{path}: process.terminal must be true or false")
    if "env" in process and not strings(process["env"]):
        raise errors.InvalidArgument(f"{path}: process.env must be a list of strings")
    cwd = process.get("cwd", "/")
    if not isinstance(cwd, str) or not cwd.startswith("/"):
        raise errors.InvalidArgument(f"{path}: process.cwd must be an absolute path")


def signal_number(sig: object) -> int:
    if isinstance(sig, str):
        name = sig.upper() if sig.upper().startswith("SIG") else "SIG" + sig.upper()
        try:
            return int(_signal.Signals[name])
        except KeyError:
            raise errors.InvalidArgument(f"unknown signal {sig!r}") from None
    if isinstance(sig, int) and not isinstance(sig, bool) and 1 <= int(sig) <= _signal.SIGRTMAX:
        return int(sig)
    raise errors.InvalidArgument(f"invalid signal {sig!r}")


def merge_env(base: Sequence[str], extra: dict[str, str] | Sequence[str]) -> list[str]:
    """The spec's environment with ``extra`` added or overriding, as ``docker exec -e`` does."""

    def split(entry: str) -> tuple[str, str]:
        name, _, value = entry.partition("=")
        return name, value

    merged = dict(split(e) for e in base)
    pairs = extra.items() if isinstance(extra, dict) else (split(e) for e in extra)
    for k, v in pairs:
        if not isinstance(k, str) or not isinstance(v, str) or not k or "\0" in k + v:
            raise errors.InvalidArgument(f"env entry {k!r}: names and values must be strings")
        merged[k] = v
    return [f"{k}={v}" for k, v in merged.items()]


def pty_size(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise errors.InvalidArgument(f"terminal {what} must be a whole number from 1 to 65535")
    return value


def kill_all_on_exit(spec: dict[str, Any]) -> bool:
    """Whether the task's other processes outlive its init unless killed: true unless the spec
    gives it a pid namespace of its own (containerd's ShouldKillAllOnExit)."""
    linux = spec.get("linux")
    namespaces = linux.get("namespaces") if isinstance(linux, dict) else None
    return not any(
        isinstance(ns, dict) and ns.get("type") == "pid" and not ns.get("path")
        for ns in namespaces or ()
    )
