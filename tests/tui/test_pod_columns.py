"""The containers table's column hook with the pod columns (Kubernetes nodes, issue 8):
shown only while a row is a CRI container, and the table is otherwise as without a hook."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from textual.app import App, ComposeResult

from tui.backend.base import Container
from tui.backend.containerd import cri
from tui.model import Row
from tui.widgets.pods import PodColumns
from tui.widgets.tables import ContainersTable

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POD = {cri.POD_NAMESPACE: "shop", cri.POD_UID: "u1"}


def row(id: str, **labels: str) -> Row:
    return Row(Container(id, "runc", dict(labels), bundle=Path("/b")))


def pod_row(id: str, pod: str, name: str = "") -> Row:
    kind = "container" if name else "sandbox"
    labels = {cri.KIND: kind, cri.POD_NAME: pod, **POD}
    if name:
        labels[cri.CONTAINER_NAME] = name
    return Row(Container(id, "runc", labels, bundle=Path("/b")))


class Tables(App[None]):
    def compose(self) -> ComposeResult:
        yield ContainersTable(id="plain")
        yield ContainersTable(column_hook=PodColumns(), id="hooked")


def lines(table: ContainersTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.row_count + 1)]


async def test_pod_columns_come_and_go_with_cri_rows() -> None:
    app = Tables()
    async with app.run_test(size=(140, 12)) as pilot:
        plain = app.query_one("#plain", ContainersTable)
        hooked = app.query_one("#hooked", ContainersTable)
        others = [row("web", app="x"), row("db")]
        for table in (plain, hooked):
            table.sync(others, NOW)
        await pilot.pause()
        # No CRI rows: exactly the table without a hook.
        assert hooked.columns == plain.columns == ContainersTable.COLUMNS
        assert lines(hooked) == lines(plain)

        hooked.sync([*others, pod_row("c2", "api", "app"), pod_row("c1", "api")], NOW)
        await pilot.pause()
        assert [key for key, _ in hooked.columns][:4] == ["id", "pod", "name", "status"]
        cells = {key: [c.plain for c in hooked.get_row(key)[:3]] for key in hooked.row_keys()}
        assert cells["c2"] == ["c2", "shop/api", "app"]
        assert cells["c1"] == ["c1", "shop/api", "(sandbox)"]
        assert cells["web"] == ["web", "-", "-"]
        assert "POD" in lines(hooked)[0] and "NAME" in lines(hooked)[0]

        # Sorting by pod puts rows without one first, then each pod's rows by name.
        hooked.set_sort("name")
        hooked.sync([*others, pod_row("c2", "api", "app"), pod_row("c1", "api")], NOW)
        assert hooked.row_keys() == ["db", "web", "c1", "c2"]

        # The CRI rows go: so do the columns, and a sort on one of them.
        hooked.sync(others, NOW)
        await pilot.pause()
        assert hooked.columns == ContainersTable.COLUMNS and hooked.sort_column == "id"
        assert lines(hooked) == lines(plain)


def test_image_names_show_as_docker_shows_them_and_long_ones_cut_in_the_middle() -> None:
    from tui.widgets.tables import short_image

    assert short_image("docker.io/library/nginx:1.27") == "nginx:1.27"
    assert short_image("docker.io/bitnami/redis:7") == "bitnami/redis:7"
    assert short_image("localhost/busybox:latest") == "localhost/busybox:latest"
    long = "registry.example.com/team/some-service:2026-12-01"
    cut = short_image(long, 20)
    assert len(cut) == 20 and cut.startswith("registry.") and cut.endswith("12-01")
