#!/usr/bin/env python3
"""Same-run A/B of the two storage layouts through the server: W2 (put, mode replace) and W1 (get)
of bench:compare's frame (bench/compare.py's build_table: ts, f0..f3, category; --columns/--strings
as there), against Hangar servers of this build on local-directory stores, two with the Delta log
(HANGAR_LAYOUT=delta: D1, D2) and two with the manifest layout (HANGAR_LAYOUT=manifest: M1, M2).

D1/M1 and D2/M2 are the A/B pairs; M2/M1 and D2/D1 are A/A pairs (the same layout twice), whose
spread is the noise the A/B ratios must be read against. Every server gets one untimed put and get;
then each run puts and gets the frame on every server in turn, the order reversed on every other
run (M1 D1 M2 D2, then D2 M2 D1 M1), so drift on a shared machine hits all alike. Each call is
timed by the client (wall) and by the server's CPU time (/proc/<pid>/stat). The load average is
recorded at each run's start. Prints each run and the medians; --json writes them.

Usage: npm run build && .venv-interop/bin/python bench/layout_ab.py [--rows N] [--runs N] [--json PATH]
(issue 20's bound: no W1/W2 regression beyond 10 % under the Delta log). A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.flight as flight

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import FRAME, Server, build_table, get, put, timed_call  # noqa: E402
from put_get import git_commit  # noqa: E402

CONFIGS = (("M1", "manifest"), ("D1", "delta"), ("M2", "manifest"), ("D2", "delta"))
PAIRS = {"D1/M1": ("D1", "M1"), "D2/M2": ("D2", "M2"), "A/A M2/M1": ("M2", "M1"), "A/A D2/D1": ("D2", "D1")}


def start(label: str, layout: str, workdir: Path) -> Server:
    """A `hangar serve` of this build (dist/) with the layout chosen by HANGAR_LAYOUT."""
    previous = os.environ.get("HANGAR_LAYOUT")
    os.environ["HANGAR_LAYOUT"] = layout
    try:
        directory = workdir / label
        directory.mkdir()
        return Server("hangar", directory, [])
    finally:
        if previous is None:
            os.environ.pop("HANGAR_LAYOUT", None)
        else:
            os.environ["HANGAR_LAYOUT"] = previous


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in the frame (default 10,000,000, as bench:compare)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs (default 7)")
    parser.add_argument("--columns", type=int, default=6, help="columns in all, as bench/compare.py --columns (default 6)")
    parser.add_argument("--strings", action="store_true", help="add bench/compare.py's utf8 column `label`")
    parser.add_argument("--settle", type=float, default=1.0, help="pause before each call (default 1 s)")
    parser.add_argument("--json", type=Path, help="write the runs and medians here")
    args = parser.parse_args()

    table = build_table(args.rows, args.columns, args.strings)
    workdir = Path(tempfile.mkdtemp(prefix="hangar-layout-ab-"))
    servers: dict[str, Server] = {}
    calls: dict[str, dict[str, list[dict]]] = {label: {"put": [], "get": []} for label, _ in CONFIGS}
    loads: list[str] = []
    try:
        for label, layout in CONFIGS:
            servers[label] = start(label, layout, workdir)
        clients = {label: flight.connect(server.location) for label, server in servers.items()}
        for label, server in servers.items():  # warm-up, and a check that each layout is the one asked for
            put(clients[label], table, FRAME)
            assert get(clients[label], FRAME).num_rows == table.num_rows, label
            frame_dir = server.data / "default" / FRAME
            wanted = "_delta_log" if label.startswith("D") else "manifests"
            assert (frame_dir / wanted).is_dir(), f"{label}: no {wanted} under {frame_dir}"
        print(f"{args.rows:,} rows, {table.nbytes / 1e6:,.0f} MB, {args.runs} runs, build {git_commit()}, store {workdir}", flush=True)
        for run in range(args.runs):
            order = [label for label, _ in CONFIGS]
            if run % 2:
                order.reverse()
            loads.append(load())
            line = []
            for label in order:
                server, client = servers[label], clients[label]
                put_call = timed_call(server, lambda: put(client, table, FRAME), args.settle)
                get_call = timed_call(server, lambda: get(client, FRAME), args.settle)
                if get_call["rows"] != table.num_rows:
                    raise RuntimeError(f"{label}: get returned {get_call['rows']} rows, not {table.num_rows}")
                calls[label]["put"].append(put_call)
                calls[label]["get"].append(get_call)
                line.append(f"{label} put {put_call['seconds']:.3f} get {get_call['seconds']:.3f}")
            print(f"run {run + 1}/{args.runs} (load {loads[-1]}): " + "  ".join(line), flush=True)
        for client in clients.values():
            client.close()
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    medians = {label: {op: {"wall_s": statistics.median(c["seconds"] for c in runs),
                            "server_cpu_s": statistics.median(c["server_cpu_seconds"] for c in runs)}
                       for op, runs in ops.items()} for label, ops in calls.items()}
    ratios = {name: {op: {measure: medians[a][op][measure] / medians[b][op][measure] for measure in ("wall_s", "server_cpu_s")}
                     for op in ("put", "get")} for name, (a, b) in PAIRS.items()}
    pooled = {op: {measure: statistics.median([c[key] for label in ("D1", "D2") for c in calls[label][op]])
                   / statistics.median([c[key] for label in ("M1", "M2") for c in calls[label][op]])
                   for measure, key in (("wall_s", "seconds"), ("server_cpu_s", "server_cpu_seconds"))}
              for op in ("put", "get")}
    print("medians (wall s / server CPU s):")
    for label, ops in medians.items():
        print(f"  {label}: put {ops['put']['wall_s']:.3f} / {ops['put']['server_cpu_s']:.3f}   get {ops['get']['wall_s']:.3f} / {ops['get']['server_cpu_s']:.3f}")
    print("ratios (wall / server CPU):")
    for name, ops in {**ratios, "Delta/manifest pooled": pooled}.items():
        print(f"  {name:>22}: put {ops['put']['wall_s']:.3f} / {ops['put']['server_cpu_s']:.3f}   get {ops['get']['wall_s']:.3f} / {ops['get']['server_cpu_s']:.3f}")
    print(f"load average at each run's start: {', '.join(loads)}")
    if args.json:
        args.json.write_text(json.dumps({
            "bench": "layout_ab", "build": git_commit(), "rows": args.rows, "runs": args.runs, "columns": args.columns,
            "strings": args.strings, "frame_bytes": table.nbytes, "loads": loads, "medians": medians, "ratios": ratios,
            "pooled": pooled, "calls": {label: {op: [{k: v for k, v in c.items() if k in ("seconds", "server_cpu_seconds", "rows")} for c in runs]
                                                for op, runs in ops.items()} for label, ops in calls.items()},
        }, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
