"""``python -m tui.screenshots DIR``: SVG screenshots of every scenario, from the recording.

No root, runtime or network: the screens come from the recorded session in
``tui/sessions``. Times show in UTC so the pictures do not depend on where they are made.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

from .scenarios import SCENARIOS, SIZES, Scenario


async def shoot(scenario: Scenario, size: tuple[int, int]) -> str:
    app = scenario.app()
    async with app.run_test(size=size, notifications=True) as pilot:
        await scenario.run_before()(pilot)
        return app.export_screenshot(title=f"shimdeck · {scenario.description}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tui.screenshots", description=__doc__)
    parser.add_argument("out", type=Path, help="directory for the SVG files")
    parser.add_argument("--only", nargs="*", help="scenario names (default: all)")
    args = parser.parse_args(argv)
    os.environ["TZ"] = "UTC"
    time.tzset()
    args.out.mkdir(parents=True, exist_ok=True)
    for scenario in SCENARIOS:
        if args.only and scenario.name not in args.only:
            continue
        for width, height in SIZES:
            svg = asyncio.run(shoot(scenario, (width, height)))
            path = args.out / f"{scenario.name}-{width}x{height}.svg"
            path.write_text(svg, encoding="utf-8")
            print(path)


if __name__ == "__main__":
    main()
