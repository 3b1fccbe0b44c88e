"""``python -m bench [--quick]``: every benchmark, one markdown table, and docs/benchmarks.md.

Each benchmark runs in a process of its own (``python -m bench.<name>``), so that one's
engine, memory and children cannot touch the next; each writes
``bench/results/<name>[-quick].json``, and this writes ``summary[-quick].json`` with all of
them and the total time, then the report (:mod:`bench.report`): ``docs/benchmarks.md`` and
its plot after a full run of every benchmark, ``bench/results/benchmarks[-quick].md``
otherwise.

A benchmark is a module ``bench/<name>.py`` run as ``python -m bench.<name> [--quick]
--runtimes runc,crun --out FILE`` that writes JSON with at least ``rows`` (a list of
:class:`bench._common.Row` as dicts; :func:`bench._common.run_bench` does all of it) and
exits non-zero only when a correctness check failed or it left something behind.
``bench/ui.py`` (UI responsiveness, from the UI's side of the project) is run when it
exists, and its rows get a section of the report.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from . import report
from ._common import (
    BENCH_DIR,
    REPO,
    RESULTS_DIR,
    RUNTIMES,
    Row,
    machine_info,
    machine_line,
    markdown_table,
)

#: In the order they run. ``ui`` is optional (its module may not exist); ``engine_profile``
#: is a diagnosis, left out of quick runs.
BENCHES = (
    "lifecycle",
    "compare",
    "exec_latency",
    "exit_latency",
    "console",
    "checkpoint",
    "ui",
    "console_ui",
    "containerd_ui",
    "containerd_namespaces",
    "cri_log",
    "engine_profile",
)
OPTIONAL = ("ui", "console_ui")
NOT_QUICK = ("engine_profile",)


def available() -> list[str]:
    return [n for n in BENCHES if n not in OPTIONAL or (BENCH_DIR / f"{n}.py").exists()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (fewer rounds)")
    parser.add_argument("--only", default="", help="comma-separated benches (default: all)")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES), help="comma-separated")
    args = parser.parse_args(argv)
    known = available()
    default = [n for n in known if not (args.quick and n in NOT_QUICK)]
    names = [n for n in args.only.split(",") if n] or default
    unknown = set(names) - set(known)
    if unknown:
        parser.error(f"unknown bench {', '.join(sorted(unknown))}: choose from {known}")
    everything = set(names) >= set(known) and set(args.runtimes.split(",")) >= set(RUNTIMES)
    suffix = "-quick" if args.quick else ""
    machine = machine_info()
    print(f"machine: {machine_line(machine)}\n", flush=True)
    started = datetime.now(UTC)
    t0 = time.monotonic()
    docs: dict[str, Any] = {}
    failed: list[str] = []
    for name in names:
        out = RESULTS_DIR / f"{name}{suffix}.json"
        out.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            "-m",
            f"bench.{name}",
            "--runtimes",
            args.runtimes,
            "--out",
            str(out),
        ]
        if args.quick:
            cmd.append("--quick")
        print(f"$ {' '.join(cmd[1:])}", flush=True)
        rc = subprocess.run(cmd, cwd=REPO).returncode
        if rc != 0 or not out.exists():
            failed.append(f"{name} (exit status {rc})")
        if out.exists():
            docs[name] = json.loads(out.read_text())
    total = time.monotonic() - t0
    rows = [Row(**r) for doc in docs.values() for r in doc["rows"]]
    summary = {
        "quick": args.quick,
        "started": started.isoformat(),
        "total_s": round(total, 1),
        "machine": machine,
        "benches": docs,
        "failed": failed,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"summary{suffix}.json"
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if everything and not args.quick:
        doc = report.write(summary, report.DOC)
    else:
        doc = report.write(summary, RESULTS_DIR / f"benchmarks{suffix or '-partial'}.md")
    print(f"\n# Engine benchmarks{' (quick)' if args.quick else ''}: {total:.0f} s in all\n")
    print(f"Machine: {machine_line(machine)}\n")
    print(markdown_table(rows))
    missed = [f"{r.bench}: {r.metric}" for r in rows if r.met is False]
    print(f"\ntargets missed: {len(missed)}" + "".join(f"\n- {m}" for m in missed))
    if failed:
        print(f"failed a correctness check or left something behind: {', '.join(failed)}")
    print(f"\nresults: {path}\nreport: {doc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
