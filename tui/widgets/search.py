"""Search over numbered lines (a console's scrollback and screen): no UI here.

Matches are ``(line number, start, end)`` in text offsets; the current one moves with
:meth:`Search.step` and is kept by line number while more output arrives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

Match = tuple[int, int, int]


@dataclass
class Search:
    pattern: str = ""
    regex: bool = False
    case: bool = False
    matches: list[Match] = field(default_factory=list)
    by_line: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    current: int = -1
    #: Why the pattern is not a valid regex ("" when it is).
    error: str = ""

    def compile(self) -> re.Pattern[str] | None:
        self.error = ""
        if not self.pattern:
            return None
        flags = 0 if self.case else re.IGNORECASE
        source = self.pattern if self.regex else re.escape(self.pattern)
        try:
            return re.compile(source, flags)
        except re.error as e:
            self.error = f"bad regex: {e}"
            return None

    def run(self, lines: Iterable[tuple[int, str]]) -> None:
        """Find every match in ``(n, text)`` lines; the current match becomes the last one
        (the newest output), as a search from the bottom would find first."""
        compiled = self.compile()
        self.matches = []
        self.by_line = {}
        self.current = -1
        if compiled is None:
            return
        search = compiled.finditer
        for n, line in lines:
            if not line:
                continue
            spans = [(m.start(), m.end()) for m in search(line) if m.end() > m.start()]
            if spans:
                self.by_line[n] = spans
                self.matches.extend((n, s, e) for s, e in spans)
        if self.matches:
            self.current = len(self.matches) - 1

    def step(self, delta: int) -> Match | None:
        if not self.matches:
            return None
        self.current = (self.current + delta) % len(self.matches)
        return self.matches[self.current]

    @property
    def current_match(self) -> Match | None:
        return self.matches[self.current] if 0 <= self.current < len(self.matches) else None

    def count_text(self) -> str:
        if self.error:
            return self.error
        if not self.pattern:
            return ""
        if not self.matches:
            return "no matches"
        return f"{self.current + 1}/{len(self.matches)}"

    def clear(self) -> None:
        self.pattern = ""
        self.matches = []
        self.by_line = {}
        self.current = -1
        self.error = ""
