"""An asyncio client of containerd's v1 gRPC API, with typed wrappers and engine errors.

Every call carries the ``containerd-namespace`` header of the client's namespace; failures
raise ``runtime.errors`` (see :mod:`.status`). :meth:`Client.connect` checks the socket and
containerd's version first and turns every way of not reaching a containerd into one
:class:`runtime.errors.Unavailable` whose message is a single line for the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import os
import platform
import socket
import stat
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio

from runtime import Stats, errors

from . import own_schema, schema
from .events import Envelope, decode
from .records import (
    ContainerRecord,
    ExitStatus,
    ImageRecord,
    ImageSummary,
    Mount,
    Namespace,
    ProcessInfo,
    ProcessRecord,
    Version,
    limit,
    timestamp,
)
from .status import from_rpc_error

if TYPE_CHECKING:
    from .watch import Connection

DEFAULT_ADDRESS = "/run/containerd/containerd.sock"
DEFAULT_NAMESPACE = "default"
NAMESPACE_HEADER = "containerd-namespace"
SPEC_TYPE = "types.containerd.io/opencontainers/runtime-spec/1/Spec"
PROCESS_TYPE = "types.containerd.io/opencontainers/runtime-spec/1/Process"
RUNC_V2 = "io.containerd.runc.v2"
#: Published by :meth:`Subscription.synced` and never handed to the reader.
SYNC_TOPIC = "/shimdeck/sync"

_V = "containerd.services."
VERSION = _V + "version.v1.Version"
NAMESPACES = _V + "namespaces.v1.Namespaces"
CONTAINERS = _V + "containers.v1.Containers"
IMAGES = _V + "images.v1.Images"
SNAPSHOTS = _V + "snapshots.v1.Snapshots"
TASKS = _V + "tasks.v1.Tasks"
EVENTS = _V + "events.v1.Events"
LEASES = _V + "leases.v1.Leases"
CONTENT = _V + "content.v1.Content"
_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
LEASE_HEADER = "containerd-lease"
#: The channel's reconnection backoff after containerd went away, in milliseconds.
RECONNECT_FIRST_MS, RECONNECT_MAX_MS = 100, 2000
#: Seconds any call but Wait may take before it fails (DEADLINE_EXCEEDED).
CALL_TIMEOUT = 30.0
#: A lease outlives a crashed shimdeck by this long at most (containerd's GC honours it).
LEASE_EXPIRY = timedelta(minutes=10)


def socket_path(address: str) -> str:
    """A filesystem path from ``/path``, ``unix:///path`` or ``unix:/path``."""
    for prefix in ("unix://", "unix:"):
        if address.startswith(prefix):
            return address[len(prefix) :]
    return address


def default_address() -> str:
    return os.environ.get("CONTAINERD_ADDRESS") or DEFAULT_ADDRESS


def default_namespace() -> str:
    return os.environ.get("CONTAINERD_NAMESPACE") or DEFAULT_NAMESPACE


def _check_socket(path: str) -> None:
    """One clear line for a path that cannot be containerd's socket at all."""
    denied = errors.Unavailable(
        f"containerd: permission denied on {path} (run as root or with sudo)"
    )
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise errors.Unavailable(
            f"containerd: no socket at {path} (is containerd running? set -a/--address)"
        ) from None
    except PermissionError:
        raise denied from None
    if not stat.S_ISSOCK(mode):
        raise errors.Unavailable(f"containerd: {path} is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(2.0)
        probe.connect(path)
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM):
            raise denied from None
        if e.errno == errno.ECONNREFUSED:
            raise errors.Unavailable(
                f"containerd: nothing listens on {path} (is containerd running?)"
            ) from None
        raise errors.Unavailable(f"containerd: cannot connect to {path}: {e.strerror}") from None
    finally:
        probe.close()


def _major(version: str) -> int:
    digits = version.lstrip("v").split(".", 1)[0]
    return int(digits) if digits.isdigit() else 0


class Client:
    """One channel to containerd, scoped to a namespace (:meth:`in_namespace` shares it)."""

    def __init__(
        self, channel: grpc.aio.Channel, path: str, namespace: str, version: Version
    ) -> None:
        self._channel = channel
        self.path = path
        self.namespace = namespace
        self.version = version
        self._metadata: tuple[tuple[str, str], ...] = ((NAMESPACE_HEADER, namespace),)
        self._owner = True

    # -- connection -----------------------------------------------------------------------

    @classmethod
    async def connect(
        cls, address: str | None = None, namespace: str | None = None, *, timeout: float = 5.0
    ) -> Client:
        """A client of a containerd that answered ``Version`` and serves the v1 API."""
        path = socket_path(address or default_address())
        _check_socket(path)
        channel = grpc.aio.insecure_channel(
            f"unix:{os.path.abspath(path)}",
            # Do not wait out reconnection backoff on a peer that is not containerd; once
            # containerd restarts, find it again within RECONNECT_MAX_MS (gRPC's default
            # backoff grows to two minutes).
            options=[
                ("grpc.enable_retries", 0),
                ("grpc.initial_reconnect_backoff_ms", RECONNECT_FIRST_MS),
                ("grpc.min_reconnect_backoff_ms", RECONNECT_FIRST_MS),
                ("grpc.max_reconnect_backoff_ms", RECONNECT_MAX_MS),
            ],
        )
        try:
            version = await cls._check_version(channel, path, timeout)
        except BaseException:
            await channel.close()
            raise
        return cls(channel, path, namespace or default_namespace(), version)

    @staticmethod
    async def _check_version(channel: grpc.aio.Channel, path: str, timeout: float) -> Version:
        def call(service: str, name: str) -> Any:
            route, request, response, _ = schema.method(service, name)
            return channel.unary_unary(
                route,
                request_serializer=request.SerializeToString,
                response_deserializer=response.FromString,
            )(request(), timeout=timeout)

        try:
            reply = await call(VERSION, "Version")
        except grpc.aio.AioRpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                raise errors.Unavailable(
                    f"containerd: {path} is not containerd (it has no Version service)"
                ) from None
            reason = (e.details() or e.code().name).splitlines()[0]
            raise errors.Unavailable(
                f"containerd: {path} does not answer as containerd ({reason})"
            ) from None
        version = Version(reply.version, reply.revision)
        unsupported = errors.Unavailable(
            f"containerd {version.version or '(unknown version)'} at {path} "
            "does not serve the v1 API shimdeck needs"
        )
        if _major(version.version) < 1:
            raise unsupported
        try:
            await call(NAMESPACES, "List")
        except grpc.aio.AioRpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                raise unsupported from None
            raise from_rpc_error(e, "Namespaces.List") from None
        return version

    def in_namespace(self, namespace: str) -> Client:
        """The same connection, calls scoped to another namespace."""
        other = Client(self._channel, self.path, namespace, self.version)
        other._owner = False
        return other

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[Client]:
        """A client whose calls hold what they make (a snapshot before its container
        references it) from containerd's garbage collector, until the block ends."""
        id = f"shimdeck-{os.urandom(8).hex()}"
        expire = (datetime.now(UTC) + LEASE_EXPIRY).strftime("%Y-%m-%dT%H:%M:%SZ")
        await self._call(LEASES, "Create", id=id, labels={"containerd.io/gc.expire": expire})
        leased = self.in_namespace(self.namespace)
        leased._metadata = (*self._metadata, (LEASE_HEADER, id))
        try:
            yield leased
        finally:
            await self._call(LEASES, "Delete", id=id)

    async def close(self) -> None:
        if self._owner:
            await self._channel.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing -------------------------------------------------------------------------

    async def _call(
        self, service: str, name: str, /, *, deadline: float | None = CALL_TIMEOUT, **fields: Any
    ) -> Any:
        """One unary call; ``deadline`` (seconds) so that a stuck containerd is an error."""
        route, request, response, _ = schema.method(service, name)
        stub = self._channel.unary_unary(
            route,
            request_serializer=request.SerializeToString,
            response_deserializer=response.FromString,
        )
        try:
            return await stub(request(**fields), metadata=self._metadata, timeout=deadline)
        except grpc.aio.AioRpcError as e:
            raise from_rpc_error(e, _method_name(service, name)) from None

    def _server_stream(self, service: str, name: str, /, **fields: Any) -> Any:
        """A server-streaming call, started: iterate it (its errors are grpc's own)."""
        route, request, response, _ = schema.method(service, name)
        stub = self._channel.unary_stream(
            route,
            request_serializer=request.SerializeToString,
            response_deserializer=response.FromString,
        )
        return stub(request(**fields), metadata=self._metadata)

    async def _replies(self, service: str, name: str, /, **fields: Any) -> list[Any]:
        """Every reply of a short server-streaming call."""
        try:
            return [reply async for reply in self._server_stream(service, name, **fields)]
        except grpc.aio.AioRpcError as e:
            raise from_rpc_error(e, _method_name(service, name)) from None

    # -- namespaces -----------------------------------------------------------------------

    async def namespaces(self) -> list[Namespace]:
        """Every namespace with how many containers it holds.

        containerd counts nothing itself: one ``Containers.List`` per namespace, at once."""
        reply = await self._call(NAMESPACES, "List")

        async def count(name: str) -> int:
            return len((await self.in_namespace(name)._call(CONTAINERS, "List")).containers)

        names = [ns.name for ns in reply.namespaces]
        counts = await asyncio.gather(*(count(n) for n in names))
        result = [
            Namespace(ns.name, dict(ns.labels), n)
            for ns, n in zip(reply.namespaces, counts, strict=True)
        ]
        return sorted(result, key=lambda n: n.name)

    async def namespace_counts(self) -> list[tuple[str, int]]:
        """(name, containers) of every namespace: what the namespace picker shows."""
        return [(n.name, n.containers) for n in await self.namespaces()]

    async def has_namespace(self, name: str) -> bool:
        # Not Namespaces.Get: containerd 1.6 answers it for any name, with no labels.
        reply = await self._call(NAMESPACES, "List")
        return any(ns.name == name for ns in reply.namespaces)

    async def create_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        await self._call(NAMESPACES, "Create", namespace={"name": name, "labels": labels or {}})

    async def delete_namespace(self, name: str) -> None:
        await self._call(NAMESPACES, "Delete", name=name)

    # -- containers -----------------------------------------------------------------------

    async def containers(self, *filters: str) -> list[ContainerRecord]:
        reply = await self._call(CONTAINERS, "List", filters=list(filters))
        return [ContainerRecord.from_proto(c) for c in reply.containers]

    async def container(self, id: str) -> ContainerRecord:
        return ContainerRecord.from_proto((await self._call(CONTAINERS, "Get", id=id)).container)

    async def create_container(
        self,
        id: str,
        *,
        image: str,
        spec: Mapping[str, Any],
        snapshot_key: str,
        snapshotter: str,
        labels: Mapping[str, str] | None = None,
        runtime: str = RUNC_V2,
    ) -> ContainerRecord:
        container = schema.message(CONTAINERS.rsplit(".", 1)[0] + ".Container")(
            id=id,
            image=image,
            labels=dict(labels or {}),
            runtime={"name": runtime},
            spec=schema.pack_bytes(SPEC_TYPE, json.dumps(spec).encode()),
            snapshotter=snapshotter,
            snapshot_key=snapshot_key,
        )
        reply = await self._call(CONTAINERS, "Create", container=container)
        return ContainerRecord.from_proto(reply.container)

    async def update_labels(
        self, id: str, labels: Mapping[str, str], *, replace: bool = True
    ) -> ContainerRecord:
        """Set labels (``replace``: exactly these; else merge, an empty value removes one)."""
        paths = ["labels"] if replace else [f"labels.{key}" for key in labels]
        reply = await self._call(
            CONTAINERS,
            "Update",
            container={"id": id, "labels": {k: v for k, v in labels.items() if v or replace}},
            update_mask={"paths": paths},
        )
        return ContainerRecord.from_proto(reply.container)

    async def delete_container(self, id: str) -> None:
        await self._call(CONTAINERS, "Delete", id=id)

    # -- images and snapshots -------------------------------------------------------------

    async def images(self, *filters: str) -> list[ImageRecord]:
        reply = await self._call(IMAGES, "List", filters=list(filters))
        return [
            ImageRecord(
                name=i.name,
                labels=dict(i.labels),
                target_media_type=i.target.media_type,
                target_digest=i.target.digest,
                target_size=i.target.size,
                created_at=timestamp(i.created_at),
            )
            for i in reply.images
        ]

    async def _manifest(self, name: str, target: Any) -> dict[str, Any]:
        """The image manifest for this machine's platform (through an index if need be)."""
        manifest: dict[str, Any] = json.loads(await self.read_content(target.digest))
        if target.media_type in _INDEX_TYPES or "manifests" in manifest:
            arch = _ARCH.get(platform.machine(), platform.machine())
            chosen = next(
                (
                    m
                    for m in manifest["manifests"]
                    if m.get("platform", {}).get("os", "linux") == "linux"
                    and m.get("platform", {}).get("architecture", arch) == arch
                ),
                None,
            )
            if chosen is None:
                raise errors.NotFound(f"image {name} has no linux/{arch} manifest")
            manifest = json.loads(await self.read_content(chosen["digest"]))
        return manifest

    async def image_summaries(self) -> list[ImageSummary]:
        """Images for the ``n`` dialog: name, size (config and layers, as stored: what
        ``ctr images ls`` shows for this platform) and when each was created, by name."""
        reply = await self._call(IMAGES, "List")

        async def summary(image: Any) -> ImageSummary:
            try:
                manifest = await self._manifest(image.name, image.target)
                parts = [manifest["config"], *manifest.get("layers", [])]
                size: int | None = sum(int(p.get("size", 0)) for p in parts)
            except (errors.NotFound, KeyError, ValueError):
                size = None  # content not (all) here: a lazily pulled or foreign image
            return ImageSummary(image.name, size, timestamp(image.created_at))

        found = await asyncio.gather(*(summary(i) for i in reply.images))
        return sorted(found, key=lambda i: i.name)

    async def read_content(self, digest: str) -> bytes:
        """A blob of the content store (manifests and configs: small)."""
        return b"".join(r.data for r in await self._replies(CONTENT, "Read", digest=digest))

    async def image_config(self, name: str) -> tuple[str, dict[str, Any]]:
        """The chain id of an image's top layer (the parent snapshot for a container made
        from it) and its OCI config, for this machine's platform."""
        reply = await self._call(IMAGES, "Get", name=name)
        manifest = await self._manifest(name, reply.image.target)
        config = json.loads(await self.read_content(manifest["config"]["digest"]))
        chain = ""
        for diff_id in config.get("rootfs", {}).get("diff_ids", []):
            chain = diff_id if not chain else _sha256(f"{chain} {diff_id}")
        return chain, config

    async def prepare_snapshot(
        self, key: str, parent: str, *, snapshotter: str, labels: Mapping[str, str] | None = None
    ) -> list[Mount]:
        reply = await self._call(
            SNAPSHOTS,
            "Prepare",
            snapshotter=snapshotter,
            key=key,
            parent=parent,
            labels=dict(labels or {}),
        )
        return _mounts(reply.mounts)

    async def snapshot_mounts(self, key: str, *, snapshotter: str) -> list[Mount]:
        return _mounts(
            (await self._call(SNAPSHOTS, "Mounts", snapshotter=snapshotter, key=key)).mounts
        )

    async def snapshots(self, *, snapshotter: str) -> list[str]:
        """Keys of the snapshotter's snapshots in this namespace."""
        replies = await self._replies(SNAPSHOTS, "List", snapshotter=snapshotter)
        return [info.name for reply in replies for info in reply.info]

    async def remove_snapshot(self, key: str, *, snapshotter: str) -> None:
        await self._call(SNAPSHOTS, "Remove", snapshotter=snapshotter, key=key)

    # -- tasks ----------------------------------------------------------------------------

    async def create_task(
        self,
        container_id: str,
        *,
        rootfs: Sequence[Mount],
        stdin: str = "",
        stdout: str = "",
        stderr: str = "",
        terminal: bool = False,
        criu: str = "",
        restore_from: str = "",
        criu_work: str = "",
    ) -> int:
        """Create the task (its init process, not yet started); returns its pid.

        ``criu``: the CRIU the runc shim hands runc for this task's checkpoints (containerd
        1.x; its own PATH's otherwise). ``restore_from``: a checkpoint directory (made with
        ``image_path``): the task's start restores it instead of running the spec's process;
        ``criu_work``: where CRIU's restore log goes (else the bundle's, gone with a failure).
        """
        options = None
        if criu or restore_from or criu_work:
            runc = schema.message(own_schema.RUNC_OPTIONS)(
                criu_path=criu, criu_image_path=restore_from, criu_work_path=criu_work
            )
            options = schema.pack(runc)
        reply = await self._call(
            TASKS,
            "Create",
            container_id=container_id,
            rootfs=[
                {"type": m.type, "source": m.source, "target": m.target, "options": m.options}
                for m in rootfs
            ],
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            terminal=terminal,
            options=options,
        )
        return int(reply.pid)

    async def start(self, container_id: str, exec_id: str = "") -> int:
        reply = await self._call(TASKS, "Start", container_id=container_id, exec_id=exec_id)
        return int(reply.pid)

    async def kill(
        self, container_id: str, signal: int, *, all: bool = False, exec_id: str = ""
    ) -> None:
        await self._call(
            TASKS, "Kill", container_id=container_id, exec_id=exec_id, signal=signal, all=all
        )

    async def pause(self, container_id: str) -> None:
        await self._call(TASKS, "Pause", container_id=container_id)

    async def resume(self, container_id: str) -> None:
        await self._call(TASKS, "Resume", container_id=container_id)

    async def delete_task(self, container_id: str) -> ExitStatus:
        reply = await self._call(TASKS, "Delete", container_id=container_id)
        return ExitStatus(reply.exit_status, timestamp(reply.exited_at))

    async def delete_exec(self, container_id: str, exec_id: str) -> ExitStatus:
        reply = await self._call(TASKS, "DeleteProcess", container_id=container_id, exec_id=exec_id)
        return ExitStatus(reply.exit_status, timestamp(reply.exited_at))

    async def exec(
        self,
        container_id: str,
        exec_id: str,
        process: Mapping[str, Any],
        *,
        stdin: str = "",
        stdout: str = "",
        stderr: str = "",
    ) -> None:
        """Add an exec (``process`` is a runtime-spec Process); start it with :meth:`start`."""
        await self._call(
            TASKS,
            "Exec",
            container_id=container_id,
            exec_id=exec_id,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            terminal=bool(process.get("terminal", False)),
            spec=schema.pack_bytes(PROCESS_TYPE, json.dumps(process).encode()),
        )

    async def resize_pty(
        self, container_id: str, width: int, height: int, exec_id: str = ""
    ) -> None:
        await self._call(
            TASKS,
            "ResizePty",
            container_id=container_id,
            exec_id=exec_id,
            width=width,
            height=height,
        )

    async def close_io(self, container_id: str, exec_id: str = "") -> None:
        """Close the process's stdin (after the client closed its own end of the FIFO)."""
        await self._call(TASKS, "CloseIO", container_id=container_id, exec_id=exec_id, stdin=True)

    async def tasks(self, *filters: str) -> list[ProcessRecord]:
        reply = await self._call(TASKS, "List", filter=",".join(filters))
        return [ProcessRecord.from_proto(t) for t in reply.tasks]

    async def task(self, container_id: str, exec_id: str = "") -> ProcessRecord:
        reply = await self._call(TASKS, "Get", container_id=container_id, exec_id=exec_id)
        return ProcessRecord.from_proto(reply.process, container_id)

    async def pids(self, container_id: str) -> list[ProcessInfo]:
        """The task's processes; exec ids come from runc's ProcessDetails.

        containerd runs the runtime's ``ps`` for this: call it on demand, never on a timer.
        """
        reply = await self._call(TASKS, "ListPids", container_id=container_id)
        result = []
        for process in reply.processes:
            details = schema.unpack(process.info) if process.info.type_url else None
            result.append(ProcessInfo(process.pid, details.exec_id if details else ""))
        return result

    async def metrics(self, container_ids: Iterable[str]) -> dict[str, Stats]:
        """Resource use of several tasks in one call (cgroup v1 or v2 payloads)."""
        filters = [f"id=={json.dumps(id)}" for id in container_ids]
        if not filters:
            return {}
        reply = await self._call(TASKS, "Metrics", filters=filters)
        result: dict[str, Stats] = {}
        for metric in reply.metrics:
            stats = _stats(metric)
            if stats is not None:
                result[metric.id] = stats
        return result

    async def checkpoint(
        self,
        container_id: str,
        image_path: str,
        *,
        exit: bool = False,
        work_path: str = "",
        terminal: bool = False,
    ) -> None:
        """CRIU-dump the task into ``image_path`` (runc's CheckpointOptions); ``terminal``
        for a task with a tty (runc's ``--shell-job``)."""
        options = schema.message(own_schema.CHECKPOINT_OPTIONS)(
            exit=exit, image_path=image_path, work_path=work_path, terminal=terminal
        )
        await self._call(
            TASKS, "Checkpoint", container_id=container_id, options=schema.pack(options)
        )

    async def wait(self, container_id: str, exec_id: str = "") -> ExitStatus:
        """Block until the process exits (returns at once if it has)."""
        reply = await self._call(
            TASKS, "Wait", deadline=None, container_id=container_id, exec_id=exec_id
        )
        return ExitStatus(reply.exit_status, timestamp(reply.exited_at))

    # -- events ---------------------------------------------------------------------------

    def subscribe(self, *filters: str) -> Subscription:
        """Events of this client's namespace (the header does not scope Subscribe).

        Each extra filter is ANDed with the namespace's; see containerd's filter syntax.
        """
        scope = f"namespace=={json.dumps(self.namespace)}"
        combined = [f"{scope},{f}" for f in filters] or [scope]
        return Subscription(self, self._server_stream(EVENTS, "Subscribe", filters=combined))

    def watch(self) -> AsyncGenerator[Envelope | Connection, None]:
        """:meth:`subscribe` that survives containerd restarts (see :mod:`.watch`)."""
        from .watch import watch

        return watch(self)

    async def publish_sync(self, token: str) -> None:
        """A marker event in this namespace; :meth:`Subscription.synced` waits for it."""
        empty = schema.message("google.protobuf.Empty")()
        marker = schema.pack_bytes("google.protobuf.Empty", empty.SerializeToString())
        await self._call(EVENTS, "Publish", topic=f"{SYNC_TOPIC}/{token}", event=marker)


class Subscription:
    """A live event stream: iterate it for :class:`Envelope`; close it when done.

    containerd does not acknowledge a subscription. :meth:`synced` publishes a marker and
    returns once the stream delivered it: from then on no event is missed.
    """

    def __init__(self, client: Client, call: Any) -> None:
        self._client = client
        self._call = call
        self._early: deque[Envelope] = deque()
        self._closed = False

    async def synced(self, timeout: float = 10.0) -> None:
        """Return once the stream is live: containerd does not acknowledge a subscription,
        so publish markers (again, at growing intervals) until one comes back."""
        tokens: set[str] = set()

        async def publish() -> None:
            # A marker published before containerd has registered the subscription is
            # lost (seen about one time in five): the next one must not keep a first paint
            # waiting long.
            interval = 0.01
            while True:
                token = os.urandom(8).hex()
                tokens.add(f"{SYNC_TOPIC}/{token}")
                await self._client.publish_sync(token)
                await asyncio.sleep(interval)
                interval = min(interval * 2, 1.0)

        publisher = asyncio.create_task(publish())
        try:
            async with asyncio.timeout(timeout):
                while (envelope := await self._read()) is not None:
                    if envelope.event.topic in tokens:
                        return
                    if not envelope.event.topic.startswith(SYNC_TOPIC):
                        self._early.append(envelope)
        except TimeoutError:
            pass
        finally:
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publisher
        raise errors.Unavailable("containerd: the event stream did not deliver its sync marker")

    async def _read(self) -> Envelope | None:
        """The next envelope; None at the end of the stream or once :meth:`close` was called."""
        try:
            message = await self._call.read()
        except grpc.aio.AioRpcError as e:
            if self._closed and e.code() == grpc.StatusCode.CANCELLED:
                return None
            raise from_rpc_error(e, "Events.Subscribe") from None
        except asyncio.CancelledError:
            # Our close() cancels the call, and grpc raises that into the reader: an end.
            # A cancellation of the reading task itself must go on.
            task = asyncio.current_task()
            if self._closed and task is not None and not task.cancelling():
                return None
            raise
        if message is grpc.aio.EOF:
            return None
        return decode(message)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Envelope:
        if self._early:
            return self._early.popleft()
        while (envelope := await self._read()) is not None:
            if not envelope.event.topic.startswith(SYNC_TOPIC):
                return envelope
        raise StopAsyncIteration

    def close(self) -> None:
        self._closed = True
        self._call.cancel()


def _sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _mounts(mounts: Iterable[Any]) -> list[Mount]:
    return [Mount(m.type, m.source, m.target, tuple(m.options)) for m in mounts]


def _stats(metric: Any) -> Stats | None:
    data = schema.unpack(metric.data)
    if data is None:
        return None
    when = timestamp(metric.timestamp) or datetime.now(UTC)
    if metric.data.type_url.endswith(own_schema.CGROUPS_V2_METRICS):
        return Stats(
            cpu_seconds=data.cpu.usage_usec / 1e6,
            memory_bytes=data.memory.usage,
            pids=data.pids.current,
            memory_limit=limit(data.memory.usage_limit),
            timestamp=when,
        )
    return Stats(
        cpu_seconds=data.cpu.usage.total / 1e9,
        memory_bytes=data.memory.usage.usage,
        pids=data.pids.current,
        memory_limit=limit(data.memory.usage.limit),
        timestamp=when,
    )


def _method_name(service: str, name: str) -> str:
    """``Content.Read`` for ``containerd.services.content.v1.Content``, ``Read``."""
    return f"{service.rsplit('.', 1)[-1]}.{name}"
