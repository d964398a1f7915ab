"""Hangar on its S3 connector, with moto's S3 server (PyPI) as the store: the unchanged shoots and
pyarrow clients, and two `hangar serve` processes appending to one frame through one bucket."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.flight as fl
import pytest
from pandas.testing import assert_frame_equal
from shoots import PutMode, ShootsClient

from hangar_interop import HangarProcess

BUCKET = "hangar-interop"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def moto_endpoint():
    """moto's S3 server on a free loopback port, with the bucket created; AWS_* set for the servers."""
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    endpoint = None
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(r"Running on (http://127\.0\.0\.1:\d+)", line)
        if match:
            endpoint = match.group(1)
            break
        if time.monotonic() > deadline:
            break
    if endpoint is None:
        proc.kill()
        pytest.fail("moto server did not start")
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield endpoint
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    proc.kill()
    proc.wait()


def s3_location(endpoint: str, prefix: str) -> str:
    return f"s3://{BUCKET}/{prefix}?endpoint={endpoint}&conditionalWrites=on"


@pytest.fixture
def s3_server(moto_endpoint, logs_dir):
    server = HangarProcess(s3_location(moto_endpoint, f"p-{uuid.uuid4().hex[:8]}"), logs_dir, "s3").start()
    yield server
    server.stop()


def test_shoots_client_on_s3(s3_server):
    """shoots' put / get / append / list / delete, unchanged, against a server storing in S3."""
    client = ShootsClient("127.0.0.1", s3_server.port)
    try:
        rng = np.random.default_rng(1)
        df = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=200, freq="s"),
                           "value": rng.random(200), "site": [f"s{i % 3}" for i in range(200)]})
        client.put("readings", df, mode=PutMode.ERROR, bucket="plant")
        more = df.assign(timestamp=df["timestamp"] + pd.Timedelta(hours=1))
        client.put("readings", more, mode=PutMode.APPEND, bucket="plant")
        back = client.get("readings", bucket="plant")
        assert_frame_equal(back.reset_index(drop=True), pd.concat([df, more], ignore_index=True), check_dtype=False)
        assert [entry["name"] for entry in client.list(bucket="plant")] == ["readings"]
        client.delete("readings", bucket="plant")
        assert client.list(bucket="plant") == []
    finally:
        client.client.close()


def test_two_server_processes_append_to_one_frame(moto_endpoint, logs_dir):
    """Two `hangar serve` processes on the same bucket and prefix; 2 × 10 concurrent appends all land."""
    location = s3_location(moto_endpoint, f"race-{uuid.uuid4().hex[:8]}")
    servers = [HangarProcess(location, logs_dir, f"s3-race-{i}").start() for i in range(2)]
    try:
        schema = pa.schema([("server", pa.int32()), ("seq", pa.int32())])

        def put(server: HangarProcess, mode: str, table: pa.Table) -> None:
            with server.client() as client:
                command = json.dumps({"name": "shared", "mode": mode, "bucket": None}).encode()
                writer, _ = client.do_put(fl.FlightDescriptor.for_command(command), schema)
                writer.write_table(table)
                writer.close()

        put(servers[0], "error", pa.table({"server": [-1], "seq": [-1]}, schema=schema))

        def appends(index: int) -> None:
            for seq in range(10):
                put(servers[index], "append", pa.table({"server": [index], "seq": [seq]}, schema=schema))

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(appends, [0, 1]))
        with servers[1].client() as client:
            info = client.get_flight_info(fl.FlightDescriptor.for_path("shared"))
            table = client.do_get(info.endpoints[0].ticket).read_all()
        assert table.num_rows == 21
        rows = set(zip(table.column("server").to_pylist(), table.column("seq").to_pylist()))
        assert rows == {(-1, -1)} | {(s, q) for s in (0, 1) for q in range(10)}
    finally:
        for server in servers:
            server.stop()
