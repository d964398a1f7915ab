"""Hangar on its Azure Blob connector, with Azurite (the npm devDependency) as the store: stock
pyarrow and shoots put / get / list / delete, and two `hangar serve` processes appending to one
frame through one container (If-None-Match: * commits across processes)."""
from __future__ import annotations

import json
import subprocess
import uuid

import pyarrow as pa
import pyarrow.flight as fl
import pytest

from store_checks import check_shoots_round_trip, check_two_servers_append, start_emulator
from hangar_interop import NODE, ROOT, HangarProcess

CONTAINER = "hangar-interop"
ACCOUNT = "devstoreaccount1"
# Azurite's built-in development account key, published with Azurite.
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CREDENTIALS = {"AZURE_STORAGE_ACCOUNT": ACCOUNT, "AZURE_STORAGE_KEY": KEY}
AZURITE_BLOB = ROOT / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
CREATE_CONTAINER = """
const { BlobServiceClient, StorageSharedKeyCredential } = require('@azure/storage-blob');
const [endpoint, account, key, container] = process.argv.slice(1);
new BlobServiceClient(endpoint, new StorageSharedKeyCredential(account, key))
  .getContainerClient(container).createIfNotExists().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.fixture(scope="module")
def azurite_endpoint(tmp_path_factory):
    """Azurite's Blob service on a free loopback port over a temporary directory, with the container created."""
    location = tmp_path_factory.mktemp("azurite")
    proc, address = start_emulator([NODE, str(AZURITE_BLOB), "--blobHost", "127.0.0.1", "--blobPort", "0",
                                    "--location", str(location), "--silent", "--skipApiVersionCheck", "--disableTelemetry"],
                                   r"listens on (http://127\.0\.0\.1:\d+)", "Azurite")
    endpoint = f"{address}/{ACCOUNT}"
    subprocess.run([NODE, "-e", CREATE_CONTAINER, endpoint, ACCOUNT, KEY, CONTAINER], cwd=str(ROOT), check=True, timeout=60)
    yield endpoint
    proc.terminate()
    proc.wait()


def azure_location(endpoint: str, prefix: str) -> str:
    return f"azure://{CONTAINER}/{prefix}?endpoint={endpoint}"


def put(server: HangarProcess, name: str, mode: str, table: pa.Table) -> None:
    with server.client() as client:
        command = json.dumps({"name": name, "mode": mode, "bucket": None}).encode()
        writer, _ = client.do_put(fl.FlightDescriptor.for_command(command), table.schema)
        writer.write_table(table)
        writer.close()


def get(server: HangarProcess, name: str) -> pa.Table:
    with server.client() as client:
        info = client.get_flight_info(fl.FlightDescriptor.for_path(name))
        return client.do_get(info.endpoints[0].ticket).read_all()


def test_pyarrow_on_azure(azurite_endpoint, logs_dir):
    """pyarrow.flight put / append / get / list / delete against a server storing in Azure Blob."""
    server = HangarProcess(azure_location(azurite_endpoint, f"p-{uuid.uuid4().hex[:8]}"), logs_dir, "azure",
                           env=CREDENTIALS).start()
    try:
        table = pa.table({"t": pa.array(range(1000), pa.int64()), "v": pa.array([i * 0.5 for i in range(1000)])})
        put(server, "readings", "error", table)
        put(server, "readings", "append", table)
        assert get(server, "readings").equals(pa.concat_tables([table, table]))
        with server.client() as client:
            assert [f.descriptor.path[0].decode() for f in client.list_flights()] == ["readings"]
            list(client.do_action(fl.Action("delete", json.dumps({"name": "readings"}).encode())))
            assert list(client.list_flights()) == []
    finally:
        server.stop()


def test_shoots_client_on_azure(azurite_endpoint, logs_dir):
    """shoots' put / append / get / list / delete in a bucket, unchanged, against a server storing in Azure Blob."""
    server = HangarProcess(azure_location(azurite_endpoint, f"s-{uuid.uuid4().hex[:8]}"), logs_dir, "azure-shoots",
                           env=CREDENTIALS).start()
    try:
        check_shoots_round_trip(server.port)
    finally:
        server.stop()


def test_two_server_processes_append_to_one_frame(azurite_endpoint, logs_dir):
    """Two `hangar serve` processes on one container and prefix; 2 × 10 concurrent appends all land."""
    location = azure_location(azurite_endpoint, f"race-{uuid.uuid4().hex[:8]}")
    servers = [HangarProcess(location, logs_dir, f"azure-race-{i}", env=CREDENTIALS).start() for i in range(2)]
    try:
        check_two_servers_append(servers)
    finally:
        for server in servers:
            server.stop()
