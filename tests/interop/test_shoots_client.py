"""The unchanged shoots 0.1.1 client, used exactly as its README documents, against Hangar.

(`get(sql=...)` is tested in test_sql.py, `resample` in test_resample.py.)
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.flight as fl
import pytest
from pandas.testing import assert_frame_equal
from shoots import BucketDeleteMode, BucketNotEmptyError, PutMode, ShootsClient


@pytest.fixture
def shoots(local_server):
    client = ShootsClient("127.0.0.1", local_server.port)
    yield client
    client.client.close()  # the FlightClient inside; shoots has no close() of its own


def sensor_data(rows: int = 100, seed: int = 0, start: str = "2024-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range(start, periods=rows, freq="s"),
            "Sensor_1": rng.random(rows),
            "Sensor_2": rng.random(rows),
            "site": [f"site-{i % 3}" for i in range(rows)],
            "count": np.arange(rows, dtype=np.int64),
        }
    )


def names(shoots: ShootsClient, **kwargs) -> list[str]:
    return sorted(entry["name"] for entry in shoots.list(**kwargs))


def test_readme_walkthrough(local_server, uniq):
    """The README's examples in order, with its "localhost" host name."""
    shoots = ShootsClient("localhost", local_server.port)
    try:
        df = sensor_data(60)
        bucket = uniq("my-bucket")
        name = "sensor_data"

        shoots.put(name, dataframe=df, mode=PutMode.REPLACE, bucket=bucket)
        df1 = shoots.get(name, bucket=bucket)
        assert_frame_equal(df1, df)

        results = shoots.list(bucket=bucket)
        assert [r["name"] for r in results] == [name]

        assert bucket in shoots.buckets()
        shoots.delete(name, bucket=bucket)
        assert shoots.list(bucket=bucket) == []

        shoots.put(name, dataframe=df, mode=PutMode.REPLACE, bucket=bucket)
        shoots.delete_bucket(bucket, mode=BucketDeleteMode.DELETE_CONTENTS)
        assert bucket not in shoots.buckets()
    finally:
        shoots.client.close()


def test_ping(shoots):
    assert shoots.ping() == "pong"


def test_put_get_round_trip(shoots, uniq):
    name = uniq("sensor_data")
    df = sensor_data(250)
    shoots.put(name, dataframe=df)  # default mode is ERROR: the frame is new
    assert_frame_equal(shoots.get(name), df)


def test_put_replace_then_get_like_readme(shoots, uniq):
    name = uniq("sensor_data")
    df = sensor_data(50)
    shoots.put(name, dataframe=df, mode=PutMode.REPLACE)
    df0 = shoots.get(name)
    assert_frame_equal(df0, df)
    replacement = sensor_data(7, seed=3)
    shoots.put(name, dataframe=replacement, mode=PutMode.REPLACE)
    assert_frame_equal(shoots.get(name), replacement)


def test_put_in_many_batches(shoots, uniq):
    name = uniq("batched")
    df = sensor_data(12_345, seed=1)
    shoots.put(name, dataframe=df, batch_size=1000)
    assert_frame_equal(shoots.get(name), df)


def test_put_twice_with_mode_error_raises_file_exists(shoots, uniq):
    name = uniq("dupe")
    df = sensor_data(5)
    shoots.put(name, dataframe=df, mode=PutMode.ERROR)
    with pytest.raises(FileExistsError) as err:
        shoots.put(name, dataframe=sensor_data(9), mode=PutMode.ERROR)
    assert name in str(err.value)
    assert_frame_equal(shoots.get(name), df)


def test_append_mode(shoots, uniq):
    name = uniq("appended")
    first, second = sensor_data(30, seed=1), sensor_data(20, seed=2, start="2024-01-02")
    shoots.put(name, dataframe=first, mode=PutMode.APPEND)  # creates it
    shoots.put(name, dataframe=second, mode=PutMode.APPEND)
    assert_frame_equal(shoots.get(name), pd.concat([first, second], ignore_index=True))
    # An append that goes back in time is refused (issue 22: ordered appends), naming both times.
    with pytest.raises(Exception, match="starts at 2024-01-01T00:00:00.000000000 .* before the frame's last time 2024-01-02T00:00:19"):
        shoots.put(name, dataframe=first, mode=PutMode.APPEND)


def test_append_mode_across_batches(shoots, uniq):
    name = uniq("appended")
    parts = [sensor_data(1500, seed=i, start=f"2024-01-0{i + 1}") for i in range(3)]
    for part in parts:
        shoots.put(name, dataframe=part, mode=PutMode.APPEND, batch_size=400)
    assert_frame_equal(shoots.get(name), pd.concat(parts, ignore_index=True))


def test_get_missing_raises_file_not_found(shoots, uniq):
    with pytest.raises(FileNotFoundError):
        shoots.get(uniq("missing"))
    with pytest.raises(FileNotFoundError):
        shoots.get("sensor_data", bucket=uniq("no_bucket"))


def test_list(shoots, uniq):
    a, b = uniq("list_a"), uniq("list_b")
    df = sensor_data(3)
    shoots.put(a, dataframe=df)
    shoots.put(b, dataframe=df)
    results = shoots.list()
    listed = {entry["name"]: entry for entry in results}
    assert {a, b} <= set(listed)
    assert listed[a]["schema"].names == ["timestamp", "Sensor_1", "Sensor_2", "site", "count"]


def test_list_bucket_and_regex(shoots, uniq):
    bucket = uniq("bucket")
    df = sensor_data(3)
    for name in ("sensor_a", "sensor_b", "weather"):
        shoots.put(name, dataframe=df, bucket=bucket)
    assert names(shoots, bucket=bucket) == ["sensor_a", "sensor_b", "weather"]
    assert names(shoots, bucket=bucket, regex="^sensor_") == ["sensor_a", "sensor_b"]
    assert names(shoots, bucket=bucket, regex="ather") == ["weather"]
    # Frames of that bucket are not in the default bucket.
    assert not {"sensor_a", "sensor_b", "weather"} & set(names(shoots))


def test_list_missing_bucket_raises_file_not_found(shoots, uniq):
    with pytest.raises(FileNotFoundError):
        shoots.list(bucket=uniq("missing"))


def test_delete(shoots, uniq):
    name = uniq("doomed")
    shoots.put(name, dataframe=sensor_data(4))
    shoots.delete(name)
    assert name not in names(shoots)
    with pytest.raises(FileNotFoundError):
        shoots.get(name)
    with pytest.raises(FileNotFoundError):
        shoots.delete(name)


def test_delete_in_bucket(shoots, uniq):
    bucket, name = uniq("bucket"), uniq("doomed")
    shoots.put(name, dataframe=sensor_data(4), bucket=bucket)
    shoots.put("survivor", dataframe=sensor_data(2), bucket=bucket)
    shoots.delete(name, bucket=bucket)
    assert names(shoots, bucket=bucket) == ["survivor"]
    with pytest.raises(FileNotFoundError):
        shoots.delete(name, bucket=bucket)


def test_buckets_and_bucket_round_trip(shoots, uniq):
    bucket = uniq("my-bucket")
    assert bucket not in shoots.buckets()
    df = sensor_data(10)
    shoots.put("sensor_data", dataframe=df, mode=PutMode.REPLACE, bucket=bucket)
    assert_frame_equal(shoots.get("sensor_data", bucket=bucket), df)
    buckets = shoots.buckets()
    assert isinstance(buckets, list) and bucket in buckets


def test_delete_bucket(shoots, uniq):
    bucket = uniq("my-bucket")
    shoots.put("sensor_data", dataframe=sensor_data(3), bucket=bucket)

    with pytest.raises(BucketNotEmptyError):
        shoots.delete_bucket(bucket)  # mode ERROR by default
    with pytest.raises(BucketNotEmptyError):
        shoots.delete_bucket(bucket, mode=BucketDeleteMode.ERROR)
    assert bucket in shoots.buckets()
    assert names(shoots, bucket=bucket) == ["sensor_data"]

    shoots.delete_bucket(bucket, mode=BucketDeleteMode.DELETE_CONTENTS)
    assert bucket not in shoots.buckets()
    with pytest.raises(FileNotFoundError):
        shoots.get("sensor_data", bucket=bucket)
    with pytest.raises(FileNotFoundError):
        shoots.delete_bucket(bucket, mode=BucketDeleteMode.DELETE_CONTENTS)


def test_delete_empty_bucket_with_mode_error(shoots, uniq):
    bucket = uniq("my-bucket")
    shoots.put("only", dataframe=sensor_data(3), bucket=bucket)
    shoots.delete("only", bucket=bucket)
    shoots.delete_bucket(bucket, mode=BucketDeleteMode.ERROR)
    assert bucket not in shoots.buckets()


def test_pandas_dtypes_round_trip(shoots, uniq):
    name = uniq("dtypes")
    df = pd.DataFrame(
        {
            "int": pd.array([1, None, 3], dtype="Int64"),
            "float": [1.5, np.nan, -0.0],
            "text": ["a", None, "ccc"],
            "flag": [True, False, True],
            "category": pd.Categorical(["x", "y", "x"]),
            "when": pd.to_datetime(["2024-01-01", None, "2024-03-01"]).tz_localize("Europe/Berlin"),
            "delta": pd.to_timedelta([1, 2, None], unit="s"),
        }
    )
    shoots.put(name, dataframe=df)
    assert_frame_equal(shoots.get(name), df)


def test_shutdown_stops_the_server(start_server):
    server = start_server("memory:", "shoots-shutdown")
    shoots = ShootsClient("127.0.0.1", server.port)
    assert shoots.ping() == "pong"
    shoots.shutdown()
    assert server.wait(15) == 0, server.stderr_text()
    with pytest.raises(fl.FlightError):
        ShootsClient("127.0.0.1", server.port).ping()
