"""Fixtures: real Hangar server subprocesses (local store in a tmp dir, or memory:), clients, names."""
from __future__ import annotations

import faulthandler
import itertools
import os
import re
import signal
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hangar_interop import MAIN_JS, HangarProcess  # noqa: E402

# A hung RPC must not hang CI: after this long a test ends the run, saying which test and showing
# every thread's stack. (Servers started by the suite die with it: see _die_with_parent.)
PER_TEST_WATCHDOG_S = float(os.environ.get("HANGAR_INTEROP_TEST_TIMEOUT_S", "240"))
# The run's exit code when the watchdog ends it (pytest's own codes are 0-5).
WATCHDOG_EXIT_CODE = 70
# Where the watchdog writes: a copy of the real stderr taken in pytest_configure, while pytest's
# capture is suspended. During a test pytest captures file descriptor 2 into a temporary file, so
# anything written to "stderr" then (faulthandler's default file) is lost when the process exits
# without pytest reading it back: the watchdog used to end a CI run at 29 % with exit 1 and not a
# word printed.
_report_fd: int | None = None


def pytest_configure(config) -> None:
    global _report_fd
    if _report_fd is None:
        _report_fd = os.dup(2)


@pytest.fixture(autouse=True)
def _watchdog(request):
    fd = _report_fd if _report_fd is not None else 2
    test = request.node.nodeid
    # The slow group (Spark) gets three times as long: a JVM on a loaded 2-core machine.
    limit = PER_TEST_WATCHDOG_S * (3 if request.node.get_closest_marker("slow") else 1)

    def expire() -> None:
        os.write(fd, (f"\n\nWATCHDOG: {test} is still running after {limit:g} s; every thread's stack "
                      f"follows, then the run ends with exit code {WATCHDOG_EXIT_CODE}\n").encode())
        faulthandler.dump_traceback(file=fd, all_threads=True)
        os._exit(WATCHDOG_EXIT_CODE)

    timer = threading.Timer(limit, expire)
    timer.daemon = True
    timer.start()
    # Backstop in C, should the interpreter itself be stuck (it writes to the same descriptor).
    faulthandler.dump_traceback_later(limit + 30, exit=True, file=fd)
    yield
    timer.cancel()
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("server-logs")


def _start(data, logs_dir: Path, label: str) -> HangarProcess:
    if not MAIN_JS.exists():
        pytest.fail(f"{MAIN_JS} is missing: run `npm run build` (tests/interop/run.sh builds it when absent)")
    return HangarProcess(data, logs_dir, label).start()


def _stop(server: HangarProcess) -> None:
    code = server.stop(signal.SIGTERM)
    if code != 0:
        sys.stderr.write(f"\nhangar ({server.data}) exited with {code}; stderr tail:\n{server.stderr_text()}\n")


@pytest.fixture(scope="session")
def local_store(tmp_path_factory) -> Path:
    """The directory of the shared local-store server (inside its own parent, to spot escapes)."""
    return tmp_path_factory.mktemp("local-parent") / "store"


@pytest.fixture(scope="session")
def local_server(local_store: Path, logs_dir: Path):
    """A server on a local directory store, shared by the session. Tests use unique names."""
    server = _start(local_store, logs_dir, "local")
    yield server
    _stop(server)


@pytest.fixture(scope="session")
def memory_server(logs_dir: Path):
    """A server on the in-memory store, shared by the session."""
    server = _start("memory:", logs_dir, "memory")
    yield server
    _stop(server)


@pytest.fixture(params=["local", "memory"])
def any_server(request):
    """Runs a test once against each store."""
    return request.getfixturevalue(f"{request.param}_server")


@pytest.fixture
def client(local_server):
    with local_server.client() as c:
        yield c


@pytest.fixture
def mem_client(memory_server):
    with memory_server.client() as c:
        yield c


@pytest.fixture
def start_server(logs_dir: Path):
    """Factory for dedicated servers (restart, kill -9, shutdown tests): start_server(data_dir).
    Every server it started is stopped (SIGTERM, then SIGKILL) when the test ends."""
    started: list[HangarProcess] = []

    def start(data, label: str = "dedicated") -> HangarProcess:
        server = _start(data, logs_dir, label)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(signal.SIGTERM)


_counter = itertools.count()


@pytest.fixture
def uniq(request):
    """uniq(prefix) → a fresh valid frame/bucket name, unique across the session."""
    base = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)[:60].strip("_") or "t"

    def make(prefix: str = "f") -> str:
        return f"{prefix}_{base}_{next(_counter)}"

    return make
