"""containerd's message and service types, built at run time from descriptors as data.

The PyPI package ``containerd`` (1.5.3) ships generated ``*_pb2.py`` modules that no longer
import with protobuf >= 4.21, but each carries its ``.proto`` file as a serialized
``FileDescriptorProto`` (the ``serialized_pb=b'...'`` literal). We read those literals from
the sources without importing them, add them to a private :class:`DescriptorPool` (so nothing
clashes with the default pool or the broken modules) and make message classes from it.
A few payloads containerd sends as ``Any`` are not in the package; :mod:`.own_schema`
defines them with the same wire field numbers. See docs/design.md, "containerd client".
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
from pathlib import Path
from typing import Any

from google.protobuf import (
    any_pb2,
    descriptor_pb2,
    descriptor_pool,
    empty_pb2,
    field_mask_pb2,
    message_factory,
    timestamp_pb2,
)

from . import own_schema

#: The containerd proto files the client uses; their imports are added first.
_FILES = (
    "containerd/services/version/v1/version.proto",
    "containerd/services/namespaces/v1/namespace.proto",
    "containerd/services/containers/v1/containers.proto",
    "containerd/services/images/v1/images.proto",
    "containerd/services/snapshots/v1/snapshots.proto",
    "containerd/services/tasks/v1/tasks.proto",
    "containerd/services/events/v1/events.proto",
    "containerd/services/content/v1/content.proto",
    "containerd/services/leases/v1/leases.proto",
    "containerd/events/container.proto",
    "containerd/events/task.proto",
    "containerd/events/image.proto",
    "containerd/events/namespace.proto",
    "containerd/events/snapshot.proto",
    "containerd/events/content.proto",
)
_WELL_KNOWN = (descriptor_pb2, any_pb2, empty_pb2, field_mask_pb2, timestamp_pb2)
_SERIALIZED = re.compile(rb"serialized_pb=(b'(?:[^'\\]|\\.)*')")


class SchemaError(RuntimeError):
    """The installed ``containerd`` package does not hold the descriptors we expect."""


def _package_root() -> Path:
    spec = importlib.util.find_spec("containerd")
    if spec is None or not spec.submodule_search_locations:
        raise SchemaError("the Python package 'containerd' is not installed (pip install -e .)")
    return Path(next(iter(spec.submodule_search_locations)))


def _read_descriptors(root: Path) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    for source in root.rglob("*_pb2.py"):
        found = _SERIALIZED.search(source.read_bytes())
        if found is None:
            continue
        # A bytes literal only: literal_eval evaluates no code from the file.
        data = ast.literal_eval(found.group(1).decode("ascii"))
        proto = descriptor_pb2.FileDescriptorProto.FromString(data)
        files[proto.name] = proto
    return files


@functools.cache
def pool() -> descriptor_pool.DescriptorPool:
    """The private pool holding containerd's files and our own few."""
    result = descriptor_pool.DescriptorPool()
    added: set[str] = set()
    for module in _WELL_KNOWN:
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        result.Add(proto)
        added.add(proto.name)
    files = _read_descriptors(_package_root())

    def add(name: str) -> None:
        if name in added:
            return
        if name not in files:
            raise SchemaError(f"the 'containerd' package lacks {name}")
        for dependency in files[name].dependency:
            add(dependency)
        result.Add(files[name])
        added.add(name)

    for name in _FILES:
        add(name)
    for proto in own_schema.files():
        result.Add(proto)
    return result


@functools.cache
def message(full_name: str) -> Any:
    """The message class for a fully qualified protobuf name, e.g. ``containerd.types.Mount``."""
    try:
        descriptor = pool().FindMessageTypeByName(full_name)
    except KeyError:
        raise SchemaError(f"no message {full_name} in containerd's schema") from None
    return message_factory.GetMessageClass(descriptor)


def method(service: str, name: str) -> tuple[str, Any, Any, bool]:
    """(path, request class, response class, server streaming) of ``service``'s ``name``."""
    descriptor = pool().FindServiceByName(service).FindMethodByName(name)
    if descriptor is None:
        raise SchemaError(f"no method {name} in {service}")
    return (
        f"/{service}/{name}",
        message(descriptor.input_type.full_name),
        message(descriptor.output_type.full_name),
        descriptor.server_streaming,
    )


def unpack(value: Any) -> Any | None:
    """The message inside an ``Any`` with a bare type URL, or None for an unknown type."""
    type_name = value.type_url.rsplit("/", 1)[-1]
    try:
        cls = message(type_name)
    except SchemaError:
        return None
    return cls.FromString(value.value)


def pack(msg: Any) -> Any:
    """An ``Any`` holding ``msg`` with the bare type URL containerd expects (no ``/`` prefix)."""
    return pack_bytes(msg.DESCRIPTOR.full_name, msg.SerializeToString())


def pack_bytes(type_url: str, value: bytes) -> Any:
    """An ``Any`` of the private pool (a default-pool ``Any`` does not fit its fields)."""
    return message("google.protobuf.Any")(type_url=type_url, value=value)
