"""Bring your own lake (docs/open-format.md): Delta tables written by delta-rs (`deltalake`) are
served read-only by a bucket mount ("buckets": {"lake": "delta+file:///…"}) through Flight gets,
versions and SQL, honouring their remove actions; writes are refused, and so are tables that use
reader features Hangar does not serve (deletion vectors)."""
from __future__ import annotations

import json
import signal
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as fl
import pytest
from deltalake import write_deltalake

from hangar_interop import HangarProcess, action_json, cmd, names_in, put


def _get(client: fl.FlightClient, **ticket) -> pa.Table:
    return client.do_get(fl.Ticket(json.dumps(ticket).encode())).read_all()


def _sorted(table: pa.Table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda row: row["id"])


def test_delta_rs_tables_are_served_read_only(tmp_path, logs_dir: Path):
    lake = tmp_path / "lake"
    first = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "px": [1.5, 2.5, 3.5], "sym": ["a", "b", "c"]})
    more = pa.table({"id": pa.array([4], pa.int64()), "px": [4.5], "sym": ["d"]})
    replaced = pa.table({"id": pa.array([10, 11], pa.int64()), "px": [10.0, 11.0], "sym": ["x", "y"]})
    write_deltalake(str(lake / "trades"), first)
    write_deltalake(str(lake / "trades"), more, mode="append")
    write_deltalake(str(lake / "trades"), replaced, mode="overwrite")  # removes the first two versions' files
    write_deltalake(str(lake / "refs"), pa.table({"sym": ["x", "y"], "name": ["ex", "why"]}))
    # A table with deletion vectors: a commit that turns the reader feature on.
    write_deltalake(str(lake / "dv"), first)
    (lake / "dv" / "_delta_log" / f"{1:020d}.json").write_text(
        json.dumps({"protocol": {"minReaderVersion": 3, "minWriterVersion": 7, "readerFeatures": ["deletionVectors"], "writerFeatures": ["deletionVectors"]}}) + "\n"
    )
    config = tmp_path / "hangar.json"
    config.write_text(json.dumps({"buckets": {"lake": f"delta+file://{lake}", "mirror": f"delta+file://{lake}"}}))
    server = HangarProcess(tmp_path / "store", logs_dir, "delta-mount", extra_args=["--config", str(config)]).start()
    try:
        client = server.client()
        assert sorted(names_in(client, "lake")) == ["refs", "trades"]  # dv cannot be served: left out of listings
        assert sorted(names_in(client, "mirror")) == ["refs", "trades"]  # a second bucket on the same tables
        assert _sorted(_get(client, name="trades", bucket="lake")) == _sorted(replaced)
        assert _sorted(_get(client, name="trades", bucket="lake", version=1)) == _sorted(first)
        assert _sorted(_get(client, name="trades", bucket="lake", version=2)) == _sorted(pa.concat_tables([first, more]))
        versions = action_json(client, "versions", {"name": "trades", "bucket": "lake"})
        assert [v["version"] for v in versions] == [1, 2, 3]
        assert [v["rows"] for v in versions] == [3, 4, 2]
        joined = _get(client, sql="SELECT r.name, t.px FROM trades t JOIN refs r ON t.sym = r.sym ORDER BY t.px", bucket="lake")
        assert joined.to_pylist() == [{"name": "ex", "px": 10.0}, {"name": "why", "px": 11.0}]
        with pytest.raises(fl.FlightError, match="read-only mount"):
            put(client, cmd({"name": "trades", "bucket": "lake", "mode": "append"}), more)
        with pytest.raises((fl.FlightError, pa.ArrowInvalid), match="deletionVectors"):  # FAILED_PRECONDITION
            _get(client, name="dv", bucket="lake")
    finally:
        server.stop(signal.SIGTERM)


def test_the_mount_flag_serves_delta_tables_as_the_config_file_does(tmp_path, logs_dir: Path):
    lake = tmp_path / "lake"
    first = pa.table({"id": pa.array([1, 2], pa.int64()), "sym": ["a", "b"]})
    replaced = pa.table({"id": pa.array([7], pa.int64()), "sym": ["z"]})
    write_deltalake(str(lake / "trades"), first)
    write_deltalake(str(lake / "trades"), replaced, mode="overwrite")
    # A plain directory path, repeated for a second bucket (a delta+ location is taken as it is).
    server = HangarProcess(
        tmp_path / "store", logs_dir, "delta-mount-flag", extra_args=["--mount", f"lake={lake}", "--mount", f"other=delta+file://{lake}"]
    ).start()
    try:
        client = server.client()
        assert names_in(client, "lake") == ["trades"] and names_in(client, "other") == ["trades"]
        assert _sorted(_get(client, name="trades", bucket="lake")) == _sorted(replaced)
        assert _sorted(_get(client, name="trades", bucket="other", version=1)) == _sorted(first)
        with pytest.raises(fl.FlightError, match="read-only mount"):
            put(client, cmd({"name": "trades", "bucket": "lake", "mode": "append"}), replaced)
    finally:
        server.stop(signal.SIGTERM)
