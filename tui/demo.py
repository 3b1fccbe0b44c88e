"""``shimdeck demo``: a handful of containers worth looking at, removed on quit."""

from __future__ import annotations

import shutil

from runtime import errors

from .backend.base import Backend, CommandSource
from .backend.live import LiveBackend
from .templates import TEMPLATES

#: (name, labels, start it?) — names are templates; ``flood`` waits for the user's ``s``.
DEMO: list[tuple[str, dict[str, str], bool]] = [
    ("shell", {"app": "demo", "tier": "interactive"}, True),
    ("top", {"app": "demo", "tier": "monitoring"}, True),
    ("counter", {"app": "demo", "tier": "worker", "note": "[bold]not markup[/bold]"}, True),
    ("crash", {"app": "demo", "tier": "worker"}, True),
    ("flood", {"app": "demo", "tier": "noisy"}, False),
]


async def clear_leftovers(live: LiveBackend) -> None:
    """Remove what a killed earlier demo left in the engine (before the UI starts);
    AlreadyExists for a container of that name that is not the demo's."""
    for name, _, _ in DEMO:
        existing = live.container(name)
        if existing is not None and existing.labels.get("app") != "demo":
            raise errors.AlreadyExists(
                f"container {name!r} exists and is not a demo container: use --root"
            )
    # Every demo container goes, copies restored from a demo's checkpoint too (they keep
    # its labels).
    for container in live.containers():
        if container.labels.get("app") == "demo":
            await live.remove(container.id)


async def setup(backend: Backend) -> None:
    """Create (and start) the demo containers, through the seam: a recording keeps what
    fails."""
    for name, labels, start in DEMO:
        template = TEMPLATES[name]
        await backend.create(
            name, CommandSource(template.args), terminal=template.terminal, labels=labels
        )
        if start:
            await backend.start(name)


async def teardown(backend: LiveBackend) -> None:
    """Remove every container the session created, then the bundles."""
    for id in list(backend.created):
        await backend.remove(id)
    shutil.rmtree(backend.bundles, ignore_errors=True)
