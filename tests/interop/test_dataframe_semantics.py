"""Issue 22's dataframe semantics from stock pyarrow, each result compared with the same operation in pandas:
mode "update", delete_range, tail reads, set_metadata, ordered appends and refused unknown fields."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.flight as fl
import pytest

from hangar_interop import action_json, cmd, put, ticket

ROWS = 20_000


def frame(start: str = "2024-01-01", rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """Rows one second apart from `start`, with a price and a running number."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "ts": pd.date_range(start, periods=rows, freq="s"),
            "px": rng.standard_normal(rows),
            "n": np.arange(rows, dtype=np.int64),
        }
    )


def store(client: fl.FlightClient, name: str, df: pd.DataFrame, **fields) -> dict:
    table = pa.Table.from_pandas(df, preserve_index=False)
    # Many small batches, so the frame spans several segments.
    return put(client, cmd({"name": name, "bucket": "semantics", **fields}), table.to_batches(max_chunksize=500), table.schema)


def read(client: fl.FlightClient, name: str, **fields) -> pd.DataFrame:
    return client.do_get(ticket({"name": name, "bucket": "semantics", **fields})).read_all().to_pandas()


def test_update_delete_range_and_tail_match_pandas(client, uniq):
    name = uniq("prices")
    df = frame()
    store(client, name, df, mode="error")

    # Update: re-publish one hour with new prices; the rows of that hour are replaced.
    hour = frame("2024-01-01T01:00:00", rows=3600, seed=9)
    summary = store(client, name, hour, mode="update")
    expected = pd.concat([df[df.ts < hour.ts.min()], hour, df[df.ts > hour.ts.max()]], ignore_index=True)
    assert summary["rows"] == len(expected) and summary["segmentsRewritten"] >= 1
    pd.testing.assert_frame_equal(read(client, name), expected)

    # delete_range: drop ten minutes (end exclusive).
    result = action_json(client, "delete_range", {"name": name, "bucket": "semantics", "start": "2024-01-01T02:00:00", "end": "2024-01-01T02:10:00"})
    expected = expected[(expected.ts < "2024-01-01T02:00:00") | (expected.ts >= "2024-01-01T02:10:00")].reset_index(drop=True)
    assert result["rows_removed"] == 600 and result["rows"] == len(expected)
    pd.testing.assert_frame_equal(read(client, name), expected)

    # Tail: the last rows, as pandas' tail.
    pd.testing.assert_frame_equal(read(client, name, tail=100), expected.tail(100).reset_index(drop=True))

    # set_metadata: a version without new rows.
    meta = action_json(client, "set_metadata", {"name": name, "bucket": "semantics", "metadata": {"source": "feed"}})
    stat = action_json(client, "stat", {"name": name, "bucket": "semantics"})
    assert stat["version"] == meta["version"] and stat["metadata"] == {"source": "feed"} and stat["rows"] == len(expected)


def test_ordered_appends_and_unknown_fields(client, uniq):
    name = uniq("ordered")
    store(client, name, frame(rows=100), mode="error")
    with pytest.raises(pa.ArrowException, match="before the frame's last time 2024-01-01T00:01:39"):
        store(client, name, frame(rows=10), mode="append")
    store(client, name, frame(rows=10), mode="append", allow_unordered=True)
    assert len(read(client, name)) == 110
    with pytest.raises(pa.ArrowException, match='unknown field "tial" in the ticket'):
        read(client, name, tial=5)
