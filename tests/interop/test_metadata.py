"""Per-frame metadata through pyarrow's Flight client: sent in the DoPut command, returned as JSON in
every FlightInfo's app_metadata and by the `stat` action; shoots clients, which ignore it, still work."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.flight as fl
from shoots import ShootsClient

from hangar_interop import action_bodies


def _app_metadata(info: fl.FlightInfo) -> dict:
    """FlightInfo.app_metadata (field 7) from the serialized message: pyarrow 17 does not expose it."""
    data, i = info.serialize(), 0

    def varint() -> int:
        nonlocal i
        shift = value = 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while i < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            varint()
        elif wire == 2:
            length = varint()
            if field == 7:
                return json.loads(data[i : i + length])
            i += length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    raise AssertionError("no app_metadata in the FlightInfo")


def _put(client: fl.FlightClient, name: str, bucket: str, table: pa.Table, **extra) -> None:
    command = json.dumps({"name": name, "bucket": bucket, "mode": "replace", **extra})
    writer, _ = client.do_put(fl.FlightDescriptor.for_command(command), table.schema)
    writer.write_table(table)
    writer.close()


def test_metadata_in_flight_info_and_stat(client, uniq, local_server):
    bucket = uniq("meta")
    _put(client, "series", bucket, pa.table({"x": [1, 2, 3]}), metadata={"unit": "m", "tags": ["a", "b"]})
    info = client.get_flight_info(fl.FlightDescriptor.for_path("series", bucket))
    described = _app_metadata(info)
    assert described["metadata"] == {"unit": "m", "tags": ["a", "b"]}
    assert (described["name"], described["bucket"], described["rows"], described["version"]) == ("series", bucket, 3, 1)
    assert "committed_at" in described and described["bytes"] == info.total_bytes
    listed = list(client.list_flights(json.dumps({"bucket": bucket, "metadata": {"unit": "m"}}).encode()))
    assert [_app_metadata(entry)["name"] for entry in listed] == ["series"]
    assert list(client.list_flights(json.dumps({"bucket": bucket, "metadata": {"unit": "ft"}}).encode())) == []
    stat = json.loads(action_bodies(client, "stat", {"name": "series", "bucket": bucket})[0])
    assert stat["metadata"] == {"unit": "m", "tags": ["a", "b"]}
    shoots = ShootsClient("127.0.0.1", local_server.port)
    try:
        assert [entry["name"] for entry in shoots.list(bucket=bucket)] == ["series"]
    finally:
        shoots.client.close()
