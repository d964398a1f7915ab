"""The Python client's issue 22 calls against a real server, each compared with pandas: update,
delete_range, tail, set_metadata, allow_unordered, schema evolution and snapshots (get, stat, SQL)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hangar_client import FailedPrecondition, FrameExists, FrameNotFound, Hangar, RangeRewrite, SchemaMismatch, Snapshot


@pytest.fixture
def h(local_server):
    with Hangar(local_server.location) as client:
        yield client


def minutes(start: str, n: int, offset: int = 0) -> pd.DataFrame:
    """n rows one minute apart, indexed by time (the pandas index becomes the frame's time column)."""
    return pd.DataFrame({"px": np.arange(offset, offset + n, dtype=np.float64)}, index=pd.DatetimeIndex(pd.date_range(start, periods=n, freq="min"), name="ts"))


def test_update_delete_range_tail_metadata_and_unordered(h, uniq):
    bucket = uniq("b")
    df = minutes("2024-01-01", 500)
    h.put("p", df, bucket=bucket)
    fix = minutes("2024-01-01T01:00", 30, offset=10_000)
    result = h.update("p", fix, bucket=bucket)
    assert (result.rows_removed, result.rows) == (30, 500) and result.segments_rewritten >= 1
    expected = pd.concat([df[df.index < fix.index[0]], fix, df[df.index > fix.index[-1]]])
    pd.testing.assert_frame_equal(h.get_pandas("p", bucket=bucket), expected, check_freq=False)

    # An explicit range wider than the data: the rows of the whole range go.
    h.update("p", minutes("2024-01-01T02:00", 5, offset=-1), range=("2024-01-01T02:00", "2024-01-01T03:00"), bucket=bucket)
    expected = pd.concat([expected[expected.index < "2024-01-01T02:00"], minutes("2024-01-01T02:00", 5, offset=-1), expected[expected.index >= "2024-01-01T03:00"]])
    pd.testing.assert_frame_equal(h.get_pandas("p", bucket=bucket), expected, check_freq=False)

    removed = h.delete_range("p", "2024-01-01T05:00", pd.Timestamp("2024-01-01T06:00"), bucket=bucket)
    assert isinstance(removed, RangeRewrite) and removed.rows_removed == 60
    expected = expected[(expected.index < "2024-01-01T05:00") | (expected.index >= "2024-01-01T06:00")]
    pd.testing.assert_frame_equal(h.get_pandas("p", bucket=bucket), expected, check_freq=False)
    pd.testing.assert_frame_equal(h.tail("p", 7, bucket=bucket).to_pandas(), expected.tail(7), check_freq=False)

    version = h.set_metadata("p", {"unit": "EUR"}, bucket=bucket)
    stat = h.stat("p", bucket=bucket)
    assert (stat.version, stat.metadata, stat.rows) == (version, {"unit": "EUR"}, len(expected))

    with pytest.raises(FailedPrecondition, match="before the frame's last time"):
        h.put("p", minutes("2024-01-01", 2), mode="append", bucket=bucket)
    h.put("p", minutes("2024-01-01", 2), mode="append", allow_unordered=True, bucket=bucket)
    assert h.stat("p", bucket=bucket).rows == len(expected) + 2


def test_schema_evolution_and_snapshots(h, uniq):
    bucket = uniq("b")
    first = minutes("2024-02-01", 10)
    h.put("q", first, bucket=bucket)
    taken = h.snapshot("before", bucket=bucket)
    assert isinstance(taken, Snapshot) and taken.frames == {"q": 1}
    with pytest.raises(FrameExists):
        h.snapshot("before", bucket=bucket)

    more = minutes("2024-02-01T00:10", 5).assign(qty=np.arange(5, dtype=np.int64))
    with pytest.raises(SchemaMismatch):
        h.put("q", more, mode="append", bucket=bucket)
    h.put("q", more, mode="append", schema="evolve", bucket=bucket)
    pd.testing.assert_frame_equal(h.get_pandas("q", bucket=bucket), pd.concat([first, more]), check_freq=False, check_dtype=False)
    assert h.sql("SELECT count(qty) AS n FROM q", bucket=bucket).column("n").to_pylist() == [5]

    # The snapshot still reads the frame as it was, by get, stat and SQL, also after a delete.
    h.delete("q", bucket=bucket)
    pd.testing.assert_frame_equal(h.get_pandas("q", bucket=bucket, snapshot="before"), first, check_freq=False)
    assert h.stat("q", bucket=bucket, snapshot="before").rows == 10
    assert h.sql("SELECT sum(px) AS s FROM q", bucket=bucket, snapshot="before").column("s").to_pylist() == [first.px.sum()]
    assert [s.name for s in h.snapshots(bucket=bucket)] == ["before"]
    h.delete_snapshot("before", bucket=bucket)
    assert h.snapshots(bucket=bucket) == []
    with pytest.raises(FrameNotFound):
        h.delete_snapshot("before", bucket=bucket)
