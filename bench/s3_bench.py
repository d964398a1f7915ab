"""Hangar on S3 over loopback: put/get of the benchmark frame, SQL with a cold and a warm segment
cache, and listing 5,000 frames, against moto's S3 server started here on 127.0.0.1.

Put/get reuse bench/put_get.py unchanged (its --data takes the s3:// location). The S3 server is
moto (Python, objects in its memory), so these figures include moto's own cost per request and per
byte: they bound the connector from below, they are not a figure for AWS.

Usage: .venv-interop/bin/python bench/s3_bench.py [--rows N] [--runs N] [--frames N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
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
from put_get import FRAME_NAME, REPO, ServerProcess, do_put, make_table  # noqa: E402

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
    parser.add_argument("--only", choices=["put-get", "list"], help="run only this part (put-get includes SQL)")
    args = parser.parse_args()
    os.environ.update(CREDENTIALS)

    moto, endpoint = start_moto()
    results: dict = {"s3_server": "moto 5.2.5 (objects in memory, python -m moto.server)", "endpoint": endpoint}
    try:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
        workdir = Path(tempfile.mkdtemp(prefix="hangar-bench-s3-"))
        if args.only != "list":
            results.update(bench_put_get_sql(endpoint, workdir, args))
        if args.only != "put-get":
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
