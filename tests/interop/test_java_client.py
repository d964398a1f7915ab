"""The stock Arrow Flight Java client (flight-core 19.0.0 on JDK 17) against a real Hangar server.

`java_client/` holds a small Maven program, HangarCheck, written against Arrow Java's public API
alone: it puts, gets, lists, reads a missing frame, pings, authenticates with Basic → Bearer and
reads with deadlines, printing one JSON line per check. This module builds it once with Maven
(dependencies come from the Maven registry into ~/.m2 on a fresh machine) and asserts on those
lines; the frames it writes are then read back with pyarrow, so the two clients agree on the data.
Java and Maven are required: without them the tests fail, they do not skip.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from hangar_interop import MAIN_JS, NODE, HangarProcess, action_json, get

JAVA_DIR = Path(__file__).resolve().parent / "java_client"
JAR = JAVA_DIR / "target" / "hangar-java-check.jar"
BUILD_TIMEOUT_S = 900
RUN_TIMEOUT_S = 180  # under the suite's 240 s per-test watchdog
# Arrow Java reaches into java.nio's direct buffers; since JDK 16 that needs this flag (the shaded
# jar runs on the class path, so the unnamed module is the one to open it to).
JVM_FLAGS = ["--add-opens=java.base/java.nio=ALL-UNNAMED"]
LARGE_ROWS = 2_000_000
ALL_CHECKS = ["put", "get", "list", "not_found", "ping", "timeout"]
USER, PASSWORD = "jane", "java-s3cret"


def _tail(text: str, limit: int = 6000) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]


@pytest.fixture(scope="module")
def java_jar() -> Path:
    """Builds HangarCheck with `mvn -q -B package` once per module; fails (never skips) without tools."""
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the Java interop test needs {' and '.join(missing)} on PATH (JDK 17 and Maven 3.8+); "
                    "install them, e.g. `apt-get install openjdk-17-jdk-headless maven`", pytrace=False)
    started = time.monotonic()
    try:
        build = subprocess.run(["mvn", "-q", "-B", "package"], cwd=JAVA_DIR, capture_output=True, text=True,
                               timeout=BUILD_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"`mvn -q -B package` in {JAVA_DIR} did not finish in {BUILD_TIMEOUT_S}s\n"
                    f"{_tail(str(e.stdout or ''))}\n{_tail(str(e.stderr or ''))}", pytrace=False)
    if build.returncode != 0 or not JAR.exists():
        pytest.fail(f"`mvn -q -B package` in {JAVA_DIR} failed ({build.returncode}):\n"
                    f"{_tail(build.stdout)}\n{_tail(build.stderr)}", pytrace=False)
    sys.stderr.write(f"\njava_client built in {time.monotonic() - started:.1f}s\n")
    return JAR


def run_check(jar: Path, port: int, *args: str) -> dict[str, dict]:
    """Runs HangarCheck against 127.0.0.1:port; returns its JSON lines by check name, in order.
    A non-zero exit fails the test with what the Java client printed (its failing line has the
    Flight status code, message and stack)."""
    command = ["java", *JVM_FLAGS, "-jar", str(jar), "--host", "127.0.0.1", "--port", str(port), *args]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"HangarCheck did not finish in {RUN_TIMEOUT_S}s\nstdout:\n{_tail(str(e.stdout or ''))}\n"
                    f"stderr:\n{_tail(str(e.stderr or ''))}", pytrace=False)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        failed = next((line for line in lines if not line.get("ok")), None)
        summary = "" if failed is None else (
            f"check {failed.get('check')!r}: {failed.get('code', '')} {failed.get('message') or failed.get('error')}\n")
        pytest.fail(f"HangarCheck exited {proc.returncode}\n{summary}stdout:\n{_tail(proc.stdout)}\n"
                    f"stderr:\n{_tail(proc.stderr)}", pytrace=False)
    by_check = {line["check"]: line for line in lines}
    assert len(by_check) == len(lines), f"a check printed twice: {proc.stdout}"
    assert all(line["ok"] is True for line in lines), proc.stdout
    return by_check


def expected_strings(rows: int) -> list:
    """HangarCheck's column s: 'row-N-é', null on every 100th row."""
    return [None if n % 100 == 0 else f"row-{n}-\u00e9" for n in range(1, rows + 1)]


def assert_common_checks(lines: dict[str, dict]) -> str:
    """The put/get/list/not_found/ping lines; returns the frame the put wrote."""
    put = lines["put"]
    frame = put["frame"]
    assert frame.startswith("java_")
    assert put["put_result"]["name"] == frame
    assert put["put_result"]["bucket"] == "default"
    assert put["put_result"]["rowsWritten"] == 1000 and put["put_result"]["rows"] == 1000

    got = lines["get"]
    assert got["rows"] == 1000 and got["total_records"] == 1000
    assert got["descriptor_path"] == [frame, "default"]
    assert got["schema"] == ["x:Int(64, true)", "s:Utf8"]
    assert json.loads(got["ticket"])["name"] == frame

    assert lines["list"]["contains_frame"] is True

    missing = lines["not_found"]
    assert missing["code"] == "NOT_FOUND"
    assert "no_such_frame_xyz" in missing["message"]
    # Java clients get the precise code and the JSON detail in x-hangar-error-bin, and nothing in
    # grpc-status-details-bin, which gRPC reserves for a protobuf (docs/protocol.md).
    assert missing["x-hangar-error-bin"]["type"] == "FileNotFoundError", missing
    assert missing["x-hangar-error-bin"]["code"] == "NOT_FOUND", missing
    assert "grpc-status-details-bin" not in missing, missing

    assert lines["ping"]["body"] == "pong"
    return frame


def test_java_client_put_get_list_errors_ping_and_deadlines(java_jar, local_server):
    lines = run_check(java_jar, local_server.port, "--large-rows", str(LARGE_ROWS))
    assert list(lines) == ALL_CHECKS, lines
    frame = assert_common_checks(lines)

    timeout = lines["timeout"]
    assert timeout["rows"] == LARGE_ROWS and timeout["first_read_batches"] > 1
    assert timeout["tiny_deadline_code"] == "TIMED_OUT", timeout
    assert timeout["mid_stream_code"] == "TIMED_OUT", timeout
    assert timeout["mid_stream_rows_read"] < LARGE_ROWS, timeout
    assert timeout["ping_after"] == "pong"
    assert timeout["full_read_rows"] == LARGE_ROWS

    # What the Java client wrote, pyarrow reads back the same.
    with local_server.client() as client:
        table = get(client, frame)
        assert table.schema.field("x").type == pa.int64() and table.schema.field("s").type == pa.string()
        assert table.column("x").to_pylist() == list(range(1, 1001))
        assert table.column("s").to_pylist() == expected_strings(1000)
        assert action_json(client, "stat", {"name": timeout["frame"]})["rows"] == LARGE_ROWS
        # The server is still healthy after the client's deadlines cut its streams.
        assert get(client, timeout["frame"], columns=["x"]).num_rows == LARGE_ROWS


@pytest.fixture(scope="module")
def password_server(tmp_path_factory, logs_dir: Path):
    """A memory: server that requires a login: a users file with one user who may read and write
    the default bucket (no secret, so Handshake tokens are signed with a per-run key)."""
    users = tmp_path_factory.mktemp("java-users") / "users.json"
    subprocess.run([NODE, str(MAIN_JS), "user", "add", USER, "--users", str(users),
                    "--scope", "read:default", "--scope", "write:default"],
                   env={**os.environ, "HANGAR_PASSWORD": PASSWORD}, check=True, capture_output=True)
    server = HangarProcess("memory:", logs_dir, "java-auth", extra_args=["--users", str(users)]).start()
    yield server
    server.stop()


def test_java_client_basic_token_auth(java_jar, password_server):
    # The deadline check needs no login and ran above; everything else runs with the bearer token.
    lines = run_check(java_jar, password_server.port, "--user", USER, "--password", PASSWORD,
                      "--checks", "auth,put,get,list,not_found,ping")
    assert list(lines) == ["auth", "put", "get", "list", "not_found", "ping"], lines
    auth = lines["auth"]
    assert auth["bearer"] is True
    assert auth["wrong_password"] == "UNAUTHENTICATED", auth
    assert auth["no_token"] == "UNAUTHENTICATED", auth
    # With the token from authenticateBasicToken, DoPut, GetFlightInfo, DoGet, ListFlights and ping succeed.
    assert_common_checks(lines)
