#!/usr/bin/env python3
"""SQL latency of Hangar with the stock pyarrow.flight client (W3 and W4 of docs/performance.md).

Stores the put/get benchmark frame (bench/put_get.py: ts timestamp[us], four float64, a dictionary
string of 100 values; default 10M rows) in a fresh local store, then measures:

  W3  a 1% time filter plus a group-by (100 result rows), and the same 1% filter returning its rows
      (100k rows at 10M), each at 1 and 8 concurrent clients: p50/p99 latency and queries/s;
  W4  a 1-minute mean resample of the whole frame: as SQL streamed back (time_bucket + avg), and
      as shoots' `resample` action writing a new frame, if the server offers it.

Every latency is a full DoGet round trip (ticket to last batch). Warm-up queries run first.
This is a benchmark, not a test: it asserts nothing about timing.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.flight as flight

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_get import FRAME_NAME, ServerProcess, concurrent_calls, make_table  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run_query(client: flight.FlightClient, sql: str) -> int:
    return client.do_get(flight.Ticket(json.dumps({"sql": sql}).encode())).read_all().num_rows


def latency(location: str, sql: str, clients: int, per_client: int) -> dict:
    """Runs `per_client` queries on each of `clients` threads (own connections); latencies in ms."""
    connections = [flight.connect(location) for _ in range(clients)]
    for connection in connections:  # warm-up: views, footers, connections
        run_query(connection, sql)
    measured = concurrent_calls(connections, per_client, lambda connection: run_query(connection, sql))
    for connection in connections:
        connection.close()
    if measured["errors"]:
        raise measured["errors"][0]
    times, rows, wall = measured["times_ms"], measured["rows"], measured["wall_s"]
    return {
        "clients": clients,
        "queries": len(times),
        "result_rows": rows,
        "p50_ms": percentile(times, 0.5),
        "p99_ms": percentile(times, 0.99),
        "queries_per_s": len(times) / wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=40, help="queries per client in W3 (default 40)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of W4 (default 3)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    table = make_table(args.rows)
    start_us = table.column("ts")[0].value
    one_percent = args.rows // 100
    t0 = start_us + (args.rows // 2) * 1_000_000
    t1 = t0 + one_percent * 1_000_000
    window = f"ts >= make_timestamp({t0}) AND ts < make_timestamp({t1})"
    queries = {
        "W3 filter 1% + group-by": f"SELECT category, count(*) AS n, avg(f0) AS f0, max(f1) AS f1 FROM {FRAME_NAME} WHERE {window} GROUP BY category",
        "W3 filter 1% rows": f"SELECT * FROM {FRAME_NAME} WHERE {window}",
    }
    results: dict = {"rows": args.rows, "workloads": {}}
    with tempfile.TemporaryDirectory(prefix="hangar-bench-sql-") as data:
        log = Path(data) / "server.log"
        server = ServerProcess("hangar", str(Path(data) / "store"), log, [])
        try:
            client = flight.connect(server.location)
            writer, _ = client.do_put(flight.FlightDescriptor.for_command(json.dumps({"name": FRAME_NAME, "mode": "replace"})), table.schema)
            writer.write_table(table, max_chunksize=65536)
            writer.close()
            for name, sql in queries.items():
                for clients in (1, 8):
                    per_client = args.queries if clients == 1 else max(5, args.queries // 4)
                    measured = latency(server.location, sql, clients, per_client)
                    results["workloads"].setdefault(name, []).append(measured)
                    print(f"{name:26} clients={clients}  p50 {measured['p50_ms']:7.1f} ms  p99 {measured['p99_ms']:7.1f} ms  "
                          f"{measured['queries_per_s']:6.1f} q/s  rows {measured['result_rows']}")
            resample_sql = (f"SELECT time_bucket(INTERVAL 1 minute, ts) AS ts, avg(f0) AS f0, avg(f1) AS f1, avg(f2) AS f2, avg(f3) AS f3 "
                            f"FROM {FRAME_NAME} GROUP BY 1 ORDER BY 1")
            seconds = []
            for run in range(args.runs + 1):
                started = time.perf_counter()
                n = run_query(client, resample_sql)
                if run:
                    seconds.append(time.perf_counter() - started)
            results["workloads"]["W4 resample 1min mean (SQL, streamed)"] = {"median_s": statistics.median(seconds), "result_rows": n}
            print(f"{'W4 resample (SQL)':26} median {statistics.median(seconds) * 1000:7.1f} ms  rows {n}")
            body = {"source": FRAME_NAME, "target": f"{FRAME_NAME}_1min", "rule": "1min", "time_col": "ts",
                    "aggregation_func": "mean", "mode": "replace"}
            seconds = []
            try:
                for run in range(args.runs + 1):
                    started = time.perf_counter()
                    answer = list(client.do_action(flight.Action("resample", json.dumps(body).encode())))
                    if run:
                        seconds.append(time.perf_counter() - started)
                rows = json.loads(answer[0].body.to_pybytes())["target_rows"]
                results["workloads"]["W4 resample 1min mean (action)"] = {"median_s": statistics.median(seconds), "result_rows": rows}
                print(f"{'W4 resample (action)':26} median {statistics.median(seconds) * 1000:7.1f} ms  rows {rows}")
            except (flight.FlightError, NotImplementedError) as error:
                print(f"W4 resample action not measured: {str(error).splitlines()[0]}")
            client.close()
        finally:
            server.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
