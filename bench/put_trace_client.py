"""The stock pyarrow client of bench/put_trace.mjs: puts put_get.py's frame (64Ki-row batches, mode
replace) N times, printing each put's seconds. Usage: put_trace_client.py LOCATION ROWS N"""
import json
import sys
import time

import pyarrow.flight as flight

from put_get import make_table

location, rows, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
table = make_table(rows)
client = flight.FlightClient(location)
descriptor = flight.FlightDescriptor.for_command(json.dumps({"name": "frame", "mode": "replace", "bucket": None}))
for _ in range(count):
    time.sleep(0.3)
    started = time.perf_counter()
    writer, _ = client.do_put(descriptor, table.schema)
    writer.write_table(table, max_chunksize=65536)
    writer.close()
    print(f"{time.perf_counter() - started:.3f}", flush=True)
