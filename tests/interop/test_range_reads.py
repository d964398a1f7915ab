"""Range reads (ticket "start", "end", "limit") from pyarrow, cross-checked against pandas filtering."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.flight as fl
import pytest

from hangar_interop import path, put, ticket

ROWS = 120_000


def frame(tz: str | None = None, shuffle: bool = False, with_nat: bool = True) -> pd.DataFrame:
    """A DataFrame indexed by time (1.000000123 s apart, nanosecond precision), with NaT index values."""
    rng = np.random.default_rng(7)
    times = pd.Timestamp("2024-01-01T00:00:00") + pd.to_timedelta(np.arange(ROWS) * 1_000_000_123, unit="ns")
    if shuffle:
        times = times[rng.permutation(ROWS)]
    index = pd.DatetimeIndex(times, name="ts")
    if with_nat:
        index = index.where(np.arange(ROWS) % 97 != 5)
    if tz:
        index = index.tz_localize(tz)
    return pd.DataFrame(
        {
            "v": rng.standard_normal(ROWS),
            "n": np.arange(ROWS, dtype=np.int64),
            "cat": pd.Categorical(rng.choice(["b", "a", "c"], ROWS), categories=["c", "b", "a"], ordered=True),
        },
        index=index,
    )


def store(client, name: str, df: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(df)
    put(client, path(name), table.to_batches(max_chunksize=4_096), schema=table.schema)


def read(client, name: str, **options) -> pd.DataFrame:
    return client.do_get(ticket({"name": name, "bucket": None, **options})).read_all().to_pandas()


def expected(df: pd.DataFrame, start=None, end=None, limit=None) -> pd.DataFrame:
    keep = np.ones(len(df), dtype=bool)
    if start is not None:
        keep &= np.asarray(df.index >= start)
    if end is not None:
        keep &= np.asarray(df.index < end)
    out = df[keep]
    return out if limit is None else out.head(limit)


@pytest.mark.parametrize("shuffle", [False, True], ids=["sorted", "unsorted"])
def test_iso_range_matches_pandas(client, uniq, shuffle):
    name = uniq("r")
    df = frame(shuffle=shuffle)
    store(client, name, df)
    start, end = "2024-01-01T05:00:00.000000123", "2024-01-01T07:30:00.5"
    got = read(client, name, start=start, end=end)
    want = expected(df, pd.Timestamp(start), pd.Timestamp(end))
    assert len(want) > 1_000
    pd.testing.assert_frame_equal(got, want)
    assert list(got["cat"].cat.categories) == ["c", "b", "a"]


def test_epoch_seconds_limit_and_columns(client, uniq):
    name = uniq("r")
    df = frame()
    store(client, name, df)
    start = pd.Timestamp("2024-01-01T10:00:00").value / 1e9 + 0.25
    got = client.do_get(ticket({"name": name, "start": start, "limit": 777, "columns": ["n"]})).read_all()
    want = expected(df, pd.Timestamp("2024-01-01T10:00:00.25"), limit=777)
    assert got.column_names == ["n"]
    assert got.column("n").to_pylist() == want["n"].tolist()


def test_limit_alone_counts_rows_with_null_times(client, uniq):
    name = uniq("r")
    df = frame()
    store(client, name, df)
    got = read(client, name, limit=10)
    pd.testing.assert_frame_equal(got, df.head(10))
    assert got.index.isna().sum() == 1


def test_tz_aware_index_compares_as_utc(client, uniq):
    name = uniq("r")
    df = frame(tz="Europe/Paris", with_nat=False)
    store(client, name, df)
    # No offset: UTC. With an offset: that instant.
    got = read(client, name, start="2024-01-01T03:00:00", end="2024-01-01T06:00:00+02:00")
    want = expected(df, pd.Timestamp("2024-01-01T03:00:00", tz="UTC"), pd.Timestamp("2024-01-01T04:00:00", tz="UTC"))
    assert len(want) > 0
    pd.testing.assert_frame_equal(got, want)


def test_bad_values_are_invalid_argument(client, uniq):
    name = uniq("r")
    store(client, name, frame().head(100))
    with pytest.raises(pa.ArrowInvalid, match="ISO-8601"):
        read(client, name, start="01/02/2024")
    with pytest.raises(pa.ArrowInvalid, match="limit"):
        read(client, name, limit=-3)
    untimed = uniq("u")
    put(client, path(untimed), pa.table({"x": [1, 2, 3]}))
    with pytest.raises(pa.ArrowInvalid, match="no time column"):
        read(client, untimed, end="2024-01-01")
