"""What to ask before acting on a container the CRI made, behind the kubelet's back.

Kill, pause and delete of a pod's container are undone (or made worse) by the kubelet, so
the UI asks first, naming the pod and what the kubelet will do. The questions read only
the labels the CRI sets (:mod:`.cri`): any other container gets None, and no question.
Nothing here imports Textual (the backend's ``confirm_text`` asks these).
"""

from __future__ import annotations

import signal
from collections.abc import Mapping

from . import cri

#: Signals whose default action ends a process: "stop" rather than "send".
_STOPPING = {
    signal.SIGTERM,
    signal.SIGKILL,
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGHUP,
    signal.SIGABRT,
}


def _subject(who: cri.CriIdentity) -> str:
    if who.is_sandbox:
        return f"the sandbox of pod {who.pod}"
    return f"{who.container_name} of pod {who.pod}"


def kill_question(
    labels: Mapping[str, str], sig: int | None = None, *, all: bool = False, exec_id: str = ""
) -> str | None:
    """What to ask before ``k`` on a CRI container (None: not one, or an exec of it).
    ``sig`` None: asked before the signal is chosen."""
    who = cri.identify(labels)
    if who is None or exec_id:
        return None
    if sig is None:
        name = "a signal"
    else:
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


def question(labels: Mapping[str, str], action: str) -> str | None:
    """The question for the UI's ``action`` ("kill", "pause", "delete"), or None."""
    if action == "kill":
        return kill_question(labels)
    if action == "pause":
        return pause_question(labels)
    if action == "delete":
        return delete_question(labels)
    return None
