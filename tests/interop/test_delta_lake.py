"""Every frame a Delta Lake table (docs/open-format.md): a server started with HANGAR_LAYOUT=delta
writes each frame's versions as a Delta log, and delta-rs (`deltalake`) and Polars read the store
in place — every column of the type matrix Delta has a type for, at the current and older versions,
equal to Hangar's own get modulo the documented mapping; Delta's history matches `versions`."""
from __future__ import annotations

import json
import signal
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as fl
import pytest
from deltalake import DeltaTable

from hangar_interop import HangarProcess, action_bodies, action_json, cmd, put
from test_type_matrix import FLOAT_COLUMNS, REQUIRED_COLUMNS

# What delta-rs returns for each Arrow type Hangar stores (docs/open-format.md, "Types").
def _delta_type(arrow: pa.DataType) -> pa.DataType | None:
    if pa.types.is_dictionary(arrow):
        if pa.types.is_string(arrow.value_type) or pa.types.is_large_string(arrow.value_type):
            return pa.string()  # Parquet strings: Delta engines see the categories' values
        return _delta_type(arrow.index_type)  # other dictionaries: their codes
    if pa.types.is_unsigned_integer(arrow):
        return {8: pa.int16(), 16: pa.int32(), 32: pa.int64(), 64: pa.decimal128(20, 0)}[arrow.bit_width]
    if pa.types.is_timestamp(arrow):
        return None if arrow.unit == "s" else pa.timestamp("us", tz="UTC" if arrow.tz else None)
    if pa.types.is_large_string(arrow):
        return pa.string()
    if pa.types.is_large_binary(arrow):
        return pa.binary()
    if pa.types.is_date64(arrow) or pa.types.is_time(arrow) or pa.types.is_duration(arrow) or pa.types.is_fixed_size_binary(arrow):
        return None
    return arrow


def _normalise(column: pa.ChunkedArray, wanted: pa.DataType | None = None) -> list:
    """Values to compare: a dictionary as its values where Delta sees strings, else as its
    indices; everything else as Python values."""
    column = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode() if wanted == pa.string() else column.indices
    return column.to_pylist()


@pytest.fixture(scope="module")
def delta_server(tmp_path_factory, logs_dir: Path):
    store = tmp_path_factory.mktemp("delta-parent") / "store"
    server = HangarProcess(store, logs_dir, "delta", env={"HANGAR_LAYOUT": "delta"}).start()
    yield server
    server.stop(signal.SIGTERM)


def _get(client: fl.FlightClient, **ticket) -> pa.Table:
    return client.do_get(fl.Ticket(json.dumps(ticket).encode())).read_all()


def _table_dir(server: HangarProcess, bucket: str, name: str) -> str:
    return str(Path(server.data) / bucket / name)


def test_type_matrix_reads_in_delta_rs_as_hangar_gets_it(delta_server):
    client = delta_server.client()
    columns = {**REQUIRED_COLUMNS, **FLOAT_COLUMNS}
    checked = 0
    for name, array in columns.items():
        frame = f"m_{name}".replace("-", "m").replace(":", "_").replace("/", "_")
        table = pa.table({"i": pa.array(range(len(array)), pa.int64()), "v": array})
        put(client, cmd({"name": frame, "bucket": "types", "mode": "replace"}), table)
        hangar = _get(client, name=frame, bucket="types")
        delta = DeltaTable(_table_dir(delta_server, "types", frame))
        wanted = _delta_type(array.type)
        fields = [field.name for field in delta.schema().fields]
        if wanted is None:
            assert fields == ["i"], f"{name}: a type Delta lacks is left out of the Delta schema"
            config = delta.metadata().configuration
            assert json.loads(config["hangar.columnsNotInDelta"]) == ["v"], name
            continue
        if pa.types.is_timestamp(array.type) and array.type.unit == "ns" and any(
            v is not None and v % 1000 for v in array.cast(pa.int64()).to_pylist()
        ):
            # Nanoseconds Delta cannot hold: delta-rs refuses to truncate them (docs/open-format.md).
            with pytest.raises(pa.ArrowInvalid, match="would lose data"):
                delta.to_pyarrow_table()
            continue
        read = delta.to_pyarrow_table().sort_by("i")
        assert read.schema.field("v").type == wanted, f"{name}: {read.schema.field('v').type} != {wanted}"
        expected = hangar.column("v")
        if not pa.types.is_dictionary(expected.type) and expected.type != wanted:
            expected = expected.cast(wanted)
        got, want = _normalise(read.column("v"), wanted), _normalise(expected, wanted)
        if pa.types.is_floating(wanted):
            assert [repr(x) for x in got] == [repr(x) for x in want], name  # NaN compares by its text
        else:
            assert got == want, name
        checked += 1
    assert checked >= 30


def test_an_ordered_categorical_is_strings_to_delta_rs_and_exact_to_hangar(delta_server):
    import pandas as pd

    client = delta_server.client()
    # Categories not in order of first use, one unused, nulls, and enough rows for several pages.
    categories = ["high", "low", "mid", "unused"]
    values = (["mid", "low", None, "high", "mid"] * 4000)
    frame = pd.DataFrame({"i": range(len(values)), "level": pd.Categorical(values, categories=categories, ordered=True)})
    put(client, cmd({"name": "levels", "bucket": "cats", "mode": "replace"}), pa.Table.from_pandas(frame, preserve_index=False))
    back = _get(client, name="levels", bucket="cats").to_pandas()
    assert list(back["level"].cat.categories) == categories and back["level"].cat.ordered
    assert back["level"].cat.codes.tolist() == frame["level"].cat.codes.tolist()
    table = DeltaTable(_table_dir(delta_server, "cats", "levels"))
    assert [(f.name, f.type.type) for f in table.schema().fields] == [("i", "long"), ("level", "string")]
    read = table.to_pyarrow_table().sort_by("i")
    column = read.column("level").combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    assert pa.types.is_string(column.type) or pa.types.is_large_string(column.type), column.type
    assert column.to_pylist() == values
    # The data file itself: dictionary-encoded strings whose dictionary is the categories in order.
    import pyarrow.parquet as pq

    path = next(Path(_table_dir(delta_server, "cats", "levels"), "segments").glob("*.parquet"))
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(1)
    assert chunk.has_dictionary_page and "RLE_DICTIONARY" in chunk.encodings
    plain = pq.read_table(path, read_dictionary=["level"]).column("level").chunk(0)
    assert plain.dictionary.to_pylist() == categories


def test_dictionaries_nested_in_lists_and_structs_are_strings_to_delta_rs_and_exact_to_hangar(delta_server):
    import pyarrow.parquet as pq

    client = delta_server.client()
    # Dictionaries not in order of first use, with unused values and null elements.
    levels = pa.array(["high", "unused", "low", "mid"])
    tags = pa.DictionaryArray.from_arrays(pa.array([3, 0, None, 2, 3, 0] * 500, pa.int8()), levels).cast(pa.dictionary(pa.int8(), pa.string(), ordered=True))
    offsets = pa.array([min(i * 2, len(tags)) for i in range(1501)], pa.int32())
    colours = pa.DictionaryArray.from_arrays(pa.array([1, None, 0] * 500, pa.int16()), pa.array(["red", "blue", "never"]))
    table = pa.table({
        "i": pa.array(range(1500), pa.int64()),
        "tags": pa.ListArray.from_arrays(offsets, tags),
        "point": pa.StructArray.from_arrays([colours, pa.array(range(1500), pa.int32())], ["colour", "n"]),
    })
    put(client, cmd({"name": "nested", "bucket": "cats", "mode": "replace"}), table)
    put(client, cmd({"name": "nested", "bucket": "cats", "mode": "append"}), table.slice(0, 3))
    # Hangar: exactly what was put, dictionaries in their order with their unused values.
    back = _get(client, name="nested", bucket="cats", version=1)
    assert back.schema == table.schema
    assert back.combine_chunks().equals(table.combine_chunks())
    assert back.column("tags").combine_chunks().values.dictionary.to_pylist() == levels.to_pylist()
    assert back.column("point").combine_chunks().field("colour").dictionary.to_pylist() == ["red", "blue", "never"]
    # delta-rs: strings, at this version and the one before.
    root = _table_dir(delta_server, "cats", "nested")
    delta = DeltaTable(root)
    assert [(f.name, json.loads(f.to_json())["type"]) for f in delta.schema().fields] == [
        ("i", "long"),
        ("tags", {"type": "array", "elementType": "string", "containsNull": True}),
        ("point", {"type": "struct", "fields": [
            {"name": "colour", "type": "string", "nullable": True, "metadata": {}},
            {"name": "n", "type": "integer", "nullable": True, "metadata": {}},
        ]}),
    ]
    for version, expected in ((0, table), (1, pa.concat_tables([table, table.slice(0, 3)]))):
        read = DeltaTable(root, version=version).to_pyarrow_table()
        assert read.num_rows == expected.num_rows
        by_row = sorted(zip(read.column("i").to_pylist(), read.column("tags").to_pylist(), read.column("point").to_pylist()), key=lambda row: row[0])
        wanted = sorted(zip(expected.column("i").to_pylist(), expected.column("tags").to_pylist(), expected.column("point").to_pylist()), key=lambda row: row[0])
        assert by_row == wanted
    # The data file: the nested values are dictionary-encoded strings.
    path = next(Path(root, "segments").glob("*.parquet"))
    metadata = pq.ParquetFile(path).metadata
    chunks = {metadata.row_group(0).column(c).path_in_schema: metadata.row_group(0).column(c) for c in range(metadata.num_columns)}
    for leaf in ("tags.list.item", "point.colour"):
        assert chunks[leaf].physical_type == "BYTE_ARRAY" and chunks[leaf].has_dictionary_page, leaf


def test_nanoseconds_of_whole_microseconds_are_microsecond_files(delta_server):
    import pyarrow.parquet as pq

    client = delta_server.client()
    whole = [1_700_000_000_123_456_000, -86_400_000_001_000, None, 0]
    frames = {
        "whole_naive": pa.array(whole, pa.timestamp("ns")),
        "whole_utc": pa.array(whole, pa.timestamp("ns", tz="UTC")),
        "nanos": pa.array([1_700_000_000_123_456_789, None, 0, 5], pa.timestamp("ns")),
    }
    for name, array in frames.items():
        put(client, cmd({"name": name, "bucket": "ts", "mode": "replace"}), pa.table({"i": pa.array(range(4), pa.int64()), "t": array}))
        assert _get(client, name=name, bucket="ts").column("t").to_pylist() == array.to_pylist(), name  # exact, as nanoseconds
        path = next(Path(_table_dir(delta_server, "ts", name), "segments").glob("*.parquet"))
        unit = pq.ParquetFile(path).metadata.schema.column(1).logical_type.to_json()
        assert ('"timeUnit": "microseconds"' in unit) == (name != "nanos"), f"{name}: {unit}"
    # delta-rs reads the microsecond files as they are, nothing converted or refused.
    for name in ("whole_naive", "whole_utc"):
        read = DeltaTable(_table_dir(delta_server, "ts", name)).to_pyarrow_table().sort_by("i").column("t")
        assert read.type.unit == "us"
        assert read.cast(pa.int64()).to_pylist() == [None if v is None else v // 1000 for v in whole]
    with pytest.raises(pa.ArrowInvalid, match="would lose data"):
        DeltaTable(_table_dir(delta_server, "ts", "nanos")).to_pyarrow_table()


def test_versions_and_history_match_delta_rs_and_polars(delta_server):
    import polars as pl

    client = delta_server.client()
    bucket, frame = "history", "prices"

    def write(mode: str, values: list[float]) -> None:
        put(client, cmd({"name": frame, "bucket": bucket, "mode": mode}), pa.table({"px": pa.array(values, pa.float64())}))

    write("error", [1.0, 2.0])
    write("append", [3.0])
    write("replace", [9.0, 8.0])
    write("append", [7.0])
    action_bodies(client, "delete", {"name": frame, "bucket": bucket})
    versions = action_json(client, "versions", {"name": frame, "bucket": bucket})
    assert [v["version"] for v in versions] == [1, 2, 3, 4, 5]
    root = _table_dir(delta_server, bucket, frame)
    for v in versions[:-1]:
        hangar = sorted(_get(client, name=frame, bucket=bucket, version=v["version"]).column("px").to_pylist())
        delta = sorted(DeltaTable(root, version=v["version"] - 1).to_pyarrow_table().column("px").to_pylist())
        assert delta == hangar, f"version {v['version']}"
        polars = sorted(pl.scan_delta(root, version=v["version"] - 1).collect()["px"].to_list())
        assert polars == hangar, f"version {v['version']} through polars"
    # The delete is a version that removes every file: the table is empty, its history stays.
    assert DeltaTable(root).to_pyarrow_table().num_rows == 0
    history = DeltaTable(root).history()
    assert sorted(h["version"] for h in history) == [v["version"] - 1 for v in versions]
    by_version = {h["version"]: h for h in history}
    assert [by_version[v["version"] - 1]["operationParameters"]["hangarOperation"] for v in versions] == [v["operation"] for v in versions]


def test_a_store_of_the_manifest_layout_is_migrated_in_place(tmp_path, logs_dir: Path):
    import subprocess

    from hangar_interop import MAIN_JS, NODE

    store = tmp_path / "store"
    old = HangarProcess(store, logs_dir, "manifest-layout", env={"HANGAR_LAYOUT": "manifest"}).start()
    client = old.client()
    for mode, values in (("error", [1.0, 2.0]), ("append", [3.0]), ("replace", [4.0])):
        put(client, cmd({"name": "px", "bucket": "m", "mode": mode}), pa.table({"v": pa.array(values)}))
    versions = action_json(client, "versions", {"name": "px", "bucket": "m"})
    states = {v["version"]: _get(client, name="px", bucket="m", version=v["version"]).column("v").to_pylist() for v in versions}
    client.close()
    old.stop(signal.SIGTERM)

    def migrate() -> str:
        done = subprocess.run([NODE, str(MAIN_JS), "migrate", "--data", str(store)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "3 Delta commit(s) written" in migrate()
    assert "0 Delta commit(s) written" in migrate()  # idempotent
    new = HangarProcess(store, logs_dir, "migrated", env={"HANGAR_LAYOUT": "delta"}).start()
    try:
        client = new.client()
        assert action_json(client, "versions", {"name": "px", "bucket": "m"}) == versions
        for version, values in states.items():
            assert _get(client, name="px", bucket="m", version=version).column("v").to_pylist() == values
            assert sorted(DeltaTable(str(store / "m" / "px"), version=version - 1).to_pyarrow_table().column("v").to_pylist()) == sorted(values)
    finally:
        new.stop(signal.SIGTERM)


def test_checkpoints_open_a_long_history_without_its_early_commits(delta_server, tmp_path):
    import shutil

    client = delta_server.client()
    bucket, frame = "long", "ticks"
    for i in range(23):
        mode = "error" if i == 0 else "append"
        put(client, cmd({"name": frame, "bucket": bucket, "mode": mode}), pa.table({"n": pa.array([i, i + 100], pa.int64())}))
    log = Path(_table_dir(delta_server, bucket, frame)) / "_delta_log"
    assert json.loads((log / "_last_checkpoint").read_text())["version"] == 20
    assert (log / f"{10:020d}.checkpoint.parquet").exists()
    # A copy without commits 0-19: only the checkpoint of version 20 can rebuild the table.
    copy = tmp_path / frame
    shutil.copytree(_table_dir(delta_server, bucket, frame), copy)
    for version in range(20):
        (copy / "_delta_log" / f"{version:020d}.json").unlink()
    expected = sorted(_get(client, name=frame, bucket=bucket).column("n").to_pylist())
    assert sorted(DeltaTable(str(copy)).to_pyarrow_table().column("n").to_pylist()) == expected
    at_20 = sorted(_get(client, name=frame, bucket=bucket, version=21).column("n").to_pylist())
    assert sorted(DeltaTable(str(copy), version=20).to_pyarrow_table().column("n").to_pylist()) == at_20


def test_file_statistics_let_delta_rs_skip_files_without_losing_rows(delta_server):
    import datetime as dt

    client = delta_server.client()
    bucket, frame = "stats", "ticks"
    base = dt.datetime(2024, 3, 1)
    for day in range(4):  # one file per day, times in nanoseconds that are whole microseconds plus 0.5 ms
        times = [base + dt.timedelta(days=day, minutes=m, microseconds=500) for m in range(5)]
        mode = "error" if day == 0 else "append"
        put(client, cmd({"name": frame, "bucket": bucket, "mode": mode}), pa.table({"ts": pa.array(times, pa.timestamp("ns")), "v": pa.array([day] * 5)}))
    commits = [json.loads(line) for line in (Path(_table_dir(delta_server, bucket, frame)) / "_delta_log" / f"{1:020d}.json").read_text().splitlines()]
    stats = json.loads(next(c["add"] for c in commits if "add" in c)["stats"])
    # Milliseconds, the minimum rounded down and the maximum up: 00:00:00.0005 -> .000, 00:04:00.0005 -> .001.
    assert stats == {"numRecords": 5, "minValues": {"ts": "2024-03-02T00:00:00.000"}, "maxValues": {"ts": "2024-03-02T00:04:00.001"}, "nullCount": {"ts": 0}}
    table = DeltaTable(_table_dir(delta_server, bucket, frame))
    for edge in (base + dt.timedelta(days=2, microseconds=500), base + dt.timedelta(days=1, minutes=4, microseconds=500)):
        read = table.to_pyarrow_table(filters=[("ts", ">=", pa.scalar(edge, pa.timestamp("us")))])
        wanted = [t for day in range(4) for t in [base + dt.timedelta(days=day, minutes=m, microseconds=500) for m in range(5)] if t >= edge]
        assert sorted(read.column("ts").to_pylist()) == wanted, edge
