"""Same-run A/B of W8's one-day range read (or its other small operations, `--op`) through the server with the
stock pyarrow client.

Starts one Hangar server per build given (`--dist NAME=PATH`, a build's dist/ directory; give the
same build twice for the A/A pair that shows the noise), stores W8's numeric frame (compare.py's
frame: ts µs 1 s apart, f0..f3 float64, 64Ki-row batches) in each, then reads one day from the
middle (86,400 rows: a DoGet with start/end in the ticket, as compare.py's W8) `--runs` times per
server, servers alternating call by call, after `--warmup` untimed reads each. Prints median, p10
and p90 ms per server and the load average before and after; `--json` writes them.

  .venv-interop/bin/python bench/range_read_wire_ab.py --dist base=/tmp/base/dist --dist base2=/tmp/base/dist \
      --dist new=dist --rows 1000000 --runs 21
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402
from compare import Server, build_table, put  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dist", action="append", required=True, help="NAME=PATH of a build's dist/ (repeatable)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--op", choices=("range_day", "two_columns", "tail_100", "append_1000"), default="range_day")
    parser.add_argument("--node-args", default="", help="extra node flags for every server (e.g. --cpu-prof)")
    parser.add_argument("--interleave", choices=("none", "after", "before", "append", "w8"), default="none",
                        help="read two columns of the whole frame untimed after (as W8's sequence does) or before each timed read, "
                             "or append 1,000 rows to a copy of the frame after it (W8's append), or both (w8: W8's sequence)")
    parser.add_argument("--pause-ms", type=float, default=0, help="sleep this long before each timed read")
    parser.add_argument("--keep", help="keep stores and server logs in this directory instead of a temporary one")
    parser.add_argument("--json")
    args = parser.parse_args()
    builds = [tuple(spec.split("=", 1)) for spec in args.dist]
    table = build_table(args.rows, 5, False).select(["ts", "f0", "f1", "f2", "f3"])
    start_us = table.column("ts")[0].value
    middle = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=start_us + (args.rows // 2) * 1_000_000)
    extra = {
        "range_day": {"start": f"{middle:%Y-%m-%dT%H:%M:%S}", "end": f"{middle + dt.timedelta(days=1):%Y-%m-%dT%H:%M:%S}"},
        "two_columns": {"columns": ["f0", "f1"]},
        "tail_100": {"tail": 100},
        "append_1000": {},  # W8's append: 1,000 rows after the last timestamp of a copy of the frame
    }[args.op]
    ticket = flight.Ticket(json.dumps({"name": "w8", "bucket": None, **extra}).encode())
    next_us = {name: start_us + args.rows * 1_000_000 for name, _ in builds}

    def append(client: flight.FlightClient, name: str) -> None:
        first = next_us[name]
        ts = pa.array(np.arange(first, first + 1_000 * 1_000_000, 1_000_000, dtype=np.int64), type=pa.timestamp("us"))
        block = pa.table({"ts": ts, **{c: pa.array(np.arange(1_000, dtype=np.float64)) for c in ("f0", "f1", "f2", "f3")}})
        command = json.dumps({"name": "w8_append", "mode": "append", "bucket": None}).encode()
        writer, _ = client.do_put(flight.FlightDescriptor.for_command(command), block.schema)
        writer.write_table(block)
        writer.close()
        next_us[name] = first + 1_000 * 1_000_000

    columns_ticket = flight.Ticket(json.dumps({"name": "w8", "bucket": None, "columns": ["f0", "f1"]}).encode())
    load_before = os.getloadavg()
    servers: dict[str, Server] = {}
    clients: dict[str, flight.FlightClient] = {}
    with (contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory(prefix="range-wire-")) as tmp:
        try:
            for name, dist in builds:
                compare.BASELINE_DIST = Path(dist).resolve()
                workdir = Path(tmp) / name
                workdir.mkdir()
                servers[name] = Server("hangar-base", workdir, args.node_args.split())
                clients[name] = flight.connect(servers[name].location)
                put(clients[name], table, "w8")
                if args.interleave in ("append", "w8") or args.op == "append_1000":
                    put(clients[name], table, "w8_append")
            times: dict[str, list[float]] = {name: [] for name, _ in builds}
            rows = 0
            for run in range(-args.warmup, args.runs):
                order = [name for name, _ in builds]
                if run % 2:
                    order.reverse()
                for name in order:
                    if args.interleave == "before":
                        clients[name].do_get(columns_ticket).read_all()
                    if args.pause_ms:
                        time.sleep(args.pause_ms / 1000)
                    started = time.perf_counter()
                    if args.op == "append_1000":
                        append(clients[name], name)
                        rows = 1_000
                    else:
                        rows = clients[name].do_get(ticket).read_all().num_rows
                    elapsed = (time.perf_counter() - started) * 1000
                    if run >= 0:
                        times[name].append(elapsed)
                    if args.interleave == "after":
                        clients[name].do_get(columns_ticket).read_all()
                    elif args.interleave in ("append", "w8"):
                        append(clients[name], name)
                    if args.interleave == "w8":
                        clients[name].do_get(columns_ticket).read_all()
        finally:
            for client in clients.values():
                client.close()
            for server in servers.values():
                server.stop()
    load_after = os.getloadavg()
    result = {"op": args.op, "rows_read": rows, "frame_rows": args.rows, "runs": args.runs,
              "loadavg_before": load_before, "loadavg_after": load_after, "servers": {}}
    print(f"{args.op}: {rows} rows of {args.rows:,}; load {load_before[0]:.1f} -> {load_after[0]:.1f}")
    for name, values in times.items():
        ordered = sorted(values)
        entry = {"median_ms": statistics.median(values), "p10_ms": ordered[len(ordered) // 10],
                 "p90_ms": ordered[(len(ordered) * 9) // 10], "times_ms": values}
        result["servers"][name] = entry
        print(f"  {name:10} median {entry['median_ms']:7.2f} ms  p10 {entry['p10_ms']:7.2f}  p90 {entry['p90_ms']:7.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
