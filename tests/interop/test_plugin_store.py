"""A store plugin (tests/interop/plugins/directory-store.mjs: a byte Connector over a directory,
importing `hangar` as a package) loaded with `hangar serve --plugin`: the stock pyarrow client and
shoots get the whole feature set on it — put modes, buckets, versions, time travel, restore, SQL."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as fl
import pytest

from store_checks import check_shoots_round_trip
from hangar_interop import HangarProcess, action_bodies, files_under

PLUGIN = "tests/interop/plugins/directory-store.mjs"


@pytest.fixture(scope="module")
def plugin_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("plugin-store")


@pytest.fixture(scope="module")
def plugin_server(plugin_root: Path, logs_dir: Path):
    server = HangarProcess(f"dirstore://{plugin_root}", logs_dir, "plugin", extra_args=["--plugin", PLUGIN]).start()
    yield server
    server.stop()


def _put(client: fl.FlightClient, name: str, bucket: str, table: pa.Table, mode: str) -> None:
    writer, _ = client.do_put(fl.FlightDescriptor.for_command(json.dumps({"name": name, "bucket": bucket, "mode": mode})), table.schema)
    writer.write_table(table)
    writer.close()


def _get(client: fl.FlightClient, **ticket) -> pa.Table:
    return client.do_get(fl.Ticket(json.dumps(ticket).encode())).read_all()


def _action(client: fl.FlightClient, kind: str, body: dict):
    return json.loads(action_bodies(client, kind, body)[0])


def test_pyarrow_gets_versions_time_travel_restore_and_sql(plugin_server, plugin_root):
    with plugin_server.client() as client:
        _put(client, "prices", "market", pa.table({"px": [1.0, 2.0]}), "error")
        _put(client, "prices", "market", pa.table({"px": [3.0]}), "append")
        _put(client, "prices", "market", pa.table({"px": [9.0]}), "replace")
        versions = _action(client, "versions", {"name": "prices", "bucket": "market"})
        assert [(v["version"], v["operation"], v["rows"]) for v in versions] == [(1, "put", 2), (2, "append", 3), (3, "replace", 1)]
        assert _get(client, name="prices", bucket="market", version=2).column("px").to_pylist() == [1.0, 2.0, 3.0]
        assert _get(client, name="prices", bucket="market", as_of=versions[0]["committed_at"]).column("px").to_pylist() == [1.0, 2.0]
        assert _get(client, sql="SELECT sum(px) AS s FROM prices", bucket="market").column("s").to_pylist() == [9.0]
        action_bodies(client, "delete", {"name": "prices", "bucket": "market"})
        with pytest.raises(fl.FlightError, match="does not exist"):
            _get(client, name="prices", bucket="market")
        assert _action(client, "restore", {"name": "prices", "bucket": "market", "version": 2})["version"] == 5
        assert _get(client, name="prices", bucket="market").column("px").to_pylist() == [1.0, 2.0, 3.0]
    # Everything went through the plugin: its directory holds the bucket.
    assert any("market" in path for path in files_under(plugin_root))


def test_shoots_client_unchanged(plugin_server):
    check_shoots_round_trip(plugin_server.port, rows=50)
