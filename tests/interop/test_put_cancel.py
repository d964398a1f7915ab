"""A pyarrow put cut off mid-stream stores nothing: gRPC C++ resets a cancelled stream without ending it
first, so DoPut commits a pyarrow put as soon as its stream ends (no settle wait, issue 23) and must still
never commit one whose deadline passed while it was writing."""
from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pytest

from hangar_interop import action_json, cmd, get, put

SCHEMA = pa.schema([("id", pa.int64()), ("value", pa.float64())])


def batch(start: int, rows: int = 1_000) -> pa.RecordBatch:
    return pa.record_batch([pa.array(np.arange(start, start + rows, dtype=np.int64)),
                            pa.array(np.arange(rows, dtype=np.float64))], schema=SCHEMA)


@pytest.mark.parametrize("mode", ["replace", "append"])
def test_put_whose_deadline_passes_mid_stream_keeps_previous_version(client, uniq, mode):
    name = uniq()
    put(client, cmd({"name": name, "mode": "error"}), pa.Table.from_batches([batch(0, 3)]))
    writer, _ = client.do_put(cmd({"name": name, "mode": mode}), SCHEMA, options=fl.FlightCallOptions(timeout=0.4))
    with pytest.raises((fl.FlightTimedOutError, fl.FlightCancelledError, pa.ArrowException)):
        for i in range(40):  # 2 s of writing: the deadline passes a fifth of the way in
            writer.write_batch(batch(1_000 * i))
            time.sleep(0.05)
        writer.close()
    time.sleep(0.2)
    stat = action_json(client, "stat", {"name": name})
    assert (stat["version"], stat["rows"]) == (1, 3)
    assert get(client, name).num_rows == 3


def test_put_that_ends_commits_at_once(client, uniq):
    name = uniq()
    put(client, cmd({"name": name, "mode": "error"}), pa.Table.from_batches([batch(0)]))
    writer, _ = client.do_put(cmd({"name": name, "mode": "append"}), SCHEMA)
    writer.write_batch(batch(1_000))
    writer.close()
    assert get(client, name).column("id").to_pylist() == list(range(2_000))
