"""shoots' `resample` action: the unchanged shoots client (both forms), and every rule × aggregation
cross-checked against pandas' `df.resample(rule).agg()` on random series with gaps, nulls, NaT and
time zones (naive, UTC, DST zones, a half-hour zone and a fixed offset)."""
from __future__ import annotations

import datetime as dt
import decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pandas.testing import assert_frame_equal
from shoots import PutMode, ShootsClient

from hangar_interop import action_json, cmd, get, put

RULES = ["10s", "1min", "1T", "5min", "1h", "1H", "1D", "1W", "1M", "W-MON", "MS", "7min", "2D"]
AGGREGATIONS = ["mean", "sum", "min", "max", "first", "last", "count", "median", "std", "var", "ohlc"]
ZONES = [None, "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", dt.timezone(dt.timedelta(hours=5, minutes=30))]
# pandas 2.2 spells the old aliases differently (and warns on the old ones); the bins are the same.
PANDAS_RULE = {"1T": "1min", "1H": "1h", "1M": "1ME"}
NUMERIC = ["f", "i", "i_null", "small"]


def series(tz, seed: int = 0) -> pd.DataFrame:
    """Bursts of rows a few seconds apart, at random points of ~110 days across both 2024 DST changes,
    so every rule sees multi-row bins and long gaps. Unique times (first/last have no ties), some NaT,
    NaN in a float column, nulls in an integer column, and non-numeric columns that are dropped."""
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.integers(0, 110 * 86_400, 120))
    offsets = np.concatenate([start + np.cumsum(rng.integers(1, 9, rng.integers(5, 40))) for start in starts])
    offsets = np.unique(offsets)
    times = pd.Timestamp("2024-02-20 21:47:13") + pd.to_timedelta(offsets, unit="s")
    if tz is not None:
        times = times.tz_localize("UTC").tz_convert(tz)
    n = len(times)
    times = pd.Series(times).where(np.arange(n) % 53 != 7)  # NaT rows are skipped, as pandas does
    f = rng.standard_normal(n) * 10
    f[rng.random(n) < 0.12] = np.nan
    i_null = pd.array(rng.integers(-1000, 1000, n), dtype="Int64")
    i_null[rng.random(n) < 0.15] = pd.NA
    return pd.DataFrame(
        {
            "label": [f"row-{k}" for k in range(n)],
            "ts": times,
            "f": f,
            "i": rng.integers(-50, 50, n).astype(np.int64),
            "i_null": i_null,
            "small": rng.integers(0, 200, n).astype(np.int32),
            "flag": rng.random(n) < 0.5,
        }
    )


def expected(df: pd.DataFrame, rule: str, aggregation: str) -> pd.DataFrame:
    """pandas' answer, with empty bins dropped (Hangar omits them) and ohlc's columns flattened."""
    indexed = df.dropna(subset=["ts"]).set_index("ts")[NUMERIC].astype({"i_null": "float64"})
    resampler = indexed.resample(PANDAS_RULE.get(rule, rule))
    out = resampler.ohlc() if aggregation == "ohlc" else resampler.agg(aggregation)
    if aggregation == "ohlc":
        out.columns = [f"{column}_{part}" for column, part in out.columns]
    out = out[resampler.size() > 0]
    return out.rename_axis("ts").reset_index()


def to_float(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: "float64" for c in frame.columns if c != "ts"})


@pytest.fixture(scope="module")
def sources(local_server):
    """One source frame per time zone, written once for the module."""
    frames = {}
    with local_server.client() as client:
        for k, tz in enumerate(ZONES):
            df = series(tz, seed=k)
            name = f"resample_src_{k}"
            table = pa.Table.from_pandas(df, preserve_index=False)
            put(client, cmd({"name": name, "mode": "replace", "bucket": "resample_in"}), table.to_batches(max_chunksize=500), schema=table.schema)
            frames[k] = (name, df)
    return frames


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("zone", range(len(ZONES)), ids=[str(z) for z in ZONES])
def test_rule_matches_pandas(client, sources, uniq, zone, rule):
    name, df = sources[zone]
    for aggregation in AGGREGATIONS:
        target = uniq("out")
        body = {"source": name, "target": target, "rule": rule, "time_col": "ts", "aggregation_func": aggregation,
                "mode": "error", "source_bucket": "resample_in", "target_bucket": "resample_out"}
        result = action_json(client, "resample", body)
        want = expected(df, rule, aggregation)
        got = get(client, target, "resample_out").to_pandas()
        assert result == {"source_rows": len(df), "target_rows": len(want)}, aggregation
        assert list(got.columns) == list(want.columns), aggregation
        if want["ts"].dt.tz is not None:  # same zone: the same wall-clock labels, not only the same instants
            assert got["ts"].dt.tz is not None, aggregation
            assert (got["ts"].dt.tz_localize(None).to_numpy() == want["ts"].dt.tz_localize(None).to_numpy()).all(), aggregation
        assert_frame_equal(to_float(got), to_float(want), check_dtype=False, check_exact=False, rtol=1e-9, atol=1e-9, obj=f"{rule} {aggregation}")


def test_output_types(client, sources, uniq):
    """mean/median/std/var → float64; sum and count of integers → int64; min/max/first/last keep the type."""
    name, _ = sources[0]
    types = {}
    for aggregation in ["mean", "sum", "count", "min", "first", "median", "std"]:
        target = uniq("types")
        action_json(client, "resample", {"source": name, "target": target, "rule": "1h", "time_col": "ts",
                                         "aggregation_func": aggregation, "source_bucket": "resample_in"})
        types[aggregation] = get(client, target).schema
    assert types["mean"].field("i").type == pa.float64()
    assert types["sum"].field("i").type == pa.int64() and types["sum"].field("small").type == pa.int64()
    assert types["sum"].field("f").type == pa.float64()
    assert types["count"].field("f").type == pa.int64()
    assert types["min"].field("small").type == pa.int32() and types["first"].field("small").type == pa.int32()
    assert types["median"].field("small").type == pa.float64() and types["std"].field("i").type == pa.float64()
    assert types["mean"].names == ["ts", "f", "i", "i_null", "small"]  # label and flag are dropped
    assert types["mean"].field("ts").type == pa.timestamp("us")


def test_time_zone_and_date_columns(client, uniq):
    """A date column bins like midnight timestamps; a tz-aware column keeps its zone in the output."""
    days = pd.date_range("2024-01-01", periods=100, freq="D")
    df = pd.DataFrame({"day": days.date, "v": np.arange(100, dtype=np.float64)})
    source = uniq("dates")
    put(client, cmd({"name": source, "mode": "error"}), pa.Table.from_pandas(df, preserve_index=False))
    target = uniq("dates_out")
    action_json(client, "resample", {"source": source, "target": target, "rule": "1W", "time_col": "day", "aggregation_func": "sum"})
    got = get(client, target).to_pandas()
    want = pd.DataFrame({"v": np.arange(100, dtype=np.float64)}, index=days).resample("W").sum().rename_axis("day").reset_index()
    assert_frame_equal(got, want, check_dtype=False)


def test_decimal_columns(client, uniq):
    df = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=6, freq="20min"),
                       "d": [decimal.Decimal(x) for x in ["1.10", "2.20", "3.30", "4.40", "5.50", "6.60"]]})
    table = pa.Table.from_pandas(df, preserve_index=False).cast(pa.schema([("ts", pa.timestamp("us")), ("d", pa.decimal128(10, 2))]))
    source = uniq("decimals")
    put(client, cmd({"name": source, "mode": "error"}), table)
    for aggregation, values, type_ in [("sum", ["6.60", "16.50"], pa.decimal128(38, 2)), ("max", ["3.30", "6.60"], pa.decimal128(10, 2))]:
        target = uniq("decimals_out")
        action_json(client, "resample", {"source": source, "target": target, "rule": "1h", "time_col": "ts", "aggregation_func": aggregation})
        got = get(client, target)
        assert got.schema.field("d").type == type_
        assert got.column("d").to_pylist() == [decimal.Decimal(v) for v in values]
    target = uniq("decimals_mean")
    action_json(client, "resample", {"source": source, "target": target, "rule": "1h", "time_col": "ts", "aggregation_func": "mean"})
    assert get(client, target).column("d").to_pylist() == pytest.approx([2.2, 5.5])


# -- the shoots client -------------------------------------------------------------------------------


@pytest.fixture
def shoots(local_server):
    client = ShootsClient("127.0.0.1", local_server.port)
    yield client
    client.client.close()


def sensor_data(rows: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=rows, freq="s"),
                         "Sensor_1": rng.random(rows), "Sensor_2": rng.random(rows),
                         "site": [f"site-{i % 3}" for i in range(rows)]})


def test_shoots_resample_by_rule(shoots, uniq):
    source, target = uniq("sensor"), uniq("sensor_10s")
    df = sensor_data()
    shoots.put(source, dataframe=df)
    result = shoots.resample(source=source, target=target, rule="10s", time_col="timestamp", aggregation_func="mean")
    assert result == {"source_rows": 600, "target_rows": 60}
    want = df.set_index("timestamp")[["Sensor_1", "Sensor_2"]].resample("10s").mean().reset_index()
    assert_frame_equal(shoots.get(target), want, check_dtype=False)
    # shoots' default mode is APPEND: a second resample adds the rows again.
    shoots.resample(source=source, target=target, rule="10s", time_col="timestamp", aggregation_func="mean")
    assert len(shoots.get(target)) == 120
    shoots.resample(source=source, target=target, rule="1min", time_col="timestamp", aggregation_func="max", mode=PutMode.REPLACE)
    assert len(shoots.get(target)) == 10


def test_shoots_resample_by_sql_across_buckets(shoots, uniq):
    source, target = uniq("sensor"), uniq("sensor_sql")
    in_bucket, out_bucket = uniq("in"), uniq("out")
    df = sensor_data()
    shoots.put(source, dataframe=df, bucket=in_bucket)
    sql = f'SELECT timestamp, "Sensor_1" FROM "{source}" WHERE "Sensor_1" > 0.5 ORDER BY timestamp'
    result = shoots.resample(source=source, target=target, sql=sql, mode=PutMode.ERROR, source_bucket=in_bucket, target_bucket=out_bucket)
    want = df.loc[df["Sensor_1"] > 0.5, ["timestamp", "Sensor_1"]].reset_index(drop=True)
    assert result == {"source_rows": 600, "target_rows": len(want)}
    assert_frame_equal(shoots.get(target, bucket=out_bucket), want, check_dtype=False)
    with pytest.raises(FileExistsError):
        shoots.resample(source=source, target=target, sql=sql, mode=PutMode.ERROR, source_bucket=in_bucket, target_bucket=out_bucket)


def test_shoots_resample_missing_source(shoots, uniq):
    with pytest.raises(FileNotFoundError):
        shoots.resample(source=uniq("missing"), target=uniq("t"), rule="1min", time_col="ts", aggregation_func="mean")


# -- validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, words",
    [
        ({"rule": "3 fortnights"}, "rule"),
        ({"rule": "2W"}, "multiple"),
        ({"aggregation_func": "mode"}, "aggregation_func"),
        ({"time_col": "nope"}, "not a column"),
        ({"time_col": "v"}, "timestamp or a date"),
        ({"extra": 1}, "unknown field"),
        ({"sql": "SELECT 1"}, "either"),
        ({"aggregation_func": None}, "missing"),
        ({"mode": "upsert"}, "put mode"),
        ({"target": "../x"}, "invalid frame name"),
    ],
)
def test_invalid_requests(client, uniq, change, words):
    source = uniq("valid_src")
    df = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=3, freq="s"), "v": [1.0, 2.0, 3.0]})
    put(client, cmd({"name": source, "mode": "error"}), pa.Table.from_pandas(df, preserve_index=False))
    body = {"source": source, "target": uniq("t"), "rule": "1min", "time_col": "ts", "aggregation_func": "mean", **change}
    with pytest.raises(pa.ArrowInvalid) as err:  # pyarrow's exception for INVALID_ARGUMENT
        action_json(client, "resample", body)
    assert words in str(err.value), err.value


def test_bad_sql_is_a_datafusion_error(shoots, uniq):
    source = uniq("sensor")
    shoots.put(source, dataframe=sensor_data(5))
    from shoots.shoots_client import DataFusionError

    with pytest.raises(DataFusionError):
        shoots.resample(source=source, target=uniq("t"), sql="SELECT nope FROM nowhere")
