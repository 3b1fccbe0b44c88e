"""Who a container is on a Kubernetes node, from what containerd's CRI plugin records.

containerd's CRI plugin (``internal/cri``) gives each container it makes the kubelet's labels
plus ``io.cri-containerd.kind`` (``sandbox`` for a pod's pause container, ``container`` for
the rest), and writes ``io.kubernetes.cri.*`` annotations into the OCI spec: the sandbox id
(a sandbox's own id on a sandbox), and on a sandbox only the pod's log directory. The log of
a container is ``<log directory>/<container name>/<restart count>.log``; the kubelet makes
the directory ``/var/log/pods/<namespace>_<pod>_<uid>``. The restart count itself is kept in
the CRI plugin's private metadata and the kubelet's annotations, neither of which reaches the
spec by default, so it is read from the spec when there and otherwise from the newest
``<n>.log`` in the container's log directory. Nothing here imports Textual.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Labels (containerd container labels).
KIND = "io.cri-containerd.kind"
KIND_SANDBOX, KIND_CONTAINER = "sandbox", "container"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_NAME = "io.kubernetes.pod.name"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"

#: OCI spec annotations.
SANDBOX_ID = "io.kubernetes.cri.sandbox-id"
SANDBOX_LOG_DIRECTORY = "io.kubernetes.cri.sandbox-log-directory"
SANDBOX_NAMESPACE = "io.kubernetes.cri.sandbox-namespace"
SANDBOX_NAME = "io.kubernetes.cri.sandbox-name"
SANDBOX_UID = "io.kubernetes.cri.sandbox-uid"
ANNOTATED_CONTAINER_NAME = "io.kubernetes.cri.container-name"
#: The kubelet's; in the spec only where the runtime passes container annotations through.
RESTART_COUNT = "io.kubernetes.container.restartCount"

#: Where the kubelet keeps pod logs (its ``podLogsRootDirectory``).
POD_LOGS_ROOT = Path("/var/log/pods")

_ATTEMPT_LOG = re.compile(r"(\d+)\.log")


@dataclass(frozen=True)
class CriIdentity:
    """A container of a pod: its pod, its name in the pod, and whether it is the sandbox."""

    pod_namespace: str
    pod_name: str
    pod_uid: str
    #: The container's name in the pod spec; "" for a sandbox.
    container_name: str
    is_sandbox: bool
    #: The pod sandbox's containerd id ("" when the spec does not say).
    sandbox_id: str = ""
    #: How many times the kubelet restarted this container (None: not recorded).
    restart_count: int | None = None
    #: A sandbox's log directory, as the kubelet asked for it (None: not recorded).
    log_directory: Path | None = None

    @property
    def pod(self) -> str:
        """``namespace/name``, as kubectl names a pod."""
        return f"{self.pod_namespace}/{self.pod_name}"

    @property
    def name(self) -> str:
        """What the UI calls the container: its name in the pod, or "(sandbox)"."""
        return "(sandbox)" if self.is_sandbox else self.container_name


def identify(
    labels: Mapping[str, str], annotations: Mapping[str, str] | None = None
) -> CriIdentity | None:
    """The identity of a container the CRI made; None for any other container."""
    kind = labels.get(KIND)
    if kind not in (KIND_SANDBOX, KIND_CONTAINER):
        return None
    notes = annotations or {}
    is_sandbox = kind == KIND_SANDBOX
    log_dir = notes.get(SANDBOX_LOG_DIRECTORY, "")
    return CriIdentity(
        pod_namespace=labels.get(POD_NAMESPACE) or notes.get(SANDBOX_NAMESPACE, ""),
        pod_name=labels.get(POD_NAME) or notes.get(SANDBOX_NAME, ""),
        pod_uid=labels.get(POD_UID) or notes.get(SANDBOX_UID, ""),
        container_name=""
        if is_sandbox
        else labels.get(CONTAINER_NAME) or notes.get(ANNOTATED_CONTAINER_NAME, ""),
        is_sandbox=is_sandbox,
        sandbox_id=notes.get(SANDBOX_ID, ""),
        restart_count=_count(notes.get(RESTART_COUNT)),
        log_directory=Path(log_dir) if log_dir else None,
    )


def identify_spec(labels: Mapping[str, str], spec: Mapping[str, Any]) -> CriIdentity | None:
    """:func:`identify` with the annotations of an OCI spec (as containerd stores it)."""
    annotations = spec.get("annotations") or {}
    return identify(labels, annotations if isinstance(annotations, dict) else {})


def _count(value: str | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return int(value)


def pod_log_dir(identity: CriIdentity, root: Path = POD_LOGS_ROOT) -> Path:
    """The pod's log directory: the sandbox's own record of it, else the kubelet's layout."""
    if identity.log_directory is not None:
        return identity.log_directory
    if not (identity.pod_namespace and identity.pod_name and identity.pod_uid):
        raise ValueError(f"pod {identity.pod!r} lacks a namespace, name or uid: no log path")
    return root / f"{identity.pod_namespace}_{identity.pod_name}_{identity.pod_uid}"


def container_log_dir(
    identity: CriIdentity, sandbox: CriIdentity | None = None, root: Path = POD_LOGS_ROOT
) -> Path:
    """The directory of a container's logs (one ``<restart count>.log`` per attempt).
    ``sandbox``: the pod's sandbox, whose spec records the pod's log directory."""
    if identity.is_sandbox:
        raise ValueError(f"the sandbox of pod {identity.pod} has no log of its own")
    if not identity.container_name:
        raise ValueError(f"a container of pod {identity.pod} has no name: no log path")
    pod_dir = pod_log_dir(sandbox if sandbox is not None else identity, root)
    return pod_dir / identity.container_name


def attempts(log_dir: Path) -> list[int]:
    """The restart counts with a log in ``log_dir``, lowest first."""
    try:
        names: Iterable[str] = [p.name for p in log_dir.iterdir()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(int(m.group(1)) for n in names if (m := _ATTEMPT_LOG.fullmatch(n)))


def log_path(
    identity: CriIdentity, sandbox: CriIdentity | None = None, root: Path = POD_LOGS_ROOT
) -> Path:
    """The log file of this attempt of the container: its restart count's when recorded,
    else the newest attempt's in its directory (``0.log`` before any exists)."""
    directory = container_log_dir(identity, sandbox, root)
    count = identity.restart_count
    if count is None:
        found = attempts(directory)
        count = found[-1] if found else 0
    return directory / f"{count}.log"
