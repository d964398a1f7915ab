"""Same-run A/B of W5's small gets through the server: requests per second at 32 concurrent pyarrow clients.

Per run and build (`--dist NAME=PATH`, a build's dist/ directory; give a build twice for the A/A pair),
starts a fresh Hangar server as compare.py does (npm start's node flags, a local directory store), stores
a 1,000-row frame (ts µs, one float64), then runs `--clients` connections (in `--processes` spawned client
processes, threads inside) doing DoGet of the whole frame for `--seconds`, and stops the server. Builds
take turns run by run, the order reversing every other run. Prints each run and the median requests per
second per build with the load average; `--json` writes them. Not a test: nothing is asserted.

  .venv-interop/bin/python bench/small_gets_wire_ab.py --dist base=/tmp/base/dist --dist new=dist --runs 6
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_get import HANGAR_NODE_FLAGS  # noqa: E402

TICKET = json.dumps({"name": "small", "bucket": None}).encode()


def client_process(queue, location: str, connections: int, seconds: float) -> None:
    """One client process: `connections` threads, each with its own connection, getting until time is up."""
    ticket = flight.Ticket(TICKET)
    clients = [flight.connect(location) for _ in range(connections)]
    counts = [0] * connections
    end = time.time() + seconds

    def worker(i: int) -> None:
        while time.time() < end:
            clients[i].do_get(ticket).read_all()
            counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(sum(counts))


def one_run(dist: str, args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory(prefix="small-gets-wire-") as tmp:
        command = ["node", *HANGAR_NODE_FLAGS, f"{dist}/cli/main.js", "serve", "--host", "127.0.0.1", "--port", "0", "--data", f"{tmp}/store"]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "HANGAR_NODE_RELAUNCH": "0"})
        try:
            match = re.search(r"(grpc://[0-9.:]+)", server.stdout.readline().decode())
            if not match:
                raise RuntimeError(f"the server of {dist} did not start")
            location = match.group(1)
            table = pa.table({"ts": pa.array(np.arange(1000, dtype=np.int64) * 1_000_000, type=pa.timestamp("us")),
                              "v": pa.array(np.arange(1000, dtype=np.float64))})
            with flight.connect(location) as client:
                descriptor = flight.FlightDescriptor.for_command(json.dumps({"name": "small", "mode": "replace", "bucket": None}).encode())
                writer, reader = client.do_put(descriptor, table.schema)
                writer.write_table(table)
                writer.done_writing()
                reader.read()
                writer.close()
                client.do_get(flight.Ticket(TICKET)).read_all()
            context = multiprocessing.get_context("spawn")  # gRPC's threads must not be forked
            queue = context.Queue()
            per_process = args.clients // args.processes
            processes = [context.Process(target=client_process, args=(queue, location, per_process, args.seconds))
                         for _ in range(args.processes)]
            for process in processes:
                process.start()
            for process in processes:
                process.join()
            return sum(queue.get() for _ in processes) / args.seconds
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dist", action="append", required=True, help="NAME=PATH of a build's dist/ (repeatable)")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--json")
    args = parser.parse_args()
    builds = [tuple(spec.split("=", 1)) for spec in args.dist]
    rates: dict[str, list[float]] = {name: [] for name, _ in builds}
    loads: list[float] = []
    for run in range(args.runs):
        order = builds if run % 2 == 0 else list(reversed(builds))
        for name, dist in order:
            rate = one_run(dist, args)
            rates[name].append(rate)
            loads.append(os.getloadavg()[0])
            print(f"  run {run + 1} {name:10} {rate:8.0f} req/s  load {loads[-1]:.1f}", flush=True)
    print(f"small gets, {args.clients} clients, {args.seconds:g} s a run; load {min(loads):.1f}-{max(loads):.1f}")
    for name, values in rates.items():
        print(f"  {name:10} median {statistics.median(values):8.0f} req/s  ({', '.join(f'{v:.0f}' for v in values)})")
    if args.json:
        Path(args.json).write_text(json.dumps({"clients": args.clients, "seconds": args.seconds, "runs": args.runs, "loadavg": loads,
                                               "builds": {name: {"req_per_s": values, "median": statistics.median(values)}
                                                          for name, values in rates.items()}}, indent=1) + "\n")


if __name__ == "__main__":
    main()
