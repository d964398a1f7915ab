#!/usr/bin/env python3
"""Same-run A/B of the resample action through real servers (issue 23, W4), by server CPU.

Starts one `hangar serve` (npm start's two V8 flags, a fresh local store each) per build given
(`DIR` = a built checkout; the same one twice is the A/A pair), puts W4's numeric frame (ts µs 1 s
apart, f0..f3 float64, 64Ki-row batches) into each with a stock pyarrow client, then sends shoots'
resample body (1-minute mean into a target, mode replace) to each in turn, the order rotating, two
warm-up calls then --runs timed ones. Per call it records the wall time and the server's CPU time
(user + system of every thread, from /proc, in clock ticks: 10 ms here), which a loaded machine
disturbs far less than the wall time. Prints the medians and the load average.

  npm run build && .venv-interop/bin/python bench/resample_server_ab.py /tmp/base /tmp/base . . --rows 10000000 --runs 9
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight

FLAGS = ["--single-threaded-gc", "--initial-old-space-size=256"]
TICK = os.sysconf("SC_CLK_TCK")


def server_cpu(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def start(build: str, data: str) -> tuple[subprocess.Popen, flight.FlightClient]:
    proc = subprocess.Popen(["node", *FLAGS, os.path.join(build, "dist", "cli", "main.js"), "serve", "--host", "127.0.0.1",
                             "--port", "0", "--data", data], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if " listening on " in line:
            location = line.split(" listening on ", 1)[1].strip()
            break
    else:
        raise RuntimeError(f"{build}: the server did not start")
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, flight.FlightClient(location)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("builds", nargs="+", help="built checkouts (a directory holding dist/)")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--aggregation", default="mean")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    ts = (np.int64(1_704_067_200_000_000) + np.arange(args.rows, dtype=np.int64) * 1_000_000).astype("datetime64[us]")
    table = pa.table({"ts": ts, **{f"f{i}": rng.standard_normal(args.rows) for i in range(4)}})
    body = json.dumps({"source": "numeric", "target": "numeric_1min", "rule": "1min", "time_col": "ts",
                       "aggregation_func": args.aggregation, "mode": "replace", "source_bucket": None, "target_bucket": None}).encode()
    servers = []
    try:
        for build in args.builds:
            data = tempfile.mkdtemp(prefix="resample-server-ab-")
            proc, client = start(build, data)
            servers.append({"build": build, "proc": proc, "client": client, "data": data, "wall": [], "cpu": []})
            command = json.dumps({"name": "numeric", "mode": "replace", "bucket": None}).encode()
            writer, _ = client.do_put(flight.FlightDescriptor.for_command(command), table.schema)
            writer.write_table(table, max_chunksize=65_536)
            writer.close()
        load_before = os.getloadavg()[0]
        for run in range(-2, args.runs):
            shift = run % len(servers)
            for server in servers[shift:] + servers[:shift]:
                cpu = server_cpu(server["proc"].pid)
                started = time.perf_counter()
                list(server["client"].do_action(flight.Action("resample", body)))
                if run >= 0:
                    server["wall"].append(time.perf_counter() - started)
                    server["cpu"].append(server_cpu(server["proc"].pid) - cpu)
        print(f"resample 1min {args.aggregation} of {args.rows:,} rows through the server, {args.runs} runs each; "
              f"load {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
        for i, server in enumerate(servers):
            wall, cpu = server["wall"], server["cpu"]
            print(f"  {i} {server['build']}: wall median {statistics.median(wall) * 1000:.1f} ms (least {min(wall) * 1000:.1f}); "
                  f"server CPU median {statistics.median(cpu) * 1000:.0f} ms (least {min(cpu) * 1000:.0f})")
    finally:
        for server in servers:
            server["proc"].terminate()
            server["proc"].wait()
            subprocess.run(["rm", "-rf", server["data"]], check=False)


if __name__ == "__main__":
    main()
