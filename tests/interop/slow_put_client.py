"""A DoPut client that never finishes: run as a subprocess by test_hostile.py and SIGKILLed mid-put.

Usage: python slow_put_client.py LOCATION DESCRIPTOR_JSON BATCHES ROWS_PER_BATCH

Sends a CMD descriptor and BATCHES record batches of (id int64, value float64), printing
"sent N" after each, then "waiting" and sleeps without ever calling done_writing.
"""
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.flight as fl


def main() -> None:
    location, descriptor_json, batches, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    client = fl.FlightClient(location)
    schema = pa.schema([("id", pa.int64()), ("value", pa.float64())])
    writer, _reader = client.do_put(fl.FlightDescriptor.for_command(descriptor_json.encode()), schema)
    rng = np.random.default_rng(5)
    for i in range(batches):
        batch = pa.record_batch(
            [pa.array(np.arange(i * rows, (i + 1) * rows, dtype=np.int64)), pa.array(rng.standard_normal(rows))],
            schema=schema,
        )
        writer.write_batch(batch)
        print(f"sent {i + 1}", flush=True)
    print("waiting", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
