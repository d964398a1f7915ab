#!/usr/bin/env python3
"""Put/get throughput and server memory of Hangar, measured with the stock pyarrow.flight client.

Generates a fixed-seed frame (default 10M rows: ts timestamp[us], four float64 columns and a
dictionary<int32, utf8> column of 100 values), starts a Hangar server on 127.0.0.1 over a local
directory store in a temporary directory, then times:

  put  DoPut (CMD descriptor, mode "replace") + writer.write_table(table, max_chunksize=65536)
       + close, i.e. until the server has committed the frame and answered;
  get  DoGet (JSON ticket) + read_all().

Each direction gets one untimed warm-up and --runs timed runs. Throughput is table.nbytes / seconds
(MB = 10^6 bytes). While each timed run is in flight, a thread samples the server's VmRSS from
/proc/<pid>/status every ~20 ms.

Puts run against one server process; gets run against a second, freshly started server on the same
store, so memory the put path leaves behind does not count as the get's "idle". Both the RSS right
before each run ("idle") and the fresh process's RSS ("start") are reported.

This is a benchmark, not a test: it asserts nothing about timing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shlex
import shutil
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

REPO = Path(__file__).resolve().parent.parent
MB = 1_000_000
MiB = 1024 * 1024
FRAME_NAME = "bench_put_get"
SEED = 20240601


# --------------------------------------------------------------------------------------------------
# Data


def make_table(rows: int, seed: int = SEED) -> pa.Table:
    """The benchmark frame: deterministic for a given row count and seed."""
    rng = np.random.default_rng(seed)
    start_us = int(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).timestamp()) * 1_000_000
    ts = pa.array(start_us + np.arange(rows, dtype=np.int64) * 1_000_000, type=pa.timestamp("us"))
    floats = {f"f{i}": pa.array(rng.standard_normal(rows)) for i in range(4)}
    dictionary = pa.array([f"category_{i:03d}" for i in range(100)], type=pa.string())
    indices = pa.array(rng.integers(0, 100, size=rows, dtype=np.int32), type=pa.int32())
    category = pa.DictionaryArray.from_arrays(indices, dictionary)
    return pa.table({"ts": ts, **floats, "category": category})


# --------------------------------------------------------------------------------------------------
# Server process and its memory


def read_rss_bytes(pid: int) -> int | None:
    """VmRSS of a process in bytes, or None once it has gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def read_cpu_seconds(pid: int, tid: int | None = None) -> float | None:
    """User + system CPU seconds of a process (all its threads), or of one thread when `tid` is given;
    None once it has gone."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        with open(path, "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


class RssSampler:
    """Samples a process's RSS on a background thread while the `with` block runs."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            rss = read_rss_bytes(self.pid)
            if rss is not None:
                self.samples.append(rss)
            if self._stop.wait(self.interval):
                break

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        rss = read_rss_bytes(self.pid)
        if rss is not None:
            self.samples.append(rss)

    @property
    def peak(self) -> int:
        return max(self.samples) if self.samples else 0


def npm_start_node_flags() -> list[str]:
    """The node flags `npm start` runs the server with, read from package.json so the benchmarks
    always measure the server as it is started (see README: one GC thread, a larger initial
    old-generation limit)."""
    start = json.loads((REPO / "package.json").read_text())["scripts"]["start"].split()
    if start[0] != "node":
        raise SystemExit(f"package.json's start script does not run node: {start}")
    return [flag for flag in start[1:start.index("dist/cli/main.js")] if flag.startswith("--")]


HANGAR_NODE_FLAGS = npm_start_node_flags()


class ServerProcess:
    """A Flight server subprocess on 127.0.0.1 with an ephemeral port: Hangar (`node dist/cli/main.js
    serve`) or, for comparison, bench/baseline_server.py (pyarrow keeping frames in memory)."""

    def __init__(self, kind: str, data: str, log_path: Path, node_args: list[str], hangar_args: list[str] | None = None) -> None:
        if kind == "hangar":
            cmd = ["node", *HANGAR_NODE_FLAGS, *node_args, str(REPO / "dist" / "cli" / "main.js"), "serve",
                   "--host", "127.0.0.1", "--port", "0", "--data", data, *(hangar_args or [])]
        else:
            cmd = [sys.executable, str(Path(__file__).resolve().parent / "baseline_server.py")]
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=self.log)
        self.location = self._await_listening(timeout=30.0)
        # Keep draining stdout so the server can never block on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _await_listening(self, timeout: float) -> str:
        result: list[str] = []

        def reader() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").strip()
                if " listening on " in line:
                    result.append(line.split(" listening on ", 1)[1].strip())
                    return

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        thread.join(timeout)
        if not result:
            self.stop()
            raise RuntimeError(f"the server did not report listening within {timeout:.0f} s; see {self.log.name}")
        return result[0]

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.log.write(raw)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"  server {self.pid} ignored SIGTERM for {timeout:.0f} s; killing it", file=sys.stderr)
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def client_cpu_seconds() -> float:
    """User + system CPU seconds of this (client) process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def settle_rss(pid: int, seconds: float = 1.0) -> int:
    """Waits briefly so the previous call's buffers can be released, then reads RSS."""
    time.sleep(seconds)
    return read_rss_bytes(pid) or 0


# --------------------------------------------------------------------------------------------------
# Flight calls


def do_put(client: flight.FlightClient, table: pa.Table, chunk_rows: int) -> None:
    command = json.dumps({"name": FRAME_NAME, "mode": "replace", "bucket": None}).encode()
    writer, metadata_reader = client.do_put(flight.FlightDescriptor.for_command(command), table.schema)
    writer.write_table(table, max_chunksize=chunk_rows)
    # close() half-closes the stream and waits for the server's PutResult and final status.
    writer.close()


def do_get(client: flight.FlightClient) -> pa.Table:
    ticket = flight.Ticket(json.dumps({"name": FRAME_NAME, "bucket": None}).encode())
    return client.do_get(ticket).read_all()


def timed(server: ServerProcess, action) -> dict:
    """Runs one timed call, sampling server RSS and CPU around it."""
    idle = settle_rss(server.pid)
    cpu_before = read_cpu_seconds(server.pid) or 0.0
    main_before = read_cpu_seconds(server.pid, server.pid) or 0.0
    client_before = client_cpu_seconds()
    with RssSampler(server.pid) as sampler:
        started = time.perf_counter()
        result = action()
        seconds = time.perf_counter() - started
    cpu_after = read_cpu_seconds(server.pid) or 0.0
    main_after = read_cpu_seconds(server.pid, server.pid) or 0.0
    client_after = client_cpu_seconds()
    return {
        "seconds": seconds,
        "idle_rss": idle,
        "peak_rss": sampler.peak,
        "rss_samples": len(sampler.samples),
        "server_cpu_seconds": cpu_after - cpu_before,
        "server_main_thread_cpu_seconds": main_after - main_before,
        "client_cpu_seconds": client_after - client_before,
        "result": result,
    }


def concurrent_calls(connections: list, per_client: int, call) -> dict:
    """Runs `call(connection)` (which returns a row count) `per_client` times on one thread per
    connection, all at once. A thread stops at its first FlightError. Returns the latencies in ms,
    the distinct row counts, the wall time in seconds and the errors."""
    times: list[float] = []
    rows: set[int] = set()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(connection) -> None:
        for _ in range(per_client):
            started = time.perf_counter()
            try:
                n = call(connection)
            except flight.FlightError as error:
                with lock:
                    errors.append(error)
                return
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                times.append(elapsed)
                rows.add(n)

    threads = [threading.Thread(target=worker, args=(c,)) for c in connections]
    wall = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"times_ms": times, "rows": sorted(rows), "wall_s": time.perf_counter() - wall, "errors": errors}


def compare_frames(sent: pa.Table, received: pa.Table) -> dict:
    """Compares values column by column; dictionary columns by their decoded values, since a Parquet
    round trip may reorder a dictionary without changing any value."""
    same_schema = received.schema.equals(sent.schema)
    identical = received.num_rows == sent.num_rows and received.column_names == sent.column_names
    exact = identical and received.equals(sent)
    if identical and not exact:
        for name in sent.column_names:
            a, b = sent[name], received[name]
            if pa.types.is_dictionary(a.type) and pa.types.is_dictionary(b.type):
                a, b = a.cast(a.type.value_type), b.cast(b.type.value_type)
            if not a.equals(b):
                identical = False
                break
    return {"rows": received.num_rows, "schema_identical": same_schema, "values_identical": identical,
            "bitwise_identical": exact}


# --------------------------------------------------------------------------------------------------
# Reporting


def summarise(runs: list[dict], nbytes: int, start_rss: int) -> dict:
    mbps = [nbytes / MB / run["seconds"] for run in runs]
    above_idle = [max(0, run["peak_rss"] - run["idle_rss"]) for run in runs]
    above_start = [max(0, run["peak_rss"] - start_rss) for run in runs]

    def stats(values: list[float]) -> dict:
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    return {
        "mb_per_s": stats(mbps),
        "seconds": [run["seconds"] for run in runs],
        "server_cpu_seconds": [run["server_cpu_seconds"] for run in runs],
        "server_main_thread_cpu_seconds": [run["server_main_thread_cpu_seconds"] for run in runs],
        "client_cpu_seconds": [run["client_cpu_seconds"] for run in runs],
        "rss": {
            "start_bytes": start_rss,
            "idle_bytes": stats([run["idle_rss"] for run in runs]),
            "peak_bytes": stats([run["peak_rss"] for run in runs]),
            "above_idle_bytes": stats(above_idle),
            "above_idle_fraction_of_frame": stats([value / nbytes for value in above_idle]),
            "above_start_fraction_of_frame": stats([value / nbytes for value in above_start]),
            "samples_per_run": [run["rss_samples"] for run in runs],
        },
    }


def fmt_mib(value: float) -> str:
    return f"{value / MiB:,.0f} MiB"


def print_direction(name: str, summary: dict) -> None:
    rate = summary["mb_per_s"]
    rss = summary["rss"]
    print(f"  {name}: {rate['median']:,.0f} MB/s median (min {rate['min']:,.0f}, max {rate['max']:,.0f}); "
          f"seconds {', '.join(f'{s:.2f}' for s in summary['seconds'])}")
    print(f"       CPU s/run (median): server {statistics.median(summary['server_cpu_seconds']):.2f} "
          f"(main thread {statistics.median(summary['server_main_thread_cpu_seconds']):.2f}, "
          f"other threads {statistics.median(a - b for a, b in zip(summary['server_cpu_seconds'], summary['server_main_thread_cpu_seconds'])):.2f}), "
          f"client {statistics.median(summary['client_cpu_seconds']):.2f}")
    print(f"       server RSS: start {fmt_mib(rss['start_bytes'])}, idle {fmt_mib(rss['idle_bytes']['median'])}, "
          f"peak {fmt_mib(rss['peak_bytes']['median'])} (max {fmt_mib(rss['peak_bytes']['max'])}), "
          f"above idle {fmt_mib(rss['above_idle_bytes']['median'])} = "
          f"{rss['above_idle_fraction_of_frame']['median']:.2f} of the frame "
          f"(max {rss['above_idle_fraction_of_frame']['max']:.2f}; above start "
          f"{rss['above_start_fraction_of_frame']['median']:.2f})")


def git_commit() -> str | None:
    """HEAD's short hash, with "+dirty" when src/ has uncommitted changes (dist/ may include them)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO, capture_output=True,
                               text=True, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


# --------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in the frame (default 10,000,000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per direction (default 5)")
    parser.add_argument("--json", type=Path, help="write results to this JSON file")
    parser.add_argument("--chunk-rows", type=int, default=65536, help="max_chunksize of write_table (default 65536)")
    parser.add_argument("--data", help="store location passed to --data (default: a fresh temporary directory)")
    parser.add_argument("--node-args", default="", help='extra node flags, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"')
    parser.add_argument("--hangar-args", default="", help='extra `hangar serve` flags, e.g. "--segment-compression lz4"')
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary store directory")
    parser.add_argument("--one-server", action="store_true",
                        help="run puts and gets against one server process (implied by --data memory:)")
    parser.add_argument("--server", choices=["hangar", "baseline"], default="hangar",
                        help="server under test; 'baseline' is bench/baseline_server.py, a pyarrow Flight "
                             "server holding frames in memory, for the transport's ceiling on this machine")
    args = parser.parse_args()
    if args.rows < 1 or args.runs < 1:
        parser.error("--rows and --runs must be positive")
    if not (REPO / "dist" / "cli" / "main.js").exists():
        parser.error("dist/cli/main.js is missing; run `npm run build` first (bench/run.sh does)")

    commit = git_commit()
    t0 = time.perf_counter()
    table = make_table(args.rows)
    nbytes = table.nbytes
    print(f"frame: {table.num_rows:,} rows, {table.num_columns} columns, table.nbytes = {nbytes:,} bytes "
          f"({nbytes / MB:,.1f} MB, {nbytes / MiB:,.1f} MiB); generated in {time.perf_counter() - t0:.1f} s")
    print(f"schema: {', '.join(f'{f.name}: {f.type}' for f in table.schema)}")
    print(f"hangar commit: {commit}; node flags: {shlex.join(HANGAR_NODE_FLAGS)} (npm start's) + {args.node_args or '(none)'}; serve args: {args.hangar_args or '(none)'}")

    workdir = Path(tempfile.mkdtemp(prefix="hangar-bench-"))
    data = args.data or str(workdir / "store")
    one_server = args.one_server or data.startswith("memory:") or args.server == "baseline"
    log_path = workdir / "server.log"
    node_args = shlex.split(args.node_args)
    hangar_args = shlex.split(args.hangar_args)
    print(f"server: {args.server}; store: {data if args.server == 'hangar' else 'pyarrow, in memory'}; "
          f"server log: {log_path}")

    results: dict = {}
    servers: list[ServerProcess] = []

    def open_server() -> tuple[ServerProcess, flight.FlightClient, int]:
        server = ServerProcess(args.server, data, log_path, node_args, hangar_args)
        servers.append(server)
        start_rss = settle_rss(server.pid, 0.5)
        print(f"server pid {server.pid} at {server.location}, RSS at start {fmt_mib(start_rss)}")
        return server, flight.FlightClient(server.location), start_rss

    def report(kind: str, i: int, run: dict) -> None:
        print(f"  {kind} {i + 1}/{args.runs}: {run['seconds']:.2f} s, {nbytes / MB / run['seconds']:,.0f} MB/s, "
              f"RSS idle {fmt_mib(run['idle_rss'])} peak {fmt_mib(run['peak_rss'])}", flush=True)

    try:
        # ---- put phase
        server, client, start_rss = open_server()
        do_put(client, table, args.chunk_rows)  # warm-up
        put_runs = []
        for i in range(args.runs):
            put_runs.append(timed(server, lambda: do_put(client, table, args.chunk_rows)))
            report("put", i, put_runs[-1])
        results["put"] = summarise(put_runs, nbytes, start_rss)

        # ---- get phase: a fresh server on the same store, so the put's leftovers are not the get's idle
        if not one_server:
            client.close()
            server.stop()
            server, client, start_rss = open_server()
        try:
            warm = do_get(client)  # warm-up, and a one-off (untimed) check that the frame came back intact
        except flight.FlightError as error:
            if one_server:
                raise
            print(f"\nbench: a fresh server could not read the frame the previous server process stored:\n  {error}\n"
                  "This is a server bug (data that does not survive a restart), not a benchmark problem; see\n"
                  "'Known problems' in docs/performance.md. To measure anyway, rerun with --one-server.",
                  file=sys.stderr)
            return 3
        results["round_trip"] = compare_frames(table, warm)
        if not results["round_trip"]["values_identical"]:
            print(f"  WARNING: the frame read back differs from the one written: {results['round_trip']}",
                  file=sys.stderr, flush=True)
        del warm
        get_runs = []
        for i in range(args.runs):
            run = timed(server, lambda: do_get(client))
            run["rows"] = run.pop("result").num_rows  # drop the table before the next run
            get_runs.append(run)
            report("get", i, run)
        client.close()
        results["get"] = summarise(get_runs, nbytes, start_rss)
    finally:
        for server in servers:
            server.stop()
        if args.keep_data:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"results ({args.runs} timed run(s) after one warm-up; MB = 10^6 bytes):")
    print_direction("put", results["put"])
    print_direction("get", results["get"])

    if args.json:
        report = {
            "benchmark": "put_get",
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "git_commit": commit,
            "rows": args.rows,
            "runs": args.runs,
            "chunk_rows": args.chunk_rows,
            "table_nbytes": nbytes,
            "schema": [f"{f.name}: {f.type}" for f in table.schema],
            "server": args.server,
            "one_server": one_server,
            "store": ("pyarrow in memory" if args.server == "baseline"
                      else "local directory (temporary)" if not args.data else args.data),
            "node_args": node_args,
            "hangar_args": hangar_args,
            "machine": {
                "cpus": os.cpu_count(),
                "loadavg_at_end": os.getloadavg(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "pyarrow": pa.__version__,
                "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
            },
            **results,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
