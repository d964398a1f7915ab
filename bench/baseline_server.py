#!/usr/bin/env python3
"""A minimal pyarrow Flight server that keeps frames in memory, for comparison only.

It speaks just enough of Hangar's protocol for bench/put_get.py (DoPut with a CMD JSON descriptor
naming the frame, DoGet with a JSON ticket) and does no storage work at all: its put/get rates are
what gRPC + Arrow IPC alone achieve on this machine with the same client, an upper bound for any
server written in any language on the same two cores.

Run by `bench/put_get.py --server baseline`; prints "baseline listening on grpc://127.0.0.1:PORT".
"""
from __future__ import annotations

import json
import signal
import sys
import threading

import pyarrow as pa
import pyarrow.flight as flight


class BaselineServer(flight.FlightServerBase):
    def __init__(self) -> None:
        super().__init__("grpc://127.0.0.1:0")
        self.frames: dict[str, pa.Table] = {}
        self.lock = threading.Lock()

    @staticmethod
    def _key(body: bytes) -> str:
        request = json.loads(body or b"{}")
        return f"{request.get('bucket') or 'default'}/{request['name']}"

    def do_put(self, context, descriptor, reader, writer):
        table = reader.read_all()
        with self.lock:
            self.frames[self._key(descriptor.command)] = table

    def do_get(self, context, ticket):
        with self.lock:
            table = self.frames.get(self._key(ticket.ticket))
        if table is None:
            raise flight.FlightServerError("no such frame")
        return flight.RecordBatchStream(table)


def main() -> None:
    server = BaselineServer()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"baseline listening on grpc://127.0.0.1:{server.port}", flush=True)
    server.serve()
    sys.exit(0)


if __name__ == "__main__":
    main()
