"""Spark (pyspark with delta-spark, its jars from Maven Central) reads a Hangar store written with
HANGAR_LAYOUT=delta in place: a frame at its current version and at an older one, a join of two
frames, and the history (docs/open-format.md). The slow interop group: starting Spark and resolving
its jars takes tens of seconds."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.flight as fl
import pytest

from hangar_interop import HangarProcess, action_json, cmd, put

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def delta_server(tmp_path_factory, logs_dir: Path):
    store = tmp_path_factory.mktemp("spark-parent") / "store"
    server = HangarProcess(store, logs_dir, "delta-spark", env={"HANGAR_LAYOUT": "delta"}).start()
    yield server
    server.stop(signal.SIGTERM)


@pytest.fixture(scope="module")
def spark():
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master("local[1]")
        .appName("hangar-delta-interop")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
    )
    session = configure_spark_with_delta_pip(builder).getOrCreate()
    yield session
    session.stop()


def _get(client: fl.FlightClient, **ticket) -> pa.Table:
    return client.do_get(fl.Ticket(json.dumps(ticket).encode())).read_all()


def _trades(start: int, rows: int) -> pa.Table:
    return pa.table(
        {
            # pandas' nanoseconds (whole microseconds: stored as Parquet microseconds, which Spark reads)
            # and a categorical (stored as Parquet strings, which Spark joins on).
            "ts": pa.array([(1_700_000_000_000_000 + (start + i) * 1_000_000) * 1000 for i in range(rows)], pa.timestamp("ns", tz="UTC")),
            "sym": pa.array([["AAA", "BBB", "CCC"][(start + i) % 3] for i in range(rows)]).dictionary_encode(),
            "px": pa.array([100.0 + (start + i) / 4 for i in range(rows)]),
            "qty": pa.array([(start + i) % 7 for i in range(rows)], pa.int64()),
        }
    )


def _rows(frame: pd.DataFrame) -> list[tuple]:
    frame = frame.copy()
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).map(lambda t: t.isoformat())  # units may differ: compare instants
    frame["sym"] = frame["sym"].astype(str)  # Hangar's categorical, Spark's string
    return sorted(frame.itertuples(index=False, name=None))


def test_spark_reads_frames_old_versions_and_joins(delta_server, spark):
    client = delta_server.client()
    put(client, cmd({"name": "trades", "bucket": "lake", "mode": "error"}), _trades(0, 30))
    put(client, cmd({"name": "trades", "bucket": "lake", "mode": "append"}), _trades(30, 12))
    put(client, cmd({"name": "refs", "bucket": "lake", "mode": "error"}), pa.table({"sym": ["AAA", "BBB", "CCC"], "name": ["alpha", "beta", "gamma"]}))
    root = Path(delta_server.data) / "lake"

    current = _get(client, name="trades", bucket="lake").to_pandas()
    first = _get(client, name="trades", bucket="lake", version=1).to_pandas()
    spark_current = spark.read.format("delta").load(str(root / "trades")).toPandas()
    spark_first = spark.read.format("delta").option("versionAsOf", 0).load(str(root / "trades")).toPandas()
    assert _rows(spark_current) == _rows(current)
    assert _rows(spark_first) == _rows(first)

    spark.read.format("delta").load(str(root / "trades")).createOrReplaceTempView("trades")
    spark.read.format("delta").load(str(root / "refs")).createOrReplaceTempView("refs")
    joined = spark.sql("SELECT r.name, sum(t.qty) AS qty, count(*) AS n FROM trades t JOIN refs r ON t.sym = r.sym GROUP BY r.name").toPandas()
    refs = _get(client, name="refs", bucket="lake").to_pandas()
    expected = current.merge(refs, on="sym").groupby("name").agg(qty=("qty", "sum"), n=("qty", "size")).reset_index()
    assert sorted(joined.itertuples(index=False, name=None)) == sorted(expected.itertuples(index=False, name=None))

    history = spark.sql(f"DESCRIBE HISTORY delta.`{root / 'trades'}`").toPandas()
    versions = action_json(client, "versions", {"name": "trades", "bucket": "lake"})
    assert sorted(history["version"].tolist()) == [v["version"] - 1 for v in versions]


def test_a_spark_written_table_is_served_by_a_mount(spark, tmp_path, logs_dir: Path):
    import datetime as dt

    lake = tmp_path / "lake"
    orders = str(lake / "orders")
    rows = [(i, f"s{i % 3}", float(i) / 2, dt.datetime(2024, 1, 1, 0, 0, i, tzinfo=dt.timezone.utc)) for i in range(6)]
    frame = spark.createDataFrame(rows, "id long, sym string, px double, ts timestamp")
    frame.write.format("delta").save(orders)
    spark.createDataFrame([(100, "s9", 9.5, dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc))], "id long, sym string, px double, ts timestamp").write.format("delta").mode("append").save(orders)
    frame.filter("id < 2").write.format("delta").mode("overwrite").save(orders)  # removes every earlier file

    config = tmp_path / "hangar.json"
    config.write_text(json.dumps({"buckets": {"lake": f"delta+file://{lake}"}}))
    server = HangarProcess(tmp_path / "store", logs_dir, "spark-mount", extra_args=["--config", str(config)]).start()
    try:
        client = server.client()
        versions = action_json(client, "versions", {"name": "orders", "bucket": "lake"})
        assert [v["version"] for v in versions] == [1, 2, 3]
        for version in (1, 2, 3):
            hangar = _get(client, name="orders", bucket="lake", version=version).to_pandas()
            expected = spark.read.format("delta").option("versionAsOf", version - 1).load(orders).toPandas()
            assert _rows(hangar) == _rows(expected), f"version {version}"
        counted = _get(client, sql="SELECT count(*) AS n, sum(id) AS s FROM orders", bucket="lake")
        assert counted.to_pylist() == [{"n": 2, "s": 1}]
    finally:
        server.stop(signal.SIGTERM)
