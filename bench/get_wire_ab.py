"""Same-run A/B of W1's whole-frame get through the server: wall time, time to the first batch, and
the CPU each server spends per get, with the stock pyarrow client (issue 23, GET).

Each `--build NAME=DIR` (a built checkout: DIR/dist/cli/main.js; give one twice for the A/A pair) gets
a Hangar server started as compare.py starts it (npm start's node flags, a local directory store);
`--build pyarrow` adds bench/baseline_server.py. The put_get frame (`--rows`) is put on each and read
twice (the decoded-segment cache is then hot, as in compare.py's W1), then the servers take turns,
`--runs` gets each, the order rotating every run, with `--settle` seconds before each get (compare.py
waits 1 s). Per server it prints the medians of: wall seconds, the first batch's arrival, the
server's CPU per get (all threads, from /proc/<pid>/task/*/schedstat: steadier than wall time on a
loaded machine) and the client process's CPU per get; and the server's user and system CPU per get
over the whole run by thread (main thread, V8's helper threads, ...). Not a test: nothing is asserted.

  .venv-interop/bin/python bench/get_wire_ab.py --build base=/tmp/base --build new=. --build base2=/tmp/base \\
      --build pyarrow --rows 1000000 --runs 20 --settle 1
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.flight as flight

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402
from compare import FRAME, Server, make_table, put  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of `pid` (ns resolution)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except OSError:
            pass
    return total / 1e9


def thread_ticks(pid: int) -> dict[str, tuple[int, int]]:
    """User and system clock ticks per thread name ("main" for the main thread)."""
    out: dict[str, tuple[int, int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            raw = (task / "stat").read_text()
        except OSError:
            continue
        name = "main" if task.name == str(pid) else raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw.rsplit(")", 1)[1].split()
        user, system = out.get(name, (0, 0))
        out[name] = (user + int(fields[11]), system + int(fields[12]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="append", required=True, help="NAME=DIR of a built checkout, or pyarrow (repeatable)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds before each get (compare.py: 1)")
    parser.add_argument("--json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="get-wire-ab-"))
    table = make_table(args.rows)
    ticket = flight.Ticket(json.dumps({"name": FRAME, "bucket": None}).encode())
    servers: dict[str, Server] = {}
    load_before = os.getloadavg()[0]
    try:
        for spec in args.build:
            name, _, directory = spec.partition("=")
            if name == "pyarrow":
                servers[name] = Server("pyarrow", work, [])
                continue
            compare.BASELINE_DIST = Path(directory).resolve() / "dist"
            (work / name).mkdir()
            servers[name] = Server("hangar-base", work / name, [])
        clients = {name: flight.connect(server.location) for name, server in servers.items()}
        for name, client in clients.items():
            put(client, table, FRAME)
            for _ in range(2):
                client.do_get(ticket).read_all()
        names = list(servers)
        results = {name: {"wall": [], "first": [], "server_cpu": [], "client_cpu": []} for name in names}
        before = {name: thread_ticks(servers[name].pid) for name in names}
        for run in range(args.runs):
            for name in names[run % len(names):] + names[:run % len(names)]:
                time.sleep(args.settle)
                server_before, client_before = cpu_seconds(servers[name].pid), time.process_time()
                started = time.perf_counter()
                reader = clients[name].do_get(ticket)
                first, rows = None, 0
                while True:
                    try:
                        chunk = reader.read_chunk()
                    except StopIteration:
                        break
                    first = first if first is not None else time.perf_counter() - started
                    rows += chunk.data.num_rows
                wall = time.perf_counter() - started
                assert rows == args.rows, rows
                result = results[name]
                result["wall"].append(wall)
                result["first"].append(first)
                result["server_cpu"].append(cpu_seconds(servers[name].pid) - server_before)
                result["client_cpu"].append(time.process_time() - client_before)
        summary = {}
        print(f"W1 get, {args.rows:,} rows, {args.runs} gets per server, settle {args.settle} s; "
              f"load {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
        for name in names:
            after = thread_ticks(servers[name].pid)
            threads = {thread: {"user_ms": (u - before[name].get(thread, (0, 0))[0]) * 1000 / TICK / args.runs,
                                "sys_ms": (s - before[name].get(thread, (0, 0))[1]) * 1000 / TICK / args.runs}
                       for thread, (u, s) in after.items() if (u, s) != before[name].get(thread)}
            medians = {key: statistics.median(values) for key, values in results[name].items()}
            summary[name] = {"median": medians, "runs": results[name], "threads_per_get": threads}
            print(f"  {name:8} wall {medians['wall'] * 1000:7.1f} ms  first batch {medians['first'] * 1000:6.1f} ms  "
                  f"server CPU {medians['server_cpu'] * 1000:6.1f} ms  client CPU {medians['client_cpu'] * 1000:6.1f} ms  "
                  f"threads (user/sys ms per get) "
                  + ", ".join(f"{t} {v['user_ms']:.1f}/{v['sys_ms']:.1f}" for t, v in threads.items()))
        if args.json:
            Path(args.json).write_text(json.dumps({"rows": args.rows, "runs": args.runs, "settle": args.settle,
                                                   "load_before": load_before, "load_after": os.getloadavg()[0],
                                                   "servers": summary}, indent=1))
    finally:
        for server in servers.values():
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
