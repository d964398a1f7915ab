"""Helpers shared by the interop tests: a real Hangar server subprocess and small Flight utilities.

Nothing here fakes the server: every helper talks to `node dist/cli/main.js serve` over gRPC with a
stock client (pyarrow.flight or shoots).
"""
from __future__ import annotations

import ctypes
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Optional

import pyarrow as pa
import pyarrow.flight as fl

ROOT = Path(__file__).resolve().parents[2]
MAIN_JS = ROOT / "dist" / "cli" / "main.js"
NODE = os.environ.get("NODE", "node")
# `hangar serve` started without the tuned V8 flags re-executes Node with them (src/cli/node-flags.ts);
# HangarProcess turns that off so that proc.pid stays the server's own (tests read its memory from
# /proc/<pid>) and the servers run as they did before, without the flags.
NO_RELAUNCH = {"HANGAR_NODE_RELAUNCH": "0"}
LISTENING = re.compile(r"^hangar listening on (grpc(?:\+tls)?://127\.0\.0\.1:(\d+))$")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: SIGKILL the server if the test process dies, so no server outlives a crashed run."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


class HangarProcess:
    """One `hangar serve` subprocess bound to 127.0.0.1 on a free port."""

    def __init__(
        self,
        data: str | Path,
        log_dir: Path,
        label: str = "hangar",
        extra_args: Iterable[str] = (),
        env: Optional[dict[str, str]] = None,
    ) -> None:
        self.data = str(data)
        self.extra_args = list(extra_args)
        self.env = env
        self.log_path = Path(log_dir) / f"{label}-{os.getpid()}-{time.monotonic_ns()}.stderr.log"
        self.proc: Optional[subprocess.Popen] = None
        self.location: str = ""
        self.host = "127.0.0.1"
        self.port = 0
        self.first_line = ""
        self._extra_stdout = bytearray()
        self._drain: Optional[threading.Thread] = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "HangarProcess":
        if not MAIN_JS.exists():
            raise RuntimeError(f"{MAIN_JS} is missing: run `npm run build` first (run.sh does this)")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        stderr = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                [NODE, str(MAIN_JS), "serve", "--host", "127.0.0.1", "--port", "0", "--data", self.data, *self.extra_args],
                cwd=str(ROOT),
                env={**os.environ, **NO_RELAUNCH, **(self.env or {})},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                bufsize=0,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        finally:
            stderr.close()
        line = self._read_first_line(START_TIMEOUT_S)
        match = LISTENING.match(line)
        if not match:
            self.kill()
            raise RuntimeError(f"unexpected first stdout line from hangar: {line!r}\n{self.stderr_text()}")
        self.first_line = line
        self.location = match.group(1)
        self.port = int(match.group(2))
        self._drain = threading.Thread(target=self._drain_stdout, daemon=True)
        self._drain.start()
        return self

    def _read_first_line(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        buffer = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    raise RuntimeError(f"hangar did not report listening within {timeout}s\n{self.stderr_text()}")
                if not selector.select(remaining):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    code = self.proc.wait(timeout=5)
                    raise RuntimeError(f"hangar exited ({code}) before listening\n{self.stderr_text()}")
                buffer += chunk
        line, _, rest = bytes(buffer).partition(b"\n")
        self._extra_stdout += rest
        return line.decode("utf-8", "replace").rstrip("\r")

    def _drain_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            try:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
            except OSError:
                return
            if not chunk:
                return
            self._extra_stdout += chunk

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stdout_after_first_line(self) -> bytes:
        """What the server printed on stdout after its listening line (only complete once it exited)."""
        if self._drain is not None and not self.running:
            self._drain.join(timeout=5)
        return bytes(self._extra_stdout)

    def stderr_text(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def wait(self, timeout: float) -> Optional[int]:
        """Waits for the process to exit; returns its code or None on timeout."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> Optional[int]:
        """Sends `sig` and waits; SIGKILLs if it does not exit in time. Returns the exit code after
        `sig`, or None if it had to be killed."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(sig)
        code = self.wait(timeout)
        if code is None:
            self.kill()
        return code

    def kill(self) -> None:
        """SIGKILL (kill -9), no grace."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    # -- clients ---------------------------------------------------------------------------
    def client(self) -> fl.FlightClient:
        return fl.FlightClient(self.location)

    def wait_until_serving(self, timeout: float = 10.0) -> None:
        """Pings until the server answers (the listening line already implies it; this is a guard)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.client() as client:
                    if action_bodies(client, "ping") == [b"pong"]:
                        return
            except fl.FlightError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)


# -- Flight helpers ------------------------------------------------------------------------------

def cmd(obj: Any) -> fl.FlightDescriptor:
    """A CMD descriptor carrying JSON (shoots' form)."""
    return fl.FlightDescriptor.for_command(json.dumps(obj).encode())


def path(*segments: str | bytes) -> fl.FlightDescriptor:
    return fl.FlightDescriptor.for_path(*segments)


def ticket(obj: Any) -> fl.Ticket:
    return fl.Ticket(json.dumps(obj).encode())


def put(
    client: fl.FlightClient,
    descriptor: fl.FlightDescriptor,
    data: pa.Table | Iterable[pa.RecordBatch],
    schema: Optional[pa.Schema] = None,
) -> dict:
    """DoPut: writes a table (its chunks as batches) or the given batches; returns the PutResult JSON."""
    if isinstance(data, pa.Table):
        schema = schema or data.schema
        batches: Iterable[pa.RecordBatch] = data.to_batches()
    else:
        batches = data
        assert schema is not None
    writer, reader = client.do_put(descriptor, schema)
    for batch in batches:
        writer.write_batch(batch)
    writer.done_writing()
    result = reader.read()
    writer.close()
    assert result is not None, "the server sent no PutResult"
    return json.loads(result.to_pybytes())


def get(client: fl.FlightClient, name: str, bucket: Optional[str] = None, columns: Optional[list] = None) -> pa.Table:
    body: dict = {"name": name, "bucket": bucket}
    if columns is not None:
        body["columns"] = columns
    return client.do_get(ticket(body)).read_all()


def action_bodies(client: fl.FlightClient, action_type: str, body: Any = None) -> list[bytes]:
    """DoAction; `body` None sends an empty body, bytes are sent as is, anything else as JSON."""
    if body is None:
        raw = b""
    elif isinstance(body, (bytes, bytearray)):
        raw = bytes(body)
    else:
        raw = json.dumps(body).encode()
    return [result.body.to_pybytes() for result in client.do_action(fl.Action(action_type, raw))]


def action_json(client: fl.FlightClient, action_type: str, body: Any = None) -> Any:
    bodies = action_bodies(client, action_type, body)
    assert len(bodies) == 1, f"{action_type} answered {len(bodies)} results"
    return json.loads(bodies[0])


def error_detail(exc: BaseException) -> dict:
    """The JSON detail a FlightServerError carries in extra_info ({"type","message","code"})."""
    extra = getattr(exc, "extra_info", None)
    assert extra, f"{type(exc).__name__} has no extra_info: {exc}"
    return json.loads(extra)


def assert_typed_error(exc: BaseException, type_name: str, code: str) -> dict:
    """Checks the error is a FlightServerError whose detail has the shoots type and precise code."""
    assert isinstance(exc, fl.FlightServerError), f"expected FlightServerError, got {type(exc).__name__}: {exc}"
    detail = error_detail(exc)
    assert detail["type"] == type_name, detail
    assert detail["code"] == code, detail
    assert isinstance(detail["message"], str) and detail["message"], detail
    return detail


def names_in(client: fl.FlightClient, bucket: Optional[str] = None, regex: Optional[str] = None) -> list[str]:
    criteria = json.dumps({"bucket": bucket, "regex": regex}).encode()
    return [info.descriptor.path[0].decode() for info in client.list_flights(criteria)]


def files_under(root: Path) -> dict[str, int]:
    """Every regular file under `root` (relative path → size)."""
    out: dict[str, int] = {}
    for dirpath, _dirs, files in os.walk(root):
        for file in files:
            full = Path(dirpath) / file
            try:
                out[str(full.relative_to(root))] = full.stat().st_size
            except FileNotFoundError:
                pass
    return out


def wait_for(predicate, timeout: float, interval: float = 0.05, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class SlowPut:
    """A subprocess (slow_put_client.py) that streams a DoPut and never finishes it."""

    SCRIPT = Path(__file__).resolve().parent / "slow_put_client.py"

    def __init__(self, location: str, descriptor: dict, batches: int, rows_per_batch: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(self.SCRIPT), location, json.dumps(descriptor), str(batches), str(rows_per_batch)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self.sent = 0
        self.waiting = False
        self._buffer = b""

    def wait_sent(self, batches: int, timeout: float) -> None:
        """Blocks until the child reports `batches` batches written (accepted by gRPC)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            while self.sent < batches:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"slow put sent only {self.sent}/{batches} batches in {timeout}s")
                if not selector.select(remaining):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    err = self.proc.stderr.read().decode("utf-8", "replace") if self.proc.stderr else ""
                    raise AssertionError(f"slow put exited ({self.proc.wait()}) after {self.sent} batches: {err[-3000:]}")
                self._buffer += chunk
                *lines, self._buffer = self._buffer.split(b"\n")
                for line in lines:
                    if line.startswith(b"sent "):
                        self.sent = int(line.split()[1])
                    elif line == b"waiting":
                        self.waiting = True

    def kill(self) -> None:
        """SIGKILL: the client vanishes without finishing or cancelling the call."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
