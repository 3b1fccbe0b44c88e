"""``python -m bench [--quick] [--only a,b] [--runtimes runc,crun]``: every benchmark, then
the report.

The contract: a benchmark is a module ``bench/<name>.py`` run as ``python -m bench.<name>
[--quick] [--rounds N] --runtimes runc,crun --out FILE`` (:func:`bench._common.run` does all
of it). It measures shimdeck interleaved against its anchor (the bare runtime, containerd,
``ctr``, pyte, or a target where there is no anchor), reports medians and ratios of medians,
and writes JSON: its ``Result`` dataclass (which renders its own rows and part of the
report), the rows, the machine and a clean-up check (no container, process, mount, cgroup
or temporary directory left). It exits non-zero only on a failed correctness check or
leftovers; a missed target shows in its rows.

Each runs in a process of its own, so that one's engine, memory and children cannot touch
the next. This writes ``bench/results/summary[-quick].json`` and the report
(:mod:`bench.report`): docs/benchmarks.md and the README's table after a full run of every
benchmark, ``bench/results/benchmarks[-quick|-partial].md`` otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime

from . import report
from ._common import REPO, RESULTS_DIR, RUNTIMES, Machine, convert, rows_table

#: In the order they run.
BENCHES = (
    "lifecycle",
    "exec_latency",
    "exit_latency",
    "console",
    "checkpoint",
    "ui",
    "console_ui",
    "containerd_ui",
    "cri_log",
    "engine_profile",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (fewer rounds)")
    parser.add_argument("--only", default="", help="comma-separated benches (default: all)")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES), help="comma-separated")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(BENCHES)
    if unknown := set(names) - set(BENCHES):
        parser.error(f"unknown bench {', '.join(sorted(unknown))}: choose from {BENCHES}")
    suffix = "-quick" if args.quick else ""
    machine = Machine.now()
    print(f"machine: {machine.line()}\n", flush=True)
    started = datetime.now(UTC).isoformat()
    t0 = time.monotonic()
    docs = {}
    failed: list[str] = []
    for name in names:
        out = RESULTS_DIR / f"{name}{suffix}.json"
        out.unlink(missing_ok=True)
        cmd = ["-m", f"bench.{name}", "--runtimes", args.runtimes, "--out", str(out)]
        cmd += ["--quick"] if args.quick else []
        print(f"$ python {' '.join(cmd)}", flush=True)
        rc = subprocess.run([sys.executable, *cmd], cwd=REPO).returncode
        if rc != 0 or not out.exists():
            failed.append(f"{name} (exit status {rc})")
        if out.exists():
            docs[name] = json.loads(out.read_text())
    summary = convert.structure(
        {
            "quick": args.quick,
            "started": started,
            "total_s": round(time.monotonic() - t0, 1),
            "machine": convert.unstructure(machine),
            "benches": docs,
            "failed": failed,
        },
        report.Summary,
    )
    path = RESULTS_DIR / f"summary{suffix}.json"
    path.write_text(json.dumps(convert.unstructure(summary), indent=2) + "\n")
    everything = set(names) == set(BENCHES) and set(args.runtimes.split(",")) >= set(RUNTIMES)
    full = everything and not args.quick
    doc = report.DOC if full else RESULTS_DIR / f"benchmarks{suffix or '-partial'}.md"
    report.write(summary, doc, readme=full)
    rows = [r for d in summary.benches.values() for r in d.rows]
    print(f"\n# Benchmarks{' (quick)' if args.quick else ''}: {summary.total_s:.0f} s in all\n")
    print(rows_table(rows))
    missed = [f"{r.bench}: {r.metric}" for r in rows if r.met is False]
    print(f"\ntargets missed: {len(missed)}" + "".join(f"\n- {m}" for m in missed))
    if failed:
        print(f"failed a correctness check or left something behind: {', '.join(failed)}")
    print(f"\nresults: {path}\nreport: {doc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
