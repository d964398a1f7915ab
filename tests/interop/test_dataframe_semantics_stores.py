"""Issue 22 on every kind of store (local directory, S3 on moto, SQLite catalog), from stock pyarrow,
each result compared with the same operation in pandas: update of a window, delete_range, tail,
set_metadata, three successive schema evolutions (read back by get and SQL), and snapshots that
survive appends, deletes and vacuum (servers keep one version, no grace) until they are deleted."""
from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.flight as fl
import pytest

from hangar_interop import HangarProcess, action_bodies, action_json, cmd, put, ticket
from test_s3_store import moto_endpoint, s3_location  # noqa: F401 - the moto fixture is shared

RETENTION = ["--keep-versions", "1", "--keep-for", "0", "--vacuum-grace", "0", "--vacuum-every", "0", "--compact-threshold", "0"]
B = "semantics"


@pytest.fixture(params=["local", "s3", "sqlite"])
def store_client(request, tmp_path, logs_dir):
    """A pyarrow client of a server on each kind of store, keeping one version per frame."""
    if request.param == "local":
        data = str(tmp_path / "store")
    elif request.param == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        data = s3_location(endpoint, f"sem-{uuid.uuid4().hex[:8]}")
    else:
        data = f"sqlite://{tmp_path / 'catalog.db'}?data={tmp_path / 'store'}"
    server = HangarProcess(data, logs_dir, f"semantics-{request.param}", extra_args=RETENTION).start()
    try:
        with server.client() as client:
            yield client
    finally:
        server.stop()


def frame(start: str, rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"ts": pd.date_range(start, periods=rows, freq="s"), "px": rng.standard_normal(rows), "n": np.arange(rows, dtype=np.int64)})


def store(client: fl.FlightClient, name: str, df: pd.DataFrame, **fields) -> dict:
    table = pa.Table.from_pandas(df, preserve_index=False)
    return put(client, cmd({"name": name, "bucket": B, **fields}), table.to_batches(max_chunksize=500), table.schema)


def read(client: fl.FlightClient, name: str, **fields) -> pd.DataFrame:
    return client.do_get(ticket({"name": name, "bucket": B, **fields})).read_all().to_pandas()


def sql(client: fl.FlightClient, query: str, **fields) -> pd.DataFrame:
    return client.do_get(ticket({"sql": query, "bucket": B, **fields})).read_all().to_pandas()


def act(client: fl.FlightClient, action: str, **body):
    return action_json(client, action, {"bucket": B, **body})


def test_update_delete_range_tail_and_metadata_match_pandas(store_client):
    client = store_client
    df = frame("2024-01-01", 8_000)
    store(client, "prices", df, mode="error")
    hour = frame("2024-01-01T00:30:00", 600, seed=9)
    summary = store(client, "prices", hour, mode="update")
    expected = pd.concat([df[df.ts < hour.ts.min()], hour, df[df.ts > hour.ts.max()]], ignore_index=True)
    assert summary["rows"] == len(expected) and summary["rowsRemoved"] == 600
    pd.testing.assert_frame_equal(read(client, "prices"), expected)

    result = act(client, "delete_range", name="prices", start="2024-01-01T01:00:00", end="2024-01-01T01:10:00")
    expected = expected[(expected.ts < "2024-01-01T01:00:00") | (expected.ts >= "2024-01-01T01:10:00")].reset_index(drop=True)
    assert result["rows_removed"] == 600
    pd.testing.assert_frame_equal(read(client, "prices"), expected)
    pd.testing.assert_frame_equal(read(client, "prices", tail=250), expected.tail(250).reset_index(drop=True))

    meta = act(client, "set_metadata", name="prices", metadata={"source": "feed"})
    stat = act(client, "stat", name="prices")
    assert stat["version"] == meta["version"] and stat["metadata"] == {"source": "feed"} and stat["rows"] == len(expected)


def test_three_schema_evolutions_read_back_by_get_and_sql(store_client):
    client = store_client
    first = frame("2024-02-01", 300)
    store(client, "evolving", first, mode="error")
    second = frame("2024-02-01T00:05:00", 300, seed=1).assign(qty=np.arange(300, dtype=np.int32))
    with pytest.raises(pa.ArrowInvalid, match="unexpected column 'qty'"):
        store(client, "evolving", second, mode="append")
    store(client, "evolving", second, mode="append", schema="evolve")
    third = frame("2024-02-01T00:10:00", 300, seed=2).drop(columns=["px"]).assign(venue="XNYS")[["venue", "ts", "n"]]
    store(client, "evolving", third, mode="append", schema="evolve")
    fourth = frame("2024-02-01T00:15:00", 300, seed=3).assign(qty=np.int32(7), venue="XLON", note="late")
    store(client, "evolving", fourth, mode="append", schema="evolve")
    with pytest.raises(pa.ArrowInvalid, match="column 'qty' is Float64, stored as Int32"):
        store(client, "evolving", fourth.assign(qty=1.5), mode="append", schema="evolve")

    # pandas: concat fills the missing columns with nulls, in first-seen column order.
    expected = pd.concat([first, second, third, fourth], ignore_index=True)
    for column in ("venue", "note"):  # Arrow's missing strings come back as None, pandas' as NaN
        expected[column] = expected[column].astype(object).where(expected[column].notna(), None)
    got = read(client, "evolving")
    assert list(got.columns) == ["ts", "px", "n", "qty", "venue", "note"]
    pd.testing.assert_frame_equal(got, expected[list(got.columns)], check_dtype=False)
    window = read(client, "evolving", start="2024-02-01T00:09:00", end="2024-02-01T00:16:00", columns=["note", "qty"])
    mask = (expected.ts >= "2024-02-01T00:09:00") & (expected.ts < "2024-02-01T00:16:00")
    pd.testing.assert_frame_equal(window, expected.loc[mask, ["note", "qty"]].reset_index(drop=True), check_dtype=False)
    counts = sql(client, "SELECT count(px) AS px, count(qty) AS qty, count(venue) AS venue, count(note) AS note, sum(qty) AS total FROM evolving")
    assert counts.iloc[0].to_dict() == {"px": 900, "qty": 600, "venue": 600, "note": 300, "total": int(expected.qty.sum())}


def test_snapshots_survive_deletes_and_vacuum_until_deleted(store_client):
    client = store_client
    prices = frame("2024-03-01", 2_000)
    fx = frame("2024-03-01", 50, seed=5)
    store(client, "prices", prices, mode="error")
    store(client, "fx", fx, mode="error")
    taken = act(client, "snapshot", name="close")
    assert taken["frames"] == {"fx": 1, "prices": 1}
    more = frame("2024-03-01T01:00:00", 100, seed=6)
    store(client, "prices", more, mode="append")
    act(client, "delete_range", name="prices", start="2024-03-01T00:00:00", end="2024-03-01T00:01:00")
    action_bodies(client, "delete", {"bucket": B, "name": "fx"})
    vacuum = action_json(client, "vacuum", {"bucket": B})
    assert vacuum["versions_removed"] >= 1

    pd.testing.assert_frame_equal(read(client, "prices", snapshot="close"), prices)
    pd.testing.assert_frame_equal(read(client, "fx", snapshot="close"), fx)
    pd.testing.assert_frame_equal(read(client, "prices", snapshot="close", tail=10), prices.tail(10).reset_index(drop=True))
    now = pd.concat([prices, more], ignore_index=True)
    now = now[now.ts >= "2024-03-01T00:01:00"].reset_index(drop=True)
    pd.testing.assert_frame_equal(read(client, "prices"), now)
    assert act(client, "stat", name="fx", snapshot="close")["rows"] == 50
    joined = sql(client, "SELECT (SELECT count(*) FROM prices) AS p, (SELECT sum(n) FROM fx) AS f", snapshot="close")
    assert joined.iloc[0].to_dict() == {"p": 2_000, "f": int(fx.n.sum())}
    assert [s["name"] for s in act(client, "snapshots")] == ["close"]

    action_bodies(client, "delete_snapshot", {"bucket": B, "name": "close"})
    action_json(client, "vacuum", {"bucket": B})
    with pytest.raises(fl.FlightServerError, match="no snapshot 'close'"):
        read(client, "prices", snapshot="close")
    assert [v["version"] for v in act(client, "versions", name="prices")] == [3]
