"""Hangar on its S3 connector, with moto's S3 server (PyPI) as the store: the unchanged shoots and
pyarrow clients, and two `hangar serve` processes appending to one frame through one bucket."""
from __future__ import annotations

import os
import sys
import uuid

import boto3
import pytest

from store_checks import check_shoots_round_trip, check_two_servers_append, start_emulator
from hangar_interop import HangarProcess

BUCKET = "hangar-interop"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def moto_endpoint():
    """moto's S3 server on a free loopback port, with the bucket created; AWS_* set for the servers."""
    proc, endpoint = start_emulator([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
                                    r"Running on (http://127\.0\.0\.1:\d+)", "moto's S3 server",
                                    env={**os.environ, "PYTHONUNBUFFERED": "1"})
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
    check_shoots_round_trip(s3_server.port, rows=200)


def test_two_server_processes_append_to_one_frame(moto_endpoint, logs_dir):
    """Two `hangar serve` processes on the same bucket and prefix; 2 × 10 concurrent appends all land."""
    location = s3_location(moto_endpoint, f"race-{uuid.uuid4().hex[:8]}")
    servers = [HangarProcess(location, logs_dir, f"s3-race-{i}").start() for i in range(2)]
    try:
        check_two_servers_append(servers)
    finally:
        for server in servers:
            server.stop()
