"""Payloads containerd sends inside ``Any`` that the ``containerd`` package does not define.

Only the fields shimdeck reads are declared; protobuf skips the others on the wire. Field
numbers are those of containerd/cgroups (``stats/v1`` and ``cgroup2/stats`` metrics.proto)
and of containerd's ``runtime/v2/runc/options/oci.proto``.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2

_F = descriptor_pb2.FieldDescriptorProto
_UINT64 = _F.TYPE_UINT64
_STRING = _F.TYPE_STRING
_BOOL = _F.TYPE_BOOL
_MESSAGE = _F.TYPE_MESSAGE

#: message name -> [(field name, number, type, message type name or "")]
_Fields = list[tuple[str, int, int, str]]

_CGROUPS_V1: dict[str, _Fields] = {
    "Metrics": [
        ("pids", 2, _MESSAGE, "PidsStat"),
        ("cpu", 3, _MESSAGE, "CPUStat"),
        ("memory", 4, _MESSAGE, "MemoryStat"),
    ],
    "PidsStat": [("current", 1, _UINT64, ""), ("limit", 2, _UINT64, "")],
    "CPUStat": [("usage", 1, _MESSAGE, "CPUUsage")],
    # Nanoseconds.
    "CPUUsage": [("total", 1, _UINT64, ""), ("kernel", 2, _UINT64, ""), ("user", 3, _UINT64, "")],
    "MemoryStat": [
        ("cache", 1, _UINT64, ""),
        ("rss", 2, _UINT64, ""),
        ("total_cache", 18, _UINT64, ""),
        ("total_inactive_file", 30, _UINT64, ""),
        ("usage", 33, _MESSAGE, "MemoryEntry"),
    ],
    "MemoryEntry": [
        ("limit", 1, _UINT64, ""),
        ("usage", 2, _UINT64, ""),
        ("max", 3, _UINT64, ""),
        ("failcnt", 4, _UINT64, ""),
    ],
}

_CGROUPS_V2: dict[str, _Fields] = {
    "Metrics": [
        ("pids", 1, _MESSAGE, "PidsStat"),
        ("cpu", 2, _MESSAGE, "CPUStat"),
        ("memory", 4, _MESSAGE, "MemoryStat"),
    ],
    "PidsStat": [("current", 1, _UINT64, ""), ("limit", 2, _UINT64, "")],
    # Microseconds.
    "CPUStat": [
        ("usage_usec", 1, _UINT64, ""),
        ("user_usec", 2, _UINT64, ""),
        ("system_usec", 3, _UINT64, ""),
    ],
    "MemoryStat": [
        ("inactive_file", 13, _UINT64, ""),
        ("usage", 32, _UINT64, ""),
        ("usage_limit", 33, _UINT64, ""),
    ],
}

_RUNC_OPTIONS: dict[str, _Fields] = {
    "ProcessDetails": [("exec_id", 1, _STRING, "")],
    # A task's create options. criu_path (8) is containerd 1.x's (2.0 reserves it, and a
    # field it does not know is skipped); criu_image_path makes the create a restore.
    "Options": [
        ("criu_path", 8, _STRING, ""),
        ("criu_image_path", 10, _STRING, ""),
        ("criu_work_path", 11, _STRING, ""),
    ],
    "CheckpointOptions": [
        ("exit", 1, _BOOL, ""),
        ("open_tcp", 2, _BOOL, ""),
        ("external_unix_sockets", 3, _BOOL, ""),
        ("terminal", 4, _BOOL, ""),
        ("file_locks", 5, _BOOL, ""),
        ("image_path", 8, _STRING, ""),
        ("work_path", 9, _STRING, ""),
    ],
}

CGROUPS_V1_METRICS = "io.containerd.cgroups.v1.Metrics"
CGROUPS_V2_METRICS = "io.containerd.cgroups.v2.Metrics"
PROCESS_DETAILS = "containerd.runc.v1.ProcessDetails"
CHECKPOINT_OPTIONS = "containerd.runc.v1.CheckpointOptions"
RUNC_OPTIONS = "containerd.runc.v1.Options"


def _file(
    name: str, package: str, messages: dict[str, _Fields]
) -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(name=name, package=package, syntax="proto3")
    for message_name, fields in messages.items():
        message = proto.message_type.add(name=message_name)
        for field_name, number, kind, type_name in fields:
            field = message.field.add(
                name=field_name, number=number, type=kind, label=_F.LABEL_OPTIONAL
            )
            if type_name:
                field.type_name = f".{package}.{type_name}"
    return proto


def files() -> list[descriptor_pb2.FileDescriptorProto]:
    """Our own proto files, named so they cannot collide with containerd's."""
    return [
        _file("shimdeck/cgroups_v1.proto", "io.containerd.cgroups.v1", _CGROUPS_V1),
        _file("shimdeck/cgroups_v2.proto", "io.containerd.cgroups.v2", _CGROUPS_V2),
        _file("shimdeck/runc_options.proto", "containerd.runc.v1", _RUNC_OPTIONS),
    ]
