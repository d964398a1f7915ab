"""Bit rot as the stock pyarrow client sees it: a flipped byte in a stored segment is answered with
DATA_LOSS (pyarrow raises FlightInternalError "gRPC returned data loss error") naming the bucket,
frame, version and segment, never with different data; and the segment files Hangar writes carry Parquet page CRCs
that pyarrow itself verifies (page_checksum_verification=True) and that refuse the same flip."""

import pyarrow as pa
import pyarrow.flight as fl
import pyarrow.parquet as pq
import pytest

from hangar_interop import cmd, get, put


def test_damaged_segment_is_data_loss_for_pyarrow(start_server, tmp_path, uniq):
    store = tmp_path / "store"
    server = start_server(store)
    name, bucket = uniq("ticks"), uniq("b")
    table = pa.table({"px": pa.array([100 + i / 8 for i in range(20_000)]), "n": pa.array(range(20_000), pa.int64())})
    with server.client() as client:
        put(client, cmd({"name": name, "bucket": bucket, "mode": "error"}), table)
        # The frame's one data file (its name is the segment's id in either layout, manifests or Delta log).
        [path] = (store / bucket / name / "segments").glob("*.parquet")
        segment = {"id": path.name}
        # Hangar's segment files verify as Parquet with page CRCs.
        assert pq.read_table(path, page_checksum_verification=True).column("px").to_pylist() == table.column("px").to_pylist()
        data = bytearray(path.read_bytes())
        data[300] ^= 0x08  # inside the px column's values
        path.write_bytes(bytes(data))
        with pytest.raises(OSError, match="CRC checksum verification failed"):
            pq.read_table(path, page_checksum_verification=True)
        with pytest.raises(fl.FlightInternalError) as caught:
            get(client, name, bucket)
        message = str(caught.value)
        assert message.startswith("gRPC returned data loss error"), message
        assert f"segment {segment['id']} of frame '{name}' in bucket '{bucket}' (read at version 1) is damaged" in message
