"""``python -m bench [--quick] [--only a,b] [--runtimes runc,crun]``: every benchmark, each
in a process of its own, then the report (:mod:`bench.report`). The contract a benchmark
keeps is in docs/benchmarks.md; :func:`bench._common.run` does it."""

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime

from . import report
from ._common import REPO, RESULTS_DIR, RUNTIMES, Doc, Machine, convert

#: In the order they run.
BENCHES = (
    *("lifecycle", "exec_latency", "exit_latency", "console", "checkpoint", "ui"),
    *("console_ui", "containerd_ui", "cri_log", "engine_profile"),
)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (fewer rounds)")
    parser.add_argument("--only", default="", help="comma-separated benches (default: all)")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES), help="comma-separated")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(BENCHES)
    if unknown := set(names) - set(BENCHES):
        parser.error(f"unknown bench {', '.join(sorted(unknown))}: choose from {BENCHES}")
    suffix = "-quick" if args.quick else ""
    machine = Machine.now()
    print(f"machine: {machine.line()}\n", flush=True)
    started, t0 = datetime.now(UTC).isoformat(), time.monotonic()
    docs: dict[str, Doc] = {}
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
            docs[name] = convert.structure(json.loads(out.read_text()), Doc)
    total = round(time.monotonic() - t0, 1)
    summary = report.Summary(args.quick, started, total, machine, docs, failed)
    path = RESULTS_DIR / f"summary{suffix}.json"
    path.write_text(json.dumps(convert.unstructure(summary), indent=2) + "\n")
    everything = set(names) == set(BENCHES) and set(args.runtimes.split(",")) >= set(RUNTIMES)
    full = everything and not args.quick
    doc = report.DOC if full else RESULTS_DIR / f"benchmarks{suffix or '-partial'}.md"
    report.write(summary, doc, readme=full)
    # Each benchmark printed its rows: here, only what went wrong.
    missed = [f"{n}: {r.metric}" for n, d in docs.items() for r in d.rows if r.met is False]
    print(f"\n{summary.total_s:.0f} s in all; targets missed: {len(missed)}")
    print("".join(f"- {m}\n" for m in missed), end="")
    if failed:
        print(f"failed a correctness check or left something behind: {', '.join(failed)}")
    print(f"\nresults: {path}\nreport: {doc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
