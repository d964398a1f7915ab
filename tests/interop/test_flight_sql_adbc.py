"""Flight SQL with the stock ADBC Flight SQL driver (adbc-driver-flightsql, DB-API through
adbc-driver-manager) against a real Hangar server: queries, parameters, adbc_get_objects,
adbc_get_table_schema, adbc_ingest in every mode, pandas and polars reading through it, errors as
DB-API exceptions, basic → bearer logins and tokens scoped to one bucket."""
from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime, timezone

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.flight as fl
import pytest
from pandas.testing import assert_frame_equal

from hangar_interop import MAIN_JS, NODE, HangarProcess

SECRET = "flight-sql-interop-secret-0123456789ab"
BUCKET_HEADER = "adbc.flight.sql.rpc.call_header.bucket"


def trades(rows: int = 2000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "ts": pd.date_range("2024-01-01", periods=rows, freq="min"),
            "sym": rng.choice(["AAA", "BBB", "CCC"], rows),
            "px": rng.normal(100, 5, rows),
            "qty": rng.integers(1, 100, rows),
        }
    )


def put(uri: str, name: str, bucket: str, table: pa.Table, headers: list | None = None) -> None:
    """Writes a frame with pyarrow's plain Flight client (Hangar's own DoPut)."""
    with fl.connect(uri) as client:
        options = fl.FlightCallOptions(headers=headers or [])
        writer, _ = client.do_put(fl.FlightDescriptor.for_path(name, bucket), table.schema, options=options)
        writer.write_table(table)
        writer.close()


@pytest.fixture(scope="module")
def server(logs_dir):
    process = HangarProcess("memory:", logs_dir, "flight-sql").start()
    put(process.location, "trades", "market", pa.Table.from_pandas(trades(), preserve_index=False))
    put(process.location, "quotes", "market", pa.table({"sym": ["AAA"], "bid": [99.5]}))
    put(process.location, "other", "misc", pa.table({"v": [1]}))
    yield process
    process.stop()


@pytest.fixture
def conn(server):
    with flight_sql.connect(server.location, db_kwargs={BUCKET_HEADER: "market"}) as connection:
        yield connection


def test_query_matches_pandas(conn):
    df = trades()
    with conn.cursor() as cur:
        cur.execute("SELECT sym, count(*) AS n, avg(px) AS mean FROM trades GROUP BY sym ORDER BY sym")
        got = cur.fetch_df()
    expected = df.groupby("sym").agg(n=("px", "size"), mean=("px", "mean")).reset_index()
    assert_frame_equal(got, expected, check_dtype=False)


def test_fetch_arrow_table_returns_every_row_with_types(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM trades ORDER BY ts")
        table = cur.fetch_arrow_table()
    assert table.num_rows == 2000
    assert table.schema.field("ts").type == pa.timestamp("ns") or pa.types.is_timestamp(table.schema.field("ts").type)
    assert table.column("qty").to_pylist() == trades()["qty"].tolist()


def test_parameters_are_bound(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM trades WHERE sym = ? AND qty >= ?", parameters=("AAA", 50))
        (n,) = cur.fetchone()
    df = trades()
    assert n == int(((df.sym == "AAA") & (df.qty >= 50)).sum())


def test_get_objects_lists_buckets_tables_and_columns(conn):
    objects = conn.adbc_get_objects(depth="all", db_schema_filter="mark%").read_all().to_pylist()
    assert [catalog["catalog_name"] for catalog in objects] == ["hangar"]
    schemas = objects[0]["catalog_db_schemas"]
    assert [schema["db_schema_name"] for schema in schemas] == ["market"]
    tables = {table["table_name"]: table for table in schemas[0]["db_schema_tables"]}
    assert set(tables) == {"trades", "quotes"}
    columns = tables["trades"]["table_columns"]
    assert [column["column_name"] for column in columns] == ["ts", "sym", "px", "qty"]
    # SQL type names from the ARROW:FLIGHT:SQL:TYPE_NAME metadata of the table schemas.
    assert [column["xdbc_type_name"] for column in columns] == ["TIMESTAMP_NS", "VARCHAR", "DOUBLE", "BIGINT"]
    filtered = conn.adbc_get_objects(depth="tables", table_name_filter="quo_es").read_all().to_pylist()
    names = [t["table_name"] for c in filtered for s in c["catalog_db_schemas"] for t in s["db_schema_tables"]]
    assert names == ["quotes"]


def test_get_table_schema_and_info(conn):
    schema = conn.adbc_get_table_schema("quotes", db_schema_filter="market")
    assert schema.names == ["sym", "bid"]
    info = conn.adbc_get_info()
    assert info["vendor_name"] == "Hangar"
    assert conn.adbc_get_table_types() == ["TABLE"]


def test_ingest_every_mode(server, conn, uniq):
    name = uniq("ingest")

    def count() -> int:
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM market.{name}")
            return cur.fetchone()[0]

    with conn.cursor() as cur:
        assert cur.adbc_ingest(name, pa.table({"x": [1, 2, 3]}), mode="create", db_schema_name="market") == 3
        assert count() == 3
        with pytest.raises(adbc_driver_manager.ProgrammingError, match="already exists"):
            cur.adbc_ingest(name, pa.table({"x": [4]}), mode="create", db_schema_name="market")
        cur.adbc_ingest(name, pa.table({"x": [4, 5]}), mode="append", db_schema_name="market")
        assert count() == 5
        cur.adbc_ingest(name, pa.table({"x": [9]}), mode="replace", db_schema_name="market")
        assert count() == 1
        cur.adbc_ingest(name, pa.table({"x": [7]}), mode="create_append", db_schema_name="market")
        assert count() == 2
        with pytest.raises(adbc_driver_manager.ProgrammingError, match="does not exist"):
            cur.adbc_ingest(uniq("missing"), pa.table({"x": [1]}), mode="append", db_schema_name="market")
    # The frame is a Hangar frame like any other: pyarrow's plain client reads it.
    with fl.connect(server.location) as client:
        info = client.get_flight_info(fl.FlightDescriptor.for_path(name, "market"))
        assert client.do_get(info.endpoints[0].ticket).read_all().column("x").to_pylist() == [9, 7]


def test_polars_reads_through_adbc(conn):
    frame = pl.read_database("SELECT sym, sum(qty)::BIGINT AS total FROM trades GROUP BY sym ORDER BY sym", connection=conn)
    df = trades()
    assert frame["sym"].to_list() == ["AAA", "BBB", "CCC"]
    assert frame["total"].to_list() == [int(df[df.sym == s].qty.sum()) for s in ["AAA", "BBB", "CCC"]]


def test_errors_are_db_api_exceptions(conn):
    with conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.ProgrammingError, match="syntax error"):
            cur.execute("SELEC 1")
        with pytest.raises(adbc_driver_manager.ProgrammingError, match="does not exist"):
            cur.execute("SELECT * FROM no_such_frame")
        with pytest.raises(adbc_driver_manager.ProgrammingError, match="read-only"):
            cur.execute("CREATE TABLE t AS SELECT 1")
        with pytest.raises(adbc_driver_manager.ProgrammingError, match="read-only for SQL"):
            cur.executemany("SELECT ?::BIGINT", [(1,), (2,)])


def test_time_travel_with_the_as_of_header(server, uniq):
    name = uniq("moving")
    put(server.location, name, "market", pa.table({"v": [1]}))
    time.sleep(0.05)
    between = datetime.now(timezone.utc).isoformat()
    time.sleep(0.05)
    with fl.connect(server.location) as client:
        descriptor = fl.FlightDescriptor.for_command(f'{{"name": "{name}", "bucket": "market", "mode": "append"}}'.encode())
        writer, _ = client.do_put(descriptor, pa.schema([("v", pa.int64())]))
        writer.write_table(pa.table({"v": [2]}))
        writer.close()
    kwargs = {BUCKET_HEADER: "market", "adbc.flight.sql.rpc.call_header.as_of": between}
    with flight_sql.connect(server.location, db_kwargs=kwargs) as past, past.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {name}")
        assert cur.fetchone()[0] == 1


# -- authentication and scopes -------------------------------------------------------------------


def _hangar(*args: str, password: str | None = None) -> str:
    env = {**os.environ, "HANGAR_SECRET": SECRET}
    if password is not None:
        env["HANGAR_PASSWORD"] = password
    return subprocess.run([NODE, str(MAIN_JS), *args], env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def secure_server(tmp_path_factory, logs_dir):
    users = tmp_path_factory.mktemp("flight-sql-users") / "users.json"
    _hangar("user", "add", "reader", "--users", str(users), "--scope", "read:shared", password="pa55word")
    process = HangarProcess("memory:", logs_dir, "flight-sql-secure", extra_args=["--users", str(users)],
                            env={"HANGAR_SECRET": SECRET}).start()
    admin = _hangar("token", "--sub", "root", "--scope", "admin", "--ttl", "1h").strip()
    headers = [(b"authorization", f"Bearer {admin}".encode())]
    put(process.location, "open", "shared", pa.table({"v": [1, 2]}), headers)
    put(process.location, "hidden", "private", pa.table({"v": [3]}), headers)
    yield process
    process.stop()


def test_basic_login_is_exchanged_for_a_bearer_token(secure_server):
    kwargs = {"username": "reader", "password": "pa55word", BUCKET_HEADER: "shared"}
    with flight_sql.connect(secure_server.location, db_kwargs=kwargs) as conn, conn.cursor() as cur:
        cur.execute("SELECT sum(v) FROM open")
        assert cur.fetchone()[0] == 3
    with pytest.raises(adbc_driver_manager.Error, match="(?i)unauthenticated|wrong user"):
        with flight_sql.connect(secure_server.location, db_kwargs={"username": "reader", "password": "nope"}) as conn:
            conn.adbc_get_objects(depth="catalogs").read_all()


def test_a_token_scoped_to_one_bucket_sees_and_queries_only_it(secure_server):
    token = _hangar("token", "--sub", "scoped", "--scope", "read:shared", "--ttl", "1h").strip()
    kwargs = {"adbc.flight.sql.authorization_header": f"Bearer {token}", BUCKET_HEADER: "shared"}
    with flight_sql.connect(secure_server.location, db_kwargs=kwargs) as conn:
        objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
        schemas = [s["db_schema_name"] for c in objects for s in c["catalog_db_schemas"]]
        assert schemas == ["shared"]
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM open")
            assert cur.fetchone()[0] == 2
            with pytest.raises(adbc_driver_manager.ProgrammingError, match="may not read"):
                cur.execute("SELECT * FROM private.hidden")
            with pytest.raises(adbc_driver_manager.ProgrammingError, match="may not write"):
                cur.adbc_ingest("sneaky", pa.table({"v": [1]}), mode="create", db_schema_name="shared")
