"""Kubernetes nodes in the UI: pod columns, hidden sandboxes, questions before acting.

On a node (containerd's ``k8s.io`` namespace) the CRI made the containers and the kubelet
keeps them as their pods say: a row names its pod and its container name in the pod, a
pod's sandbox (pause) container is hidden unless asked for, and kill, pause and delete,
done behind the kubelet's back, ask first, naming the pod and what the kubelet will do.
Everything here reads the labels the CRI sets (:mod:`tui.backend.containerd.cri`); rows
without them are left exactly as they are.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

from rich.text import Text

from ..backend.containerd import cri
from ..model import Row
from .tables import SortKey, plain

#: Signals whose default action ends a process: "stop" rather than "send".
_STOPPING = {
    signal.SIGTERM,
    signal.SIGKILL,
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGHUP,
    signal.SIGABRT,
}


KINDS = (cri.KIND_SANDBOX, cri.KIND_CONTAINER)


def identity(row: Row) -> cri.CriIdentity | None:
    return cri.identify(row.container.labels)


class PodColumns:
    """The containers table's hook (:class:`tui.widgets.tables.ColumnHook`): POD and NAME
    after the id, shown only while some row is a CRI container."""

    columns: ClassVar[Sequence[tuple[str, str]]] = (("pod", "POD"), ("name", "NAME"))
    sort_keys: ClassVar[Mapping[str, SortKey]] = {
        "pod": lambda r, now: _pod_key(r),
        "name": lambda r, now: (*_pod_key(r), _name(r)),
    }

    def shown(self, rows: Sequence[Row]) -> bool:
        # Asked on every sync: one label lookup a row, not a whole identity.
        return any(row.container.labels.get(cri.KIND) in KINDS for row in rows)

    def cells(self, row: Row) -> tuple[Text, ...]:
        who = identity(row)
        if who is None:
            return (plain("-", "dim"), plain("-", "dim"))
        return (plain(who.pod), plain(who.name, "dim" if who.is_sandbox else ""))


def _pod_key(row: Row) -> tuple[str, str]:
    who = identity(row)
    return (who.pod_namespace, who.pod_name) if who else ("", "")


def _name(row: Row) -> str:
    who = identity(row)
    return who.name if who else ""


def hide_sandboxes(rows: Iterable[Row], show_sandboxes: bool = False) -> list[Row]:
    """The rows to list: without pod sandboxes unless ``show_sandboxes``."""
    if show_sandboxes:
        return list(rows)
    return [row for row in rows if not ((who := identity(row)) and who.is_sandbox)]


def _subject(who: cri.CriIdentity) -> str:
    if who.is_sandbox:
        return f"the sandbox of pod {who.pod}"
    return f"{who.container_name} of pod {who.pod}"


def kill_question(
    labels: Mapping[str, str], sig: int, *, all: bool = False, exec_id: str = ""
) -> str | None:
    """What to ask before ``k`` on a CRI container (None: not one, or an exec of it)."""
    who = cri.identify(labels)
    if who is None or exec_id:
        return None
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    target = f"every process of {_subject(who)}" if all else _subject(who)
    if who.is_sandbox:
        return (
            f"send {name} to {target}? The pod's network goes with it: the kubelet "
            "will make a new sandbox and restart every container of the pod"
        )
    verb = f"stop {target} with {name}?" if sig in _STOPPING else f"send {name} to {target}?"
    return f"{verb} The kubelet will restart it (as the pod's restartPolicy says)"


def pause_question(labels: Mapping[str, str]) -> str | None:
    """What to ask before ``p`` pauses a CRI container (resuming asks nothing)."""
    who = cri.identify(labels)
    if who is None:
        return None
    return (
        f"pause {_subject(who)}? The kubelet is not told: its probes will fail "
        "and it may kill and restart the container"
    )


def delete_question(labels: Mapping[str, str], exec_id: str = "") -> str | None:
    """What to ask before ``d`` deletes a CRI container (None: not one, or an exec)."""
    who = cri.identify(labels)
    if who is None or exec_id:
        return None
    if who.is_sandbox:
        return (
            f"delete the sandbox of pod {who.pod} behind the kubelet's back? "
            "The kubelet will make a new sandbox and restart the pod's containers"
        )
    return (
        f"delete {_subject(who)} behind the kubelet's back? The kubelet will create it "
        "again (its log under /var/log/pods stays)"
    )
