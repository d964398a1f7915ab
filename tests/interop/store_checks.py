"""Checks every store backend's interop suite runs the same way (S3, Azure Blob, a plugin store), and
the one way those suites start a storage emulator (moto, Azurite) and wait for its address."""
from __future__ import annotations

import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import pandas as pd
import pyarrow as pa
import pytest
from pandas.testing import assert_frame_equal
from shoots import PutMode, ShootsClient

from hangar_interop import HangarProcess, cmd, get, put


def start_emulator(argv: list[str], address: str, what: str, env: Optional[dict] = None,
                   timeout: float = 30) -> tuple[subprocess.Popen, str]:
    """Starts `argv` and returns it with the first match of the regex `address` (group 1) in its output;
    fails the test, naming `what`, if no line matches within `timeout` seconds. Later output is drained."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    found = None
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        match = re.search(address, line)
        if match:
            found = match.group(1)
            break
        if time.monotonic() > deadline:
            break
    if found is None:
        proc.kill()
        pytest.fail(f"{what} did not start (no line matching {address!r} in its output)")
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, found


def check_shoots_round_trip(port: int, rows: int = 100) -> None:
    """shoots' put / append / get / list / buckets / delete in a bucket, unchanged, against the server on `port`."""
    client = ShootsClient("127.0.0.1", port)
    try:
        df = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=rows, freq="s"),
                           "value": [i / 7 for i in range(rows)], "site": [f"s{i % 3}" for i in range(rows)]})
        client.put("readings", df, mode=PutMode.ERROR, bucket="plant")
        more = df.assign(timestamp=df["timestamp"] + pd.Timedelta(hours=1))
        client.put("readings", more, mode=PutMode.APPEND, bucket="plant")
        back = client.get("readings", bucket="plant")
        assert_frame_equal(back.reset_index(drop=True), pd.concat([df, more], ignore_index=True), check_dtype=False)
        assert [entry["name"] for entry in client.list(bucket="plant")] == ["readings"]
        assert "plant" in client.buckets()
        client.delete("readings", bucket="plant")
        assert client.list(bucket="plant") == []
    finally:
        client.client.close()


def check_two_servers_append(servers: list[HangarProcess]) -> None:
    """Two server processes on one store append 10 rows each, concurrently, to one frame: all 21 rows land."""
    schema = pa.schema([("server", pa.int32()), ("seq", pa.int32())])

    def append(server: HangarProcess, mode: str, row: tuple[int, int]) -> None:
        with server.client() as client:
            put(client, cmd({"name": "shared", "mode": mode}), pa.table({"server": [row[0]], "seq": [row[1]]}, schema=schema))

    append(servers[0], "error", (-1, -1))

    def appends(index: int) -> None:
        for seq in range(10):
            append(servers[index], "append", (index, seq))

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(appends, [0, 1]))
    with servers[1].client() as client:
        table = get(client, "shared")
    assert table.num_rows == 21
    rows = set(zip(table.column("server").to_pylist(), table.column("seq").to_pylist()))
    assert rows == {(-1, -1)} | {(s, q) for s in (0, 1) for q in range(10)}
