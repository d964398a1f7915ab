"""SQL through stock clients: the unchanged shoots client's `get(sql=...)` and pyarrow's Flight
client (DoGet tickets, GetFlightInfo/GetSchema on a query), checked against pandas on the same data."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.flight as fl
import pytest
from pandas.testing import assert_frame_equal
from shoots import DataFusionError, PutMode, ShootsClient


@pytest.fixture
def shoots(local_server):
    client = ShootsClient("127.0.0.1", local_server.port)
    yield client
    client.client.close()


def readings(rows: int = 5000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=rows)
    values[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=rows, freq="s"),
            "value": values,
            "site": pd.Categorical(rng.choice(["north", "south", "east"], rows)),
            "label": [f"reading-{i:06d}-of-a-long-series" for i in range(rows)],
        }
    )


def test_shoots_get_with_sql_filters_on_the_server(shoots, uniq):
    bucket = uniq("sql")
    df = readings()
    shoots.put("sensor_data", dataframe=df, mode=PutMode.REPLACE, bucket=bucket)
    got = shoots.get(
        "sensor_data",
        sql="SELECT timestamp, value, label FROM sensor_data WHERE value > 1.5 ORDER BY timestamp",
        bucket=bucket,
    )
    expected = df.loc[df.value > 1.5, ["timestamp", "value", "label"]].reset_index(drop=True)
    assert_frame_equal(got, expected)


def test_group_by_matches_pandas(shoots, uniq):
    bucket = uniq("sql")
    df = readings()
    shoots.put("sensor_data", dataframe=df, mode=PutMode.REPLACE, bucket=bucket)
    got = shoots.get(
        "sensor_data",
        sql="SELECT site::VARCHAR AS site, count(value) AS n, avg(value) AS mean, max(value) AS high "
        "FROM sensor_data GROUP BY ALL ORDER BY site",
        bucket=bucket,
    )
    expected = (
        df.groupby("site", observed=True)["value"].agg(n="count", mean="mean", high="max").reset_index().sort_values("site")
    )
    expected["site"] = expected["site"].astype(str)
    expected["n"] = expected["n"].astype("int64")
    assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True), check_exact=False, rtol=1e-12)


def test_dictionary_columns_come_back_categorical(shoots, uniq):
    bucket = uniq("sql")
    df = readings(300)
    shoots.put("sensor_data", dataframe=df, mode=PutMode.REPLACE, bucket=bucket)
    got = shoots.get("sensor_data", sql="SELECT site FROM sensor_data", bucket=bucket)
    assert isinstance(got["site"].dtype, pd.CategoricalDtype)
    assert got["site"].astype(str).tolist() == df["site"].astype(str).tolist()


def test_bad_sql_raises_the_shoots_sql_exception(shoots, uniq):
    bucket = uniq("sql")
    shoots.put("sensor_data", dataframe=readings(10), mode=PutMode.REPLACE, bucket=bucket)
    with pytest.raises(DataFusionError, match="nope"):
        shoots.get("sensor_data", sql="SELECT nope FROM sensor_data", bucket=bucket)


def test_joins_across_frames_and_buckets(local_server, uniq):
    client = fl.connect(f"grpc://127.0.0.1:{local_server.port}")
    main, other = uniq("sql-main"), uniq("sql.other")
    put = lambda name, bucket, table: _put(client, name, bucket, table)  # noqa: E731
    put("trades", main, pa.table({"sym": ["a", "b", "a", "c"], "qty": [1, 2, 3, 4]}))
    put("names", other, pa.table({"sym": ["a", "b", "c"], "name": ["Alpha", "Beta", "Gamma"]}))
    sql = f'SELECT n.name, sum(t.qty)::BIGINT AS qty FROM trades t JOIN "{other}".names n USING (sym) GROUP BY n.name ORDER BY n.name'
    table = client.do_get(fl.Ticket(json.dumps({"sql": sql, "bucket": main}).encode())).read_all()
    assert table.to_pydict() == {"name": ["Alpha", "Beta", "Gamma"], "qty": [4, 2, 4]}


def test_flight_info_and_schema_of_a_query(local_server, uniq):
    client = fl.connect(f"grpc://127.0.0.1:{local_server.port}")
    bucket = uniq("sql")
    _put(client, "t", bucket, pa.table({"x": pa.array([1, 2, 3], pa.int32()), "s": ["p", "q", "r"]}))
    descriptor = fl.FlightDescriptor.for_command(json.dumps({"sql": "SELECT s, x * 2 AS y FROM t ORDER BY x", "bucket": bucket}))
    info = client.get_flight_info(descriptor)
    assert info.schema == pa.schema([("s", pa.string()), ("y", pa.int32())])
    assert info.total_records == -1
    assert client.get_schema(descriptor).schema == info.schema
    assert client.do_get(info.endpoints[0].ticket).read_all().to_pydict() == {"s": ["p", "q", "r"], "y": [2, 4, 6]}


@pytest.mark.parametrize(
    "sql, message",
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "Cannot access file"),
        ("COPY (SELECT 1) TO '/tmp/hangar-interop-escape.csv'", "Cannot access file"),
        ("CREATE TABLE t2 AS SELECT 1", "only read-only queries"),
        ("SELEC 1", "syntax error"),
    ],
)
def test_sandbox_refusals_reach_pyarrow(local_server, sql, message):
    """Arrow C++ clients get SQL errors as UNKNOWN plus the detail shoots' client translates."""
    client = fl.connect(f"grpc://127.0.0.1:{local_server.port}")
    with pytest.raises(fl.FlightServerError, match=message) as raised:
        client.do_get(fl.Ticket(json.dumps({"sql": sql}).encode())).read_all()
    assert json.loads(raised.value.extra_info)["type"] == "DataFusionError"


def _put(client: fl.FlightClient, name: str, bucket: str, table: pa.Table) -> None:
    writer, _ = client.do_put(fl.FlightDescriptor.for_command(json.dumps({"name": name, "bucket": bucket, "mode": "replace"})), table.schema)
    writer.write_table(table)
    writer.close()


# The type matrix through SQL: every stored type DuckDB reads comes back with the same values (in
# the Arrow type DuckDB's own type maps to, see docs/sql.md).
from test_type_matrix import FLOAT_COLUMNS, REQUIRED_COLUMNS  # noqa: E402

# Types whose SQL form is text or changes the values' Python form; checked separately or skipped.
NOT_COMPARED = {f"duration_{unit}" for unit in ("s", "ms", "us", "ns")}


def _comparable(values: list) -> list:
    out = []
    for value in values:
        if isinstance(value, float) and value != value:
            out.append("NaN")
        elif isinstance(value, dict):
            out.append({key: _comparable([item])[0] for key, item in value.items()})
        elif isinstance(value, list):
            out.append(_comparable(value))
        elif isinstance(value, bytes):
            out.append(bytes(value))
        else:
            out.append(value)
    return out


@pytest.mark.parametrize("column", sorted((set(REQUIRED_COLUMNS) | set(FLOAT_COLUMNS)) - NOT_COMPARED))
def test_type_matrix_through_sql(local_server, uniq, column):
    client = fl.connect(f"grpc://127.0.0.1:{local_server.port}")
    array = {**REQUIRED_COLUMNS, **FLOAT_COLUMNS}[column]
    bucket = uniq("sql-types")
    _put(client, "t", bucket, pa.table({"c": array}))
    result = client.do_get(fl.Ticket(json.dumps({"sql": "SELECT c FROM t", "bucket": bucket}).encode())).read_all()
    got = result.column("c").to_pylist()
    expected = array.to_pylist()
    if pa.types.is_timestamp(array.type) and array.type.tz is not None and array.type.unit == "ns":
        # DuckDB's TIMESTAMP WITH TIME ZONE has microseconds: nanoseconds are cut (toward zero).
        expected = array.cast(pa.timestamp("us", tz=array.type.tz), safe=False).to_pylist()
    if pa.types.is_timestamp(array.type) and array.type.tz is not None:
        assert result.schema.field("c").type == pa.timestamp("us", tz="UTC")
    if pa.types.is_dictionary(array.type):
        assert pa.types.is_dictionary(result.schema.field("c").type)
    if pa.types.is_decimal(array.type):
        assert result.schema.field("c").type == array.type
    assert _comparable(got) == _comparable(expected)
