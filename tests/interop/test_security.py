"""Security with stock clients: pyarrow over TLS with authenticate_basic_token and with a bearer
header, shoots' client with TLS and its admin JWT, and a token scoped to one bucket trying every RPC
and action on another. The server runs with certificates made per session (openssl), a secret and
a users file."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.flight as fl
import pytest
from shoots import PutMode, ShootsClient

from hangar_interop import MAIN_JS, NODE, HangarProcess, cmd, path, ticket

SECRET = "interop-secret-0123456789abcdef0123"
TABLE = pa.table({"x": pa.array([1, 2, 3], pa.int64())})
# PERMISSION_DENIED arrives as FlightUnauthorizedError (SQL refusals as FlightServerError, with the
# DataFusionError detail shoots expects); pyarrow's get_schema alone raises a plain OSError.
DENIED = (fl.FlightUnauthorizedError, fl.FlightServerError, OSError)


def _openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    """A CA and a server certificate for localhost and 127.0.0.1."""
    d = tmp_path_factory.mktemp("certs")
    key = lambda name: _openssl(d, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name)  # noqa: E731
    key("ca.key")
    _openssl(d, "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=Hangar interop CA", "-days", "2", "-out", "ca.pem")
    key("server.key")
    _openssl(d, "req", "-new", "-key", "server.key", "-subj", "/CN=localhost", "-out", "server.csr")
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl(d, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "server.ext", "-out", "server.pem")
    return d


def _hangar(*args: str, password: str | None = None) -> str:
    env = {**os.environ, "HANGAR_SECRET": SECRET}
    if password is not None:
        env["HANGAR_PASSWORD"] = password
    return subprocess.run([NODE, str(MAIN_JS), *args], env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def secure_server(certs: Path, logs_dir: Path):
    users = certs / "users.json"
    _hangar("user", "add", "alice", "--users", str(users), "--scope", "read:alpha", "--scope", "write:alpha", password="s3cret")
    server = HangarProcess("memory:", logs_dir, "secure", extra_args=[
        "--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server.key"), "--users", str(users),
    ], env={"HANGAR_SECRET": SECRET}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin_token(secure_server: HangarProcess) -> str:
    import time
    deadline = time.monotonic() + 5
    while b"admin token" not in secure_server.stdout_after_first_line() and time.monotonic() < deadline:
        time.sleep(0.05)
    match = re.search(rb"hangar admin token \(valid 365 days\): (\S+)", secure_server.stdout_after_first_line())
    assert match, "the server printed no admin token"
    return match.group(1).decode()


def _client(server: HangarProcess, certs: Path, host: str = "127.0.0.1") -> fl.FlightClient:
    return fl.FlightClient(f"grpc+tls://{host}:{server.port}", tls_root_certs=(certs / "ca.pem").read_bytes())


def _bearer(token: str) -> fl.FlightCallOptions:
    return fl.FlightCallOptions(headers=[(b"authorization", f"Bearer {token}".encode())])


def _put(client: fl.FlightClient, options: fl.FlightCallOptions, name: str, bucket: str) -> None:
    writer, reader = client.do_put(cmd({"name": name, "bucket": bucket, "mode": "replace"}), TABLE.schema, options=options)
    writer.write_table(TABLE)
    writer.done_writing()
    reader.read()
    writer.close()


def _action(client: fl.FlightClient, options: fl.FlightCallOptions, kind: str, body: dict | None = None) -> list[bytes]:
    payload = b"" if body is None else json.dumps(body).encode()
    return [r.body.to_pybytes() for r in client.do_action(fl.Action(kind, payload), options=options)]


def test_pyarrow_basic_token_over_tls(secure_server, certs, admin_token):
    admin = _bearer(admin_token)
    with _client(secure_server, certs, "localhost") as client:
        _put(client, admin, "a1", "alpha")
        _put(client, admin, "b1", "beta")
        header = client.authenticate_basic_token("alice", "s3cret")
        assert header[0] == b"authorization" and header[1].startswith(b"Bearer ")
        options = fl.FlightCallOptions(headers=[header])
        assert client.do_get(ticket({"name": "a1", "bucket": "alpha"}), options=options).read_all().equals(TABLE)
        with pytest.raises(fl.FlightUnauthorizedError, match="may not"):
            client.do_get(ticket({"name": "b1", "bucket": "beta"}), options=options).read_all()
        with pytest.raises(fl.FlightUnauthenticatedError):
            client.authenticate_basic_token("alice", "wrong")


def test_pyarrow_without_or_with_a_bad_token_is_unauthenticated(secure_server, certs):
    with _client(secure_server, certs) as client:
        with pytest.raises(fl.FlightUnauthenticatedError):
            list(client.list_flights(json.dumps({"bucket": "alpha"}).encode()))
        with pytest.raises(fl.FlightUnauthenticatedError):
            _action(client, _bearer("nonsense"), "buckets")


def test_pyarrow_bearer_header_with_a_minted_token(secure_server, certs, admin_token):
    token = _hangar("token", "--sub", "reader", "--scope", "read:beta", "--ttl", "1h").strip()
    with _client(secure_server, certs) as client:
        _put(client, _bearer(admin_token), "b2", "beta")
        options = _bearer(token)
        assert json.loads(_action(client, options, "buckets")[0]) == ["beta"]
        assert client.do_get(ticket({"name": "b2", "bucket": "beta"}), options=options).read_all().equals(TABLE)
        with pytest.raises(fl.FlightUnauthorizedError):
            _put(client, options, "b3", "beta")


def test_shoots_client_with_tls_and_its_admin_jwt(secure_server, certs, admin_token):
    shoots = ShootsClient("localhost", secure_server.port, True, (certs / "ca.pem").read_text(), admin_token)
    frame = pd.DataFrame({"v": [1.5, 2.5]})
    shoots.put("sf", frame, mode=PutMode.REPLACE, bucket="shootsb")
    assert shoots.get("sf", bucket="shootsb")["v"].tolist() == [1.5, 2.5]
    assert "shootsb" in shoots.buckets()


def test_a_token_for_one_bucket_can_do_nothing_in_another(secure_server, certs, admin_token):
    token = _hangar("token", "--sub", "scoped", "--scope", "read:alpha", "--scope", "write:alpha", "--ttl", "1h").strip()
    options = _bearer(token)
    with _client(secure_server, certs) as client:
        _put(client, _bearer(admin_token), "a1", "alpha")
        _put(client, _bearer(admin_token), "b1", "beta")
        attempts = {
            "ListFlights": lambda: list(client.list_flights(json.dumps({"bucket": "beta"}).encode(), options=options)),
            "GetFlightInfo": lambda: client.get_flight_info(path("b1", "beta"), options=options),
            "GetFlightInfo sql": lambda: client.get_flight_info(cmd({"sql": "SELECT 1", "bucket": "beta"}), options=options),
            "GetSchema": lambda: client.get_schema(path("b1", "beta"), options=options),
            "DoGet": lambda: client.do_get(ticket({"name": "b1", "bucket": "beta"}), options=options).read_all(),
            "DoGet sql join": lambda: client.do_get(ticket({"sql": "SELECT * FROM a1 JOIN beta.b1 USING (x)", "bucket": "alpha"}), options=options).read_all(),
            "DoGet read_parquet": lambda: client.do_get(ticket({"sql": "SELECT * FROM read_parquet('*/*/*.parquet')", "bucket": "alpha"}), options=options).read_all(),
            "DoPut": lambda: _put(client, options, "b9", "beta"),
            "stat": lambda: _action(client, options, "stat", {"name": "b1", "bucket": "beta"}),
            "delete": lambda: _action(client, options, "delete", {"name": "b1", "bucket": "beta"}),
            "delete_bucket": lambda: _action(client, options, "delete_bucket", {"name": "beta", "mode": "delete"}),
            "resample from": lambda: _action(client, options, "resample", {"source": "b1", "source_bucket": "beta", "target": "r", "target_bucket": "alpha", "mode": "replace", "sql": "SELECT * FROM b1"}),
            "resample into": lambda: _action(client, options, "resample", {"source": "a1", "source_bucket": "alpha", "target": "r", "target_bucket": "beta", "mode": "replace", "sql": "SELECT * FROM a1"}),
            "shutdown": lambda: _action(client, options, "shutdown"),
        }
        for name, attempt in attempts.items():
            with pytest.raises(DENIED, match="may not|not available") as raised:
                attempt()
                pytest.fail(f"{name} was allowed")
            assert "Unauthenticated" not in type(raised.value).__name__, name
        assert json.loads(_action(client, options, "buckets")[0]) == ["alpha"]
        assert client.do_get(ticket({"name": "b1", "bucket": "beta"}), options=_bearer(admin_token)).read_all().equals(TABLE)
