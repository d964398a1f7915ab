"""Live streams (issue 17) from stock Python clients: `websockets` speaking PTG's WebSocket protocol
exactly (POST /token, push with batch+ack, a blocking pull that returns when another client pushes),
pyarrow Flight push with acks and a follow-tail that receives entries pushed after it started, a
kill -9 and restart mid-stream, SQL over a stream while it is pushed, and scoped tokens on both
transports.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as fl
import pytest
import requests
import websockets

from hangar_interop import MAIN_JS, NODE, HangarProcess

SECRET = "streams-interop-secret-of-32-bytes!"


def _hangar(*args: str, **env: str) -> str:
    return subprocess.run([NODE, str(MAIN_JS), *args], env={**os.environ, "HANGAR_SECRET": SECRET, **env},
                          check=True, capture_output=True, text=True).stdout


def _token(scope: str) -> str:
    return _hangar("token", "--sub", "interop", *[part for s in scope.split() for part in ("--scope", s)], "--ttl", "1h").strip().splitlines()[-1]


def _start(data: Path, logs_dir: Path, users: Path) -> HangarProcess:
    process = HangarProcess(data, logs_dir, "streams",
                            extra_args=["--http-port", "0", "--secret", SECRET, "--users", str(users)]).start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        match = re.search(rb"http listening on (http://127\.0\.0\.1:\d+)", process.stdout_after_first_line())
        if match:
            process.http = match.group(1).decode()
            process.ws = process.http.replace("http://", "ws://")
            return process
        time.sleep(0.05)
    raise AssertionError(f"no http listening line\n{process.stderr_text()}")


@pytest.fixture(scope="module")
def users(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("stream-users") / "users.json"
    _hangar("user", "add", "sensor", "--users", str(path), "--scope", "read:lab", "--scope", "write:lab", HANGAR_PASSWORD="s3nsor-pass")
    _hangar("user", "add", "viewer", "--users", str(path), "--scope", "read:lab", HANGAR_PASSWORD="v1ewer-pass")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory, logs_dir: Path, users: Path):
    process = _start(tmp_path_factory.mktemp("streams") / "store", logs_dir, users)
    yield process
    process.stop()


def _login(server: HangarProcess, username: str, password: str) -> str:
    r = requests.post(f"{server.http}/token", data={"username": username, "password": password}, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    return body["access_token"]


def _options(token: str) -> fl.FlightCallOptions:
    return fl.FlightCallOptions(headers=[(b"authorization", f"Bearer {token}".encode())])


def _push(client: fl.FlightClient, options, name: str, table: pa.Table, bucket: str = "lab") -> list[list[str]]:
    descriptor = fl.FlightDescriptor.for_command(json.dumps({"name": name, "bucket": bucket, "stream": True}))
    writer, reader = client.do_put(descriptor, table.schema, options=options)
    acks = []
    for batch in table.to_batches(max_chunksize=max(1, table.num_rows)):
        writer.write_batch(batch)
        ack = reader.read()  # wait for each ack
        if ack is None:
            writer.close()  # the call ended without an ack: this raises the server's error
            raise AssertionError("the server ended the push without acknowledging a batch")
        acks.append(json.loads(ack.to_pybytes())["ids"])
    writer.done_writing()
    writer.close()
    return acks


def _readings(start: int, n: int) -> pa.Table:
    return pa.table({"sensor": pa.array([i % 3 for i in range(start, start + n)], pa.int32()),
                     "value": pa.array([float(i) for i in range(start, start + n)])})


def test_ptg_push_batch_ack_and_blocking_pull(server):
    token = _login(server, "sensor", "s3nsor-pass")
    headers = {"Authorization": f"Bearer {token}"}

    async def scenario():
        # PTG's pull blocks until entries come; it starts before anything is pushed to this stream.
        async with websockets.connect(f"{server.ws}/data/lab:cam1/pull?last_entry_id=$", additional_headers=headers) as puller:
            pulled = asyncio.create_task(_pull(puller, 4))
            await asyncio.sleep(0.3)
            assert not pulled.done()
            async with websockets.connect(f"{server.ws}/data/lab:cam1/push?batch=true&ack=true", additional_headers=headers) as pusher:
                entries, offsets = bytearray(), []
                for i in range(3):
                    offsets.append(len(entries))
                    entries += f"frame {i}".encode()
                await pusher.send(",".join(map(str, offsets)))
                await pusher.send(bytes(entries))
                ack1 = (await pusher.recv()).split(",")
                await pusher.send("0")
                await pusher.send(b"last")
                ack2 = (await pusher.recv()).split(",")
            ids, payloads = await asyncio.wait_for(pulled, 15)
            return ack1, ack2, ids, payloads

    ack1, ack2, ids, payloads = asyncio.run(scenario())
    assert len(ack1) == 3 and len(ack2) == 1
    assert ids == ack1 + ack2
    assert payloads == [b"frame 0", b"frame 1", b"frame 2", b"last"]


async def _pull(socket, wanted: int):
    ids, payloads = [], []
    while len(ids) < wanted:
        index = json.loads(await socket.recv())
        data = await socket.recv()
        assert isinstance(data, bytes)
        for i, (entry_id, offset) in enumerate(index):
            end = index[i + 1][1] if i + 1 < len(index) else len(data)
            ids.append(entry_id)
            payloads.append(data[offset:end])
    return ids, payloads


def test_ptg_single_entries_and_token_query_parameter(server):
    token = _login(server, "sensor", "s3nsor-pass")

    async def scenario():
        async with websockets.connect(f"{server.ws}/data/lab:single/push?ack=true&token={token}") as pusher:
            acks = []
            for payload in (b"a", b"bb"):
                await pusher.send(payload)
                acks.append(await pusher.recv())
        async with websockets.connect(f"{server.ws}/data/lab:single/pull?last_entry_id=0&token={token}") as puller:
            return acks, await asyncio.wait_for(_pull(puller, 2), 15)

    acks, (ids, payloads) = asyncio.run(scenario())
    assert ids == acks
    assert payloads == [b"a", b"bb"]


def test_flight_push_with_acks_and_follow_tail(server):
    token = _token("read:lab write:lab")
    client = fl.FlightClient(server.location)
    first = _push(client, _options(token), "meter", _readings(0, 5))
    assert [len(ids) for ids in first] == [5]
    last = first[-1][-1]
    received: list[pa.Table] = []

    def follow():
        ticket = fl.Ticket(json.dumps({"name": "meter", "bucket": "lab", "after": last, "follow": True, "count": 6}).encode())
        received.append(client.do_get(ticket, options=_options(token)).read_all())

    tail = threading.Thread(target=follow)
    tail.start()
    time.sleep(0.3)
    later = _push(client, _options(token), "meter", _readings(100, 2)) + _push(client, _options(token), "meter", _readings(200, 4))
    tail.join(30)
    assert not tail.is_alive()
    table = received[0]
    assert table.column_names == ["_id", "_ts", "sensor", "value"]
    assert table.column("value").to_pylist() == [100.0, 101.0, 200.0, 201.0, 202.0, 203.0]
    assert table.column("_id").to_pylist() == [i for ids in later for i in ids]
    assert table.schema.field("_ts").type == pa.timestamp("ms", tz="UTC")
    # The whole stream is an ordinary frame too.
    whole = client.do_get(fl.Ticket(json.dumps({"name": "meter", "bucket": "lab"}).encode()), options=_options(token)).read_all()
    assert whole.num_rows == 11


def test_sql_over_a_stream_while_pushing(server):
    token = _token("read:lab write:lab")
    client = fl.FlightClient(server.location)
    _push(client, _options(token), "busy", _readings(0, 1))
    done = threading.Event()

    def pusher():
        c = fl.FlightClient(server.location)
        for i in range(1, 40):
            _push(c, _options(token), "busy", _readings(i, 1))
        done.set()

    thread = threading.Thread(target=pusher)
    thread.start()
    counts = []
    query = fl.Ticket(json.dumps({"sql": "SELECT count(*) AS n, max(value) AS top FROM busy", "bucket": "lab"}).encode())
    while not done.is_set():
        counts.append(client.do_get(query, options=_options(token)).read_all().column("n")[0].as_py())
    thread.join()
    assert counts == sorted(counts)
    final = client.do_get(query, options=_options(token)).read_all()
    assert final.column("n")[0].as_py() == 40
    assert final.column("top")[0].as_py() == 39.0


def test_unknown_stream_fields_are_refused(server):
    client = fl.FlightClient(server.location)
    options = _options(_token("read:lab write:lab"))
    with pytest.raises(pa.ArrowInvalid, match='unknown field "folow"'):
        client.do_get(fl.Ticket(json.dumps({"name": "meter", "bucket": "lab", "after": "0", "folow": True}).encode()), options=options).read_all()
    descriptor = fl.FlightDescriptor.for_command(json.dumps({"name": "meter", "bucket": "lab", "stream": True, "maxlen": 5}))
    with pytest.raises(pa.ArrowInvalid, match='unknown field "maxlen"'):
        writer, reader = client.do_put(descriptor, _readings(0, 1).schema, options=options)
        writer.write_table(_readings(0, 1))
        writer.close()


def test_scoped_tokens_on_both_transports(server):
    viewer = _login(server, "viewer", "v1ewer-pass")
    client = fl.FlightClient(server.location)
    with pytest.raises(fl.FlightError, match="write access to bucket 'lab'"):
        _push(client, _options(viewer), "meter", _readings(0, 1))
    tail = client.do_get(fl.Ticket(json.dumps({"name": "meter", "bucket": "lab", "after": "0", "follow": False}).encode()), options=_options(viewer)).read_all()
    assert tail.num_rows > 0
    other = _token("read:elsewhere write:elsewhere")
    with pytest.raises(fl.FlightError, match="read access to bucket 'lab'"):
        client.do_get(fl.Ticket(json.dumps({"name": "meter", "bucket": "lab", "after": "0"}).encode()), options=_options(other)).read_all()

    async def ws_refusals():
        statuses = []
        for path, token in ((f"/data/lab:cam1/push?token={viewer}", None), ("/data/lab:cam1/pull", None), ("/data/lab:cam1/pull", other)):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            try:
                async with websockets.connect(f"{server.ws}{path}", additional_headers=headers):
                    statuses.append(101)
            except websockets.exceptions.InvalidStatus as error:
                statuses.append(error.response.status_code)
        return statuses

    assert asyncio.run(ws_refusals()) == [403, 401, 403]
    r = requests.post(f"{server.http}/token", data={"username": "viewer", "password": "wrong"}, timeout=10)
    assert r.status_code == 401


def test_restart_mid_stream_loses_no_acknowledged_entry(tmp_path, logs_dir, users):
    data = tmp_path / "store"
    token = _token("read:lab write:lab")
    first = _start(data, logs_dir, users)
    acked: list[str] = []
    stop = threading.Event()

    def pusher(offset: int):
        client = fl.FlightClient(first.location)
        i = 0
        try:
            while not stop.is_set():
                acked.extend(_push(client, _options(token), "crash", _readings(offset + i, 1))[0])
                i += 1
        except Exception:  # noqa: BLE001 - the server died under this push: not acknowledged
            pass

    threads = [threading.Thread(target=pusher, args=(p * 10_000,)) for p in range(3)]
    for thread in threads:
        thread.start()
    while len(acked) < 150:
        time.sleep(0.01)
    first.kill()  # kill -9 mid-stream
    stop.set()
    for thread in threads:
        thread.join(30)

    second = _start(data, logs_dir, users)
    try:
        client = fl.FlightClient(second.location)
        stored = client.do_get(fl.Ticket(json.dumps({"name": "crash", "bucket": "lab", "after": "0"}).encode()), options=_options(token)).read_all()
        ids = stored.column("_id").to_pylist()
        assert set(acked) <= set(ids)
        assert ids == sorted(ids, key=lambda text: tuple(map(int, text.split("-"))))
        newest = max(tuple(map(int, text.split("-"))) for text in ids)
        after = _push(client, _options(token), "crash", _readings(1, 1))[0][0]
        assert tuple(map(int, after.split("-"))) > newest
    finally:
        second.stop()
