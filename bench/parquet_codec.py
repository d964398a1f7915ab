#!/usr/bin/env python3
"""Writes one server-sized segment of the put_get frame as an Arrow IPC stream (to a temporary
file) and runs bench/parquet_codec.mjs on it: Parquet encode/decode speed on one core, no gRPC.

Usage: python bench/parquet_codec.py [--rows N] [--reps N]
The default 1,572,864 rows is what the server puts in one 64 MiB segment of this frame.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_get import REPO, make_table  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_572_864)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--chunk-rows", type=int, default=65536, help="rows per IPC batch (default 65536)")
    parser.add_argument("--arrow-dictionary", action="store_true",
                        help="encode 'category' as an Arrow dictionary column (the engine before a1f70f0)")
    args = parser.parse_args()
    table = make_table(args.rows)
    if not args.arrow_dictionary:
        # As the engine stores it since a1f70f0: a top-level dictionary column goes to Parquet as its
        # int32 indices (the dictionary batches are kept beside the segment).
        index = table.schema.get_field_index("category")
        table = table.set_column(index, "category", table["category"].combine_chunks().indices)
    with tempfile.TemporaryDirectory(prefix="hangar-codec-") as tmp:
        path = Path(tmp) / "segment.arrows"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=args.chunk_rows)
        return subprocess.run(["node", str(REPO / "bench" / "parquet_codec.mjs"), str(path), str(args.reps)],
                              cwd=REPO).returncode


if __name__ == "__main__":
    sys.exit(main())
