#!/usr/bin/env python3
"""DoGet's transport ceiling: grpc-js, a bare node:http2 server and Hangar's own gRPC transport
(bench/transport_ceiling.mjs) serve the same FlightData from memory to a stock pyarrow client.

Usage: python bench/transport_ceiling.py [--rows N] [--runs N]   (needs `npm run build`)
Runs alternate between the transports after one warm-up get each; medians are printed, with the
server process's CPU seconds per get (both transports live in one process, used one at a time).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

import pyarrow.flight as flight

REPO = Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks of 1/100 s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    server = subprocess.Popen(
        ["node", "--single-threaded-gc", str(REPO / "bench" / "transport_ceiling.mjs"), str(args.rows)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        ports = json.loads(server.stdout.readline())
        print(f"{ports['messages']} messages, {ports['bytes']:,} bytes of IPC")
        clients = {name: flight.connect(f"grpc://127.0.0.1:{ports[name]}") for name in ("grpc", "http2", "hangar")}
        seconds: dict[str, list[float]] = {name: [] for name in clients}
        cpu: dict[str, list[float]] = {name: [] for name in clients}
        for name, client in clients.items():
            client.do_get(flight.Ticket(b"warm-up")).read_all()
        for run in range(args.runs):
            for name, client in (clients.items() if run % 2 == 0 else reversed(list(clients.items()))):
                before = cpu_seconds(server.pid)
                started = time.perf_counter()
                table = client.do_get(flight.Ticket(b"get")).read_all()
                seconds[name].append(time.perf_counter() - started)
                cpu[name].append(cpu_seconds(server.pid) - before)
                assert table.num_rows == args.rows, table.num_rows
        for name in clients:
            median = statistics.median(seconds[name])
            print(f"{name:6} get median {median:.3f} s  {ports['bytes'] / median / 1e6:,.0f} MB/s  "
                  f"server CPU {statistics.median(cpu[name]):.2f} s  (runs: {', '.join(f'{s:.3f}' for s in seconds[name])})")
        for name in ("http2", "hangar"):
            ratio = statistics.median(seconds[name]) / statistics.median(seconds["grpc"])
            print(f"{name} / grpc-js time: {ratio:.2f}")
    finally:
        server.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
