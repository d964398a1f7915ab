"""Hangar on S3 over loopback: put/get of the benchmark frame, SQL with a cold and a warm segment
cache, and listing 5,000 frames, against moto's S3 server started here on 127.0.0.1.

Put/get reuse bench/put_get.py unchanged (its --data takes the s3:// location). The S3 server is
moto (Python, objects in its memory), so these figures include moto's own cost per request and per
byte: they bound the connector from below, they are not a figure for AWS.

`--only ranged` times a get of one column against a get of the whole frame (projections fetch only
their Parquet column chunks with ranged GETs), and counts the segment bytes each fetches through a
counting HTTP proxy (a separate, untimed pass, so the proxy never slows the timed gets).

Usage: .venv-interop/bin/python bench/s3_bench.py [--rows N] [--runs N] [--frames N] [--json FILE]
       [--only put-get|list|ranged]
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import threading
import urllib.parse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.flight as flight

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_get import FRAME_NAME, REPO, ServerProcess, do_get, do_put, make_table  # noqa: E402

BUCKET = "hangar-bench"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


def start_moto() -> tuple[subprocess.Popen, str]:
    """Starts moto's S3 server on a free loopback port; returns it and its endpoint."""
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(r"Running on (http://127\.0\.0\.1:\d+)", line)
        if match:
            # Keep draining its log so it never blocks on a full pipe.
            import threading
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, match.group(1)
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise RuntimeError("moto server did not start")


def location(endpoint: str, prefix: str) -> str:
    return f"s3://{BUCKET}/{prefix}?endpoint={endpoint}&conditionalWrites=on"


class CountingProxy:
    """An HTTP proxy on 127.0.0.1 in front of the S3 server that counts the bytes of segment GETs.
    It forwards requests unchanged (Host included, so signatures hold) and buffers each response."""

    def __init__(self, upstream: str) -> None:
        target = urllib.parse.urlsplit(upstream)
        self.segment_bytes = 0
        self.segment_gets = 0
        self.ranged_gets = 0
        lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream_conn = http.client.HTTPConnection(target.hostname, target.port)
                upstream_conn.request(self.command, self.path, body=body, headers=dict(self.headers))
                response = upstream_conn.getresponse()
                data = response.read()
                upstream_conn.close()
                if self.command == "GET" and "/segments/" in self.path:
                    with lock:
                        proxy.segment_bytes += len(data)
                        proxy.segment_gets += 1
                        proxy.ranged_gets += 1 if self.headers.get("Range") else 0
                self.send_response_only(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)) if self.command != "HEAD" else response.getheader("Content-Length", "0"))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> dict:
        counts = {"segment_bytes": self.segment_bytes, "segment_gets": self.segment_gets, "ranged_gets": self.ranged_gets}
        self.segment_bytes = self.segment_gets = self.ranged_gets = 0
        return counts

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def do_get_columns(client: flight.FlightClient, columns: list[str]) -> pa.Table:
    ticket = flight.Ticket(json.dumps({"name": FRAME_NAME, "bucket": None, "columns": columns}).encode())
    return client.do_get(ticket).read_all()


def bench_ranged(endpoint: str, workdir: Path, args: argparse.Namespace) -> dict:
    """A get of one float64 column (f0) of the benchmark frame against a get of all six columns, on a
    fresh server: medians of --runs alternating timed gets after a warm-up of each; then the bytes
    each fetched, counted in one more pass through a CountingProxy."""
    table = make_table(args.rows)
    store = f"s3://{BUCKET}/ranged?endpoint={endpoint}&conditionalWrites=on"
    server = ServerProcess("hangar", store, workdir / "ranged-put.log", [])
    try:
        do_put(flight.FlightClient(server.location), table, 65_536)
    finally:
        server.stop()
    stored = sum(obj["Size"] for page in boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
                 .get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="ranged/")
                 for obj in page.get("Contents", []) if "/segments/" in obj["Key"])
    full_seconds: list[float] = []
    one_seconds: list[float] = []
    server = ServerProcess("hangar", store, workdir / "ranged-get.log", [])
    try:
        client = flight.FlightClient(server.location)
        full = do_get(client)
        one = do_get_columns(client, ["f0"])
        assert one.column("f0").equals(full.column("f0")), "the projected get differs from the full get"
        del full, one
        for _ in range(args.runs):
            t0 = time.perf_counter()
            do_get(client)
            full_seconds.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            do_get_columns(client, ["f0"])
            one_seconds.append(time.perf_counter() - t0)
    finally:
        server.stop()
    proxy = CountingProxy(endpoint)
    server = ServerProcess("hangar", f"s3://{BUCKET}/ranged?endpoint={proxy.endpoint}&conditionalWrites=off",
                           workdir / "ranged-count.log", [])
    try:
        client = flight.FlightClient(server.location)
        do_get(client)
        full_counts = proxy.take()
        do_get_columns(client, ["f0"])
        one_counts = proxy.take()
    finally:
        server.stop()
        proxy.close()
    result = {
        "rows": args.rows, "columns": table.column_names, "stored_segment_bytes": stored,
        "full_get": {"seconds": full_seconds, "median_seconds": statistics.median(full_seconds), **full_counts},
        "one_column_get": {"columns": ["f0"], "seconds": one_seconds, "median_seconds": statistics.median(one_seconds), **one_counts},
    }
    print(f"ranged: full get median {statistics.median(full_seconds):.2f} s, {full_counts['segment_bytes'] / 1e6:.1f} MB "
          f"in {full_counts['segment_gets']} GETs; 1-column get median {statistics.median(one_seconds):.2f} s, "
          f"{one_counts['segment_bytes'] / 1e6:.1f} MB in {one_counts['segment_gets']} GETs "
          f"({one_counts['segment_bytes'] / max(1, stored):.1%} of {stored / 1e6:.1f} MB stored)")
    return {"ranged": result}


def timed_sql(client: flight.FlightClient, sql: str) -> float:
    t0 = time.perf_counter()
    client.do_get(flight.Ticket(json.dumps({"sql": sql}).encode())).read_all()
    return time.perf_counter() - t0


def bench_put_get_sql(endpoint: str, workdir: Path, args: argparse.Namespace) -> dict:
    """bench/put_get.py on the S3 location, then SQL on a fresh server: cold segment cache, then warm."""
    put_get_json = workdir / "put-get.json"
    subprocess.run([sys.executable, str(REPO / "bench" / "put_get.py"), "--rows", str(args.rows),
                    "--runs", str(args.runs), "--data", location(endpoint, "putget"), "--json", str(put_get_json)],
                   check=True)
    results = {"put_get": json.loads(put_get_json.read_text())}
    server = ServerProcess("hangar", location(endpoint, "putget"), workdir / "sql.log", [])
    try:
        client = flight.FlightClient(server.location)
        sql = f"SELECT count(*) AS n, avg(f0) AS f0 FROM {FRAME_NAME}"
        cold = timed_sql(client, sql)
        warm = [timed_sql(client, sql) for _ in range(args.runs)]
        results["sql"] = {"query": sql, "cold_seconds": cold, "warm_seconds": warm,
                          "warm_median_seconds": statistics.median(warm)}
        print(f"SQL over S3: cold cache {cold:.2f} s, warm cache median {statistics.median(warm):.3f} s")
    finally:
        server.stop()
    return results


def bench_list(endpoint: str, workdir: Path, args: argparse.Namespace) -> dict:
    """Puts N small frames through one server (16 clients), then times ListFlights on it (warm
    manifest cache) and on a fresh server (cold: every manifest is read once)."""
    small = pa.table({"x": pa.array([1, 2, 3], pa.int64())})
    store = location(endpoint, "list")

    def timed_list(server: ServerProcess) -> float:
        client = flight.FlightClient(server.location)
        t0 = time.perf_counter()
        count = sum(1 for _ in client.list_flights())
        seconds = time.perf_counter() - t0
        client.close()
        assert count == args.frames, count
        return seconds

    server = ServerProcess("hangar", store, workdir / "list.log", [])
    try:
        def put_one(i: int) -> None:
            c = flight.FlightClient(server.location)
            command = json.dumps({"name": f"frame_{i:05d}", "mode": "replace", "bucket": None}).encode()
            writer, _ = c.do_put(flight.FlightDescriptor.for_command(command), small.schema)
            writer.write_table(small)
            writer.close()
            c.close()

        t0 = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put_one, range(args.frames)))
        fill = time.perf_counter() - t0
        print(f"put {args.frames} small frames in {fill:.1f} s ({args.frames / fill:,.0f} puts/s, 16 clients)")
        warm = [timed_list(server) for _ in range(args.runs)]
    finally:
        server.stop()
    server = ServerProcess("hangar", store, workdir / "list-cold.log", [])
    try:
        cold = timed_list(server)
        again = timed_list(server)
    finally:
        server.stop()
    print(f"list {args.frames} frames: warm median {statistics.median(warm):.2f} s over {args.runs} runs; "
          f"fresh server {cold:.2f} s, then {again:.2f} s")
    return {"list": {"frames": args.frames, "fill_seconds": fill, "warm_seconds": warm,
                     "warm_median_seconds": statistics.median(warm), "fresh_server_first_seconds": cold,
                     "fresh_server_second_seconds": again}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=5000, help="frames for the listing benchmark")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "s3.json")
    parser.add_argument("--only", choices=["put-get", "list", "ranged"],
                        help="run only this part (put-get includes SQL; ranged runs only with --only)")
    args = parser.parse_args()
    os.environ.update(CREDENTIALS)

    moto, endpoint = start_moto()
    results: dict = {"s3_server": "moto 5.2.5 (objects in memory, python -m moto.server)", "endpoint": endpoint}
    try:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
        workdir = Path(tempfile.mkdtemp(prefix="hangar-bench-s3-"))
        if args.only == "ranged":
            results.update(bench_ranged(endpoint, workdir, args))
        if args.only in (None, "put-get"):
            results.update(bench_put_get_sql(endpoint, workdir, args))
        if args.only in (None, "list"):
            results.update(bench_list(endpoint, workdir, args))
    finally:
        moto.kill()
        moto.wait()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
