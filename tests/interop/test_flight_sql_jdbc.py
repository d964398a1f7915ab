"""Flight SQL with the stock Arrow Flight SQL JDBC driver (org.apache.arrow:flight-sql-jdbc-driver
18.3.0 from Maven, on JDK 17) against a real Hangar server with users and tokens.

`jdbc_client/` holds HangarJdbcCheck, a small program written against java.sql alone: it connects
(user/password, which the driver exchanges for a bearer token, or a token), reads DatabaseMetaData
(catalogs, schemas, tables, columns, keys, type info, quoting), runs a query and a prepared
statement with a parameter, and tries an update, printing one JSON line per check. This module
builds it once with Maven and asserts on those lines. Java and Maven are required: without them
the tests fail, they do not skip.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pytest

from hangar_interop import MAIN_JS, NODE, HangarProcess

JDBC_DIR = Path(__file__).resolve().parent / "jdbc_client"
CLASSPATH = f"{JDBC_DIR / 'target' / 'classes'}{os.pathsep}{JDBC_DIR / 'target' / 'dependency' / '*'}"
BUILD_TIMEOUT_S = 900
RUN_TIMEOUT_S = 180
JVM_FLAGS = ["--add-opens=java.base/java.nio=ALL-UNNAMED"]
SECRET = "flight-sql-jdbc-secret-0123456789abcd"
ROWS = 500


def _tail(text: str, limit: int = 6000) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]


def _hangar(*args: str, password: str | None = None) -> str:
    env = {**os.environ, "HANGAR_SECRET": SECRET}
    if password is not None:
        env["HANGAR_PASSWORD"] = password
    return subprocess.run([NODE, str(MAIN_JS), *args], env=env, check=True, capture_output=True, text=True).stdout


def _trades() -> pa.Table:
    rng = np.random.default_rng(7)
    return pa.table({"sym": rng.choice(["AAA", "BBB"], ROWS), "qty": rng.integers(1, 100, ROWS), "px": rng.normal(100, 1, ROWS)})


@pytest.fixture(scope="module")
def jdbc_classes() -> Path:
    """Builds HangarJdbcCheck with `mvn -q -B package` once per module; fails (never skips) without tools."""
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the JDBC interop test needs {' and '.join(missing)} on PATH (JDK 17 and Maven 3.8+)", pytrace=False)
    started = time.monotonic()
    build = subprocess.run(["mvn", "-q", "-B", "package"], cwd=JDBC_DIR, capture_output=True, text=True,
                           timeout=BUILD_TIMEOUT_S, stdin=subprocess.DEVNULL)
    if build.returncode != 0:
        pytest.fail(f"`mvn -q -B package` in {JDBC_DIR} failed ({build.returncode}):\n"
                    f"{_tail(build.stdout)}\n{_tail(build.stderr)}", pytrace=False)
    sys.stderr.write(f"\njdbc_client built in {time.monotonic() - started:.1f}s\n")
    return JDBC_DIR


@pytest.fixture(scope="module")
def server(tmp_path_factory, logs_dir):
    users = tmp_path_factory.mktemp("jdbc-users") / "users.json"
    _hangar("user", "add", "analyst", "--users", str(users), "--scope", "read:market", password="jdbc-pa55")
    process = HangarProcess("memory:", logs_dir, "flight-sql-jdbc", extra_args=["--users", str(users)],
                            env={"HANGAR_SECRET": SECRET}).start()
    admin = _hangar("token", "--sub", "root", "--scope", "admin", "--ttl", "1h").strip()
    options = fl.FlightCallOptions(headers=[(b"authorization", f"Bearer {admin}".encode())])
    with fl.connect(process.location) as client:
        for name, bucket in [("trades", "market"), ("hidden", "private")]:
            table = _trades()
            writer, _ = client.do_put(fl.FlightDescriptor.for_path(name, bucket), table.schema, options=options)
            writer.write_table(table)
            writer.close()
    yield process
    process.stop()


def run_check(server: HangarProcess, *auth: str) -> dict[str, dict]:
    url = f"jdbc:arrow-flight-sql://127.0.0.1:{server.port}"
    command = ["java", *JVM_FLAGS, "-cp", CLASSPATH, "dev.hangar.interop.HangarJdbcCheck", url, "market", *auth]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, stdin=subprocess.DEVNULL)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        pytest.fail(f"HangarJdbcCheck exited {proc.returncode}\nstdout:\n{_tail(proc.stdout)}\nstderr:\n{_tail(proc.stderr)}",
                    pytrace=False)
    assert all(line["ok"] for line in lines), proc.stdout
    return {line["check"]: line for line in lines}


def assert_checks(lines: dict[str, dict]) -> None:
    table = _trades().to_pandas()
    assert lines["connect"]["product"] == "Hangar"
    assert lines["catalogs"]["values"] == ["hangar"]
    # A token that reads only `market` sees no other bucket.
    assert lines["schemas"]["values"] == ["market"]
    assert lines["tables"]["values"] == ["trades"]
    # java.sql.Types (VARCHAR 12, BIGINT -5, DOUBLE 8) and the SQL type names Hangar's table schemas carry.
    assert lines["columns"]["values"] == ["sym:12:VARCHAR", "qty:-5:BIGINT", "px:8:DOUBLE"]
    assert lines["primary_keys"]["values"] == []
    assert lines["imported_keys"]["values"] == []
    assert lines["sql_info"] == {"check": "sql_info", "ok": True, "quote": '"', "read_only": True, "transactions": False,
                                 "schema_term": "bucket"}
    counts = table.groupby("sym").size()
    assert lines["query"]["values"] == [f"{sym}={counts[sym]}" for sym in ["AAA", "BBB"]]
    assert lines["prepared"]["values"] == [ROWS, int((table.qty >= 50).sum()), 0]
    assert lines["prepared"]["type_name"] == "BIGINT"  # count(*), from the prepared statement's dataset schema
    assert "read-only for SQL" in lines["refused_update"]["message"]


def test_jdbc_with_user_and_password(jdbc_classes, server):
    assert_checks(run_check(server, "user", "analyst", "jdbc-pa55"))


def test_jdbc_with_a_token(jdbc_classes, server):
    token = _hangar("token", "--sub", "bi-tool", "--scope", "read:market", "--ttl", "1h").strip()
    assert_checks(run_check(server, "token", token))
