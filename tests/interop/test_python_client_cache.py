"""hangar-client's pull-on-demand cache (Hangar(url, cache_dir=…)) against a real server: a synced
read asks one small question and fetches only the rows appended since the version it holds; replace,
compaction, restore, delete and a new history after purge are noticed; range, column and limit reads
are answered from disk exactly as the server answers them; offline mode; processes sharing one
cache directory; the size bound and clear()."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from hangar_client import CacheMiss, FrameNotFound, Hangar, InvalidArgument


def frame(start: int, n: int) -> pa.Table:
    ts = pa.array(pd.date_range("2024-01-01", periods=n, freq="min") + pd.Timedelta(minutes=start))
    return pa.table({"ts": ts, "x": pa.array(range(start, start + n), pa.int64()), "s": [f"r{i}" for i in range(start, start + n)]})


@pytest.fixture
def server(local_server):
    return local_server


@pytest.fixture
def plain(server):
    with Hangar(server.location) as client:
        yield client


@pytest.fixture
def cached(server, tmp_path):
    with Hangar(server.location, cache_dir=tmp_path / "cache") as client:
        yield client


def test_unchanged_reads_ask_one_small_question_and_fetch_nothing(plain, cached, uniq):
    name = uniq()
    plain.put(name, frame(0, 1000))
    assert cached.get(name).equals(plain.get(name))
    cached.stats.reset()
    for _ in range(3):
        assert cached.get(name).num_rows == 1000
    assert dict(cached.stats.calls) == {"action:stat": 3}
    assert cached.stats.bytes_received == 0


def test_a_synced_read_fetches_only_the_appended_rows(plain, cached, uniq):
    name = uniq()
    plain.put(name, frame(0, 20_000))
    full_bytes = None
    cached.get(name)
    full_bytes = cached.stats.bytes_received
    for start in (20_000, 20_100):
        plain.put(name, frame(start, 100), mode="append")
        cached.stats.reset()
        table = cached.get(name)
        assert table.equals(plain.get(name))
        assert dict(cached.stats.calls) == {"action:stat": 1, "DoGet": 1}
        assert cached.stats.rows_received == 100
        assert cached.stats.bytes_received < full_bytes / 100
    entry = cached.cache.entry("default", name)
    assert (entry.version, entry.rows, len(entry.chunks)) == (3, 20_200, 3)


def test_replace_compaction_restore_and_delete_are_noticed(plain, cached, uniq):
    name = uniq()
    plain.put(name, frame(0, 50))
    cached.get(name)
    plain.put(name, frame(100, 30), mode="replace")
    cached.stats.reset()
    assert cached.get(name).equals(plain.get(name))
    assert cached.stats.rows_received == 30  # the incremental read was refused: fetched whole
    plain.put(name, frame(200, 5), mode="append")
    plain.put(name, frame(300, 5), mode="append")
    cached.get(name)
    assert plain.compact(name)["compacted"]
    assert cached.get(name).equals(plain.get(name))
    plain.restore(name, 1)
    assert cached.get(name).equals(frame(0, 50))
    plain.delete(name)
    with pytest.raises(FrameNotFound):
        cached.get(name)
    assert cached.cache.entry("default", name) is None


def test_after_a_compaction_a_synced_read_still_fetches_only_the_new_rows(plain, cached, uniq):
    name = uniq()
    plain.put(name, frame(0, 50))
    plain.put(name, frame(50, 5), mode="append")
    cached.get(name)  # holds version 2: 55 rows in two segments
    plain.put(name, frame(55, 5), mode="append")
    assert plain.compact(name)["segments_after"] == 1  # the 55 rows held and 5 new ones in one segment
    plain.put(name, frame(60, 7), mode="append")
    cached.stats.reset()
    assert cached.get(name).equals(plain.get(name))
    assert cached.stats.rows_received == 12 and dict(cached.stats.calls) == {"action:stat": 1, "DoGet": 1}


def test_a_new_history_after_purge_is_not_mistaken_for_the_cached_one(plain, cached, uniq):
    name = uniq()
    plain.put(name, frame(0, 10))
    cached.get(name)
    plain.purge(name)
    plain.put(name, frame(500, 10))  # version 1 again, other rows
    assert plain.stat(name).version == 1
    assert cached.get(name).equals(frame(500, 10))
    plain.put(name, frame(600, 3), mode="append")
    cached.get(name)
    plain.purge(name)
    plain.put(name, frame(700, 10))
    plain.put(name, frame(800, 3), mode="append")  # version 2 again: since_committed_at tells them apart
    assert cached.get(name).equals(plain.get(name))


@pytest.mark.parametrize(
    "selection",
    [
        {"start": "2024-01-01T00:10", "end": "2024-01-01T00:20"},
        {"start": "2024-01-01 00:10:30", "columns": ["s", "x"]},
        {"end": 1704067500, "limit": 3},
        {"start": "2024-01-01T01:10+01:00", "end": pd.Timestamp("2024-01-01T00:13")},
        {"limit": 0},
        {"columns": ["x"], "limit": 7},
    ],
)
def test_range_column_and_limit_reads_are_served_from_the_cache_as_the_server_serves_them(plain, cached, uniq, selection):
    name = uniq()
    plain.put(name, frame(0, 60))
    cached.get(name)
    cached.stats.reset()
    assert cached.get(name, **selection).equals(plain.get(name, **selection))
    assert cached.stats.bytes_received == 0


def test_cached_reads_refuse_what_the_server_refuses(plain, cached, uniq):
    name = uniq()
    plain.put(name, pa.table({"x": [1, 2]}))
    with pytest.raises(InvalidArgument, match="no time column"):
        cached.get(name, start="2024-01-01")
    with pytest.raises(InvalidArgument, match="unknown column"):
        cached.get(name, columns=["y"])


def test_pinned_versions_and_time_travel(plain, cached, uniq):
    name = uniq()
    plain.put(name, frame(0, 5))
    plain.put(name, frame(5, 5), mode="append")
    assert cached.get(name, version=1).equals(frame(0, 5))
    assert cached.get(name).num_rows == 10
    assert cached.get(name, version=1).num_rows == 5  # an older version is read, the newer entry kept
    assert cached.cache.entry("default", name).version == 2
    assert cached.get(name, as_of=plain.stat(name, version=1).committed_at).num_rows == 5


def test_offline_mode_serves_the_cache_and_says_what_it_lacks(plain, server, tmp_path, uniq):
    name = uniq()
    plain.put(name, frame(0, 8))
    with Hangar(server.location, cache_dir=tmp_path / "c") as online:
        online.get(name)
    with Hangar("grpc://127.0.0.1:1", cache_dir=tmp_path / "c", offline=True) as offline:
        assert offline.get(name, columns=["x"], limit=2).column("x").to_pylist() == [0, 1]
        with pytest.raises(CacheMiss, match="does not hold"):
            offline.get(uniq())
        with pytest.raises(CacheMiss, match="not version 7"):
            offline.get(name, version=7)
        with pytest.raises(InvalidArgument, match="not valid"):  # names become paths: checked
            offline.get("../../etc")
        with pytest.raises(CacheMiss, match="DoPut needs the server"):
            offline.put(name, frame(0, 1))
        assert dict(offline.stats.calls) == {}


def test_the_size_bound_evicts_the_least_recently_read_and_clear_empties(plain, server, tmp_path, uniq):
    names = [uniq() for _ in range(3)]
    for name in names:
        plain.put(name, frame(0, 2000))
    with Hangar(server.location, cache_dir=tmp_path / "c") as probe:
        probe.get(names[0])
        one = probe.cache.size_bytes()
    with Hangar(server.location, cache_dir=tmp_path / "bounded", cache_max_bytes=int(one * 2.5)) as client:
        client.get(names[0])
        client.get(names[1])
        client.get(names[0])  # names[1] is now the least recently read
        client.get(names[2])
        held = {entry.name for entry in client.cache.entries()}
        assert held == {names[0], names[2]}
        assert client.cache.size_bytes() <= one * 2.5
        client.cache.clear()
        assert client.cache.entries() == [] and client.cache.size_bytes() == 0


WORKER = textwrap.dedent(
    """
    import json, sys
    from hangar_client import Hangar
    location, cache_dir, name, reads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    seen = []
    with Hangar(location, cache_dir=cache_dir) as client:
        for _ in range(reads):
            table = client.get(name)
            xs = table.column("x").to_pylist()
            assert xs == list(range(len(xs))), "rows out of order or duplicated"
            seen.append(len(xs))
    print(json.dumps(seen))
    """
)


def test_processes_sharing_one_cache_directory_see_whole_versions(plain, server, tmp_path, uniq):
    name = uniq()
    plain.put(name, frame(0, 1000))
    cache_dir = tmp_path / "shared"
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    workers = [
        subprocess.Popen([sys.executable, str(script), server.location, str(cache_dir), name, "15"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    for i in range(10):
        plain.put(name, frame(1000 + 10 * i, 10), mode="append")
    valid = {1000 + 10 * i for i in range(11)}
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()[-3000:]
        seen = json.loads(out)
        assert set(seen) <= valid and seen == sorted(seen)
    with Hangar(server.location, cache_dir=cache_dir) as client:
        assert client.get(name).equals(plain.get(name))
        entry = client.cache.entry("default", name)
        files = sorted(p.name for p in (Path(cache_dir) / "python-v1" / "default" / name).glob("*.arrows"))
        assert files == sorted(chunk.file for chunk in entry.chunks), "chunk files no entry lists were left behind"
