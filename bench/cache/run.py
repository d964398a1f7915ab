"""bench/cache: what the pull-on-demand cache of hangar-client (clients/python) saves.

A frame of --rows rows (ts + 4 float64 + int64, 48 bytes a row) is put; then, each --repeats times:
a full get without cache; an unchanged cached read (one stat call, served from disk); an append of
--append rows followed by a synced cached read (stat + the appended rows only). Reports medians and
min–max of each, the bytes each read received, and the ratios the issue sets goals for (a synced read
after an append: < 1 % of the frame's bytes, < 10 % of a full get's time; unchanged: < 5 ms).

    .venv-interop/bin/python bench/cache/run.py [--rows 10000000] [--append 1000] [--repeats 5] [--json out.json]

It starts its own server (node dist/cli/main.js serve on a temporary local store) unless --server is given.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from hangar_client import Hangar

ROOT = Path(__file__).resolve().parents[2]


def frame(start: int, rows: int) -> pa.Table:
    index = np.arange(start, start + rows, dtype=np.int64)
    columns = {"ts": pa.array(index * 1_000_000_000, pa.timestamp("ns"))}
    rng = np.random.default_rng(start)
    for c in "abcd":
        columns[c] = pa.array(rng.random(rows))
    columns["n"] = pa.array(index)
    return pa.table(columns)


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--append", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--server")
    parser.add_argument("--json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hangar-bench-cache-") as tmp:
        server = None
        location = args.server
        if location is None:
            server = subprocess.Popen(
                ["node", "--single-threaded-gc", "--initial-old-space-size=256", str(ROOT / "dist/cli/main.js"), "serve",
                 "--host", "127.0.0.1", "--port", "0", "--data", str(Path(tmp) / "store")],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )
            line = server.stdout.readline()
            match = re.search(r"(grpc://\S+)", line)
            assert match, line
            location = match.group(1)
        try:
            plain = Hangar(location)
            cached = Hangar(location, cache_dir=Path(tmp) / "cache")
            started = time.perf_counter()
            plain.put("bench", frame(0, args.rows), mode="replace")
            put_s = time.perf_counter() - started
            frame_bytes = plain.stat("bench").bytes

            started = time.perf_counter()
            cached.get("bench")
            cold_s = time.perf_counter() - started

            full, unchanged, synced, synced_bytes, full_bytes, stat_calls, local_loads = [], [], [], [], [], [], []
            rows = args.rows
            for _ in range(args.repeats):
                plain.stats.reset()
                started = time.perf_counter()
                table = plain.get("bench")
                full.append(time.perf_counter() - started)
                full_bytes.append(plain.stats.bytes_received)
                del table
                for _ in range(10):
                    started = time.perf_counter()
                    cached.get("bench")
                    unchanged.append(time.perf_counter() - started)
                    # Its two parts: the stat call, and mapping the chunk files.
                    started = time.perf_counter()
                    cached.stat("bench")
                    stat_calls.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    cached.cache.load(cached.cache.entry("default", "bench"))
                    local_loads.append(time.perf_counter() - started)
                plain.put("bench", frame(rows, args.append), mode="append")
                rows += args.append
                cached.stats.reset()
                started = time.perf_counter()
                table = cached.get("bench")
                synced.append(time.perf_counter() - started)
                synced_bytes.append(cached.stats.bytes_received)
                assert table.num_rows == rows and cached.stats.rows_received == args.append
                del table
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)

    result = {
        "rows": args.rows,
        "append_rows": args.append,
        "frame_bytes": frame_bytes,
        "put_s": put_s,
        "cold_cached_read_s": cold_s,
        "full_get_s": summary(full),
        "full_get_bytes": summary(full_bytes),
        "unchanged_cached_read_ms": summary([s * 1000 for s in unchanged]),
        "unchanged_parts_ms": {
            "stat_call": summary([s * 1000 for s in stat_calls]),
            "map_chunk_files": summary([s * 1000 for s in local_loads]),
        },
        "synced_read_after_append_ms": summary([s * 1000 for s in synced]),
        "synced_read_bytes": summary(synced_bytes),
        "synced_bytes_fraction_of_frame": statistics.median(synced_bytes) / frame_bytes,
        "synced_time_fraction_of_full_get": statistics.median(synced) / statistics.median(full),
        "machine": {"cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
