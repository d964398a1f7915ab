#!/usr/bin/env python3
"""How many bytes W2's frame would take on disk under other Parquet encodings and codecs (issue 23 W2).

Writes bench/put_get.py's frame (same seed) to memory with pyarrow, once per setting, and prints the
file's size and the process CPU the write took. Hangar's own segment files of this frame are the
Arrow size (plain pages, 4-byte category codes); this shows what per-column encodings or codecs
would save before building them into the plain writer.

    .venv-interop/bin/python bench/put_encoded_sizes.py --rows 1000000
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_get import MB, make_table  # noqa: E402

import pyarrow.parquet as pq  # noqa: E402

SETTINGS: dict[str, dict] = {
    "plain, no dictionaries": dict(compression="none", use_dictionary=False),
    "category dictionary-encoded (codes bit-packed)": dict(compression="none", use_dictionary=["category"]),
    "+ ts DELTA_BINARY_PACKED": dict(compression="none", use_dictionary=["category"], column_encoding={"ts": "DELTA_BINARY_PACKED"}),
    "LZ4 on every column, category dictionary": dict(compression="lz4", use_dictionary=["category"]),
    "zstd level 1 on every column, category dictionary": dict(compression="zstd", compression_level=1, use_dictionary=["category"]),
    "LZ4 on ts and category only": dict(compression={"ts": "lz4", "category": "lz4", **{f"f{i}": "none" for i in range(4)}},
                                        use_dictionary=["category"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    table = make_table(args.rows)
    print(f"{args.rows:,} rows, Arrow {table.nbytes / MB:,.1f} MB")
    for name, options in SETTINGS.items():
        out = io.BytesIO()
        started = time.process_time()
        pq.write_table(table, out, write_statistics=False, **options)
        cpu = time.process_time() - started
        print(f"  {name:52} {len(out.getvalue()) / MB:8,.1f} MB  {cpu * 1000:6.0f} ms CPU")


if __name__ == "__main__":
    main()
