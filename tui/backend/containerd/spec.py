"""Runtime specs for containers and execs shimdeck creates on containerd."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runtime.bundle import default_spec


def container_spec(
    namespace: str,
    id: str,
    args: Sequence[str],
    *,
    terminal: bool = False,
    size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The engine's ``runc spec``-like spec, in a cgroup named after namespace and id as
    ``ctr`` does; ``size`` (columns, lines) is the pty's first size."""
    spec = default_spec(args, terminal=terminal, readonly=False)
    spec["linux"]["cgroupsPath"] = f"/{namespace}/{id}"
    if terminal and size is not None:
        spec["process"]["consoleSize"] = {"width": size[0], "height": size[1]}
    return spec


def exec_process(
    base: dict[str, Any],
    args: Sequence[str],
    *,
    terminal: bool = False,
    size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """An exec's Process: the container's own (env, user, caps) with other args."""
    process = dict(base.get("process", {}))
    process["args"] = list(args)
    process["terminal"] = terminal
    process.pop("consoleSize", None)
    if terminal and size is not None:
        process["consoleSize"] = {"width": size[0], "height": size[1]}
    return process
