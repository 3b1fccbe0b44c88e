"""``docs/benchmarks.md`` and its plot, from the results of ``python -m bench``.

``python -m bench.report [SUMMARY_JSON]`` rewrites them from a saved summary (by default
``bench/results/summary.json``) without running anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ._common import REPO, RESULTS_DIR, Row, machine_line, markdown_table

DOC = REPO / "docs" / "benchmarks.md"
PLOT = "benchmarks-concurrency.svg"
MIB = 2**20

#: How the systems are named in the report.
LABELS = {
    "engine-runc": "engine on runc",
    "engine-crun": "engine on crun",
    "runc": "bare `runc run`",
    "crun": "bare `crun run`",
    "containerd": "containerd 1.6 (`ctr run --rm`)",
}
PLOT_LABELS = {
    "engine-runc": "engine (runc)",
    "engine-crun": "engine (crun)",
    "runc": "bare runc",
    "crun": "bare crun",
    "containerd": "containerd 1.6",
}


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def _met(met: bool | None) -> str:
    return "" if met is None else ("met" if met else "**missed**")


def _rows(doc: dict[str, Any]) -> list[Row]:
    return [Row(**r) for r in doc.get("rows", [])]


def _table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


# -- sections ----------------------------------------------------------------------------------


def targets(benches: dict[str, Any]) -> str:
    body = []
    for doc in benches.values():
        for r in _rows(doc):
            if r.met is None or r.metric.startswith(CGROUP_ROW):
                continue
            figure = (
                r.engine
                + (f" vs {r.bare}" if r.bare else "")
                + (f" (ratio {r.ratio})" if r.ratio else "")
            )
            kind = "check" if r.check else "target"
            body.append([r.bench, r.metric, figure, f"{r.target} ({kind})", _met(r.met)])
    return _table(["bench", "what", "figure", "target", "status"], body)


def machine_section(summary: dict[str, Any]) -> str:
    m = summary["machine"]
    lines = [f"- {machine_line(m)}."]
    comp = summary["benches"].get("compare", {}).get("results", {})
    if comp.get("containerd_version"):
        lines.append(f"- containerd: {comp['containerd_version']}.")
    loads = [
        (
            name,
            doc["machine"].get("loadavg_start", [0])[0],
            doc["machine"].get("loadavg_end", [0])[0],
        )
        for name, doc in summary["benches"].items()
    ]
    if loads:
        lines.append(
            "- Load average (1 min) at the start and end of each benchmark: "
            + ", ".join(f"{n} {a:.1f} to {b:.1f}" for n, a, b in loads)
            + ". The machine is shared with other jobs."
        )
    took = ", ".join(f"{n} {d.get('duration_s', 0):.0f} s" for n, d in summary["benches"].items())
    lines.append(
        f"- The whole run took {summary['total_s']:.0f} s"
        f" ({'quick' if summary['quick'] else 'full'} run; {took}),"
        f" started {summary['started'][:19]}Z."
    )
    return "\n".join(lines)


def compare_section(doc: dict[str, Any]) -> str:
    res = doc["results"]
    names: list[str] = res["systems"]
    lc = res["lifecycle"]
    base = "engine-crun" if "engine-crun" in names else names[0]
    has_ctd = "containerd" in names
    header = ["system", "median", "p90", "CPU per lifecycle (mean)", f"vs {PLOT_LABELS[base]}"]
    if has_ctd:
        header.append("containerd is ... times slower")
    body = []
    for s in names:
        t = lc[s]["total"]
        row = [
            LABELS[s],
            _ms(t["median"]),
            _ms(t["p90"]),
            _ms(lc[s]["cpu"]["mean"]),
            f"{t['median'] / lc[base]['total']['median']:.2f}",
        ]
        if has_ctd:
            row.append(f"{lc['containerd']['total']['median'] / t['median']:.1f}")
        body.append(row)
    n = lc[names[0]]["total"]["n"]
    text = [
        f"Interleaved rounds: {n} measured lifecycles of each system after {res['warmup']}"
        " warm-up rounds, the order of the systems reversed every other round. CPU counts every"
        " process of the system: the engine process and the runtime processes it reaped; the"
        " bare runtime and the worker that spawned it; for containerd, ctr, the daemon, the"
        " shims and runc.",
        "",
        _table(header, body),
    ]
    return "\n".join(text)


def concurrency_plot(doc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: write the file only
    from matplotlib import pyplot as plt

    res = doc["results"]
    by_n = res["concurrency"]["by_n"]
    ns = sorted(by_n, key=int)
    fig, ax = plt.subplots(figsize=(7.6, 4.6))
    for s in res["systems"]:
        style = "-" if s.startswith("engine") else "--"
        ys = [by_n[n][s]["median"] * 1e3 for n in ns]
        ax.plot([int(n) for n in ns], ys, style, marker="o", label=PLOT_LABELS[s])
    ax.set(xscale="log", yscale="log", title="Lifecycle latency of /bin/true with N at once")
    ax.set(xlabel="lifecycles started at once (N)", ylabel="median latency (ms, log scale)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    # No date in the file: a rerun with the same figures leaves it unchanged in git.
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


def concurrency_section(doc: dict[str, Any], plot: str | None) -> str:
    res = doc["results"]
    names: list[str] = res["systems"]
    by_n = res["concurrency"]["by_n"]
    reps = res["concurrency"]["reps"]
    ns = sorted(by_n, key=int)
    body = []
    for n in ns:
        row = [n]
        for s in names:
            st = by_n[n][s]
            row.append(f"{st['median'] * 1e3:.0f} / {st['p90'] * 1e3:.0f}")
        if "containerd" in names and "engine-crun" in names:
            row.append(f"{by_n[n]['containerd']['median'] / by_n[n]['engine-crun']['median']:.1f}")
        body.append(row)
    header = ["N at once", *(f"{PLOT_LABELS[s]} (ms)" for s in names)]
    if "containerd" in names and "engine-crun" in names:
        header.append("containerd / engine (crun)")
    text = []
    if plot:
        text += [f"![Median lifecycle latency against the number started at once]({plot})", ""]
    text += [
        "Each cell: median / p90 of the lifecycles' latencies, each from the common start to"
        " that lifecycle's end. N = 1 is the interleaved rounds above; for N = "
        + ", ".join(f"{n} ({r} repetition{'s' if r > 1 else ''})" for n, r in reps.items())
        + " the systems took turns, one batch at a time, on the same 2 cores.",
        "",
        _table(header, body),
    ]
    return "\n".join(text)


def memory_section(doc: dict[str, Any]) -> str:
    res = doc["results"]
    em = res["memory_engine"]
    text = []
    if "memory_containerd" not in res:
        rss = em["after"]["rss"] / MIB
        return f"Engine RSS with {em['running']} running sleep tasks: {rss:.1f} MiB."
    cm = res["memory_containerd"]
    c_rss = cm["daemon"]["rss"] + cm["shims_rss"]
    c_pss = cm["daemon"]["pss"] + cm["shims_pss"]
    c_uss = cm["daemon"]["uss"] + cm["shims_uss"]
    body = [
        [
            f"engine process ({res.get('memory_engine_runtime', 'runc')}),"
            f" {em['running']} running `sleep` tasks",
            f"{em['after']['rss'] / MIB:.1f}",
            f"{em['after']['pss'] / MIB:.1f}",
            f"{em['after']['uss'] / MIB:.1f}",
        ],
        [
            f"containerd daemon, {cm['containers']} running `sleep` containers",
            f"{cm['daemon']['rss'] / MIB:.1f}",
            f"{cm['daemon']['pss'] / MIB:.1f}",
            f"{cm['daemon']['uss'] / MIB:.1f}",
        ],
        [
            f"its {cm['shims']} `containerd-shim-runc-v2` (median RSS each"
            f" {cm['shim_rss_median'] / MIB:.1f} MiB)",
            f"{cm['shims_rss'] / MIB:.1f}",
            f"{cm['shims_pss'] / MIB:.1f}",
            f"{cm['shims_uss'] / MIB:.1f}",
        ],
        [
            "**containerd + shims**",
            f"**{c_rss / MIB:.1f}**",
            f"**{c_pss / MIB:.1f}**",
            f"**{c_uss / MIB:.1f}**",
        ],
        [
            "containerd + shims / engine",
            f"{c_rss / em['after']['rss']:.1f}x",
            f"{c_pss / em['after']['pss']:.1f}x",
            f"{c_uss / em['after']['uss']:.1f}x",
        ],
    ]
    text += [
        _table(["", "RSS (MiB)", "PSS (MiB)", "USS (MiB)"], body),
        "",
        f"The engine's figure is its whole process (a fresh interpreter: Python, the engine,"
        f" psutil) holding {em['running']} tasks; it grew by"
        f" {em['rss_mib_per_task'] * 1024:.0f} KiB per task over the same process before them."
        " RSS counts shared pages once per process that maps them, which is how the 100 shims,"
        " one binary, add up; PSS divides shared pages among the processes mapping them; USS"
        " is what each process alone holds. The containers' own `sleep` processes are counted"
        " on neither side.",
    ]
    return "\n".join(text)


def lifecycle_section(doc: dict[str, Any]) -> str:
    res = doc["results"]
    arms = [
        ("engine_run", "engine: container create, `tasks.run`, wait, delete, container delete"),
        ("engine", "engine: container create, task create, start, wait, delete, container delete"),
        ("bare_run", "bare `run` (one command)"),
        ("bare_detach", "bare `run --detach`, wait, `delete --force`"),
        ("bare_steps", "bare `create`, `start`, wait, `delete --force`"),
    ]
    text = []
    for rt, r in res.items():
        il = r["interleaved"]
        body = []
        for key, label in arms:
            side = il[key]
            phases = [k for k in side if k not in ("total", "cpu_self", "cpu_children")]
            body.append(
                [
                    label,
                    _ms(side["total"]["median"]),
                    _ms(side["total"]["p90"]),
                    ", ".join(f"{p} {side[p]['median'] * 1e3:.1f}" for p in phases),
                    f"{side['cpu_self']['median'] * 1e3:.2f}"
                    f" / {side['cpu_children']['median'] * 1e3:.1f}",
                ]
            )
        med = {k: il[k]["total"]["median"] for k, _ in arms}
        floor = med["bare_detach"] / med["bare_run"]
        own = med["engine_run"] / med["bare_detach"]
        text += [
            f"**{rt}** ({il['engine']['total']['n']} interleaved rounds). Through `tasks.run`"
            f" the engine takes {med['engine_run'] / med['bare_run']:.2f} times as long as"
            f" `{rt} run`: the two commands it has the runtime run (`run --detach`, `delete`)"
            f" already take {floor:.2f} times as long as `run` when done by hand (the floor,"
            f" were the engine free), and the engine adds {100 * (own - 1):.0f}% to those,"
            f" {il['engine_run']['cpu_self']['median'] * 1e3:.1f} ms of its own CPU against"
            f" {il['bare_detach']['cpu_self']['median'] * 1e3:.1f} ms for the worker that"
            " spawns the same commands.",
            "",
            _table(
                [
                    "path",
                    "median",
                    "p90",
                    "phases, median (ms)",
                    "CPU ms: measuring process / its children",
                ],
                body,
            ),
            "",
        ]
    return "\n".join(text)


def rows_section(doc: dict[str, Any]) -> str:
    return markdown_table(_rows(doc))


def profile_section(doc: dict[str, Any]) -> str:
    res = doc["results"]
    text = [
        "The engine process's own CPU per `/bin/true` lifecycle, by API call (what runs while"
        " a call is awaited, reaper callbacks included, counts to it), then under cProfile"
        " for the `tasks.run` path: the engine functions with the most time in and below"
        " them, the functions and modules with the most self time. Microseconds per"
        ' lifecycle; "scaled" shares the unprofiled CPU out in proportion.',
        "",
    ]
    for rt, arms in res.items():
        for arm, r in arms.items():
            label = "`tasks.run`" if arm == "run" else "create + start"
            calls = ", ".join(f"`{c}` {us:.0f}" for c, us in r["cpu_by_call_us"].items())
            text += [
                f"**{rt}, {label}**: {r['cpu_per_lifecycle_us']:.0f} us of engine CPU per"
                f" lifecycle ({r['lifecycles']} lifecycles); by API call (us): {calls}."
                f" Under the profiler: {r['profiled_cpu_per_lifecycle_us']:.0f} us.",
                "",
            ]
            if arm != "run":
                continue
            body = [
                [
                    f"`{it['where']}`",
                    f"{it['us_scaled']:.0f}",
                    f"{it['us']:.0f}",
                    f"{it['calls']:g}",
                ]
                for it in r["top_engine_cumulative"][:12]
            ]
            text += [
                _table(
                    ["engine function (time in it and below)", "us scaled", "us profiled", "calls"],
                    body,
                ),
                "",
            ]
            body = [
                [
                    f"`{it['where']}`",
                    f"{it['us_scaled']:.0f}",
                    f"{it['us']:.0f}",
                    f"{it['calls']:g}",
                ]
                for it in r["top_self"][:10]
            ]
            text += [
                _table(["function (self time)", "us scaled", "us profiled", "calls"], body),
                "",
            ]
            body = [[m["module"], f"{m['us_scaled']:.0f}"] for m in r["by_module"][:10]]
            text += [_table(["module (self time)", "us scaled"], body), ""]
    return "\n".join(text)


CGROUP_ROW = "engine cgroup directories left"

CGROUP_CAUSE = (
    "The engine names a relative `cgroupsPath`, `shimdeck-<hash of root>/<id>`. runc puts it"
    " under its own cgroup in each hierarchy; crun 1.8 on cgroup v1 puts it under the"
    " hierarchy's root. The engine's `remove_empty` looks under its own cgroup, so wherever"
    " the engine's cgroup is not the root (here: the memory hierarchy), the directory crun"
    " made stays after `Engine.close`, one per engine root. (The tasks' memory cgroups are"
    " then outside the engine's own memory cgroup, too.)"
)


def defects(benches: dict[str, Any]) -> str:
    """What this run found wrong, from the rows and the clean-up reports."""
    items = []
    cgroups: dict[str, int] = {}
    for name, doc in benches.items():
        for r in _rows(doc):
            if r.metric.startswith(CGROUP_ROW) and r.met is False:
                cgroups[name] = len(doc.get("cleanup", {}).get("engine_cgroups_left", [])) or 1
            elif r.met is False and r.check:
                items.append(f"- **{name}**: {r.metric}: {r.engine}.")
        cleanup = doc.get("cleanup", {})
        if not cleanup.get("clean", True):
            items.append(f"- **{name}** left things behind (removed afterwards): {cleanup}.")
    if any("tasks.run" in i for i in items):
        items.append(
            "- **Why `tasks.run` gets a wrong status** on crun: `crun run --detach` (1.8) can"
            " return before its intermediate process, the"
            " init's parent, has exited; until then the init is not the engine's child. When"
            " a short task exits in that window, `waitid` on its pidfd fails with ECHILD and"
            " the engine reports exit status 255 (unknown) instead of the real one."
        )
    if cgroups:
        listed = ", ".join(f"{n} {c}" for n, c in cgroups.items())
        items.append(
            f"- **Engine cgroup directories left** after `Engine.close` (the bench removed"
            f" them): {listed}. {CGROUP_CAUSE}"
        )
    return "\n".join(items) if items else "Nothing: every check passed and nothing was left behind."


# -- the document ------------------------------------------------------------------------------

METHOD = """\
- **Interleaved rounds.** Each round runs every side once, the order reversed every other
  round; warm-up rounds are dropped. Every side sees the same background load, which on this
  shared machine moves the figures more than the differences between the sides do. Medians
  and ratios of medians, never lone times.
- **The bare side runs in its own process** (`bench/_worker.py`): the engine owns child
  reaping in its process. The worker spawns the runtime with `posix_spawn`, as the engine
  does, is a child subreaper like the engine, and times each request itself.
- **containerd** (`bench/_containerd.py`): Debian's containerd 1.6, started by the bench with
  a generated config (root, state and the gRPC socket in the run's private directory, the CRI
  plugin and unused snapshotters disabled), on the default overlayfs snapshotter and the
  runc shim (`io.containerd.runc.v2`) with the default runc, its runc root in the private
  directory too. No registry is reachable, so the bench builds a one-layer OCI image of the
  same busybox rootfs and loads it with `ctr images import`. A lifecycle is
  `ctr run --rm --null-io IMAGE ID /bin/true` (no FIFOs to copy: if anything, in
  containerd's favour, as the engine does capture its tasks' output). The daemon is started
  by a worker process, so that its shims, which it double-forks, become that worker's
  children, not the engine's. At the end the bench stops it, unmounts anything left under
  its directory (nothing must be), removes the directory and the namespace's cgroups, and
  checks that no shim is left.
- **Memory**: `psutil` RSS, PSS and USS, after 100 `sleep` containers have run 0.2 to 0.5 s.
  The engine's figure comes from a fresh interpreter, since freed Python memory stays in a
  process.
- **CPU**: `getrusage` of the measuring process and of the children it reaped, and for
  containerd `/proc/<pid>/stat` of the daemon (with its reaped children). Background load
  moves CPU per operation much less than wall time.
- **The profile** (`bench/engine_profile.py`): cProfile on `time.process_time`, so time the
  engine spends blocked counts as nothing. The profiler slows Python more than C, so the
  "scaled" column shares the unprofiled CPU out in proportion to the profiled times.
- **Workspaces on tmpfs** (`/dev/shm`, or `$SHIMDECK_BENCH_TMP`), containerd's directory
  included: on this machine `/run` and `/tmp` are on the root ext4, where creating a file
  costs from 0.02 ms to 0.5 ms depending on the minute.
- **Clean-up is checked.** After each benchmark: `<rt> --root R list -q` empty for every
  root used, no cgroup with the run's prefix, no child process or zombie, the temporary
  directory gone; for containerd, no shim, mount or cgroup left. A benchmark that leaves
  something removes it and exits non-zero. Cgroup directories the engine leaves are
  reported as an engine defect (and removed).
- **UI responsiveness** is measured by `bench/ui.py` when it exists (same conventions as the
  others: `python -m bench.ui [--quick] [--runtimes ...] --out FILE` writes JSON with `rows`);
  `python -m bench` includes it and this page shows its rows."""

CAVEATS = """\
- Absolute times move by up to 2x with the machine's load (see the load averages above);
  compare ratios, or CPU per operation, more than times.
- Exit-latency p99 rests on 300 samples in a full run (100 in a quick run).
- A quick run (`--quick`) uses fewer rounds, one repetition per concurrency level, an 8 MiB
  console flood instead of 64 MiB, and no profile; its figures are noisier."""


def render(summary: dict[str, Any], plot: str | None) -> str:
    b = summary["benches"]
    quick = summary["quick"]
    out = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python -m bench` (bench/report.py): edit that, not this file. -->",
        "",
        "shimdeck's in-process engine against bare runc and crun and against containerd 1.6:"
        " the lifecycle of a `/bin/true` container, alone and up to 100 at once, memory with"
        " 100 running containers, exec and exit-event latency, console throughput"
        + (", UI responsiveness" if "ui" in b else "")
        + ". Every comparison ran interleaved in one run"
        + (" (a **quick** run: fewer rounds)" if quick else "")
        + ".",
        "",
        "## Targets",
        "",
        targets(b),
        "",
        "## Reproduce",
        "",
        "As root, from the repository root, after `make setup` and"
        " `apt-get install -y containerd` (the bench starts and stops its own containerd;"
        " without it the containerd figures are left out):",
        "",
        "```sh",
        ".venv/bin/python -m bench            # everything; writes docs/benchmarks.md and the plot",
        ".venv/bin/python -m bench --quick    # a short run: bench/results/benchmarks-quick.md",
        ".venv/bin/python -m bench.compare    # one benchmark; also lifecycle, exec_latency,",
        "                                     # exit_latency, console, checkpoint,",
        "                                     # engine_profile",
        ".venv/bin/python -m bench.report     # this page again from bench/results/summary.json",
        "# options: --quick, --runtimes runc,crun, --rounds N (one benchmark), --only a,b (all)",
        "```",
        "",
        "Each benchmark writes `bench/results/<name>[-quick].json` (every sample summary, the"
        " machine, the engine's commit and a digest of `runtime/*.py`, the load before and"
        " after, a clean-up report); `python -m bench` adds `summary[-quick].json`.",
        "",
        "## Machine",
        "",
        machine_section(summary),
        "",
    ]
    if "compare" in b:
        out += [
            "## Lifecycle: the engine, bare runtimes and containerd",
            "",
            compare_section(b["compare"]),
            "",
            "## Lifecycle latency with N at once",
            "",
            concurrency_section(b["compare"], plot),
            "",
            "## Memory with 100 running containers",
            "",
            memory_section(b["compare"]),
            "",
        ]
    if "lifecycle" in b:
        out += [
            "## Engine against the bare runtime, path by path",
            "",
            "The engine's two ways through a task's life against the bare runtime commands"
            " that do the same, interleaved (`bench/lifecycle.py`), and 100 tasks at once and"
            " memory per task:",
            "",
            lifecycle_section(b["lifecycle"]),
            rows_section(b["lifecycle"]),
            "",
        ]
    for name, title in (
        ("exec_latency", "Exec latency"),
        ("exit_latency", "Exit-event latency"),
        ("console", "Console throughput"),
        ("checkpoint", "Checkpoint and restore (CRIU)"),
    ):
        if name in b:
            out += [f"## {title}", "", rows_section(b[name]), ""]
    out += ["## UI responsiveness", ""]
    ui_failed = [f for f in summary.get("failed") or [] if f.startswith("ui ")]
    if "ui" in b:
        out += [rows_section(b["ui"]), ""]
    elif ui_failed:
        out += [f"`bench/ui.py` failed in this run ({ui_failed[0]}): no figures.", ""]
    else:
        out += [
            "Not measured in this run (`bench/ui.py` does not exist yet; `python -m bench`"
            " picks it up when it does).",
            "",
        ]
    if "engine_profile" in b:
        out += [
            "## Where the engine's CPU goes",
            "",
            profile_section(b["engine_profile"]),
        ]
    failed = summary.get("failed") or []
    out += [
        "## Defects and leftovers found by this run",
        "",
        defects(b),
        "",
    ]
    if failed:
        out += [f"Benchmarks that exited non-zero: {', '.join(failed)}.", ""]
    out += ["## Method", "", METHOD, "", "## Caveats", "", CAVEATS, ""]
    return "\n".join(out)


def write(summary: dict[str, Any], doc: Path, plot_dir: Path | None = None) -> Path:
    """Write the page to ``doc`` and, when the comparison ran, its plot beside it."""
    plot_name = None
    if "compare" in summary["benches"]:
        plot_dir = plot_dir or doc.parent
        plot_name = doc.stem.replace("benchmarks", "benchmarks-concurrency") + ".svg"
        if doc == DOC:
            plot_name = PLOT
        concurrency_plot(summary["benches"]["compare"], plot_dir / plot_name)
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(render(summary, plot_name))
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("summary", nargs="?", type=Path, default=RESULTS_DIR / "summary.json")
    parser.add_argument("--doc", type=Path, default=None, help="where to write (default: docs/)")
    args = parser.parse_args(argv)
    summary = json.loads(args.summary.read_text())
    doc = args.doc or (RESULTS_DIR / "benchmarks-quick.md" if summary["quick"] else DOC)
    print(write(summary, doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
