#!/usr/bin/env python3
"""Writes one 16 MiB segment of the benchmark frame (bench/put_get.py's make_table; the dictionary
column as its int32 indices, as the engine stores it) as an Arrow IPC stream and runs
bench/segment_codecs.mjs on it: size, encode and decode time per codec (none / lz4 / snappy / zstd).

Usage: python bench/segment_codecs.py [--rows N] [--reps N]
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
    parser.add_argument("--rows", type=int, default=393_216, help="rows of one segment (default: 16 MiB of this frame)")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    table = make_table(args.rows)
    index = table.schema.get_field_index("category")
    table = table.set_column(index, "category", table["category"].combine_chunks().indices)
    with tempfile.TemporaryDirectory(prefix="hangar-codecs-") as tmp:
        path = Path(tmp) / "segment.arrows"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=65536)
        return subprocess.run(["node", str(REPO / "bench" / "segment_codecs.mjs"), str(path), str(args.reps)], cwd=REPO).returncode


if __name__ == "__main__":
    sys.exit(main())
