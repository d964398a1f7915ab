"""The stock Go Flight client (github.com/apache/arrow-go/v18 over grpc-go) against a real Hangar.

`go_client/` is a small Go program (see its main.go) that runs a fixed sequence of checks and prints
one JSON line per check; this module builds it once with `go build` (modules come from the Go
module proxy, pinned by go.mod/go.sum) and runs it against the shared local-store server and against
a server with a users file (basic-token auth). Go is required: without it the tests fail.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from hangar_interop import MAIN_JS, NODE, HangarProcess, action_bodies

GO_CLIENT_DIR = Path(__file__).resolve().parent / "go_client"
BUILD_TIMEOUT_S = 600  # a fresh machine downloads arrow-go, grpc and their dependencies first
RUN_TIMEOUT_S = 180
BIG_ROWS = 3_000_000  # the deadline checks' frame: 3M rows of (int64, float64), 48 MB
USER, PASSWORD = "gopher", "go-interop-password"

CHECKS = [
    "put", "get", "list", "not_found", "ping", "put_big", "deadline", "ping_after_deadline",
    "deadline_midstream", "ping_after_midstream", "get_big_after_deadlines", "cleanup", "done",
]
AUTH_CHECKS = ["auth_no_token", "auth_wrong_password", "auth_basic_token"]


@dataclass
class GoBuild:
    binary: Optional[Path]
    error: str = ""
    seconds: float = 0.0

    def require(self) -> Path:
        if self.binary is None:
            pytest.fail(self.error, pytrace=False)
        return self.binary


@pytest.fixture(scope="module")
def go_build(tmp_path_factory) -> GoBuild:
    """Builds go_client once per module. A missing `go` or a failed build is reported by each test
    as a failure (not a skip, not a setup error): CI machines are expected to have Go >= 1.26."""
    go = shutil.which("go")
    if go is None:
        return GoBuild(None, "the Go toolchain is not on PATH: install Go >= 1.26 (and allow access to the Go "
                             "module proxy) to run the Go Flight client interop test")
    binary = tmp_path_factory.mktemp("goclient") / "goclient"
    # -mod=readonly: go.mod/go.sum are complete and are never rewritten by the test.
    env = {**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false"}
    started = time.monotonic()
    try:
        done = subprocess.run([go, "build", "-o", str(binary), "."], cwd=GO_CLIENT_DIR, env=env,
                              capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        output = exc.stderr or ""
        if isinstance(output, bytes):
            output = output.decode("utf-8", "replace")
        return GoBuild(None, f"`go build` in {GO_CLIENT_DIR} did not finish within {BUILD_TIMEOUT_S}s:\n{output[-4000:]}")
    seconds = time.monotonic() - started
    if done.returncode != 0 or not binary.exists():
        version = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
        return GoBuild(None, f"`go build` in {GO_CLIENT_DIR} failed ({done.returncode}, {version}):\n"
                             f"{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return GoBuild(binary, seconds=seconds)


def run_go_client(build: GoBuild, server: HangarProcess, *args: str) -> dict[str, dict]:
    """Runs the Go program against `server`; returns its JSON lines keyed by check, in order.
    Fails with everything the program and the server said if it exits non-zero."""
    binary = build.require()
    done = subprocess.run([str(binary), "-addr", f"127.0.0.1:{server.port}", "-big-rows", str(BIG_ROWS), *args],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0:
        pytest.fail(f"the Go client exited with {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}\n"
                    f"server stderr tail:\n{server.stderr_text()}", pytrace=False)
    results = {line["check"]: line for line in lines}
    assert len(results) == len(lines), f"a check was reported twice: {lines}"
    assert all(line["ok"] is True for line in lines), lines
    return results


def assert_common_checks(results: dict[str, dict]) -> None:
    put = results["put"]
    name = put["name"]
    assert name.startswith("go_"), put
    assert put["put_result"]["name"] == name and put["put_result"]["bucket"] == "default", put
    assert put["put_result"]["rowsWritten"] == 1000 and put["put_result"]["rows"] == 1000, put

    get = results["get"]
    assert get["rows"] == 1000, get
    assert json.loads(get["ticket"])["name"] == name, get

    assert results["list"]["found"] is True and results["list"]["bucket"] == "default", results["list"]

    not_found = results["not_found"]
    assert not_found["code"] == "NotFound", not_found
    for call in ("get_flight_info", "do_get"):
        detail = not_found[call]["detail"]
        assert detail["code"] == "NOT_FOUND" and detail["type"] == "FileNotFoundError", (call, detail)
        assert "no_such_frame_xyz" in detail["message"], (call, detail)

    for check in ("ping", "ping_after_deadline", "ping_after_midstream"):
        assert results[check]["body"] == "pong", results[check]

    assert results["put_big"]["rows"] == BIG_ROWS, results["put_big"]
    assert results["deadline"]["code"] == "DeadlineExceeded", results["deadline"]
    assert results["deadline_midstream"]["code"] == "DeadlineExceeded", results["deadline_midstream"]
    assert results["get_big_after_deadlines"]["rows"] == BIG_ROWS, results["get_big_after_deadlines"]
    assert sorted(results["cleanup"]["deleted"]) == sorted([name, name + "_big"]), results["cleanup"]


def test_go_flight_client(go_build, local_server):
    results = run_go_client(go_build, local_server)
    assert list(results) == CHECKS
    assert_common_checks(results)
    assert results["done"]["authenticated"] is False
    # The server outlived the abandoned calls and still serves other clients.
    assert local_server.running
    with local_server.client() as client:
        assert action_bodies(client, "ping") == [b"pong"]


@pytest.fixture(scope="module")
def users_server(tmp_path_factory, logs_dir: Path):
    """A server that requires authentication: a users file holding USER (read and write on the
    default bucket), as test_security.py's secure server, without TLS (loopback only)."""
    d = tmp_path_factory.mktemp("go-auth")
    users = d / "users.json"
    subprocess.run([NODE, str(MAIN_JS), "user", "add", USER, "--users", str(users),
                    "--scope", "read:default", "--scope", "write:default"],
                   env={**os.environ, "HANGAR_PASSWORD": PASSWORD}, check=True, capture_output=True, text=True)
    server = HangarProcess(d / "store", logs_dir, "go-auth", extra_args=["--users", str(users)]).start()
    yield server
    server.stop()


def test_go_flight_client_with_basic_token_auth(go_build, users_server):
    results = run_go_client(go_build, users_server, "-user", USER, "-password", PASSWORD)
    assert list(results) == AUTH_CHECKS + CHECKS
    assert results["auth_no_token"]["code"] == "Unauthenticated", results["auth_no_token"]
    wrong = results["auth_wrong_password"]
    assert wrong["code"] == "Unauthenticated", wrong
    assert wrong.get("detail", {}).get("code") == "UNAUTHENTICATED", wrong
    assert results["auth_basic_token"]["bearer"] is True
    assert_common_checks(results)
    assert results["done"]["authenticated"] is True
    assert users_server.running
