#!/usr/bin/env python3
"""Same-run A/B of SQL through the server (issue 23, W7): Hangar servers started from several builds
(each a checkout with its own dist/), compare.py's frame and its numeric twin put on each, then W3
and W7's shapes run by one pyarrow client, round-robin across the servers (order reversed every
round), after two warm-up rounds (which make the frame hot). Name a build twice for the A/A pair.
Prints per shape and server the p50 wall ms and the server's CPU ms per query (the mean over all
timed queries, from /proc/<pid>/stat: robust where a loaded machine makes wall time noisy).

Usage: .venv-interop/bin/python bench/sql_server_ab.py --server A=/tmp/base --server B=. --server A2=/tmp/base
       [--rows 1000000] [--rounds 15] [--shapes W3,S1,S2,S3,S4,S5,S6,T0]
A server is LABEL=CHECKOUT or LABEL=CHECKOUT:FLAGS (extra `hangar serve` flags). T0 is `SELECT 1` (the
fixed cost of a query). This is a benchmark, not a test: it asserts nothing about timing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.flight as flight

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("compare", HERE / "compare.py")
assert _spec and _spec.loader
compare = importlib.util.module_from_spec(_spec)
sys.modules["compare"] = compare
_spec.loader.exec_module(compare)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--server", action="append", required=True, help="LABEL=CHECKOUT[:FLAGS]")
    parser.add_argument("--shapes", default="W3,S1,S2,S3,S4,S5,S6")
    args = parser.parse_args()

    table = compare.build_table(args.rows, 6, False)
    numeric = table.select(["ts", "f0", "f1", "f2", "f3"])
    t0 = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=table.column("ts")[0].value + (args.rows // 2) * 1_000_000)
    t1 = t0 + dt.timedelta(seconds=args.rows // 100)
    every = {
        "W3": (f"SELECT category, count(*) AS n, avg(f0) AS f0, max(f1) AS f1 FROM {compare.FRAME} "
               f"WHERE ts >= TIMESTAMP '{t0:%Y-%m-%d %H:%M:%S}' AND ts < TIMESTAMP '{t1:%Y-%m-%d %H:%M:%S}' GROUP BY category"),
        "T0": "SELECT 1 AS x",
        **{name[:2]: sql for name, sql in compare.scan_shapes(False).items()},
    }
    shapes = {key: every[key] for key in args.shapes.split(",")}
    work = Path(tempfile.mkdtemp(prefix="hangar-sql-server-ab-"))
    servers = []
    try:
        for spec in args.server:
            label, rest = spec.split("=", 1)
            checkout, _, flags = rest.partition(":")
            compare.BASELINE_DIST = Path(checkout).resolve() / "dist"
            server = compare.Server("hangar-base", work / label, [], flags.split())
            client = flight.connect(server.location)
            compare.put(client, table, compare.FRAME)
            compare.put(client, numeric, compare.JOINED)
            servers.append((label, server, client))
        wall = {label: {key: [] for key in shapes} for label, _, _ in servers}
        cpu = {label: {key: [] for key in shapes} for label, _, _ in servers}
        rows: dict[tuple[str, str], int] = {}
        for round_ in range(-2, args.rounds):
            for key, sql in shapes.items():
                for label, server, client in (servers if round_ % 2 else list(reversed(servers))):
                    cpu_before, started = cpu_seconds(server.pid), time.perf_counter()
                    rows[(label, key)] = client.do_get(compare.sql_ticket(sql)).read_all().num_rows
                    if round_ >= 0:
                        wall[label][key].append((time.perf_counter() - started) * 1000)
                        cpu[label][key].append((cpu_seconds(server.pid) - cpu_before) * 1000)
            if round_ == -1:
                time.sleep(3)  # the hot tables finish building
        print(f"rows {args.rows:,}, {args.rounds} rounds, load {open('/proc/loadavg').read().split()[:3]}")
        print("p50 wall ms (server CPU ms per query, mean) and result rows")
        for key in shapes:
            cells = [f"{label} {sorted(wall[label][key])[len(wall[label][key]) // 2]:7.1f} "
                     f"({sum(cpu[label][key]) / len(cpu[label][key]):6.1f}) rows {rows[(label, key)]}" for label, _, _ in servers]
            print(f"{key}  " + "   ".join(cells))
    finally:
        for _, server, client in servers:
            client.close()
            server.stop()


if __name__ == "__main__":
    main()
