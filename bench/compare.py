#!/usr/bin/env python3
"""Side by side: Hangar, shoots and a bare pyarrow Flight server, driven by one pyarrow client.

One run starts three servers on 127.0.0.1, each in a fresh temporary directory:

  hangar   node <npm start's flags> dist/cli/main.js serve --port 0 --data <tmp>/hangar-store (local directory store)
  shoots   shoots' own server (shoots.shoots_server.main, PyPI shoots 0.1.1) with --bucket_dir <tmp>
  pyarrow  bench/baseline_server.py: frames kept in memory, no storage, no SQL: the transport ceiling
  hangar-base  (only with --baseline DIR) the same command from another build's dist/, e.g. a
           worktree of an earlier commit: a same-run A/B of two Hangar builds

and measures, on the frame of bench/put_get.py (fixed seed; 10M rows, ≈440 MB of Arrow):

  W1  get the stored frame (DoGet, read_all)
  W2  put the same frame (DoPut, mode "replace", 64Ki-row batches)
  W3  SQL: a 1% time filter plus a group-by on category (100 rows back), at 1 and 8 concurrent
      clients: p50/p99 over every timed query (hangar, shoots; the pyarrow server has no SQL)
  W4  the `resample` action, 1-minute means, with shoots' exact JSON, on the frame's numeric
      columns (shoots' pandas resample refuses the dictionary column; one attempt on the full frame
      is recorded as well)
  W5  gets of a 1,000-row frame by 32 concurrent clients (own connections, in several client
      processes) for 20 s: requests/s and p99
  W6  the server's peak RSS above idle during W1 and W2 (VmRSS sampled every ~20 ms), also as a
      fraction of the frame's Arrow size
  W7  scanning SQL (no time filter), one shape after another: S1 value filter + group-by on the
      category, S2 a ~1 % row filter returning its rows, S3 group-by on the category with three
      aggregates, S4 top-10 by value, S5 hourly time buckets, S6 a join of two frames on ts (and S7
      a LIKE filter on the string column with --strings); p50 per shape (hangar, shoots)
  W8  small operations against ArcticDB on LMDB in process (bench/arcticdb_ops.py, in the venv of
      bench/setup-arcticdb-venv.sh; recorded as skipped without it): a one-day range read, a
      1,000-row append, a two-column read (hangar; ArcticDB after Hangar's runs, not interleaved)

Physical floors beside the ratios ("floors" in the JSON, the second table): the pyarrow server for
get and put; `dd conv=fsync` of the frame's Arrow size to the store's disk, once per W2 run; the put
floor is the larger of the two; beside it `dd conv=fsync` of the bytes Hangar actually stores (the
sum of its current version's segment files and dictionary sidecars, measured after the warm-up put),
also once per W2 run: the durable write no put of this frame can beat, and the bound on W2's
0.5x-shoots goal when half of shoots' time lies below it; DuckDB alone (bench/duckdb_floor.mjs) on the Parquet segments of
Hangar's current version for each W7 shape, once per run. --columns N widens the frame with float64
columns, --strings adds a plain utf8 column (20,000 distinct ~16-byte values).

Every timed workload runs one untimed warm-up and then --runs timed runs; runs are interleaved
across servers (run 1 on each server, then run 2, ...) so drift of a shared machine hits all three
alike. Failures of a server in a workload are recorded as error strings in the JSON, not raised.

This is a benchmark, not a test: it asserts nothing about timing. `--quick` is a smoke run only.
"""
from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import json
import multiprocessing
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import shutil
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Optional
from xml.sax.saxutils import escape

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_get import (HANGAR_NODE_FLAGS, MB, SEED, MiB, REPO, RssSampler, compare_frames, concurrent_calls, git_commit, make_table,  # noqa: E402
                     read_cpu_seconds, read_rss_bytes)

FRAME = "bench_compare"
JOINED = "bench_compare_numeric"  # W7 S6 joins FRAME with the numeric frame of W4 on ts
APPEND = "bench_compare_append"
NUMERIC = "bench_compare_numeric"
SMALL = "bench_compare_small"
SMALL_ROWS = 1_000
CHUNK_ROWS = 65_536
SERVERS = ("hangar", "shoots", "pyarrow")
SQL_SERVERS = ("hangar", "shoots")

# The targets, as stated in the report (the bounds themselves are in rows_of()).
TARGETS_DOC = {
    "W1": "Hangar time ≤ 1.0× shoots (stretch 0.7×); Hangar throughput ≥ 0.6× the pyarrow in-memory server",
    "W2": "Hangar time ≤ 0.5× shoots",
    "W3": "Hangar latency ≤ 0.5× shoots",
    "W4": "Hangar time ≤ 0.2× shoots",
    "W5": "Hangar requests/s ≥ 2× shoots",
    "W6": "Hangar peak RSS above idle ≤ 1.25× the frame's Arrow size",
}


# --------------------------------------------------------------------------------------------------
# Server processes


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: SIGKILL the server if this process dies, so no server outlives a crashed run."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


BASELINE_DIST: Optional[Path] = None  # set by --baseline: the dist/ of the build "hangar-base" runs


class Server:
    """One server subprocess on 127.0.0.1: its pid (for RSS), its location, its log."""

    def __init__(self, kind: str, workdir: Path, node_args: list[str], hangar_args: list[str] | None = None) -> None:
        self.kind = kind
        self.log_path = workdir / f"{kind}.log"
        self.data = workdir / f"{kind}-store"
        self.data.mkdir(parents=True, exist_ok=True)
        port = None
        if kind in ("hangar", "hangar-base"):
            dist = REPO / "dist" if kind == "hangar" else BASELINE_DIST
            assert dist is not None, "hangar-base needs --baseline"
            cmd = ["node", *HANGAR_NODE_FLAGS, *node_args, str(dist / "cli" / "main.js"), "serve",
                   "--host", "127.0.0.1", "--port", "0", "--data", str(self.data), *(hangar_args or [])]
        elif kind == "shoots":
            # shoots' console script `shoots-server` is shoots.shoots_server:main. It binds the port
            # it is given and prints it only through a buffered print, so pick a free port here and
            # wait for its `ping` action to answer.
            port = free_port()
            cmd = [sys.executable, "-c", "from shoots.shoots_server import main; main()",
                   "--host", "127.0.0.1", "--port", str(port), "--bucket_dir", str(self.data)]
        elif kind == "pyarrow":
            cmd = [sys.executable, str(REPO / "bench" / "baseline_server.py")]
        else:
            raise ValueError(kind)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.log, preexec_fn=_die_with_parent)
        threading.Thread(target=self._drain, daemon=True).start()
        self._listening = threading.Event()
        self.location = f"grpc://127.0.0.1:{port}" if port else ""
        try:
            self._await_ready(port, timeout=60.0)
        except BaseException:
            self.stop()
            raise
        self.start_rss = 0

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not self.location and " listening on " in line:
                self.location = line.split(" listening on ", 1)[1].strip()
                self._listening.set()
            self.log.write(raw)
            self.log.flush()

    def _await_ready(self, port: Optional[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if port is None:
            while not self._listening.wait(0.1):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.kind} did not report listening; see {self.log_path}")
            return
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited ({self.proc.returncode}); see {self.log_path}")
            try:
                with flight.connect(self.location) as client:
                    options = flight.FlightCallOptions(timeout=2.0)
                    if list(client.do_action(flight.Action("ping", b""), options)):
                        return
            except (flight.FlightError, OSError) as error:
                last = error
            time.sleep(0.1)
        raise RuntimeError(f"{self.kind} did not answer ping within {timeout:.0f} s ({last}); see {self.log_path}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --------------------------------------------------------------------------------------------------
# Calls: the same bytes to every server


def put(client: flight.FlightClient, table: pa.Table, name: str) -> None:
    command = json.dumps({"name": name, "mode": "replace", "bucket": None}).encode()
    writer, _ = client.do_put(flight.FlightDescriptor.for_command(command), table.schema)
    writer.write_table(table, max_chunksize=CHUNK_ROWS)
    writer.close()


def get(client: flight.FlightClient, name: str) -> pa.Table:
    return client.do_get(flight.Ticket(json.dumps({"name": name, "bucket": None}).encode())).read_all()


def sql_ticket(sql: str) -> flight.Ticket:
    """shoots' SQL ticket, exactly as ShootsClient.get(name, sql=...) sends it; Hangar accepts it too
    (it ignores "name": every frame of the bucket is a table)."""
    return flight.Ticket(json.dumps({"name": FRAME, "bucket": None, "sql": sql}).encode())


def resample_body(source: str, target: str) -> bytes:
    """What ShootsClient.resample(source, target, rule="1min", time_col="ts", aggregation_func="mean",
    mode=PutMode.REPLACE) sends, key for key."""
    return json.dumps({"source": source, "target": target, "mode": "replace", "source_bucket": None,
                       "target_bucket": None, "rule": "1min", "time_col": "ts",
                       "aggregation_func": "mean"}).encode()


def resample(client: flight.FlightClient, source: str) -> int:
    results = list(client.do_action(flight.Action("resample", resample_body(source, f"{source}_1min"))))
    return int(json.loads(results[0].body.to_pybytes())["target_rows"])


def error_text(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    first = text.splitlines()[0] if text else type(error).__name__
    # pyarrow appends the server's Python traceback; its first line says nothing.
    first = first.split(". Detail: Python exception", 1)[0]
    return first[:500]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values)


# --------------------------------------------------------------------------------------------------
# W1/W2: one large call with RSS sampling


def timed_call(server: Server, call: Callable[[], Any], settle: float) -> dict:
    time.sleep(settle)  # let the previous call's buffers go before reading "idle"
    idle = read_rss_bytes(server.pid) or 0
    cpu_before = read_cpu_seconds(server.pid) or 0.0
    with RssSampler(server.pid) as sampler:
        started = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - started
    cpu_after = read_cpu_seconds(server.pid) or 0.0
    rows = result.num_rows if isinstance(result, pa.Table) else None
    del result
    return {"seconds": seconds, "idle_rss": idle, "peak_rss": sampler.peak,
            "above_idle": max(0, sampler.peak - idle), "server_cpu_seconds": cpu_after - cpu_before,
            "rows": rows}


def summarise_big(runs: list[dict], nbytes: int) -> dict:
    seconds = [r["seconds"] for r in runs]
    above = [r["above_idle"] for r in runs]
    return {
        "median_s": median(seconds),
        "seconds": seconds,
        "mb_per_s": nbytes / MB / median(seconds),
        "server_cpu_seconds": [r["server_cpu_seconds"] for r in runs],
        "idle_rss_bytes": [r["idle_rss"] for r in runs],
        "peak_rss_bytes": [r["peak_rss"] for r in runs],
        "above_idle_bytes": above,
        "above_idle_median_bytes": median(above),
        "above_idle_max_bytes": max(above),
        "above_idle_fraction_of_frame": median(above) / nbytes,
        "above_idle_max_fraction_of_frame": max(above) / nbytes,
    }


# --------------------------------------------------------------------------------------------------
# W3: SQL latency at 1 and N clients


def sql_round(location: str, sql: str, clients: int, per_client: int) -> dict:
    connections = [flight.connect(location) for _ in range(clients)]
    measured = concurrent_calls(connections, per_client, lambda connection: connection.do_get(sql_ticket(sql)).read_all().num_rows)
    for connection in connections:
        connection.close()
    if measured["errors"]:
        raise RuntimeError(error_text(measured["errors"][0]))
    return {"times_ms": measured["times_ms"], "rows": measured["rows"], "wall_s": measured["wall_s"]}


# --------------------------------------------------------------------------------------------------
# W5: many small gets from several client processes (one Python process would be GIL-bound)


def _w5_process(location: str, name: str, threads: int, seconds: float, ready, go, out) -> None:
    """Runs in a spawned client process: `threads` connections, each getting `name` in a loop."""
    ticket = flight.Ticket(json.dumps({"name": name, "bucket": None}).encode())
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    connections = [flight.connect(location) for _ in range(threads)]
    try:
        for connection in connections:  # warm-up: connect, one call each
            connection.do_get(ticket).read_all()
    except Exception as error:  # noqa: BLE001 - reported to the parent
        errors.append(error_text(error))
    ready.put(1)
    go.wait()
    deadline = time.perf_counter() + seconds

    def loop(connection: flight.FlightClient) -> None:
        local: list[float] = []
        while True:
            started = time.perf_counter()
            if started >= deadline:
                break
            try:
                connection.do_get(ticket).read_all()
            except Exception as error:  # noqa: BLE001
                with lock:
                    errors.append(error_text(error))
                break
            local.append(time.perf_counter() - started)
        with lock:
            latencies.extend(local)

    workers = [threading.Thread(target=loop, args=(c,)) for c in connections] if not errors else []
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put({"latencies": latencies, "errors": errors[:3]})


def small_gets(location: str, clients: int, processes: int, seconds: float) -> dict:
    context = multiprocessing.get_context("spawn")
    ready, out, go = context.Queue(), context.Queue(), context.Event()
    processes = max(1, min(processes, clients))
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    children = [context.Process(target=_w5_process, args=(location, SMALL, n, seconds, ready, go, out), daemon=True)
                for n in shares]
    for child in children:
        child.start()
    try:
        for _ in children:
            ready.get(timeout=120)
        started = time.perf_counter()
        go.set()
        reports = [out.get(timeout=seconds + 120) for _ in children]
        wall = time.perf_counter() - started
    finally:
        for child in children:
            child.join(timeout=10)
            if child.is_alive():
                child.kill()
    errors = [e for r in reports for e in r["errors"]]
    if errors:
        raise RuntimeError(errors[0])
    latencies = [x for r in reports for x in r["latencies"]]
    if not latencies:
        raise RuntimeError("no request completed")
    return {"requests": len(latencies), "seconds": seconds, "wall_s": wall,
            "requests_per_s": len(latencies) / seconds,
            "p50_ms": percentile(latencies, 0.5) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000}


# --------------------------------------------------------------------------------------------------
# The frame's shape, the W7 query shapes and the physical floors


def build_table(rows: int, columns: int, strings: bool) -> pa.Table:
    """put_get.py's frame (ts, f0..f3, category), widened to `columns` columns in all with float64
    columns x06.. (fixed seed), plus a plain utf8 column `label` with `strings`."""
    table = make_table(rows)
    rng = np.random.default_rng(SEED + 1)
    if strings:
        values = np.array([f"label_{i:05d}_{i * 7919 % 10007:05d}" for i in range(20_000)], dtype=object)
        table = table.append_column("label", pa.array(values[rng.integers(0, len(values), size=rows)], type=pa.string()))
    for i in range(table.num_columns, columns):
        table = table.append_column(f"x{i:02d}", pa.array(rng.standard_normal(rows)))
    return table


def scan_shapes(strings: bool) -> dict[str, str]:
    """W7's SQL, valid in DuckDB (Hangar) and DataFusion (shoots) alike; no time filter."""
    shapes = {
        "S1 value filter + group-by category": f"SELECT category, count(*) AS n, avg(f1) AS f1 FROM {FRAME} WHERE f0 > 1.0 GROUP BY category",
        "S2 ~1% row filter, rows back": f"SELECT ts, f0, f1, f2, f3, category FROM {FRAME} WHERE f0 > 2.326",
        "S3 group-by category, 3 aggregates": f"SELECT category, avg(f0) AS a, sum(f1) AS s, max(f2) AS m FROM {FRAME} GROUP BY category",
        "S4 top-10 by value": f"SELECT ts, f0, category FROM {FRAME} ORDER BY f0 DESC LIMIT 10",
        "S5 hourly buckets, 2 aggregates": f"SELECT date_trunc('hour', ts) AS hour, avg(f0) AS a, max(f1) AS m FROM {FRAME} GROUP BY date_trunc('hour', ts)",
        "S6 join of two frames on ts": (f"SELECT count(*) AS n, avg(a.f0 - b.f1) AS d FROM {FRAME} a JOIN {JOINED} b ON a.ts = b.ts "
                                        f"WHERE a.f0 > 1.0"),
    }
    if strings:
        shapes["S7 LIKE filter on a string column"] = f"SELECT count(*) AS n, avg(f0) AS a FROM {FRAME} WHERE label LIKE 'label_001%'"
    return shapes


def dd_fsync_seconds(directory: Path, nbytes: int) -> float:
    """Seconds `dd conv=fsync` takes to write and sync `nbytes` (in 4 MiB blocks) into `directory`."""
    target = directory / "dd-floor.bin"
    block = 4 * MiB
    started = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", f"of={target}", f"bs={block}", f"count={max(1, round(nbytes / block))}",
                    "conv=fsync", "status=none"], check=True)
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


def dd_fsync_exact_seconds(directory: Path, nbytes: int) -> float:
    """Seconds `dd conv=fsync` takes to write and sync exactly `nbytes` (4 MiB blocks) into `directory`."""
    target = directory / "dd-floor-stored.bin"
    started = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", f"of={target}", f"bs={4 * MiB}", f"count={nbytes}", "iflag=count_bytes",
                    "conv=fsync", "status=none"], check=True)
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


def hangar_stored_bytes(store: Path, frame: str) -> int:
    """Bytes of the files a frame's current version stores in a local Hangar store: its segment
    files and their dictionary sidecars (what a put must make durable, besides its commit)."""
    total = 0
    for path in hangar_segments(store, frame, sidecars=True):
        total += Path(path).stat().st_size
    return total


def hangar_segments(store: Path, frame: str, sidecars: bool = False) -> list[str]:
    """The Parquet files of a frame's current version in a local Hangar store (its newest manifest;
    in the Delta log layout, the one its newest Delta commit carries in commitInfo.hangarManifest)."""
    manifests = sorted((store / "default" / frame / "manifests").glob("*.json"))
    commits = sorted((store / "default" / frame / "_delta_log").glob("*.json"))
    if commits:  # a store with both is a migrated one, whose Delta log is the newer
        actions = [json.loads(line) for line in commits[-1].read_text().splitlines() if line.strip()]
        manifest = json.loads(next(a["commitInfo"]["hangarManifest"] for a in actions if "commitInfo" in a))
    elif manifests:
        manifest = json.loads(manifests[-1].read_text())
    else:
        raise RuntimeError(f"no manifest or Delta log of {frame} under {store}")
    ids = [segment["id"] for segment in manifest["segments"]]
    if sidecars:
        ids += [segment["dictionaries"] for segment in manifest["segments"] if segment.get("dictionaries")]
    return [str(store / "default" / frame / "segments" / name) for name in ids]


def duckdb_floor(store: Path, queries: dict[str, str], repeat: int, enum_columns: list[str]) -> dict[str, dict]:
    """bench/duckdb_floor.mjs on Hangar's stored files: DuckDB alone, same process count, no server; also on
    in-memory tables of them, `enum_columns` (the frame's dictionary columns) as ENUMs like Hangar's hot frames."""
    job = {"frames": {frame: hangar_segments(store, frame) for frame in (FRAME, JOINED)}, "queries": queries, "repeat": repeat,
           "memory": True, "enum_columns": enum_columns}
    done = subprocess.run(["node", str(REPO / "bench" / "duckdb_floor.mjs")], input=json.dumps(job), capture_output=True,
                          text=True, cwd=REPO, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"duckdb_floor.mjs failed: {done.stderr[-500:]}")
    return json.loads(done.stdout)


ARCTICDB_VENV = Path(os.environ.get("HANGAR_ARCTICDB_VENV", REPO / ".venv-bench-arcticdb"))


def arcticdb_ops(rows: int, runs: int, directory: Path) -> dict:
    """bench/arcticdb_ops.py in the ArcticDB venv; raises FileNotFoundError when that venv is missing."""
    python = ARCTICDB_VENV / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing: run bash bench/setup-arcticdb-venv.sh")
    done = subprocess.run([str(python), str(REPO / "bench" / "arcticdb_ops.py"), "--rows", str(rows), "--runs", str(runs),
                           "--dir", str(directory)], capture_output=True, text=True, cwd=REPO, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"arcticdb_ops.py failed: {done.stderr[-800:]}")
    return json.loads(done.stdout)


# --------------------------------------------------------------------------------------------------
# The run


class Harness:
    def __init__(self, args: argparse.Namespace, table: pa.Table) -> None:
        self.args = args
        self.table = table
        self.nbytes = table.nbytes
        self.servers: dict[str, Server] = {}
        self.clients: dict[str, flight.FlightClient] = {}
        self.results: dict[str, dict[str, Any]] = {w: {} for w in ("W1", "W2", "W3", "W4", "W4_full_frame", "W5", "W6")}
        self.floors: dict[str, Any] = {}
        self.workdir = Path(tempfile.gettempdir())
        self.failed: dict[tuple[str, str], str] = {}

    def log(self, message: str) -> None:
        print(message, flush=True)

    def order(self, run: int, kinds: tuple[str, ...]) -> list[str]:
        """Servers that are up, rotated per run so no server always goes first."""
        up = [k for k in kinds if k in self.servers]
        shift = run % len(up) if up else 0
        return up[shift:] + up[:shift]

    def attempt(self, workload: str, kind: str, call: Callable[[], Any]) -> Any:
        """Runs one measurement; a failure is recorded once per (workload, server) and skips the rest."""
        if (workload, kind) in self.failed:
            return None
        server = self.servers[kind]
        try:
            if not server.alive:
                raise RuntimeError(f"{kind} server is not running (exit code {server.proc.returncode})")
            return call()
        except Exception as error:  # noqa: BLE001 - recorded, not raised
            text = error_text(error)
            self.failed[(workload, kind)] = text
            self.results[workload][kind] = {"error": text}
            self.log(f"  {workload} {kind}: ERROR {text}")
            if self.args.verbose:
                traceback.print_exc()
            return None

    # ---- setup
    def start(self, workdir: Path) -> dict:
        info = {}
        for kind in self.args.servers:
            try:
                server = Server(kind, workdir, self.args.node_args.split(), self.args.hangar_args.split())
            except Exception as error:  # noqa: BLE001
                text = error_text(error)
                self.log(f"{kind}: could not start: {text}")
                info[kind] = {"error": text}
                for workload in self.results:
                    self.results[workload][kind] = {"error": f"server did not start: {text}"}
                continue
            time.sleep(0.5)
            server.start_rss = read_rss_bytes(server.pid) or 0
            self.servers[kind] = server
            self.clients[kind] = flight.connect(server.location)
            info[kind] = {"location": server.location, "pid": server.pid, "start_rss_bytes": server.start_rss}
            self.log(f"{kind:8} pid {server.pid} at {server.location}, RSS at start {server.start_rss / MiB:,.0f} MiB")
        return info

    # ---- W2 then W1 (the put stores the frame the get reads)
    def big(self, workload: str, kinds: tuple[str, ...], call: Callable[[str], Any],
            after_run: Optional[Callable[[int], None]] = None) -> None:
        runs: dict[str, list[dict]] = {k: [] for k in kinds}
        for run in range(-1, self.args.runs):  # -1: the warm-up
            if after_run is not None and run >= 0:
                after_run(run)
            for kind in self.order(run, kinds):
                if run < 0:
                    self.attempt(workload, kind, lambda: call(kind))
                    continue
                measured = self.attempt(workload, kind, lambda: timed_call(self.servers[kind], lambda: call(kind),
                                                                           self.args.settle))
                if measured is not None:
                    runs[kind].append(measured)
                    self.log(f"  {workload} run {run + 1}/{self.args.runs} {kind:8} {measured['seconds']:7.3f} s  "
                             f"{self.nbytes / MB / measured['seconds']:7,.0f} MB/s  RSS above idle "
                             f"{measured['above_idle'] / MiB:6,.0f} MiB")
        for kind in kinds:
            if kind in self.servers and (workload, kind) not in self.failed and runs[kind]:
                self.results[workload][kind] = summarise_big(runs[kind], self.nbytes)

    def w2_put(self) -> None:
        self.log("W2 put (mode replace)")
        dd_seconds: list[float] = []
        stored_seconds: list[float] = []
        stored: dict[str, int] = {}

        def dd_arrow(run: int) -> None:
            seconds = dd_fsync_seconds(self.workdir, self.nbytes)
            dd_seconds.append(seconds)
            self.log(f"  W2 run {run + 1}/{self.args.runs} dd conv=fsync {seconds:7.3f} s  {self.nbytes / MB / seconds:7,.0f} MB/s")

        def dd_stored(run: int) -> None:
            # The bytes Hangar's warm-up put stored (the same frame every run), written the same way.
            if "bytes" not in stored and "hangar" in self.servers:
                try:
                    stored["bytes"] = hangar_stored_bytes(self.servers["hangar"].data, FRAME)
                except (OSError, RuntimeError, KeyError, StopIteration, ValueError) as error:
                    self.floors["dd_fsync_stored_error"] = error_text(error)
                    stored["bytes"] = 0
            if stored.get("bytes"):
                seconds = dd_fsync_exact_seconds(self.workdir, stored["bytes"])
                stored_seconds.append(seconds)
                self.log(f"  W2 run {run + 1}/{self.args.runs} dd conv=fsync of Hangar's {stored['bytes'] / MB:,.1f} MB stored "
                         f"{seconds:7.3f} s")

        def dd_floor(run: int) -> None:
            # The first dd after the puts also waits for the disk to write back what they left in the
            # page cache: the two alternate which goes first.
            for dd in ((dd_arrow, dd_stored) if run % 2 == 0 else (dd_stored, dd_arrow)):
                dd(run)
        self.big("W2", SERVERS, lambda kind: put(self.clients[kind], self.table, FRAME), after_run=dd_floor)
        self.floors["dd_fsync"] = {"median_s": median(dd_seconds), "seconds": dd_seconds, "bytes": self.nbytes,
                                   "where": str(self.workdir)}
        if stored_seconds:
            self.floors["dd_fsync_stored"] = {"median_s": median(stored_seconds), "seconds": stored_seconds,
                                              "bytes": stored["bytes"], "where": str(self.workdir)}

    def w1_get(self) -> None:
        self.log("W1 get")
        for kind in self.order(0, SERVERS):  # one-off check that each server returns the frame it was given
            def check(kind: str = kind) -> None:
                received = get(self.clients[kind], FRAME)
                self.results.setdefault("round_trip", {})[kind] = compare_frames(self.table, received)
            self.attempt("W1", kind, check)
        self.big("W1", SERVERS, lambda kind: get(self.clients[kind], FRAME))

    # ---- W3
    def w3_sql(self, sql: str) -> None:
        self.log("W3 SQL: 1% time filter + group-by on category")
        pooled: dict[str, dict[int, dict[str, Any]]] = {k: {} for k in SQL_SERVERS}
        levels = ((1, self.args.w3_queries), (8, max(1, self.args.w3_queries // 4)))
        for kind in self.order(0, SQL_SERVERS):  # warm-up: each connection count once
            self.attempt("W3", kind, lambda: [sql_round(self.servers[kind].location, sql, c, 1) for c, _ in levels])
        for run in range(self.args.runs):
            for kind in self.order(run, SQL_SERVERS):
                for clients, per_client in levels:
                    measured = self.attempt("W3", kind, lambda: sql_round(self.servers[kind].location, sql,
                                                                          clients, per_client))
                    if measured is None:
                        break
                    entry = pooled[kind].setdefault(clients, {"times_ms": [], "rows": set(), "wall_s": 0.0, "run_p50_ms": []})
                    entry["times_ms"] += measured["times_ms"]
                    entry["rows"].update(measured["rows"])
                    entry["wall_s"] += measured["wall_s"]
                    entry["run_p50_ms"].append(percentile(measured["times_ms"], 0.5))
                    self.log(f"  W3 run {run + 1}/{self.args.runs} {kind:8} {clients} client(s): "
                             f"p50 {percentile(measured['times_ms'], 0.5):8.1f} ms  "
                             f"p99 {percentile(measured['times_ms'], 0.99):8.1f} ms  rows {measured['rows']}")
        for kind in SQL_SERVERS:
            if kind in self.servers and ("W3", kind) not in self.failed and pooled[kind]:
                self.results["W3"][kind] = {
                    f"clients_{clients}": {
                        "queries": len(e["times_ms"]),
                        "p50_ms": percentile(e["times_ms"], 0.5),
                        "p99_ms": percentile(e["times_ms"], 0.99),
                        "queries_per_s": len(e["times_ms"]) / e["wall_s"],
                        "run_p50_ms": e["run_p50_ms"],
                        "result_rows": sorted(e["rows"]),
                    } for clients, e in pooled[kind].items()}
        if "pyarrow" in self.servers:
            self.results["W3"]["pyarrow"] = {"skipped": "no SQL in the pyarrow baseline server"}

    # ---- W4
    def w4_resample(self) -> None:
        self.log("W4 resample 1min mean (the resample action; numeric columns ts, f0..f3)")
        seconds: dict[str, list[float]] = {k: [] for k in SQL_SERVERS}
        rows: dict[str, int] = {}
        for run in range(-1, self.args.runs):
            for kind in self.order(run, SQL_SERVERS):
                def one(kind: str = kind) -> float:
                    started = time.perf_counter()
                    rows[kind] = resample(self.clients[kind], NUMERIC)
                    return time.perf_counter() - started
                elapsed = self.attempt("W4", kind, one)
                if elapsed is not None and run >= 0:
                    seconds[kind].append(elapsed)
                    self.log(f"  W4 run {run + 1}/{self.args.runs} {kind:8} {elapsed:7.3f} s  rows {rows[kind]}")
        for kind in SQL_SERVERS:
            if kind in self.servers and ("W4", kind) not in self.failed and seconds[kind]:
                self.results["W4"][kind] = {"median_s": median(seconds[kind]), "seconds": seconds[kind],
                                            "target_rows": rows[kind]}
        # Once, untimed as a workload: the same action on the full frame (with its dictionary column).
        for kind in self.order(0, SQL_SERVERS):
            def full(kind: str = kind) -> dict:
                started = time.perf_counter()
                n = resample(self.clients[kind], FRAME)
                return {"seconds": time.perf_counter() - started, "target_rows": n}
            outcome = self.attempt("W4_full_frame", kind, full)
            if outcome is not None:
                self.results["W4_full_frame"][kind] = outcome
                self.log(f"  W4 full frame (once) {kind:8} {outcome['seconds']:7.3f} s  rows {outcome['target_rows']}")
        if "pyarrow" in self.servers:
            for key in ("W4", "W4_full_frame"):
                self.results[key]["pyarrow"] = {"skipped": "no resample action in the pyarrow baseline server"}

    # ---- W5
    def w5_small_gets(self) -> None:
        self.log(f"W5 {SMALL_ROWS:,}-row gets, {self.args.w5_clients} clients, {self.args.w5_seconds:g} s")
        runs: dict[str, list[dict]] = {k: [] for k in SERVERS}
        for run in range(self.args.runs):
            for kind in self.order(run, SERVERS):
                measured = self.attempt("W5", kind, lambda: small_gets(self.servers[kind].location, self.args.w5_clients,
                                                                       self.args.w5_processes, self.args.w5_seconds))
                if measured is not None:
                    runs[kind].append(measured)
                    self.log(f"  W5 run {run + 1}/{self.args.runs} {kind:8} {measured['requests_per_s']:8,.0f} req/s  "
                             f"p50 {measured['p50_ms']:7.2f} ms  p99 {measured['p99_ms']:7.2f} ms")
        for kind in SERVERS:
            if kind in self.servers and ("W5", kind) not in self.failed and runs[kind]:
                self.results["W5"][kind] = {
                    "requests_per_s": median([r["requests_per_s"] for r in runs[kind]]),
                    "p99_ms": median([r["p99_ms"] for r in runs[kind]]),
                    "p50_ms": median([r["p50_ms"] for r in runs[kind]]),
                    "runs": runs[kind],
                }

    # ---- W6 (from the W1/W2 samples)
    def w6_memory(self) -> None:
        for kind in SERVERS:
            if kind not in self.servers:
                continue
            entry: dict[str, Any] = {}
            for workload, label in (("W1", "get"), ("W2", "put")):
                measured = self.results[workload].get(kind, {})
                if "error" in measured:
                    entry[label] = {"error": measured["error"]}
                elif measured:
                    entry[label] = {"above_idle_bytes": measured["above_idle_median_bytes"],
                                    "fraction_of_frame": measured["above_idle_fraction_of_frame"],
                                    "max_fraction_of_frame": measured["above_idle_max_fraction_of_frame"]}
            fractions = [v["fraction_of_frame"] for v in entry.values() if "fraction_of_frame" in v]
            if fractions:
                entry["peak_fraction_of_frame"] = max(fractions)
            self.results["W6"][kind] = entry if entry else {"error": "no W1/W2 measurement"}

    # ---- W7: scanning SQL shapes, with DuckDB alone on the same files as the floor
    def w7_scan_sql(self) -> None:
        shapes = scan_shapes(self.args.strings)
        kinds = tuple(k for k in SQL_SERVERS)
        self.log(f"W7 scanning SQL: {len(shapes)} shapes, {self.args.shape_queries} queries per shape per run, 1 client")
        results = self.results.setdefault("W7", {})
        floor_kinds = ("duckdb", "duckdb_mem")  # DuckDB alone on the Parquet files, and on in-memory tables of them
        times: dict[str, dict[str, list[float]]] = {shape: {k: [] for k in (*kinds, *floor_kinds)} for shape in shapes}
        rows: dict[str, dict[str, Any]] = {shape: {} for shape in shapes}
        for run in range(-1, self.args.runs):  # -1: one untimed query of each shape on each server
            for shape, sql in shapes.items():
                for kind in self.order(max(run, 0), kinds):
                    key = f"W7 {shape}"
                    self.results.setdefault(key, {})
                    n = 1 if run < 0 else self.args.shape_queries
                    measured = self.attempt(key, kind, lambda: sql_round(self.servers[kind].location, sql, 1, n))
                    if measured is not None and run >= 0:
                        times[shape][kind] += measured["times_ms"]
                        rows[shape][kind] = sorted(measured["rows"])
            if run < 0 or "hangar" not in self.servers:
                continue
            try:
                enums = [field.name for field in self.table.schema if pa.types.is_dictionary(field.type)]
                floor = duckdb_floor(self.servers["hangar"].data, shapes, self.args.shape_queries, enums)
            except Exception as error:  # noqa: BLE001 - recorded, not raised
                self.floors["duckdb_error"] = error_text(error)
                self.log(f"  W7 duckdb floor: ERROR {error_text(error)}")
                floor = {}
            for shape, entry in floor.items():
                if "times_ms" in entry:
                    times[shape]["duckdb"] += entry["times_ms"]
                    rows[shape]["duckdb"] = [entry["rows"]]
                    times[shape]["duckdb_mem"] += entry.get("memory_times_ms", [])
                    rows[shape]["duckdb_mem"] = [entry.get("memory_rows")]
                else:
                    rows[shape]["duckdb_error"] = entry.get("error")
            line = "  ".join(f"{shape[:2]} " + "/".join(f"{percentile(times[shape][k][-self.args.shape_queries:], 0.5):.0f}"
                                                         if times[shape][k] else "-" for k in (*kinds, *floor_kinds))
                             for shape in shapes)
            self.log(f"  W7 run {run + 1}/{self.args.runs} p50 ms {'/'.join((*kinds, *floor_kinds))}: {line}")
        for shape, sql in shapes.items():
            entry: dict[str, Any] = {"sql": sql}
            for kind in (*kinds, *floor_kinds):
                failed = self.results.get(f"W7 {shape}", {}).get(kind)
                if failed:
                    entry[kind] = failed
                elif times[shape][kind]:
                    entry[kind] = {"p50_ms": percentile(times[shape][kind], 0.5), "p99_ms": percentile(times[shape][kind], 0.99),
                                   "queries": len(times[shape][kind]), "result_rows": rows[shape].get(kind)}
            if "duckdb_error" in rows[shape]:
                entry["duckdb"] = {"error": rows[shape]["duckdb_error"]}
            results[shape] = entry
        for shape in shapes:
            self.results.pop(f"W7 {shape}", None)

    # ---- W8: small operations, Hangar against ArcticDB in process
    def w8_small_ops(self) -> None:
        self.log("W8 small operations: one-day range read, 1,000-row append, two-column read (Hangar, then ArcticDB)")
        results = self.results.setdefault("W8", {})
        start_us = self.table.column("ts")[0].value
        middle = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=start_us + (self.args.rows // 2) * 1_000_000)
        day = {"start": f"{middle:%Y-%m-%dT%H:%M:%S}", "end": f"{middle + dt.timedelta(days=1):%Y-%m-%dT%H:%M:%S}"}
        numeric = self.table.select(["ts", "f0", "f1", "f2", "f3"])
        last = {"us": start_us + (self.args.rows - 1) * 1_000_000}

        def ticket(extra: dict) -> flight.Ticket:
            return flight.Ticket(json.dumps({"name": NUMERIC, "bucket": None, **extra}).encode())

        def append(client: flight.FlightClient) -> int:
            first = last["us"] + 1_000_000
            ts = pa.array(np.arange(first, first + 1_000 * 1_000_000, 1_000_000, dtype=np.int64), type=pa.timestamp("us"))
            block = pa.table({"ts": ts, **{c: pa.array(np.arange(1_000, dtype=np.float64)) for c in ("f0", "f1", "f2", "f3")}})
            command = json.dumps({"name": APPEND, "mode": "append", "bucket": None}).encode()
            writer, _ = client.do_put(flight.FlightDescriptor.for_command(command), block.schema)
            writer.write_table(block)
            writer.close()
            last["us"] = first + 999 * 1_000_000
            return block.num_rows

        ops: dict[str, Callable[[flight.FlightClient], int]] = {
            "range_day": lambda client: client.do_get(ticket(day)).read_all().num_rows,
            "append_1000": append,
            "two_columns": lambda client: client.do_get(ticket({"columns": ["f0", "f1"]})).read_all().num_rows,
        }
        kinds = tuple(k for k in ("hangar", "hangar-base") if k in self.servers)
        times = {op: {k: [] for k in kinds} for op in ops}
        counts: dict[str, int] = {}
        for kind in kinds:
            self.attempt("W8", kind, lambda: put(self.clients[kind], numeric, APPEND))
        for run in range(-1, self.args.runs):
            for kind in self.order(max(run, 0), kinds):
                for op, call in ops.items():
                    def one(kind: str = kind, call: Callable[[flight.FlightClient], int] = call) -> float:
                        started = time.perf_counter()
                        counts[op] = call(self.clients[kind])
                        return (time.perf_counter() - started) * 1000
                    elapsed = self.attempt("W8", kind, one)
                    if elapsed is not None and run >= 0:
                        times[op][kind].append(elapsed)
        for op in ops:
            results[op] = {k: {"median_ms": median(v), "times_ms": v, "rows": counts.get(op)} for k, v in times[op].items() if v}
        try:
            arctic = arcticdb_ops(self.args.rows, self.args.runs, self.workdir / "arcticdb")
            self.floors["arcticdb_version"] = arctic["version"]
            for op, entry in arctic["ops"].items():
                results.setdefault(op, {})["arcticdb"] = {"median_ms": median(entry["times_ms"]), "times_ms": entry["times_ms"],
                                                          "rows": entry.get("rows")}
        except FileNotFoundError as error:
            for op in ops:
                results.setdefault(op, {})["arcticdb"] = {"skipped": str(error)}
        except Exception as error:  # noqa: BLE001 - recorded, not raised
            for op in ops:
                results.setdefault(op, {})["arcticdb"] = {"error": error_text(error)}
        for op, entry in results.items():
            self.log(f"  W8 {op:12} " + "  ".join(f"{k} {v['median_ms']:.1f} ms" if "median_ms" in v else f"{k} {next(iter(v.values()))}"
                                                 for k, v in entry.items()))

    def close(self) -> None:
        for client in self.clients.values():
            try:
                client.close()
            except Exception:  # noqa: BLE001
                pass
        for server in self.servers.values():
            server.stop()


# --------------------------------------------------------------------------------------------------
# Ratios, targets, table


def value(results: dict, workload: str, kind: str, *path: str) -> Optional[float]:
    node: Any = results.get(workload, {}).get(kind)
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node) if isinstance(node, (int, float)) else None


def rows_of(results: dict) -> list[dict]:
    """The report's rows: one metric each, its value per server, the ratios and the target."""
    rows = []

    def add(label: str, unit: str, workload: str, path: tuple[str, ...], better: str,
            target: Optional[tuple[str, float, str]] = None, stretch: Optional[float] = None,
            ceiling_target: Optional[float] = None, fmt: str = "{:,.3f}") -> None:
        values = {k: value(results, workload, k, *path) for k in SERVERS}
        h, s, p = values["hangar"], values["shoots"], values["pyarrow"]
        row: dict[str, Any] = {"metric": label, "unit": unit, "workload": workload, "better": better,
                               "values": values, "format": fmt,
                               "hangar_over_shoots": h / s if h is not None and s else None,
                               "hangar_over_pyarrow": h / p if h is not None and p else None}
        if "hangar-base" in values:
            b = values["hangar-base"]
            row["hangar_over_base"] = h / b if h is not None and b else None
        if target is not None:
            anchor, bound, op = target
            ratio = row["hangar_over_shoots"] if anchor == "shoots" else row["hangar_over_pyarrow"] if anchor == "pyarrow" else h
            row["target"] = {"anchor": anchor, "op": op, "bound": bound, "stretch": stretch, "measured": ratio,
                             "met": None if ratio is None else (ratio <= bound if op == "<=" else ratio >= bound),
                             "stretch_met": None if ratio is None or stretch is None else ratio <= stretch}
        if ceiling_target is not None:
            # throughput against the ceiling: pyarrow time / Hangar time
            ratio = p / h if h and p else None
            row["ceiling_target"] = {"anchor": "pyarrow", "op": ">=", "bound": ceiling_target, "measured": ratio,
                                     "met": None if ratio is None else ratio >= ceiling_target,
                                     "what": "Hangar throughput / pyarrow server throughput"}
        rows.append(row)

    add("W1 get the frame", "s", "W1", ("median_s",), "lower", ("shoots", 1.0, "<="), stretch=0.7,
        ceiling_target=0.6)
    add("W2 put (replace)", "s", "W2", ("median_s",), "lower", ("shoots", 0.5, "<="))
    for clients in (1, 8):
        for stat in ("p50", "p99"):
            add(f"W3 SQL {stat}, {clients} client{'s' if clients > 1 else ''}", "ms", "W3",
                (f"clients_{clients}", f"{stat}_ms"), "lower", ("shoots", 0.5, "<="), fmt="{:,.1f}")
    add("W4 resample 1min mean", "s", "W4", ("median_s",), "lower", ("shoots", 0.2, "<="))
    add("W5 1,000-row gets, many clients", "req/s", "W5", ("requests_per_s",), "higher", ("shoots", 2.0, ">="), fmt="{:,.0f}")
    add("W5 p99", "ms", "W5", ("p99_ms",), "lower", fmt="{:,.1f}")
    add("W6 RSS above idle during get ÷ frame", "×", "W6", ("get", "fraction_of_frame"), "lower", ("absolute", 1.25, "<="), fmt="{:.2f}")
    add("W6 RSS above idle during put ÷ frame", "×", "W6", ("put", "fraction_of_frame"), "lower", ("absolute", 1.25, "<="), fmt="{:.2f}")
    return rows


def floor_rows(results: dict, floors: dict) -> list[dict]:
    """The second table: Hangar beside the physical floors (and ArcticDB) with the issue's goals."""
    rows: list[dict] = []

    def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
        return a / b if a is not None and b else None

    def add(metric: str, unit: str, hangar: Optional[float], anchors: dict[str, Optional[float]], goal: str,
            goal_ratio: Optional[float], bound: Optional[float]) -> None:
        rows.append({"metric": metric, "unit": unit, "hangar": hangar, "anchors": anchors,
                     "ratios": {k: ratio(hangar, v) for k, v in anchors.items()}, "goal": goal,
                     "goal_measured": goal_ratio, "goal_met": None if goal_ratio is None or bound is None else goal_ratio <= bound})

    get_h, get_p = value(results, "W1", "hangar", "median_s"), value(results, "W1", "pyarrow", "median_s")
    if get_h is not None:
        add("W1 get", "s", get_h, {"pyarrow": get_p, "shoots": value(results, "W1", "shoots", "median_s")},
            "≤ 1.05× pyarrow server", ratio(get_h, get_p), 1.05)
    put_h, put_p = value(results, "W2", "hangar", "median_s"), value(results, "W2", "pyarrow", "median_s")
    dd = floors.get("dd_fsync", {}).get("median_s")
    if put_h is not None:
        floor = max((x for x in (put_p, dd) if x is not None), default=None)
        add("W2 put", "s", put_h, {"pyarrow": put_p, "dd_fsync": dd, "floor": floor,
                                   "shoots": value(results, "W2", "shoots", "median_s")},
            "≤ 1.2× floor (max of pyarrow, dd)", ratio(put_h, floor), 1.2)
        # The bytes Hangar stores, made durable: below that no put of the frame can go, so it also
        # bounds the 0.5×-shoots goal (reachable only if half of shoots' time is above it).
        stored_dd = floors.get("dd_fsync_stored", {}).get("median_s")
        put_s = value(results, "W2", "shoots", "median_s")
        if stored_dd is not None:
            half = 0.5 * put_s if put_s is not None else None
            add("W2 put vs stored bytes", "s", put_h, {"dd_fsync_stored": stored_dd, "half_shoots": half},
                f"≤ 0.5× shoots, bounded by dd of the {floors['dd_fsync_stored']['bytes'] / MB:,.1f} MB stored"
                + ("" if half is None else f" (0.5× shoots is {ratio(half, stored_dd):.2f}× that floor)"),
                ratio(put_h, put_s), 0.5)
    for shape, entry in results.get("W7", {}).items():
        h = entry.get("hangar", {}).get("p50_ms")
        sh = entry.get("shoots", {}).get("p50_ms")
        add(f"W7 {shape}", "ms p50", h, {"shoots": sh, "duckdb": entry.get("duckdb", {}).get("p50_ms"),
                                          "duckdb_mem": entry.get("duckdb_mem", {}).get("p50_ms")},
            "≤ 0.3× shoots", ratio(h, sh), 0.3)
    bounds = {"range_day": 2.0, "append_1000": 2.0, "two_columns": 1.3}
    for op, entry in results.get("W8", {}).items():
        h = entry.get("hangar", {}).get("median_ms")
        a = entry.get("arcticdb", {}).get("median_ms")
        if op in bounds:
            add(f"W8 {op}", "ms", h, {"arcticdb": a}, f"≤ {bounds[op]:g}× ArcticDB", ratio(h, a), bounds[op])
        else:  # ArcticDB's whole-frame write, beside Hangar's W2 put of the wider frame: reference only
            add(f"W8 {op} (ArcticDB; Hangar's is W2)", "ms", None, {"arcticdb": a}, "reference", None, None)
    return rows


def print_floor_table(rows: list[dict]) -> None:
    if not rows:
        return
    lines = [["metric", "unit", "hangar", "beside it (H ÷ each)", "goal"]]
    for row in rows:
        beside = ", ".join(f"{k} {v:,.3g} ({ratio_text(row['ratios'][k])})" if v is not None else f"{k} —"
                           for k, v in row["anchors"].items())
        goal = row["goal"] + ("" if row["goal_measured"] is None else
                              f": {row['goal_measured']:.2f}× {'met' if row['goal_met'] else 'MISSED'}")
        lines.append([row["metric"], row["unit"], "—" if row["hangar"] is None else f"{row['hangar']:,.3g}", beside, goal])
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    print("\nagainst the physical floors (issue 23's goals)")
    for i, line in enumerate(lines):
        print("  ".join(text.ljust(widths[j]) for j, text in enumerate(line)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def cell(row: dict, kind: str, results: dict) -> str:
    v = row["values"][kind]
    if v is not None:
        return row["format"].format(v)
    entry = results.get(row["workload"], {}).get(kind)
    if isinstance(entry, dict) and "error" in entry:
        return "error"
    if isinstance(entry, dict) and "skipped" in entry:
        return "—"
    return "n/a"


def verdict(target: Optional[dict]) -> str:
    if not target:
        return ""
    op = {"<=": "≤", ">=": "≥"}[target["op"]]
    bound = f"{op} {target['bound']:g}×" + (" frame" if target["anchor"] == "absolute" else "")
    if target["measured"] is None:
        return f"{bound}: not measured"
    text = f"{bound}: {'met' if target['met'] else 'MISSED'}"
    if target.get("stretch") is not None:
        text += f" (stretch {target['stretch']:g}×: {'met' if target['stretch_met'] else 'missed'})"
    return text


def ratio_text(x: Optional[float]) -> str:
    return "—" if x is None else f"{x:.2f}×"


def print_table(rows: list[dict], results: dict) -> None:
    base = "hangar-base" in SERVERS
    header = ["metric", "unit", *SERVERS, "H/shoots", "H/pyarrow", *(["H/base"] if base else []), "target"]
    lines = [header]
    for row in rows:
        target = row.get("target")
        line = [row["metric"], row["unit"], *(cell(row, k, results) for k in SERVERS),
                ratio_text(row["hangar_over_shoots"]), ratio_text(row["hangar_over_pyarrow"]),
                *([ratio_text(row.get("hangar_over_base"))] if base else []), verdict(target)]
        lines.append(line)
        if "ceiling_target" in row:
            c = row["ceiling_target"]
            lines.append(["  throughput vs pyarrow server", "", *([""] * len(SERVERS)), "", ratio_text(c["measured"]),
                          *([""] if base else []),
                          f"≥ {c['bound']:g}×: " + ("not measured" if c["met"] is None else "met" if c["met"] else "MISSED")])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    last = len(header) - 1
    for i, line in enumerate(lines):
        print("  ".join(text.ljust(widths[j]) if j < 2 or j == last else text.rjust(widths[j]) for j, text in enumerate(line)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


# --------------------------------------------------------------------------------------------------
# Chart: one panel per metric, a bar per server, hand-written SVG (no plotting dependency)


COLOURS = {"hangar": "#2f6db5", "shoots": "#d9822b", "pyarrow": "#7a7a7a", "hangar-base": "#8fb3de"}


def render_svg(rows: list[dict], meta: dict) -> str:
    panels = [r for r in rows if any(v is not None for v in r["values"].values())]
    width, left, bar_h, gap = 820, 80, 16, 4
    plot_w = width - left - 250
    panel_h = 26 + 3 * (bar_h + gap) + 14
    top = 58
    height = top + panel_h * len(panels) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="20" font-size="15" font-weight="bold">{escape(meta["title"])}</text>',
           f'<text x="10" y="38" fill="#444">{escape(meta["subtitle"])}</text>']
    x = 10
    for kind in SERVERS:
        out.append(f'<rect x="{x}" y="45" width="10" height="10" fill="{COLOURS[kind]}"/>'
                   f'<text x="{x + 14}" y="54">{kind}</text>')
        x += 90
    y = top
    for row in panels:
        label = f"{row['metric']} ({row['unit']}, {row['better']} is better)"
        target = row.get("target")
        if target and target["measured"] is not None:
            anchor = " the frame" if target["anchor"] == "absolute" else f" {target['anchor']}"
            op = {"<=": "≤", ">=": "≥"}[target["op"]]
            label += (f" — Hangar {target['measured']:.2f}×{anchor}, target {op} {target['bound']:g}×"
                      f": {'met' if target['met'] else 'missed'}")
        out.append(f'<text x="10" y="{y + 16}" font-weight="bold">{escape(label)}</text>')
        top_value = max((v for v in row["values"].values() if v is not None), default=1.0) or 1.0
        by = y + 24
        for kind in SERVERS:
            v = row["values"][kind]
            out.append(f'<text x="{left - 6}" y="{by + bar_h - 4}" text-anchor="end">{kind}</text>')
            if v is None:
                out.append(f'<text x="{left + 4}" y="{by + bar_h - 4}" fill="#888">'
                           f'{escape(cell(row, kind, meta["results"]))}</text>')
            else:
                w = max(1.0, plot_w * v / top_value)
                out.append(f'<rect x="{left}" y="{by}" width="{w:.1f}" height="{bar_h}" fill="{COLOURS[kind]}"/>')
                out.append(f'<text x="{left + w + 5:.1f}" y="{by + bar_h - 4}">{escape(row["format"].format(v))} {escape(row["unit"])}</text>')
            ceiling = row.get("ceiling_target")
            if kind == "pyarrow" and ceiling and ceiling["measured"] is not None:
                out.append(f'<text x="{width - 10}" y="{by + bar_h - 4}" text-anchor="end" fill="#444">'
                           f'Hangar throughput {ceiling["measured"]:.2f}× pyarrow\'s, target ≥ {ceiling["bound"]:g}×: '
                           f'{"met" if ceiling["met"] else "missed"}</text>')
            by += bar_h + gap
        y += panel_h
    out.append("</svg>")
    return "\n".join(out) + "\n"


def chart_meta(report: dict) -> dict:
    return {"title": "Hangar, shoots and a bare pyarrow Flight server, same pyarrow client",
            "subtitle": (f"{report['rows']:,} rows ({report['table_nbytes'] / MB:,.0f} MB Arrow), medians of "
                         f"{report['runs']} runs, {report['machine']['cpus']} CPUs shared by client and servers, "
                         f"{report['date'][:10]}, hangar {report['git_commit']}"),
            "results": report["workloads"]}


# --------------------------------------------------------------------------------------------------


def main() -> int:
    global SERVERS, SQL_SERVERS, BASELINE_DIST
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 200,000 rows, 1 run, W3 with 4 queries, W5 for 2 s; writes JSON/SVG only where told")
    parser.add_argument("--rows", type=int, help="rows in the frame (default 10,000,000; quick 200,000)")
    parser.add_argument("--runs", type=int, help="timed runs per workload after one warm-up (default 5; quick 1)")
    parser.add_argument("--w3-queries", type=int, help="W3 queries per run at 1 client; 8 clients run a quarter of that each (default 20; quick 4)")
    parser.add_argument("--w5-seconds", type=float, help="W5 duration per run (default 20; quick 2)")
    parser.add_argument("--w5-clients", type=int, default=32, help="W5 concurrent clients (default 32)")
    parser.add_argument("--w5-processes", type=int, default=4, help="client processes sharing the W5 clients (default 4)")
    parser.add_argument("--settle", type=float, help="pause before each W1/W2 call, before reading idle RSS (default 1 s; quick 0.2)")
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated subset of hangar,shoots,pyarrow")
    parser.add_argument("--only", default="W1,W2,W3,W4,W5,W6,W7,W8",
                        help="comma-separated subset of the workloads W1..W8 (W2 runs whenever W1, W3, W6 or W7 does: it stores the frame)")
    parser.add_argument("--columns", type=int, default=6,
                        help="columns of the frame in all: ts, f0..f3, category, then float64 columns up to N (default 6; e.g. 50)")
    parser.add_argument("--strings", action="store_true", help="add a plain utf8 column `label` (and W7's S7 LIKE shape)")
    parser.add_argument("--shape-queries", type=int, help="W7 queries per shape per server per run (default 5; quick 1)")
    parser.add_argument("--json", type=Path, help="results JSON (default bench/results/compare.json; none in quick mode)")
    parser.add_argument("--svg", type=Path, help="bar chart (default docs/images/compare.svg; none in quick mode)")
    parser.add_argument("--render-from", type=Path, metavar="JSON",
                        help="run nothing: print the table of a saved results JSON and write its chart to --svg")
    parser.add_argument("--node-args", default="", help="extra node flags for Hangar")
    parser.add_argument("--hangar-args", default="", help="extra `hangar serve` flags, e.g. '--read-cache-size 0'")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="also run 'hangar-base' from DIR/dist (another build, e.g. a git worktree of an earlier commit): a same-run A/B")
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary directory (stores and logs)")
    parser.add_argument("--verbose", action="store_true", help="print tracebacks of recorded errors")
    args = parser.parse_args()

    if args.render_from:
        saved = json.loads(args.render_from.read_text())
        rows = rows_of(saved["workloads"])
        print_table(rows, saved["workloads"])
        if args.svg:
            args.svg.parent.mkdir(parents=True, exist_ok=True)
            args.svg.write_text(render_svg(rows, chart_meta(saved)))
            print(f"wrote {args.svg}")
        return 0

    quick = args.quick
    args.rows = args.rows or (200_000 if quick else 10_000_000)
    args.runs = args.runs or (1 if quick else 5)
    args.w3_queries = args.w3_queries or (4 if quick else 20)
    args.w5_seconds = args.w5_seconds or (2.0 if quick else 20.0)
    args.settle = args.settle if args.settle is not None else (0.2 if quick else 1.0)
    if not quick:
        args.json = args.json or REPO / "bench" / "results" / "compare.json"
        args.svg = args.svg or REPO / "docs" / "images" / "compare.svg"
    args.servers = tuple(s.strip() for s in args.servers.split(",") if s.strip())
    args.only = {w.strip().upper() for w in args.only.split(",") if w.strip()}
    if not args.only or args.only - {"W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8"}:
        parser.error(f"--only takes workloads W1..W8, not {sorted(args.only)}")
    args.shape_queries = args.shape_queries or (1 if quick else 5)
    if args.columns < 6:
        parser.error("--columns counts ts, f0..f3 and category: at least 6")
    if args.baseline is not None:
        BASELINE_DIST = args.baseline.resolve() / "dist"
        if not (BASELINE_DIST / "cli" / "main.js").exists():
            parser.error(f"--baseline: {BASELINE_DIST}/cli/main.js is missing; build that checkout first")
        SERVERS = (*SERVERS, "hangar-base")
        SQL_SERVERS = (*SQL_SERVERS, "hangar-base")
        if "hangar-base" not in args.servers:
            args.servers = (*args.servers, "hangar-base")
    unknown = set(args.servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown server(s) {sorted(unknown)}")
    if args.rows < SMALL_ROWS or args.runs < 1:
        parser.error(f"--rows must be at least {SMALL_ROWS} and --runs positive")
    if "hangar" in args.servers and not (REPO / "dist" / "cli" / "main.js").exists():
        parser.error("dist/cli/main.js is missing; run `npm run build` first (npm run bench:compare does)")

    started = time.perf_counter()
    table = build_table(args.rows, args.columns, args.strings)
    nbytes = table.nbytes
    numeric = table.select(["ts", "f0", "f1", "f2", "f3"])
    small = table.slice(0, SMALL_ROWS)
    start_us = table.column("ts")[0].value
    t0 = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=start_us + (args.rows // 2) * 1_000_000)
    t1 = t0 + dt.timedelta(seconds=args.rows // 100)
    # Valid in DuckDB (Hangar) and DataFusion (shoots) alike.
    sql = (f"SELECT category, count(*) AS n, avg(f0) AS f0, max(f1) AS f1 FROM {FRAME} "
           f"WHERE ts >= TIMESTAMP '{t0:%Y-%m-%d %H:%M:%S}' AND ts < TIMESTAMP '{t1:%Y-%m-%d %H:%M:%S}' "
           f"GROUP BY category")
    commit = git_commit()
    print(f"frame: {table.num_rows:,} rows, table.nbytes = {nbytes:,} bytes ({nbytes / MB:,.1f} MB); "
          f"runs {args.runs} after one warm-up; hangar commit {commit}", flush=True)
    print(f"W3 SQL: {sql}", flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="hangar-compare-"))
    harness = Harness(args, table)
    harness.workdir = workdir
    load_start = os.getloadavg()
    try:
        servers_info = harness.start(workdir)
        harness.log("setup: the 1,000-row frame (W5) and the numeric frame (W4) on each server")
        for kind in list(harness.servers):
            if "W5" in args.only:
                harness.attempt("W5", kind, lambda: put(harness.clients[kind], small, SMALL))
            if kind in SQL_SERVERS and args.only & {"W4", "W7", "W8"}:
                harness.attempt("W4", kind, lambda: put(harness.clients[kind], numeric, NUMERIC))
        only = args.only
        if only & {"W1", "W2", "W3", "W6", "W7"}:  # the get and the SQL need the frame stored
            harness.w2_put()
        if only & {"W1", "W6"}:
            harness.w1_get()
        if only & {"W1", "W2", "W6"}:
            harness.w6_memory()
        if "W3" in only:
            harness.w3_sql(sql)
        if "W4" in only:
            harness.w4_resample()
        if "W5" in only:
            harness.w5_small_gets()
        if "W7" in only:
            harness.w7_scan_sql()
        if "W8" in only and "hangar" in harness.servers:
            harness.w8_small_ops()
        for kind, server in harness.servers.items():
            servers_info[kind]["alive_at_end"] = server.alive
    finally:
        harness.close()
        if args.keep_data:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    results = harness.results
    rows = rows_of(results)
    print(f"\nmedians of {args.runs} run(s) after one warm-up ({time.perf_counter() - started:,.0f} s in all); "
          f"W3 p50/p99 over all timed queries; H = Hangar")
    print_table(rows, results)
    floor_table = floor_rows(results, harness.floors)
    print_floor_table(floor_table)

    report = {
        "benchmark": "compare",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": commit,
        "quick": quick,
        "rows": args.rows,
        "runs": args.runs,
        "table_nbytes": nbytes,
        "schema": [f"{f.name}: {f.type}" for f in table.schema],
        "workloads_run": sorted(args.only),
        "settings": {"chunk_rows": CHUNK_ROWS, "w3_queries_1_client": args.w3_queries,
                     "w3_queries_per_client_8_clients": max(1, args.w3_queries // 4), "w3_sql": sql,
                     "w4_body": json.loads(resample_body(NUMERIC, f"{NUMERIC}_1min")),
                     "w5_rows": SMALL_ROWS, "w5_clients": args.w5_clients, "w5_processes": args.w5_processes,
                     "w5_seconds": args.w5_seconds, "settle_s": args.settle, "columns": args.columns,
                     "strings": args.strings, "w7_queries_per_shape": args.shape_queries,
                     "w7_sql": scan_shapes(args.strings)},
        "servers": servers_info,
        "targets": TARGETS_DOC,
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_at_start": load_start,
            "loadavg_at_end": os.getloadavg(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "pyarrow": pa.__version__,
            "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
        },
        "workloads": results,
        "floors": harness.floors,
        "floors_table": floor_table,
        "table": [{k: v for k, v in row.items() if k != "format"} for row in rows],
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.svg:
        args.svg.parent.mkdir(parents=True, exist_ok=True)
        args.svg.write_text(render_svg(rows, chart_meta(report)))
        print(f"wrote {args.svg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
