"""The suite's per-test watchdog (conftest.py) says what it did: a test that outlives it ends the run
with the watchdog's own exit code, the test's id and every thread's stack on the real stderr — not,
as once in CI, a run that stopped at 29 % with exit 1 and nothing printed (the stack went into
pytest's capture of file descriptor 2 and was lost with the process)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import WATCHDOG_EXIT_CODE

HERE = Path(__file__).resolve().parent

HUNG_TEST = '''
import time


def test_passes():
    pass


def test_hangs_in_a_call():
    time.sleep(60)
'''


def test_a_hung_test_ends_the_run_saying_which_and_where(tmp_path):
    (tmp_path / "test_hung.py").write_text(HUNG_TEST)
    env = {**os.environ, "HANGAR_INTEROP_TEST_TIMEOUT_S": "1", "PYTHONPATH": str(HERE)}
    # The suite's conftest loaded as a plugin, with pytest's default capture (fd), as run.sh runs it.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path / "test_hung.py")],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == WATCHDOG_EXIT_CODE, (done.returncode, done.stdout, done.stderr)
    assert "WATCHDOG: test_hung.py::test_hangs_in_a_call is still running after 1 s" in done.stderr, done.stderr
    # The stack shows where it hung.
    assert "test_hangs_in_a_call" in done.stderr.split("WATCHDOG:", 1)[1] and "test_hung.py" in done.stderr, done.stderr
    assert done.stdout.startswith("."), done.stdout  # the first test passed and was reported
