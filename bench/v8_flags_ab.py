#!/usr/bin/env python3
"""Same-run A/B: `node dist/cli/main.js serve` as a user starts it, re-executed with the tuned V8 flags
(src/cli/node-flags.ts), against the same command with HANGAR_NODE_RELAUNCH=0 (no flags: what the
`hangar` binary ran before). Puts of bench/put_get.py's frame alternate between the two servers
(fresh local stores, fsync on), after one warm-up put each; also reports start-up to the listening
line and the server process's CPU seconds per put (the re-executed child's, read from /proc).

Usage: .venv-interop/bin/python bench/v8_flags_ab.py [--rows N] [--runs N] [--json PATH]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.flight as flight

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_get import MB, REPO, git_commit, make_table, read_cpu_seconds  # noqa: E402
from compare import put  # noqa: E402


def start(label: str, workdir: Path, env: dict[str, str]) -> dict:
    started = time.perf_counter()
    proc = subprocess.Popen(["node", str(REPO / "dist" / "cli" / "main.js"), "serve", "--port", "0", "--data", str(workdir / label)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **env})
    line = proc.stdout.readline().decode()
    listening = time.perf_counter() - started
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    server_pid = int(children[0]) if children else proc.pid
    argv = Path(f"/proc/{server_pid}/cmdline").read_bytes().split(b"\0")
    return {"label": label, "proc": proc, "server_pid": server_pid, "startup_s": listening,
            "node_args": [a.decode() for a in argv[1:argv.index(str(REPO / "dist" / "cli" / "main.js").encode())]] if str(REPO / "dist" / "cli" / "main.js").encode() in argv else [a.decode() for a in argv],
            "client": flight.connect(line.split(" listening on ", 1)[1].strip())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    table = make_table(args.rows)
    workdir = Path(tempfile.mkdtemp(prefix="hangar-v8-ab-"))
    load_start = os.getloadavg()
    servers = [start("relaunched", workdir, {}), start("no_flags", workdir, {"HANGAR_NODE_RELAUNCH": "0"})]
    results = {s["label"]: {"seconds": [], "server_cpu_s": [], "startup_s": s["startup_s"], "node_args": s["node_args"]} for s in servers}
    try:
        for run in range(-1, args.runs):
            for server in servers if run % 2 == 0 else reversed(servers):
                cpu = read_cpu_seconds(server["server_pid"]) or 0.0
                started = time.perf_counter()
                put(server["client"], table, "ab")
                seconds = time.perf_counter() - started
                if run >= 0:
                    results[server["label"]]["seconds"].append(seconds)
                    results[server["label"]]["server_cpu_s"].append((read_cpu_seconds(server["server_pid"]) or 0.0) - cpu)
                    print(f"run {run + 1}/{args.runs} {server['label']:10} {seconds:6.3f} s  {table.nbytes / MB / seconds:6.0f} MB/s", flush=True)
    finally:
        for server in servers:
            server["client"].close()
            server["proc"].terminate()
            server["proc"].wait(30)
        shutil.rmtree(workdir, ignore_errors=True)
    for label, entry in results.items():
        entry["median_s"] = statistics.median(entry["seconds"])
        entry["median_server_cpu_s"] = statistics.median(entry["server_cpu_s"])
        print(f"{label:10} node args {entry['node_args']}: put median {entry['median_s']:.3f} s "
              f"({min(entry['seconds']):.3f}-{max(entry['seconds']):.3f}), server CPU {entry['median_server_cpu_s']:.2f} s, "
              f"start-up {entry['startup_s']:.2f} s")
    ratio = results["relaunched"]["median_s"] / results["no_flags"]["median_s"]
    print(f"relaunched ÷ no flags: {ratio:.2f}×; load average {load_start} → {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "v8_flags_ab", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                                         "git_commit": git_commit(), "rows": args.rows, "table_nbytes": table.nbytes,
                                         "loadavg_at_start": load_start, "loadavg_at_end": os.getloadavg(),
                                         "cpus": os.cpu_count(), "results": results, "relaunched_over_no_flags": ratio}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
