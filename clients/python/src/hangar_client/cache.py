"""The local frame cache of ``Hangar(url, cache_dir=…)``: frames as Arrow IPC files on disk, keyed by
bucket, name and version, shared safely by every process of a node.

Layout: ``<cache_dir>/python-v1/<bucket>/<name>/`` holds ``entry.json`` (the version held, its commit
time, rows and the chunk files in row order) and the chunk files (``<uuid>.arrows``, Arrow IPC
streams: the frame as first fetched, then one chunk per incremental sync). Every file is written
under a temporary name and renamed into place, and ``entry.json`` last, so a reader sees either
the old entry or the new one, whole. A process that updates an entry holds its lock
(``fcntl.flock`` on ``.lock``); readers take no lock. ``max_bytes`` bounds the cache: after each
write the least recently used entries (by the time of their last read) are removed.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import pyarrow as pa

from .errors import InvalidArgument

try:  # POSIX; the cache's locks need it
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["CacheEntry", "FrameCache"]

_LAYOUT = "python-v1"
#: Hangar's names (docs/protocol.md, "Names"): they become directory names here.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$")
_ENTRY = "entry.json"
_LOCK = ".lock"
_USED = ".used"
#: Past this many chunk files an entry is rewritten as one (each sync adds one).
MAX_CHUNKS = 32


@dataclass(frozen=True)
class CacheChunk:
    """One chunk file of an entry."""

    file: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class CacheEntry:
    """A frame as the cache holds it: one version, whole."""

    bucket: str
    name: str
    version: int
    committed_at: str
    rows: int
    chunks: tuple[CacheChunk, ...]

    @property
    def bytes(self) -> int:
        """Bytes of its chunk files on disk."""
        return sum(chunk.bytes for chunk in self.chunks)


class StaleEntry(Exception):
    """A chunk file vanished between reading an entry and opening it (another process replaced it)."""


class FrameCache:
    """Frames on local disk for a :class:`~hangar_client.Hangar` client (see the module docs).

    :param directory: the cache directory; created when missing. Processes sharing it share entries.
    :param max_bytes: bound on the chunk files' total size; least recently read entries go first.
    """

    def __init__(self, directory: str | os.PathLike[str], max_bytes: Optional[int] = None) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            raise NotImplementedError("the frame cache locks entries with fcntl.flock, which this platform lacks (it needs Linux or macOS)")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._root = self.directory / _LAYOUT
        self._root.mkdir(parents=True, exist_ok=True)
        # Chunk files this process has mapped, per frame: a file's content never changes (each
        # write makes a new file), so a repeated read maps only chunks it has not seen yet.
        self._mapped: dict[tuple[str, str], dict[str, pa.Table]] = {}

    # -- entries -----------------------------------------------------------------------------
    def _dir(self, bucket: str, name: str) -> Path:
        for what, value in (("bucket", bucket), ("frame", name)):
            if not _NAME.match(value) or ".." in value:
                raise InvalidArgument(
                    f"{what} name {value!r} is not valid: 1-200 ASCII letters, digits, '_', '-' and '.', "
                    "starting with a letter, digit or '_', without '..'"
                )
        return self._root / bucket / name

    def entry(self, bucket: str, name: str) -> Optional[CacheEntry]:
        """The entry held for a frame, or None."""
        directory = self._dir(bucket, name)
        try:
            raw = json.loads((directory / _ENTRY).read_text("utf-8"))
            return CacheEntry(
                bucket=bucket,
                name=name,
                version=int(raw["version"]),
                committed_at=str(raw["committed_at"]),
                rows=int(raw["rows"]),
                chunks=tuple(CacheChunk(str(c["file"]), int(c["rows"]), int(c["bytes"])) for c in raw["chunks"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def entries(self) -> list[CacheEntry]:
        """Every entry the cache holds."""
        found = []
        for bucket_dir in sorted(p for p in self._root.iterdir() if p.is_dir()):
            for frame_dir in sorted(p for p in bucket_dir.iterdir() if p.is_dir()):
                try:
                    entry = self.entry(bucket_dir.name, frame_dir.name)
                except InvalidArgument:  # a stray directory is no entry
                    continue
                if entry is not None:
                    found.append(entry)
        return found

    def size_bytes(self) -> int:
        """Total bytes of the entries' chunk files."""
        return sum(entry.bytes for entry in self.entries())

    def load(self, entry: CacheEntry) -> pa.Table:
        """The entry's frame as one table (memory-mapped chunk files).
        :raises StaleEntry: a chunk was removed meanwhile by another process; read the entry again."""
        directory = self._dir(entry.bucket, entry.name)
        mapped = self._mapped.get((entry.bucket, entry.name), {})
        tables = []
        for chunk in entry.chunks:
            table = mapped.get(chunk.file)
            if table is None:
                try:
                    with pa.memory_map(str(directory / chunk.file)) as source:
                        table = pa.ipc.open_stream(source).read_all()
                except FileNotFoundError as missing:
                    raise StaleEntry(str(missing)) from missing
            tables.append(table)
        # Only the chunks of the entry read last stay mapped (a replaced file's space is then freed).
        self._mapped[(entry.bucket, entry.name)] = {chunk.file: table for chunk, table in zip(entry.chunks, tables)}
        _mark_used(directory)
        if len(tables) == 1:
            return tables[0]
        return pa.concat_tables(tables)

    @contextlib.contextmanager
    def lock(self, bucket: str, name: str) -> Iterator[None]:
        """Holds the entry's lock (other processes updating it wait)."""
        directory = self._dir(bucket, name)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / _LOCK, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _write_chunk(self, directory: Path, table: pa.Table) -> CacheChunk:
        final = f"{uuid.uuid4().hex}.arrows"
        temporary = directory / f".{final}.tmp"
        with pa.OSFile(str(temporary), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(temporary, directory / final)
        return CacheChunk(final, table.num_rows, (directory / final).stat().st_size)

    def store(
        self,
        bucket: str,
        name: str,
        table: pa.Table,
        *,
        version: int,
        committed_at: str,
        extends: Optional[CacheEntry] = None,
    ) -> CacheEntry:
        """Writes a frame's version: `table` whole, or (with `extends`) the rows appended to that entry.
        Call it holding :meth:`lock`. Chunk files no longer listed are removed."""
        directory = self._dir(bucket, name)
        directory.mkdir(parents=True, exist_ok=True)
        chunks = (extends.chunks if extends else ()) + (self._write_chunk(directory, table),)
        rows = (extends.rows if extends else 0) + table.num_rows
        if len(chunks) > MAX_CHUNKS:
            whole = self.load(CacheEntry(bucket, name, version, committed_at, rows, chunks))
            chunks = (self._write_chunk(directory, whole.combine_chunks() if whole.num_columns else whole),)
        entry = CacheEntry(bucket, name, version, committed_at, rows, chunks)
        body = {
            "version": version,
            "committed_at": committed_at,
            "rows": rows,
            "chunks": [{"file": c.file, "rows": c.rows, "bytes": c.bytes} for c in chunks],
        }
        temporary = directory / f".{_ENTRY}.{uuid.uuid4().hex}.tmp"
        temporary.write_text(json.dumps(body), "utf-8")
        os.replace(temporary, directory / _ENTRY)
        _mark_used(directory)
        keep = {c.file for c in chunks}
        for path in directory.glob("*.arrows"):
            if path.name not in keep:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        self.evict()
        return entry

    def drop(self, bucket: str, name: str) -> None:
        """Forgets a frame (e.g. deleted on the server)."""
        self._mapped.pop((bucket, name), None)
        directory = self._dir(bucket, name)
        if not directory.exists():
            return
        with self.lock(bucket, name):
            with contextlib.suppress(FileNotFoundError):
                (directory / _ENTRY).unlink()
            for path in directory.glob("*.arrows"):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def clear(self) -> None:
        """Removes every entry."""
        for bucket_dir in [p for p in self._root.iterdir() if p.is_dir()]:
            for frame_dir in [p for p in bucket_dir.iterdir() if p.is_dir()]:
                self.drop(bucket_dir.name, frame_dir.name)
            shutil.rmtree(bucket_dir, ignore_errors=True)

    # -- size bound --------------------------------------------------------------------------
    def evict(self) -> int:
        """Removes least recently read entries until the cache fits `max_bytes`; returns how many.
        Entries another process is updating right now are skipped."""
        if self.max_bytes is None:
            return 0
        entries = self.entries()
        total = sum(entry.bytes for entry in entries)
        if total <= self.max_bytes:
            return 0

        def last_used(entry: CacheEntry) -> float:
            try:
                return (self._dir(entry.bucket, entry.name) / _USED).stat().st_mtime
            except OSError:
                return 0.0

        removed = 0
        for entry in sorted(entries, key=last_used):
            if total <= self.max_bytes:
                break
            directory = self._dir(entry.bucket, entry.name)
            with open(directory / _LOCK, "a+b") as handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as busy:
                    if busy.errno in (errno.EAGAIN, errno.EACCES):
                        continue
                    raise
                try:
                    current = self.entry(entry.bucket, entry.name)
                    if current is None:
                        continue
                    self._mapped.pop((entry.bucket, entry.name), None)
                    with contextlib.suppress(FileNotFoundError):
                        (directory / _ENTRY).unlink()
                    for chunk in current.chunks:
                        with contextlib.suppress(FileNotFoundError):
                            (directory / chunk.file).unlink()
                    total -= current.bytes
                    removed += 1
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return removed


def _mark_used(directory: Path) -> None:
    """Records a read of the entry for LRU eviction: the `.used` file's mtime, set to the exact time
    (the kernel's own timestamps are as coarse as its clock tick, too coarse to order quick reads)."""
    path = directory / _USED
    with contextlib.suppress(OSError):
        path.touch()
        now = time.time_ns()
        os.utime(path, ns=(now, now))
