#!/usr/bin/env python3
"""ArcticDB on LMDB, in process: the small operations of bench/compare.py's W8, as a pandas user runs them.

Runs in the venv of bench/setup-arcticdb-venv.sh (not the interop venv). Builds bench/put_get.py's
frame (fixed seed) and keeps its numeric columns (ts, f0..f3) with ts as the index, writes it once to
a fresh LMDB library, then per run, after one untimed warm-up of each:

  range_day     read one day (86,400 rows at 1 s apart) from the middle: lib.read(date_range=...)
  append_1000   append 1,000 rows after the last timestamp to a copy of the frame: lib.append
  two_columns   read the whole frame's f0 and f1: lib.read(columns=[...])
  write         write the whole frame (lib.write, a new version), for reference

Prints one JSON object: {"version", "rows", "ops": {op: {"times_ms": [...], "rows": n}}}.
Usage: .venv-bench-arcticdb/bin/python bench/arcticdb_ops.py --rows N --runs N --dir DIR
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import arcticdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_get import make_table  # noqa: E402

DAY = 86_400


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, required=True, help="where the LMDB library goes")
    args = parser.parse_args()

    frame = make_table(args.rows).select(["ts", "f0", "f1", "f2", "f3"]).to_pandas().set_index("ts")
    library = arcticdb.Arctic(f"lmdb://{args.dir}").get_library("bench", create_if_missing=True)
    library.write("numeric", frame)
    library.write("numeric_append", frame)  # appends go to a copy, so the reads keep the same rows
    middle = frame.index[len(frame) // 2]
    day = (middle, middle + pd.Timedelta(seconds=DAY - 1))  # date_range is inclusive at both ends
    state = {"last": frame.index[-1]}

    def append() -> int:
        start = state["last"] + pd.Timedelta(seconds=1)
        index = pd.date_range(start, periods=1_000, freq="s")
        block = pd.DataFrame({c: range(1_000) for c in ("f0", "f1", "f2", "f3")}, index=index, dtype="float64")
        block.index.name = "ts"
        library.append("numeric_append", block)
        state["last"] = index[-1]
        return len(block)

    ops = {
        "range_day": lambda: len(library.read("numeric", date_range=day).data),
        "append_1000": append,
        "two_columns": lambda: len(library.read("numeric", columns=["f0", "f1"]).data),
        "write": lambda: library.write("numeric_copy", frame) and len(frame),
    }
    results: dict[str, dict] = {name: {"times_ms": []} for name in ops}
    for run in range(-1, args.runs):
        for name, op in ops.items():
            started = time.perf_counter()
            rows = op()
            elapsed = (time.perf_counter() - started) * 1000
            if run >= 0:
                results[name]["times_ms"].append(elapsed)
                results[name]["rows"] = rows
    print(json.dumps({"version": arcticdb.__version__, "rows": args.rows, "ops": results,
                      "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
