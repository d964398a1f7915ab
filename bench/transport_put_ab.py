"""A/B of the gRPC server's request path: DoPut of the put_get frame (ts, four float64, int32;
64K-row batches, so each message spans several HTTP/2 DATA frames) from a stock pyarrow client into
two builds of Hangar. Per build: the transport alone (bench/transport_put_sink.mjs: messages read
and counted, nothing stored) and the whole server (`hangar serve --data memory:`). Runs alternate
A, B, A, B... so drift hits both; prints medians and each run.

Usage: .venv-interop/bin/python bench/transport_put_ab.py --a REPO_A --b REPO_B [--rows N] [--runs N] [--only transport|server]
(each REPO has a built dist/ and node_modules/)."""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight

HERE = Path(__file__).resolve().parent
NODE_FLAGS = ["--single-threaded-gc", "--initial-old-space-size=256"]


def make_table(rows: int) -> pa.Table:
    rng = np.random.default_rng(7)
    ts = pa.array(1_700_000_000_000_000 + np.arange(rows, dtype=np.int64) * 1_000_000, pa.timestamp("us"))
    return pa.table({
        "ts": ts,
        **{f"f{i}": rng.random(rows) for i in range(4)},
        "category": pa.array((np.arange(rows) % 100).astype(np.int32)),
    })


def start(cmd: list[str], cwd: Path, marker: str | None) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    location = line.split(" listening on ", 1)[1] if marker else f"grpc://127.0.0.1:{line}"
    return proc, location


def put_seconds(location: str, table: pa.Table, chunk_rows: int = 65_536) -> float:
    client = flight.connect(location)
    command = json.dumps({"name": "ab", "mode": "replace", "bucket": None}).encode()
    started = time.perf_counter()
    writer, _ = client.do_put(flight.FlightDescriptor.for_command(command), table.schema)
    writer.write_table(table, max_chunksize=chunk_rows)
    writer.close()
    seconds = time.perf_counter() - started
    client.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--a", type=Path, required=True)
    parser.add_argument("--b", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", choices=("transport", "server"), help="run one of the two modes")
    args = parser.parse_args()
    table = make_table(args.rows)
    mib = table.nbytes / 2**20
    print(f"{args.rows:,} rows, {mib:.0f} MiB; A={args.a} B={args.b}")
    for mode in (args.only,) if args.only else ("transport", "server"):
        servers = {}
        for name, repo in (("A", args.a), ("B", args.b)):
            if mode == "transport":
                servers[name] = start(["node", *NODE_FLAGS, str(HERE / "transport_put_sink.mjs"), str(repo / "dist")], repo, None)
            else:
                cmd = ["node", *NODE_FLAGS, str(repo / "dist/cli/main.js"), "serve", "--port", "0", "--data", "memory:"]
                servers[name] = start(cmd, repo, "listening")
        try:
            for name in ("A", "B"):
                put_seconds(servers[name][1], table)  # warm-up
            times: dict[str, list[float]] = {"A": [], "B": []}
            for _ in range(args.runs):
                for name in ("A", "B"):
                    times[name].append(put_seconds(servers[name][1], table))
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait()
        for name in ("A", "B"):
            median = statistics.median(times[name])
            print(f"{mode:9s} {name}: median {median:.3f} s ({mib / median / 1024:.2f} GiB/s); runs {', '.join(f'{t:.3f}' for t in times[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
