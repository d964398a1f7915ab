#!/usr/bin/env python3
"""CPU seconds per put of each thread of a Hangar server: where a put's CPU goes.

Starts Hangar on a fresh temporary store (as bench/put_get.py does), puts the put_get frame once to
warm up and then --puts more times, and reads every thread's user+system time from
/proc/<pid>/task/<tid>/stat before and after. Threads are reported by id in the order Node starts
them: the main thread first, then V8's platform threads (GC helpers, background freeing),
libuv's thread pool (file writes and fsync), and the codec worker threads.

Usage: python bench/put_threads.py [--rows N] [--puts N] [--hangar-args "..."] [--node-args "..."]
"""
from __future__ import annotations

import argparse
import os
import shlex
import tempfile
import time
from pathlib import Path

import pyarrow.flight as flight

from put_get import ServerProcess, do_put, make_table

TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) and name of each thread of a process."""
    out: dict[int, tuple[str, float]] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
        except OSError:
            continue  # the thread ended
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / TICKS)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--puts", type=int, default=3)
    parser.add_argument("--hangar-args", default="", help='extra `hangar serve` flags, e.g. "--segment-compression lz4"')
    parser.add_argument("--node-args", default="")
    args = parser.parse_args()

    table = make_table(args.rows)
    with tempfile.TemporaryDirectory(prefix="hangar-put-threads-") as workdir:
        server = ServerProcess("hangar", str(Path(workdir) / "store"), Path(workdir) / "server.log",
                               shlex.split(args.node_args), shlex.split(args.hangar_args))
        try:
            client = flight.connect(server.location)
            do_put(client, table, 65536)  # warm-up: starts the codec workers, compiles parquet-wasm
            before = thread_cpu(server.proc.pid)
            started = time.perf_counter()
            for _ in range(args.puts):
                do_put(client, table, 65536)
            seconds = (time.perf_counter() - started) / args.puts
            after = thread_cpu(server.proc.pid)
        finally:
            server.proc.terminate()
            server.proc.wait()
    per_put = {tid: (name, (cpu - before.get(tid, (name, 0.0))[1]) / args.puts) for tid, (name, cpu) in after.items()}
    total = sum(cpu for _, cpu in per_put.values())
    print(f"{args.rows:,} rows, {args.puts} puts: {seconds:.2f} s each, {table.nbytes / 1e6 / seconds:.0f} MB/s; "
          f"server CPU {total:.2f} s per put; serve args: {args.hangar_args or '(none)'}")
    main_tid = server.proc.pid
    for tid in sorted(per_put):
        name, cpu = per_put[tid]
        if cpu >= 0.005:
            label = "main thread" if tid == main_tid else name
            print(f"  thread {tid:>7} {label:<16} {cpu:5.2f} s per put")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
