"""Every screen at 80x24 and 160x48, from the recorded session (pytest-textual-snapshot).

Update after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the report (or ``python -m tui.screenshots``) before committing.
"""

from __future__ import annotations

from typing import Any

import pytest

from tui.scenarios import SCENARIOS, SIZES, Scenario


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_screen(snap_compare: Any, scenario: Scenario, size: tuple[int, int]) -> None:
    assert snap_compare(scenario.app(), terminal_size=size, run_before=scenario.run_before())
