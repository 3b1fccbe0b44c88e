"""Ready-made container commands, shared by ``shimdeck demo`` and the create dialog."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Template:
    name: str
    args: tuple[str, ...]
    terminal: bool
    description: str
    env: dict[str, str] = field(default_factory=dict)


_PS1 = r"\[\e[1;32m\]\h\[\e[0m\]:\[\e[1;34m\]\w\[\e[0m\]# "

TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            "shell",
            ("sh",),
            True,
            "an interactive shell on a tty",
            env={"PS1": _PS1, "HOME": "/root"},
        ),
        Template("top", ("top", "-d", "1"), True, "top, refreshing every second"),
        Template(
            "counter",
            (
                "sh",
                "-c",
                'i=0; while true; do i=$((i+1)); echo "counter $i: $(date +%T)"; sleep 1; done',
            ),
            False,
            "prints a counter every second",
        ),
        Template(
            "crash",
            ("sh", "-c", 'echo "starting up..."; sleep 4; echo "fatal: cannot go on" >&2; exit 3'),
            False,
            "exits with code 3 after a few seconds",
        ),
        Template(
            "flood",
            ("sh", "-c", "yes 'flood: the quick brown fox jumps over the lazy dog'"),
            True,
            "floods its tty with output once started",
        ),
    )
}
