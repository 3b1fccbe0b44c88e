"""The namespace picker over a real containerd's namespaces and their container counts."""

from __future__ import annotations

from textual.app import App

from tui.backend.containerd.client import Client
from tui.dialogs.namespaces import NamespacePicker

from .daemon import Daemon
from .helpers import make_container, remove_container


class PickerApp(App[None]):
    def __init__(self, picker: NamespacePicker) -> None:
        super().__init__()
        self.picker = picker
        self.chosen: list[str | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.picker, self.chosen.append)


async def test_picker_shows_counts_filters_and_chooses(
    client: Client, containerd: Daemon, new_id: str
) -> None:
    other = f"{containerd.namespace}-other"
    await client.create_namespace(other)
    await make_container(client, containerd, new_id, ["true"])
    try:
        counts = dict(await client.namespace_counts())
        assert counts[containerd.namespace] == 1 and counts[other] == 0

        app = PickerApp(NamespacePicker(list(counts.items()), containerd.namespace))
        async with app.run_test() as pilot:
            listing = app.picker.query_one("#namespaces")
            shown = [str(o.prompt) for o in listing.options]  # type: ignore[attr-defined]
            mine = next(line for line in shown if line.startswith(containerd.namespace + " "))
            assert mine.split()[1:] == ["1", "(current)"]
            await pilot.press(*"-other")
            await pilot.pause()
            assert [o.id for o in listing.options] == [other]  # type: ignore[attr-defined]
            await pilot.press("enter")
            await pilot.pause()
        assert app.chosen == [other]

        app = PickerApp(NamespacePicker(list(counts.items()), containerd.namespace))
        async with app.run_test() as pilot:
            await pilot.press(*"no such namespace", "enter")
            await pilot.pause()
            error = str(app.picker.query_one("#error").render())
            assert "no namespace matches" in error
            await pilot.press("escape")
            await pilot.pause()
        assert app.chosen == [None]
    finally:
        await remove_container(client, new_id)
        await client.delete_namespace(other)
