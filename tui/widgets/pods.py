"""Kubernetes nodes in the UI: pod columns, hidden sandboxes, questions before acting.

On a node (containerd's ``k8s.io`` namespace) the CRI made the containers and the kubelet
keeps them as their pods say: a row names its pod and its container name in the pod, a
pod's sandbox (pause) container is hidden unless asked for, and kill, pause and delete,
done behind the kubelet's back, ask first, naming the pod and what the kubelet will do.
Everything here reads the labels the CRI sets (:mod:`tui.backend.containerd.cri`); rows
without them are left exactly as they are. The questions themselves live with the backend
(:mod:`tui.backend.containerd.criquestions`, which must not import Textual) and are named
here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from rich.text import Text

from ..backend.containerd import cri
from ..backend.containerd.criquestions import delete_question, kill_question, pause_question
from ..model import Row
from .tables import SortKey, plain

__all__ = [
    "KINDS",
    "PodColumns",
    "delete_question",
    "hide_sandboxes",
    "identity",
    "kill_question",
    "pause_question",
    "pod_kind",
]

KINDS = (cri.KIND_SANDBOX, cri.KIND_CONTAINER)


def identity(row: Row) -> cri.CriIdentity | None:
    return cri.identify(row.container.labels)


def pod_kind(row: Row) -> str | None:
    """What decides whether a row has pod columns and is a sandbox (cheaper than
    :func:`identity`)."""
    return row.container.labels.get(cri.KIND)


class PodColumns:
    """The containers table's hook (:class:`tui.widgets.tables.ColumnHook`): POD and NAME
    after the id, shown only while some row is a CRI container."""

    columns: Sequence[tuple[str, str]] = (("pod", "POD"), ("name", "NAME"))
    sort_keys: Mapping[str, SortKey] = {
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
