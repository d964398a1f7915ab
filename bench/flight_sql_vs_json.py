"""Flight SQL through the stock ADBC driver against Hangar's own JSON tickets, in the same run.

Starts `hangar serve` on the in-memory store, puts a frame of --rows rows (a timestamp, an int64
key, four float64 columns: 48 bytes a row), then alternates, --runs times each:
- whole frame: ADBC `fetch_arrow_table` of `SELECT * FROM bench` against pyarrow's DoGet of the
  frame's own ticket (no SQL) and of a JSON SQL ticket `{"sql": "SELECT * FROM bench"}`;
- a 100-row query (`WHERE key < 100`): --small-runs calls each of ADBC and the JSON SQL ticket,
  interleaved, reporting p50 and p90 milliseconds.
The issue's targets: ADBC whole-frame ≤ 1.1× the JSON path, 100-row p50 ≤ 1.2×.
Usage: `npm run build && .venv-interop/bin/python bench/flight_sql_vs_json.py [--rows N] [--runs N] [--small-runs N] [--json PATH]`.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

import adbc_driver_flightsql.dbapi as flight_sql
import numpy as np
import pyarrow as pa
import pyarrow.flight as fl

ROOT = Path(__file__).resolve().parents[1]


def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        ["node", "--single-threaded-gc", "--initial-old-space-size=256", str(ROOT / "dist/cli/main.js"), "serve", "--port", "0", "--data", "memory:"],
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc, re.match(r"hangar listening on (\S+)", proc.stdout.readline()).group(1)


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def summary(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {
        "median_s": statistics.median(ordered),
        "min_s": ordered[0],
        "max_s": ordered[-1],
        "p90_s": ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))],
        "runs": len(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--small-runs", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    proc, location = start_server()
    try:
        n = args.rows
        rng = np.random.default_rng(1)
        table = pa.table(
            {
                "ts": pa.array(np.arange(n, dtype="int64") * 1_000_000_000, pa.timestamp("ns")),
                "key": pa.array(np.arange(n, dtype="int64")),
                **{f"v{i}": pa.array(rng.random(n)) for i in range(4)},
            }
        )
        arrow_bytes = table.nbytes
        client = fl.connect(location)
        writer, _ = client.do_put(fl.FlightDescriptor.for_path("bench"), table.schema)
        writer.write_table(table, max_chunksize=1 << 20)
        writer.close()
        del table
        conn = flight_sql.connect(location)

        def json_ticket(sql: str) -> fl.Ticket:
            return fl.Ticket(json.dumps({"sql": sql, "bucket": "default"}).encode())

        def frame_doget() -> int:
            info = client.get_flight_info(fl.FlightDescriptor.for_path("bench"))
            return client.do_get(info.endpoints[0].ticket).read_all().num_rows

        def json_sql(sql: str) -> int:
            return client.do_get(json_ticket(sql)).read_all().num_rows

        def adbc(sql: str) -> int:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetch_arrow_table().num_rows

        whole = "SELECT * FROM bench"
        small = "SELECT * FROM bench WHERE key < 100"
        assert frame_doget() == json_sql(whole) == adbc(whole) == n, "the three paths disagree on the row count"
        assert json_sql(small) == adbc(small) == 100
        big: dict[str, list[float]] = {"json_frame_doget": [], "json_sql_doget": [], "adbc_fetch_arrow_table": []}
        for _ in range(args.runs):
            big["json_frame_doget"].append(timed(frame_doget))
            big["json_sql_doget"].append(timed(lambda: json_sql(whole)))
            big["adbc_fetch_arrow_table"].append(timed(lambda: adbc(whole)))
        tiny: dict[str, list[float]] = {"json_sql_doget": [], "adbc": []}
        for _ in range(args.small_runs):
            tiny["json_sql_doget"].append(timed(lambda: json_sql(small)))
            tiny["adbc"].append(timed(lambda: adbc(small)))
        conn.close()

        results = {
            # Other work on the machine shows here: medians of a loaded machine are not comparable.
            "load_average_at_end": os.getloadavg(),
            "rows": n,
            "arrow_bytes": arrow_bytes,
            "whole_frame": {name: {**summary(s), "mb_per_s": arrow_bytes / statistics.median(s) / 1e6} for name, s in big.items()},
            "query_100_rows": {name: summary(s) for name, s in tiny.items()},
        }
        whole_frame = results["whole_frame"]
        results["ratios"] = {
            "adbc_vs_json_sql_whole_frame": whole_frame["adbc_fetch_arrow_table"]["median_s"] / whole_frame["json_sql_doget"]["median_s"],
            "adbc_vs_json_frame_doget_whole_frame": whole_frame["adbc_fetch_arrow_table"]["median_s"] / whole_frame["json_frame_doget"]["median_s"],
            "adbc_vs_json_sql_100_rows_p50": results["query_100_rows"]["adbc"]["median_s"] / results["query_100_rows"]["json_sql_doget"]["median_s"],
        }
        text = json.dumps(results, indent=2)
        print(text)
        if args.json:
            args.json.write_text(text + "\n")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
