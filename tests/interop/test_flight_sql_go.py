"""Flight SQL with arrow-go's stock Flight SQL client (github.com/apache/arrow-go/v18/arrow/flight/flightsql)
against a real Hangar: SqlInfo, database schemas, tables with schemas, a query, a prepared statement
with a bound parameter and a bulk ingest. `go_client/flightsql/` is the program (one JSON line per
check); it shares go_client's module, so its dependencies are pinned by the same go.mod/go.sum. Go
is required: without it the test fails."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pytest

from hangar_interop import HangarProcess
from test_go_client import BUILD_TIMEOUT_S, GO_CLIENT_DIR, RUN_TIMEOUT_S

ROWS = 300


def test_go_flight_sql_client(tmp_path, logs_dir):
    go = shutil.which("go")
    if go is None:
        pytest.fail("the Go toolchain is not on PATH: install Go >= 1.26 to run the Go Flight SQL interop test", pytrace=False)
    binary = tmp_path / "goflightsql"
    env = {**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false"}
    build = subprocess.run([go, "build", "-o", str(binary), "./flightsql"], cwd=GO_CLIENT_DIR, env=env,
                           capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    if build.returncode != 0:
        pytest.fail(f"`go build ./flightsql` failed:\n{build.stdout[-2000:]}{build.stderr[-4000:]}", pytrace=False)

    rng = np.random.default_rng(11)
    trades = pa.table({"sym": rng.choice(["AAA", "BBB"], ROWS), "qty": rng.integers(1, 100, ROWS)})
    server = HangarProcess("memory:", logs_dir, "flight-sql-go").start()
    try:
        with fl.connect(server.location) as client:
            writer, _ = client.do_put(fl.FlightDescriptor.for_path("trades", "market"), trades.schema)
            writer.write_table(trades)
            writer.close()
        done = subprocess.run([str(binary), "-addr", f"127.0.0.1:{server.port}", "-bucket", "market"],
                              capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        if done.returncode != 0:
            pytest.fail(f"the Go Flight SQL client exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}\n"
                        f"server stderr:\n{server.stderr_text()}", pytrace=False)
        lines = {line["check"]: line for line in map(json.loads, done.stdout.splitlines())}
        df = trades.to_pandas()
        assert lines["sql_info"]["values"] == {"0": "Hangar", "3": True}
        assert lines["db_schemas"]["values"] == ["market"]
        assert lines["tables"]["values"] == ["trades"] and lines["tables"]["columns"] == ["sym", "qty"]
        assert lines["query"]["syms"] == ["AAA", "BBB"]
        assert lines["query"]["counts"] == [int((df.sym == s).sum()) for s in ["AAA", "BBB"]]
        assert lines["prepared"] == {"check": "prepared", "ok": True, "count": int((df.qty >= 50).sum()), "parameters": 1}
        assert lines["ingest"]["rows"] == 3
        assert "done" in lines
        with fl.connect(server.location) as client:
            info = client.get_flight_info(fl.FlightDescriptor.for_path("go_ingested", "market"))
            assert client.do_get(info.endpoints[0].ticket).read_all().column("v").to_pylist() == [1, 2, 3]
    finally:
        server.stop()
