"""Versions and time travel with the stock pyarrow Flight client: every commit is a version, tickets
and descriptors read past versions by number or instant, a delete is a version that `restore`
undoes, and shoots' client keeps working on a frame with history."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.flight as fl
import pytest
from shoots import ShootsClient

from hangar_interop import action_bodies


def _put(client: fl.FlightClient, name: str, bucket: str, table: pa.Table, mode: str) -> None:
    writer, _ = client.do_put(fl.FlightDescriptor.for_command(json.dumps({"name": name, "bucket": bucket, "mode": mode})), table.schema)
    writer.write_table(table)
    writer.close()


def _get(client: fl.FlightClient, **ticket) -> pa.Table:
    return client.do_get(fl.Ticket(json.dumps(ticket).encode())).read_all()


def _action(client: fl.FlightClient, kind: str, body: dict):
    return json.loads(action_bodies(client, kind, body)[0])


def test_time_travel_restore_and_shoots(client, uniq, local_server):
    bucket = uniq("ver")
    _put(client, "prices", bucket, pa.table({"px": [1.0, 2.0]}), "replace")
    _put(client, "prices", bucket, pa.table({"px": [3.0]}), "append")
    _put(client, "prices", bucket, pa.table({"px": [9.0]}), "replace")
    versions = _action(client, "versions", {"name": "prices", "bucket": bucket})
    assert [(v["version"], v["operation"], v["rows"]) for v in versions] == [(1, "put", 2), (2, "append", 3), (3, "replace", 1)]
    assert _get(client, name="prices", bucket=bucket, version=2).column("px").to_pylist() == [1.0, 2.0, 3.0]
    as_of = versions[0]["committed_at"]
    assert _get(client, name="prices", bucket=bucket, as_of=as_of).column("px").to_pylist() == [1.0, 2.0]
    # A FlightInfo asked for version 1 carries a ticket pinned to it.
    info = client.get_flight_info(fl.FlightDescriptor.for_command(json.dumps({"name": "prices", "bucket": bucket, "version": 1})))
    assert info.total_records == 2
    assert client.do_get(info.endpoints[0].ticket).read_all().column("px").to_pylist() == [1.0, 2.0]
    # SQL over the past.
    past = _get(client, sql="SELECT sum(px) AS s FROM prices", bucket=bucket, as_of=versions[1]["committed_at"])
    assert past.column("s").to_pylist() == [6.0]
    # Delete, then restore version 2.
    action_bodies(client, "delete", {"name": "prices", "bucket": bucket})
    with pytest.raises(fl.FlightError, match="does not exist"):
        _get(client, name="prices", bucket=bucket)
    restored = _action(client, "restore", {"name": "prices", "bucket": bucket, "version": 2})
    assert restored["version"] == 5
    shoots = ShootsClient("127.0.0.1", local_server.port)
    try:
        assert shoots.get("prices", bucket=bucket)["px"].tolist() == [1.0, 2.0, 3.0]
    finally:
        shoots.client.close()
    with pytest.raises(fl.FlightError, match="no version 9 yet"):
        _get(client, name="prices", bucket=bucket, version=9)
