"""Smoke test of bench/compare.py (Hangar, shoots and a bare pyarrow server side by side).

Runs the harness in its quick mode and checks the shape of its JSON: every workload has an entry
for every server, with positive numbers. shoots' entries may instead carry an error string (the
harness records a server's failure rather than crashing); Hangar's may not. Timings are never
asserted: this only proves the benchmark still runs.
"""
from __future__ import annotations

import json
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

from hangar_interop import MAIN_JS, ROOT

COMPARE = ROOT / "bench" / "compare.py"
TIMEOUT_S = 180

# Workload -> the numeric fields every successful entry has (dotted paths).
FIELDS = {
    "W1": ["median_s", "mb_per_s"],
    "W2": ["median_s", "mb_per_s"],
    "W3": ["clients_1.p50_ms", "clients_1.p99_ms", "clients_8.p50_ms", "clients_8.p99_ms", "clients_8.queries_per_s"],
    "W4": ["median_s", "target_rows"],
    "W5": ["requests_per_s", "p99_ms"],
    "W6": ["get.above_idle_bytes", "put.above_idle_bytes"],
}
NO_SQL = {"W3", "W4"}  # the pyarrow baseline server has neither SQL nor resample


def field(entry: dict, dotted: str):
    for key in dotted.split("."):
        assert isinstance(entry, dict) and key in entry, f"missing {dotted!r} in {entry!r}"
        entry = entry[key]
    return entry


def test_compare_quick_runs_every_workload_on_every_server(tmp_path: Path) -> None:
    assert MAIN_JS.exists(), "run `npm run build` first"
    out, svg = tmp_path / "compare.json", tmp_path / "compare.svg"
    done = subprocess.run([sys.executable, str(COMPARE), "--quick", "--only", "W1,W2,W3,W4,W5,W6", "--json", str(out), "--svg", str(svg)],
                          cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, f"compare.py failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    report = json.loads(out.read_text())
    assert report["quick"] is True and report["rows"] > 0 and report["table_nbytes"] > 0
    workloads = report["workloads"]

    for workload, fields in FIELDS.items():
        for server in ("hangar", "shoots", "pyarrow"):
            entry = workloads[workload].get(server)
            assert isinstance(entry, dict), f"{workload}: no entry for {server}"
            if server == "pyarrow" and workload in NO_SQL:
                assert "skipped" in entry, f"{workload} pyarrow: {entry}"
                continue
            if server == "shoots" and "error" in entry:
                assert isinstance(entry["error"], str) and entry["error"], entry
                continue
            assert "error" not in entry, f"{workload} {server}: {entry['error']}"
            for dotted in fields:
                number = field(entry, dotted)
                # Memory above idle may truly be 0 (the pyarrow server sends its table without copies).
                floor_ok = number >= 0 if workload == "W6" else number > 0
                assert isinstance(number, (int, float)) and floor_ok, f"{workload} {server} {dotted} = {number!r}"

    # RSS was sampled at all: every server's peak during W1 and W2 is a positive number of bytes.
    for workload in ("W1", "W2"):
        for server, entry in workloads[workload].items():
            if "error" not in entry:
                assert min(entry["peak_rss_bytes"]) > 0, f"{workload} {server}: {entry['peak_rss_bytes']}"

    # The same frame came back from every server that returned it, and the same SQL answer.
    for server, check in workloads["round_trip"].items():
        assert check["values_identical"], f"{server}: {check}"
    assert workloads["W3"]["hangar"]["clients_1"]["result_rows"] == [100]
    # Hangar drops the dictionary column when resampling the full frame; shoots' pandas may refuse it.
    full = workloads["W4_full_frame"]["hangar"]
    assert "error" not in full and full["target_rows"] > 0

    # The report's table: every metric has Hangar's value and a verdict against its target.
    for row in report["table"]:
        assert row["values"]["hangar"] is not None, row
        if "target" in row:
            assert row["target"]["measured"] is not None or row["target"]["anchor"] == "shoots", row
    xml.dom.minidom.parse(str(svg))  # a well-formed SVG


def test_compare_quick_scanning_sql_floors_and_small_ops(tmp_path: Path) -> None:
    """The workload classes of issue 23: W7's scanning SQL shapes beside DuckDB alone on the same
    files, W8's small operations (ArcticDB when its bench venv exists, else recorded as skipped),
    the dd/pyarrow put floor, on a wider frame with a string column."""
    assert MAIN_JS.exists(), "run `npm run build` first"
    out = tmp_path / "compare.json"
    done = subprocess.run([sys.executable, str(COMPARE), "--quick", "--only", "W2,W7,W8", "--columns", "8", "--strings",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, f"compare.py failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    report = json.loads(out.read_text())
    assert [c.split(":")[0] for c in report["schema"]] == ["ts", "f0", "f1", "f2", "f3", "category", "label", "x07"]
    shapes = report["workloads"]["W7"]
    assert len(shapes) == 7 and any(name.startswith("S7") for name in shapes)
    for name, entry in shapes.items():
        assert entry["hangar"]["p50_ms"] > 0, f"{name}: {entry}"
        assert entry["duckdb"]["p50_ms"] > 0, f"{name}: {entry}"  # DuckDB alone on Hangar's stored files
        # The same answer size from Hangar and from DuckDB on its files (S2 returns rows, the rest aggregates).
        assert entry["hangar"]["result_rows"] == entry["duckdb"]["result_rows"], f"{name}: {entry}"
        # DuckDB alone on in-memory tables of those files (what a hot frame is): the same answer size.
        assert entry["duckdb_mem"]["p50_ms"] > 0, f"{name}: {entry}"
        assert entry["duckdb_mem"]["result_rows"] == entry["hangar"]["result_rows"], f"{name}: {entry}"
        shoots = entry["shoots"]
        assert shoots.get("p50_ms", 0) > 0 or shoots.get("error"), f"{name}: {shoots}"
    small = report["workloads"]["W8"]
    assert small["range_day"]["hangar"]["rows"] == 86_400
    assert small["append_1000"]["hangar"]["rows"] == 1_000
    assert small["two_columns"]["hangar"]["rows"] == report["rows"]
    for op in ("range_day", "append_1000", "two_columns"):
        assert small[op]["hangar"]["median_ms"] > 0
        arctic = small[op]["arcticdb"]
        assert arctic.get("median_ms", 0) > 0 or "skipped" in arctic, f"{op}: {arctic}"
    assert report["floors"]["dd_fsync"]["median_s"] > 0
    put_row = next(row for row in report["floors_table"] if row["metric"] == "W2 put")
    assert put_row["anchors"]["floor"] == max(put_row["anchors"]["pyarrow"], put_row["anchors"]["dd_fsync"])
