"""One frame read whole over Flight (pyarrow's DoGet) and over the HTTP API (Arrow stream, CSV, JSON).

Starts `hangar serve --http-port 0` on the in-memory store, puts a frame of --rows rows (int64 key,
float64 value, a timestamp: 24 bytes a row), then alternates the reads --runs times and reports the
median, min and max seconds and Arrow MB/s of each. The read cache is on (the default), so after the
first read both APIs serve decoded segments from memory: the difference is the transport and the
encoding. Usage: `npm run build && .venv-interop/bin/python bench/http_vs_flight.py [--rows N] [--runs N] [--json PATH]`.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pyarrow.ipc
import requests

ROOT = Path(__file__).resolve().parents[1]


def start_server() -> tuple[subprocess.Popen, str, str]:
    proc = subprocess.Popen(
        ["node", "--single-threaded-gc", "--initial-old-space-size=256", str(ROOT / "dist/cli/main.js"), "serve", "--port", "0", "--http-port", "0", "--data", "memory:"],
        stdout=subprocess.PIPE,
        text=True,
    )
    flight = re.match(r"hangar listening on (\S+)", proc.stdout.readline()).group(1)
    http = re.match(r"http listening on (\S+)", proc.stdout.readline()).group(1)
    return proc, flight, http


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--text-rows", type=int, default=1_000_000, help="rows read as CSV and JSON (text formats are slower)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    proc, location, http = start_server()
    try:
        n = args.rows
        table = pa.table(
            {
                "ts": pa.array(np.arange(n, dtype="int64") * 1_000_000_000, pa.timestamp("ns")),
                "key": pa.array(np.arange(n, dtype="int64")),
                "value": pa.array(np.random.default_rng(1).random(n)),
            }
        )
        arrow_bytes = table.nbytes
        client = fl.connect(location)
        writer, _ = client.do_put(fl.FlightDescriptor.for_path("bench"), table.schema)
        writer.write_table(table, max_chunksize=1 << 20)
        writer.close()
        del table
        url = f"{http}/api/v1/buckets/default/frames/bench/data"

        def flight_get() -> int:
            info = client.get_flight_info(fl.FlightDescriptor.for_path("bench"))
            return client.do_get(info.endpoints[0].ticket).read_all().num_rows

        def http_arrow() -> int:
            with requests.get(url, stream=True, headers={"Accept": "application/vnd.apache.arrow.stream"}) as response:
                return pyarrow.ipc.open_stream(response.raw).read_all().num_rows

        def http_text(format: str) -> int:
            with requests.get(f"{url}?format={format}&limit={args.text_rows}", stream=True) as response:
                return sum(chunk.count(b"\n") for chunk in response.iter_content(1 << 20))

        cases = {
            "flight_doget": (flight_get, arrow_bytes),
            "http_arrow": (http_arrow, arrow_bytes),
            "http_csv": (lambda: http_text("csv"), arrow_bytes * args.text_rows // n),
            "http_json": (lambda: http_text("json"), arrow_bytes * args.text_rows // n),
        }
        for fn, _ in cases.values():
            fn()  # warm: the read cache, DuckDB-free paths, parquet-wasm not involved
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (fn, _) in cases.items():
                started = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - started)
        results = {}
        for name, (_, size) in cases.items():
            median = statistics.median(times[name])
            results[name] = {
                "median_s": round(median, 3),
                "min_s": round(min(times[name]), 3),
                "max_s": round(max(times[name]), 3),
                "arrow_mb_per_s": round(size / 1e6 / median, 1),
                "rows": n if name in ("flight_doget", "http_arrow") else args.text_rows,
            }
            print(f"{name:14} median {median:6.3f} s  (min {min(times[name]):.3f}, max {max(times[name]):.3f})  {size / 1e6 / median:7.1f} MB/s of Arrow data")
        if args.json:
            args.json.write_text(json.dumps({"rows": n, "arrow_bytes": arrow_bytes, "runs": args.runs, "results": results}, indent=2) + "\n")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


if __name__ == "__main__":
    sys.exit(main())
