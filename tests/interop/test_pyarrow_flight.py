"""The generic pyarrow.flight client (Arrow C++ over gRPC) against a real Hangar server."""
from __future__ import annotations

import json
import signal
import time

import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pytest

from hangar_interop import (
    action_bodies,
    action_json,
    assert_typed_error,
    cmd,
    get,
    names_in,
    path,
    put,
    ticket,
)

REQUIRED_ACTIONS = {"ping", "buckets", "stat", "delete", "delete_bucket", "shutdown"}


def sample(n: int = 3, offset: int = 0) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(offset, offset + n), pa.int64()),
            "label": pa.array([f"row-{i}" for i in range(offset, offset + n)], pa.string()),
            "score": pa.array([i * 0.5 for i in range(offset, offset + n)], pa.float64()),
        }
    )


def check_put_result(result: dict, name: str, bucket: str, written: int, rows: int, version: int) -> None:
    assert result["name"] == name
    assert result["bucket"] == bucket
    assert result["rowsWritten"] == written
    assert result["rows"] == rows
    assert result["version"] == version


# -- DoPut descriptors ------------------------------------------------------------------------------

def test_put_path_name_only_uses_default_bucket(client, uniq):
    name = uniq("p")
    table = sample(5)
    check_put_result(put(client, path(name), table), name, "default", 5, 5, 1)
    assert get(client, name).equals(table)
    assert client.do_get(ticket({"name": name})).read_all().equals(table)
    assert client.do_get(ticket({"name": name, "bucket": "default"})).read_all().equals(table)


def test_put_path_name_and_bucket(client, uniq):
    name, bucket = uniq("p"), uniq("b")
    table = sample(4)
    check_put_result(put(client, path(name, bucket), table), name, bucket, 4, 4, 1)
    assert get(client, name, bucket).equals(table)
    # It went to that bucket only, and the bucket now exists.
    with pytest.raises(fl.FlightServerError) as err:
        get(client, name)
    assert_typed_error(err.value, "FileNotFoundError", "NOT_FOUND")
    assert bucket in action_json(client, "buckets")


def test_put_path_fails_when_frame_exists(client, uniq):
    name = uniq("p")
    put(client, path(name), sample(3))
    with pytest.raises(fl.FlightServerError) as err:
        put(client, path(name), sample(7))
    detail = assert_typed_error(err.value, "FileExistsError", "ALREADY_EXISTS")
    assert name in detail["message"]
    assert get(client, name).equals(sample(3))


def test_put_cmd_json_modes(client, uniq):
    name = uniq("c")
    first, second, third = sample(3), sample(2, offset=3), sample(4, offset=100)
    check_put_result(put(client, cmd({"name": name, "mode": "error", "bucket": None}), first), name, "default", 3, 3, 1)

    check_put_result(put(client, cmd({"name": name, "mode": "append", "bucket": None}), second), name, "default", 2, 5, 2)
    assert get(client, name).equals(pa.concat_tables([first, second]))

    check_put_result(put(client, cmd({"name": name, "mode": "replace", "bucket": None}), third), name, "default", 4, 4, 3)
    assert get(client, name).equals(third)

    for descriptor in (cmd({"name": name, "mode": "error", "bucket": None}), cmd({"name": name})):
        with pytest.raises(fl.FlightServerError) as err:
            put(client, descriptor, first)
        assert_typed_error(err.value, "FileExistsError", "ALREADY_EXISTS")
    assert get(client, name).equals(third)
    assert action_json(client, "stat", {"name": name, "bucket": None})["version"] == 3


def test_put_cmd_json_with_bucket_and_batch_size_field(client, uniq):
    # shoots also sends "batch_size"; unknown fields are ignored.
    name, bucket = uniq("c"), uniq("b")
    table = sample(10)
    result = put(client, cmd({"name": name, "mode": "error", "bucket": bucket, "batch_size": 5000}), table)
    check_put_result(result, name, bucket, 10, 10, 1)
    assert get(client, name, bucket).equals(table)


def test_append_and_replace_create_missing_frames(client, uniq):
    for mode in ("append", "replace"):
        name = uniq(mode)
        check_put_result(put(client, cmd({"name": name, "mode": mode, "bucket": None}), sample(2)), name, "default", 2, 2, 1)
        assert get(client, name).equals(sample(2))


# -- ListFlights ------------------------------------------------------------------------------------

def _check_info(client, info: fl.FlightInfo, name: str, bucket: str, table: pa.Table) -> None:
    assert info.descriptor.descriptor_type == fl.DescriptorType.PATH
    assert [p.decode() for p in info.descriptor.path] == [name, bucket]
    assert info.total_records == table.num_rows
    assert info.total_bytes > 0
    assert info.schema.equals(table.schema, check_metadata=True)
    assert len(info.endpoints) == 1
    # The endpoint's ticket is redeemable as is.
    assert client.do_get(info.endpoints[0].ticket).read_all().equals(table)


def test_list_flights_empty_criteria_lists_default_bucket(client, uniq):
    tables = {uniq("l"): sample(2), uniq("l"): sample(6)}
    other_bucket = uniq("b")
    hidden = uniq("hidden")
    for name, table in tables.items():
        put(client, path(name), table)
    put(client, path(hidden, other_bucket), sample(1))

    for infos in (list(client.list_flights()), list(client.list_flights(b""))):
        by_name = {info.descriptor.path[0].decode(): info for info in infos}
        assert set(tables) <= set(by_name)
        assert hidden not in by_name
        for name, table in tables.items():
            _check_info(client, by_name[name], name, "default", table)


def test_list_flights_json_criteria_bucket_and_regex(client, uniq):
    bucket = uniq("b")
    frames = {"sales_2023": sample(1), "sales_2024": sample(2), "costs_2024": sample(3)}
    for name, table in frames.items():
        put(client, path(name, bucket), table)

    infos = list(client.list_flights(json.dumps({"bucket": bucket, "regex": None}).encode()))
    assert sorted(info.descriptor.path[0].decode() for info in infos) == sorted(frames)
    for info in infos:
        name = info.descriptor.path[0].decode()
        _check_info(client, info, name, bucket, frames[name])

    assert sorted(names_in(client, bucket, "^sales_")) == ["sales_2023", "sales_2024"]
    assert sorted(names_in(client, bucket, "2024$")) == ["costs_2024", "sales_2024"]
    assert sorted(names_in(client, bucket, "2024")) == ["costs_2024", "sales_2024"]  # matches anywhere
    assert names_in(client, bucket, "^nothing") == []
    assert sorted(names_in(client, bucket, "")) == sorted(frames)
    # Criteria with only a bucket.
    only_bucket = list(client.list_flights(json.dumps({"bucket": bucket}).encode()))
    assert len(only_bucket) == 3


def test_list_flights_missing_bucket_is_not_found(client, uniq):
    with pytest.raises(fl.FlightServerError) as err:
        list(client.list_flights(json.dumps({"bucket": uniq("missing"), "regex": None}).encode()))
    assert_typed_error(err.value, "FileNotFoundError", "NOT_FOUND")


# -- GetFlightInfo / GetSchema / DoGet ---------------------------------------------------------------

def test_get_flight_info_path_and_cmd(client, uniq):
    name, bucket = uniq("i"), uniq("b")
    table = sample(7)
    put(client, path(name, bucket), table)
    default_name = uniq("i")
    put(client, path(default_name), table)

    for descriptor in (path(name, bucket), cmd({"name": name, "bucket": bucket})):
        _check_info(client, client.get_flight_info(descriptor), name, bucket, table)
    for descriptor in (path(default_name), cmd({"name": default_name}), cmd({"name": default_name, "bucket": None})):
        _check_info(client, client.get_flight_info(descriptor), default_name, "default", table)

    listed = [i for i in client.list_flights(json.dumps({"bucket": bucket}).encode()) if i.descriptor.path[0] == name.encode()]
    assert listed[0].total_bytes == client.get_flight_info(path(name, bucket)).total_bytes


def test_get_flight_info_and_schema_missing_frame(client, uniq):
    for descriptor in (path(uniq("nope")), cmd({"name": uniq("nope"), "bucket": None})):
        with pytest.raises(fl.FlightServerError) as err:
            client.get_flight_info(descriptor)
        assert_typed_error(err.value, "FileNotFoundError", "NOT_FOUND")
    # pyarrow 17's get_schema checks its status without Flight details, so it can never raise
    # FlightServerError; a not-found must still surface as a not-found (KeyError) naming the frame.
    for missing in (uniq("nope"), uniq("nope")):
        for descriptor in (path(missing), cmd({"name": missing, "bucket": None})):
            with pytest.raises((fl.FlightServerError, pa.ArrowKeyError)) as err:
                client.get_schema(descriptor)
            if isinstance(err.value, fl.FlightServerError):
                assert_typed_error(err.value, "FileNotFoundError", "NOT_FOUND")
            assert missing in str(err.value)


def test_get_schema_path_and_cmd(client, uniq):
    name, bucket = uniq("s"), uniq("b")
    table = sample(2).replace_schema_metadata({"owner": "interop", "purpose": "schema"})
    put(client, path(name, bucket), table)
    for descriptor in (path(name, bucket), cmd({"name": name, "bucket": bucket})):
        schema = client.get_schema(descriptor).schema
        assert schema.equals(table.schema, check_metadata=True)
        assert schema.metadata == {b"owner": b"interop", b"purpose": b"schema"}


def test_do_get_reader_exposes_schema_before_data(client, uniq):
    name = uniq("g")
    table = sample(20)
    put(client, path(name), table)
    reader = client.do_get(ticket({"name": name, "bucket": None}))
    assert reader.schema.equals(table.schema, check_metadata=True)
    assert reader.read_all().equals(table)


def test_column_projection(client, uniq):
    name = uniq("proj")
    table = pa.table(
        {
            "a": pa.array([1, 2, 3], pa.int32()),
            "b": pa.array(["x", None, "z"]),
            "c": pa.array([1.5, None, 3.5]),
            "d": pa.array([True, False, None]),
        }
    )
    put(client, path(name), table)
    assert get(client, name, columns=["a", "c"]).equals(table.select(["a", "c"]))
    assert get(client, name, columns=["d"]).equals(table.select(["d"]))
    assert get(client, name, columns=["a", "b", "c", "d"]).equals(table)
    # Requested in another order: same columns and data (the server may keep the stored order).
    reordered = get(client, name, columns=["c", "a"])
    assert sorted(reordered.column_names) == ["a", "c"]
    for column in ("a", "c"):
        assert reordered.column(column).equals(table.column(column))
    # Projection on the ticket of a FlightInfo-style JSON works the same with an explicit bucket.
    assert client.do_get(ticket({"name": name, "bucket": "default", "columns": ["b"]})).read_all().equals(table.select(["b"]))

    with pytest.raises(pa.ArrowInvalid) as err:
        get(client, name, columns=["a", "no_such_column"])
    assert "no_such_column" in str(err.value)


# -- Actions ----------------------------------------------------------------------------------------

def test_list_actions_all_described(client):
    actions = list(client.list_actions())
    types = [action.type for action in actions]
    assert len(types) == len(set(types)), types
    assert REQUIRED_ACTIONS <= set(types)
    for action in actions:
        assert isinstance(action.description, str) and action.description.strip(), action


def test_action_ping(client):
    assert action_bodies(client, "ping") == [b"pong"]
    assert action_bodies(client, "ping", {}) == [b"pong"]


def test_action_buckets(client, uniq):
    bucket = uniq("b")
    assert bucket not in action_json(client, "buckets")
    put(client, path(uniq("f"), bucket), sample(1))
    put(client, path(uniq("f")), sample(1))
    buckets = action_json(client, "buckets")
    assert isinstance(buckets, list) and all(isinstance(b, str) for b in buckets)
    assert bucket in buckets and "default" in buckets
    assert len(buckets) == len(set(buckets))


def test_action_stat(client, uniq):
    name, bucket = uniq("st"), uniq("b")
    put(client, path(name, bucket), sample(3))
    put(client, cmd({"name": name, "bucket": bucket, "mode": "append"}), sample(2))
    stat = action_json(client, "stat", {"name": name, "bucket": bucket})
    assert stat["name"] == name and stat["bucket"] == bucket
    assert stat["rows"] == 5 and stat["version"] == 2
    assert isinstance(stat["bytes"], int) and stat["bytes"] > 0
    assert [column["name"] for column in stat["schema"]] == ["id", "label", "score"]

    with pytest.raises(fl.FlightServerError) as err:
        action_bodies(client, "stat", {"name": uniq("missing"), "bucket": bucket})
    assert_typed_error(err.value, "FileNotFoundError", "NOT_FOUND")


def test_action_delete(client, uniq):
    name, keep, bucket = uniq("del"), uniq("keep"), uniq("b")
    put(client, path(name, bucket), sample(3))
    put(client, path(keep, bucket), sample(2))
    action_bodies(client, "delete", {"name": name, "bucket": bucket})
    with pytest.raises(fl.FlightServerError) as err:
        get(client, name, bucket)
    assert_typed_error(err.value, "FileNotFoundError", "NOT_FOUND")
    assert names_in(client, bucket) == [keep]
    assert get(client, keep, bucket).equals(sample(2))

    with pytest.raises(fl.FlightServerError) as err:
        action_bodies(client, "delete", {"name": name, "bucket": bucket})
    assert_typed_error(err.value, "FileNotFoundError", "NOT_FOUND")

    # The name is free again; the delete was version 2, so the new put is version 3 (docs/versions.md).
    check_put_result(put(client, path(name, bucket), sample(1)), name, bucket, 1, 1, 3)


def test_action_delete_default_bucket_frame(client, uniq):
    name = uniq("del")
    put(client, path(name), sample(1))
    action_bodies(client, "delete", {"name": name, "bucket": None})
    assert name not in names_in(client)


def test_action_delete_bucket(client, uniq):
    bucket = uniq("b")
    put(client, path("one", bucket), sample(1))
    put(client, path("two", bucket), sample(2))

    with pytest.raises(fl.FlightServerError) as err:
        action_bodies(client, "delete_bucket", {"name": bucket, "mode": "error"})
    assert_typed_error(err.value, "BucketNotEmptyError", "FAILED_PRECONDITION")
    with pytest.raises(fl.FlightServerError) as err:
        action_bodies(client, "delete_bucket", {"name": bucket})  # mode defaults to error
    assert_typed_error(err.value, "BucketNotEmptyError", "FAILED_PRECONDITION")
    assert sorted(names_in(client, bucket)) == ["one", "two"]

    action_bodies(client, "delete_bucket", {"name": bucket, "mode": "delete"})
    assert bucket not in action_json(client, "buckets")
    with pytest.raises(fl.FlightServerError) as err:
        names_in(client, bucket)
    assert_typed_error(err.value, "FileNotFoundError", "NOT_FOUND")
    with pytest.raises(fl.FlightServerError) as err:
        get(client, "one", bucket)
    assert_typed_error(err.value, "FileNotFoundError", "NOT_FOUND")
    with pytest.raises(fl.FlightServerError) as err:
        action_bodies(client, "delete_bucket", {"name": bucket, "mode": "delete"})
    assert_typed_error(err.value, "FileNotFoundError", "NOT_FOUND")


def test_action_delete_bucket_error_mode_on_emptied_bucket(client, uniq):
    bucket = uniq("b")
    put(client, path("only", bucket), sample(1))
    action_bodies(client, "delete", {"name": "only", "bucket": bucket})
    action_bodies(client, "delete_bucket", {"name": bucket, "mode": "error"})
    assert bucket not in action_json(client, "buckets")


def test_action_shutdown_stops_server(start_server):
    server = start_server("memory:", "shutdown")
    with server.client() as c:
        assert action_bodies(c, "ping") == [b"pong"]
        action_bodies(c, "shutdown")
    assert server.wait(15) == 0, server.stderr_text()
    assert server.stdout_after_first_line() == b""
    with server.client() as c:
        with pytest.raises(fl.FlightError):
            action_bodies(c, "ping")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signals_shut_down_gracefully(start_server, tmp_path, sig):
    server = start_server(tmp_path / "store", f"signal-{int(sig)}")
    assert server.first_line == f"hangar listening on grpc://127.0.0.1:{server.port}"
    with server.client() as c:
        put(c, path("kept"), sample(3))
    assert server.stop(sig, timeout=15) == 0, server.stderr_text()
    assert server.stdout_after_first_line() == b"", "the server must print exactly one line on stdout"
    # The data survives a graceful restart.
    again = start_server(tmp_path / "store", "signal-restart")
    with again.client() as c:
        assert get(c, "kept").equals(sample(3))


def test_sigterm_does_not_wait_for_idle_connections(start_server):
    # "Stops accepting calls, lets running ones finish": with no call running, an idle but open
    # client connection must not hold the shutdown up (the server's grace period is 5 s).
    server = start_server("memory:", "idle-client")
    idle = server.client()
    try:
        put(idle, path("x"), sample(1))
        assert get(idle, "x").equals(sample(1))
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = server.wait(15)
        elapsed = time.monotonic() - started
    finally:
        idle.close()
    assert code == 0, server.stderr_text()
    assert elapsed < 2.5, f"SIGTERM took {elapsed:.2f}s with one idle client connected and no call running"


# -- Error types ------------------------------------------------------------------------------------

def test_not_found_errors_are_typed(client, uniq):
    missing = uniq("missing")
    with pytest.raises(fl.FlightServerError) as err:
        get(client, missing)
    detail = assert_typed_error(err.value, "FileNotFoundError", "NOT_FOUND")
    assert missing in detail["message"]
    with pytest.raises(fl.FlightServerError) as err:
        get(client, "x", uniq("missing_bucket"))
    assert_typed_error(err.value, "FileNotFoundError", "NOT_FOUND")
    with pytest.raises(fl.FlightServerError) as err:
        action_bodies(client, "delete_bucket", {"name": uniq("missing_bucket"), "mode": "error"})
    assert_typed_error(err.value, "FileNotFoundError", "NOT_FOUND")


def test_invalid_argument_is_arrow_invalid(client):
    with pytest.raises(pa.ArrowInvalid) as err:
        get(client, "../etc")
    assert not isinstance(err.value, fl.FlightServerError)
    assert "name" in str(err.value)


def test_sql_ticket_runs_the_query_and_null_sql_is_a_plain_get(client, uniq):
    name = uniq("sql")
    put(client, path(name), sample(3))
    # The frame's own name as a table (the default bucket is the query's bucket).
    result = client.do_get(ticket({"name": name, "bucket": None, "sql": f'SELECT count(*) AS n FROM "{name}"'})).read_all()
    assert result.column("n").to_pylist() == [3]
    # A null "sql" is the same as none.
    assert client.do_get(ticket({"name": name, "bucket": None, "sql": None})).read_all().equals(sample(3))


def test_resample_action_writes_its_target(client, uniq):
    source, target = uniq("rs_src"), uniq("rs_dst")
    put(client, path(source), sample(3))
    answer = json.loads(action_bodies(client, "resample", {"source": source, "target": target, "sql": f'SELECT * FROM "{source}"', "mode": "append"})[0])
    assert answer["target_rows"] == 3
    assert get(client, target).num_rows == 3


# -- Empty and large frames -----------------------------------------------------------------------

def test_empty_frame_schema_only(client, uniq):
    name = uniq("empty")
    schema = pa.schema([("a", pa.int64()), ("b", pa.string()), ("c", pa.list_(pa.float32()))], metadata={"k": "v"})
    result = put(client, path(name), [], schema=schema)
    check_put_result(result, name, "default", 0, 0, 1)
    reader = client.do_get(ticket({"name": name}))
    assert reader.schema.equals(schema, check_metadata=True)
    table = reader.read_all()
    assert table.num_rows == 0 and table.schema.equals(schema, check_metadata=True)
    info = client.get_flight_info(path(name))
    assert info.total_records == 0 and info.schema.equals(schema, check_metadata=True)
    assert client.get_schema(path(name)).schema.equals(schema, check_metadata=True)
    assert get(client, name, columns=["b"]).schema.equals(pa.schema([("b", pa.string())]), check_metadata=False)

    # Appending rows to an empty frame.
    rows = pa.table({"a": [1, 2], "b": ["x", "y"], "c": [[1.0], None]}, schema=schema)
    check_put_result(put(client, cmd({"name": name, "mode": "append"}), rows), name, "default", 2, 2, 2)
    assert get(client, name).equals(rows)


def test_empty_frame_zero_row_batch(client, uniq):
    name = uniq("empty")
    schema = pa.schema([("x", pa.float64()), ("y", pa.timestamp("us", "UTC"))])
    put(client, path(name), [pa.RecordBatch.from_pylist([], schema=schema)], schema=schema)
    table = get(client, name)
    assert table.num_rows == 0 and table.schema.equals(schema)


def test_large_single_batch_round_trip(any_server, uniq):
    rows = 2_000_000
    rng = np.random.default_rng(7)
    batch = pa.record_batch(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64)),
            "value": pa.array(rng.standard_normal(rows)),
            "bucket": pa.array(rng.integers(0, 1000, rows, dtype=np.int32)),
        }
    )
    assert batch.nbytes > 4 * 1024 * 1024 * 4  # far above gRPC's default 4 MiB message limit
    name = uniq("big")
    with any_server.client() as c:
        result = put(c, path(name), [batch], schema=batch.schema)
        assert result["rows"] == rows and result["rowsWritten"] == rows
        assert c.get_flight_info(path(name)).total_records == rows
        back = get(c, name)
    assert back.num_rows == rows
    assert back.equals(pa.Table.from_batches([batch]))


def test_many_small_batches_round_trip(any_server, uniq):
    batches = [
        pa.record_batch(
            {
                "n": pa.array(range(i * 40, i * 40 + 40), pa.int64()),
                "s": pa.array([f"b{i}-{j}" if j % 7 else None for j in range(40)], pa.string()),
            }
        )
        for i in range(2000)
    ]
    name = uniq("many")
    with any_server.client() as c:
        result = put(c, path(name), batches, schema=batches[0].schema)
        assert result["rows"] == 80_000
        back = get(c, name)
    assert back.equals(pa.Table.from_batches(batches))
