"""hangar-client (clients/python), installed into this venv by setup-venv.sh, against real servers:
every call of the protocol with pyarrow, pandas and Polars data, errors as typed exceptions, retries
for UNAVAILABLE, and authentication (bearer token, password login over TLS)."""
from __future__ import annotations

import datetime as dt
import re
import socket
import subprocess
import threading
import time

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import hangar_client
from hangar_client import (
    BucketNotEmpty,
    Conflict,
    FrameExists,
    FrameNotFound,
    Hangar,
    InvalidArgument,
    PermissionDenied,
    QueryError,
    SchemaMismatch,
    Unauthenticated,
    Unavailable,
)
from hangar_interop import MAIN_JS, NODE, HangarProcess
from test_security import SECRET, _hangar, certs  # noqa: F401 - the certs fixture is shared

TS = pd.date_range("2024-05-01", periods=6, freq="12h")


def prices(start: int = 0, n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({"px": [float(i) for i in range(start, start + n)]}, index=pd.DatetimeIndex(TS[:n] + pd.Timedelta(days=start), name="ts"))


@pytest.fixture
def h(local_server):
    with Hangar(local_server.location) as client:
        yield client


def test_is_installed_as_a_typed_package():
    location = hangar_client.__file__
    assert "site-packages" in location, location
    from importlib.resources import files

    assert files("hangar_client").joinpath("py.typed").is_file()


def test_put_get_round_trips_pyarrow_pandas_and_polars(h, uniq):
    bucket = uniq("b")
    table = pa.table({"x": pa.array([1, 2, 3], pa.int64()), "s": ["a", "b", None]})
    result = h.put("t", table, bucket=bucket)
    assert (result.name, result.bucket, result.rows_written, result.rows, result.version) == ("t", bucket, 3, 3, 1)
    assert h.get("t", bucket=bucket).equals(table)
    df = prices()
    h.put("p", df, bucket=bucket)
    pd.testing.assert_frame_equal(h.get_pandas("p", bucket=bucket), df, check_freq=False)
    polars_frame = pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    h.put("pl", polars_frame, bucket=bucket)
    assert h.get_polars("pl", bucket=bucket).equals(polars_frame)
    batches = list(h.get_batches("t", bucket=bucket, columns=["x"]))
    assert pa.Table.from_batches(batches).column("x").to_pylist() == [1, 2, 3]


def test_put_modes_metadata_and_expected_version(h, uniq):
    name = uniq()
    h.put(name, prices(0, 2), metadata={"unit": "EUR"})
    with pytest.raises(FrameExists) as exists:
        h.put(name, prices(0, 1))
    assert isinstance(exists.value, FileExistsError) and exists.value.type == "FileExistsError"
    assert h.put(name, prices(2, 2), mode="append").rows == 4
    with pytest.raises(SchemaMismatch, match="schema does not match"):
        h.put(name, pa.table({"other": [1]}), mode="append")
    with pytest.raises(Conflict, match="not the expected 1"):
        h.put(name, prices(9, 1), mode="append", expected_version=1)
    assert h.put(name, prices(4, 1), mode="append", expected_version=2).version == 3
    assert h.stat(name).metadata == {"unit": "EUR"}
    h.save(name, prices(0, 1))
    assert h.stat(name).rows == 1 and h.versions(name)[-1].operation == "replace"


def test_range_reads_projections_limits_and_time_travel(h, uniq):
    name = uniq()
    h.put(name, prices())
    day = h.get(name, start="2024-05-01T12:00", end=dt.datetime(2024, 5, 2, 12), columns=["px"])
    assert day.column_names == ["px"] and day.column("px").to_pylist() == [1.0, 2.0]
    assert h.load(name, pd.Timestamp("2024-05-03"), None).num_rows == 2
    assert h.get(name, limit=2).num_rows == 2
    committed = h.stat(name).committed_at
    time.sleep(0.01)
    h.put(name, prices(6, 1), mode="append")
    assert h.get(name, version=1).num_rows == 6
    assert h.get(name, as_of=committed).num_rows == 6
    assert h.stat(name, version=1).rows == 6 and h.stat(name).rows == 7
    with pytest.raises(InvalidArgument, match="unknown column"):
        h.get(name, columns=["nope"])


def test_sql_list_stat_versions_restore_delete(h, uniq):
    bucket = uniq("b")
    h.put("a", pa.table({"k": ["x", "y", "x"], "v": [1, 2, 3]}), bucket=bucket, metadata={"kind": "demo"})
    h.put("b", pa.table({"k": ["x"]}), bucket=bucket)
    result = h.sql("SELECT k, sum(v)::BIGINT AS v FROM a GROUP BY k ORDER BY k", bucket=bucket)
    assert result.to_pydict() == {"k": ["x", "y"], "v": [4, 2]}
    assert h.sql_pandas(f'SELECT count(*)::INT AS n FROM "{bucket}".a')["n"].tolist() == [3]
    with pytest.raises(QueryError):
        h.sql("SELEC 1")
    with pytest.raises(PermissionDenied):
        h.sql("COPY (SELECT 1) TO '/tmp/hangar-py-client.csv'")
    listing = h.list(bucket=bucket)
    assert sorted(f.name for f in listing) == ["a", "b"] and {f.bucket for f in listing} == {bucket}
    assert [f.name for f in h.list(bucket=bucket, regex="^a")] == ["a"]
    assert [f.name for f in h.list(bucket=bucket, metadata={"kind": "demo"})] == ["a"]
    stat = h.stat("a", bucket=bucket)
    assert (stat.rows, stat.version, [c.name for c in stat.schema]) == (3, 1, ["k", "v"])
    assert bucket in h.buckets()
    h.put("a", pa.table({"k": ["z"], "v": [9]}), bucket=bucket, mode="replace")
    assert h.restore("a", 1, bucket=bucket) == 3
    assert [v.operation for v in h.versions("a", bucket=bucket)] == ["put", "replace", "restore"]
    assert h.versions("a", bucket=bucket)[-1].restored_from == 1
    h.delete("a", bucket=bucket)
    with pytest.raises(FileNotFoundError):  # FrameNotFound is a FileNotFoundError, as in shoots
        h.get("a", bucket=bucket)
    with pytest.raises(BucketNotEmpty):
        h.delete_bucket(bucket)
    h.delete_bucket(bucket, mode="delete")
    assert bucket not in h.buckets()


def test_resample_compact_and_ping(h, uniq):
    bucket = uniq("b")
    h.put("s", prices(), bucket=bucket)
    out = h.resample("s", "daily", rule="1D", time_col="ts", aggregation_func="mean", source_bucket=bucket, target_bucket=bucket)
    assert out == {"source_rows": 6, "target_rows": 3}
    assert h.get("daily", bucket=bucket).num_rows == 3
    assert h.resample("s", "hot", sql="SELECT * FROM s WHERE px > 3", source_bucket=bucket, target_bucket=bucket)["target_rows"] == 2
    for i in range(3):
        h.put("s", prices(10 + i, 1), bucket=bucket, mode="append")
    assert h.compact("s", bucket=bucket)["segments_after"] == 1
    assert h.ping() == "pong"


def test_unavailable_is_retried_with_backoff_then_raised():
    client = Hangar("grpc://127.0.0.1:1", retries=2, backoff=0.01)
    with pytest.raises(Unavailable) as failure:
        client.ping()
    assert isinstance(failure.value, ConnectionError)
    assert client.stats.calls["action:ping"] == 3


def test_a_call_made_before_the_server_is_up_is_retried_until_it_answers(tmp_path):
    # A free port, and a server started on it a moment after the client began calling.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = Hangar(f"grpc://127.0.0.1:{port}", retries=10, backoff=0.05)  # ≥ 25 s of retries: a slow start on a loaded CI machine
    server: list[subprocess.Popen] = []

    def start() -> None:
        server.append(subprocess.Popen(
            [NODE, str(MAIN_JS), "serve", "--host", "127.0.0.1", "--port", str(port), "--data", "memory:"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))

    timer = threading.Timer(0.2, start)
    timer.start()
    try:
        assert client.ping() == "pong"
        assert client.stats.calls["action:ping"] > 1, "the first attempt should have met no server"
    finally:
        timer.join()
        client.close()
        for process in server:
            process.terminate()
            process.wait(timeout=15)


def test_progress_bars_use_tqdm(h, uniq, capsys):
    name = uniq()
    h.put(name, pa.table({"x": list(range(50_000))}), progress=True)
    assert h.get(name, progress=True).num_rows == 50_000
    err = capsys.readouterr().err
    assert f"put {name}" in err and f"get {name}" in err and "row" in err


def test_bearer_token_and_password_login_over_tls(certs, logs_dir):  # noqa: F811 - fixture
    users = certs / "py-users.json"
    _hangar("user", "add", "bob", "--users", str(users), "--scope", "read:alpha", "--scope", "write:alpha", password="pw-bob")
    server = HangarProcess("memory:", logs_dir, "py-secure", extra_args=[
        "--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server.key"), "--users", str(users),
    ], env={"HANGAR_SECRET": SECRET}).start()
    try:
        deadline = time.monotonic() + 5
        while b"admin token" not in server.stdout_after_first_line() and time.monotonic() < deadline:
            time.sleep(0.05)
        token = re.search(rb"hangar admin token \(valid 365 days\): (\S+)", server.stdout_after_first_line()).group(1).decode()
        url = f"grpc+tls://localhost:{server.port}"
        ca = (certs / "ca.pem").read_bytes()
        with Hangar(url, token=token, tls_root_certs=ca) as admin:
            admin.put("t", pa.table({"x": [1, 2]}), bucket="alpha")
            admin.put("t", pa.table({"x": [1]}), bucket="beta")
        with Hangar(url, username="bob", password="pw-bob", tls_root_certs=ca.decode()) as bob:
            assert bob.get("t", bucket="alpha").num_rows == 2
            with pytest.raises(PermissionDenied):
                bob.get("t", bucket="beta")
        with pytest.raises(Unauthenticated):
            Hangar(url, tls_root_certs=ca).get("t", bucket="alpha")
        with pytest.raises(Unauthenticated):
            Hangar(url, username="bob", password="wrong", tls_root_certs=ca).ping()
    finally:
        server.stop()


def test_not_found_errors_keep_the_servers_message(h, uniq):
    with pytest.raises(FrameNotFound, match="does not exist") as missing:
        h.stat(uniq())
    assert missing.value.code == "NOT_FOUND" and missing.value.type == "FileNotFoundError"
