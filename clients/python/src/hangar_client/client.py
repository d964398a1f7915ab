"""``Hangar``: the Python client of a Hangar server (Arrow Flight with JSON tickets, descriptors and
actions; see docs/protocol.md), with an optional pull-on-demand local cache (see cache.py)."""
from __future__ import annotations

import builtins
import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, Sequence, TypeVar, Union

import pyarrow as pa
import pyarrow.flight as flight

from ._time import TimeBound, filter_time_range, ticket_time
from .cache import FrameCache, StaleEntry
from .errors import CacheMiss, FrameNotFound, HangarError, InvalidArgument, NotAppendOnly, Unavailable, translate_error

if TYPE_CHECKING:  # optional extras
    import pandas
    import polars

__all__ = ["Hangar", "PutResult", "FrameStat", "ColumnInfo", "FrameVersion", "FrameListing", "CallStats", "default_server"]

T = TypeVar("T")

#: Data ``put`` accepts: a pyarrow Table or RecordBatch, a pandas or Polars DataFrame, or record batches.
FrameData = Union[pa.Table, pa.RecordBatch, "pandas.DataFrame", "polars.DataFrame", Iterable[pa.RecordBatch]]

#: Record batches are sent in slices of about this many bytes.
SEND_BATCH_BYTES = 4 * 1024 * 1024


def default_server() -> str:
    """The server used when none is given: ``$HANGAR_SERVER``, else ``grpc://127.0.0.1:8815``."""
    return os.environ.get("HANGAR_SERVER") or "grpc://127.0.0.1:8815"


@dataclass(frozen=True)
class PutResult:
    """What a put committed."""

    name: str
    bucket: str
    #: Rows this put sent.
    rows_written: int
    #: Rows of the frame after it.
    rows: int
    #: The version it made.
    version: int
    #: Mode ``update``: stored rows replaced, and stored segments rewritten (None for other modes).
    rows_removed: Optional[int] = None
    segments_rewritten: Optional[int] = None


@dataclass(frozen=True)
class RangeRewrite:
    """What :meth:`Hangar.delete_range` changed."""

    name: str
    bucket: str
    #: The new version (the unchanged current one when no row was in the range).
    version: int
    #: Rows of the frame afterwards.
    rows: int
    rows_removed: int
    #: Stored segments rewritten (only those overlapping the range).
    segments_rewritten: int


@dataclass(frozen=True)
class Snapshot:
    """A named snapshot of a bucket's frames (see :meth:`Hangar.snapshot`)."""

    name: str
    bucket: str
    #: ISO-8601 time it was taken.
    created_at: str
    #: Frame name → the version the snapshot holds.
    frames: dict[str, int]


@dataclass(frozen=True)
class ColumnInfo:
    """One column as ``stat`` describes it."""

    name: str
    #: Arrow type as text, e.g. ``Int64``.
    type: str
    nullable: bool


@dataclass(frozen=True)
class FrameStat:
    """A frame's description at one version."""

    name: str
    bucket: str
    version: int
    #: ISO-8601 commit time of that version.
    committed_at: str
    rows: int
    #: Arrow (in-memory) size.
    bytes: int
    #: The frame's user metadata (``{}`` if none).
    metadata: dict[str, Any]
    schema: list[ColumnInfo]


@dataclass(frozen=True)
class FrameVersion:
    """One kept version of a frame."""

    version: int
    committed_at: str
    #: put, append, replace, delete, restore or compact (None if not recorded).
    operation: Optional[str]
    rows: int
    bytes: int
    segments: int
    deleted: bool
    #: For a restore: the version it brought back.
    restored_from: Optional[int] = None


@dataclass(frozen=True)
class FrameListing:
    """One frame as ``list`` returns it."""

    name: str
    bucket: str
    schema: pa.Schema
    rows: int
    bytes: int


@dataclass
class CallStats:
    """What this client asked the server: calls by kind, and the data it received."""

    #: Calls by kind: ``DoGet``, ``DoPut``, ``ListFlights`` and ``action:<type>``.
    calls: Counter[str] = field(default_factory=Counter)
    #: Record batches received by DoGet (Arrow buffer bytes, about what crossed the wire).
    bytes_received: int = 0
    #: Rows received by DoGet.
    rows_received: int = 0

    def reset(self) -> None:
        """Starts counting from zero."""
        self.calls.clear()
        self.bytes_received = 0
        self.rows_received = 0


def _snapshot(raw: dict[str, Any]) -> Snapshot:
    return Snapshot(raw["name"], raw["bucket"], raw["created_at"], dict(raw["frames"]))


def _progress_bar(enabled: bool, what: str, unit: str, total: Optional[int] = None) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError as missing:
        raise ImportError("progress bars need tqdm: pip install 'hangar-client[tqdm]'") from missing
    return tqdm(total=total, desc=what, unit=unit, unit_scale=True, leave=False)


def _to_arrow(data: FrameData) -> tuple[pa.Schema, Iterable[pa.RecordBatch], bool]:
    """(schema, batches, whether the batches can be sent again) for whatever ``put`` was given."""
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        data = pa.Table.from_pandas(data)
    elif module == "polars":
        data = data.to_arrow()  # type: ignore[union-attr]
    if isinstance(data, pa.Table):
        row_bytes = max(1, data.nbytes // max(1, data.num_rows))
        rows = max(1024, SEND_BATCH_BYTES // row_bytes)
        table = data
        return table.schema, _ReiterableBatches(table, rows), True
    iterator = iter(data)
    first = next(iterator, None)
    if first is None:
        raise InvalidArgument("put was given no record batches, so no schema: pass a pyarrow Table for an empty frame")
    if not isinstance(first, pa.RecordBatch):
        raise InvalidArgument(f"put takes a pyarrow Table or RecordBatch, a pandas or Polars DataFrame, or record batches; got {type(first).__name__}")

    def chained() -> Iterator[pa.RecordBatch]:
        yield first
        yield from iterator

    return first.schema, chained(), False


class _ReiterableBatches:
    def __init__(self, table: pa.Table, rows: int) -> None:
        self.table = table
        self.rows = rows

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return iter(self.table.to_batches(max_chunksize=self.rows))


def _select(table: pa.Table, columns: Optional[Sequence[str]], start: Any, end: Any, limit: Optional[int], what: str) -> pa.Table:
    """A read's selection applied to a cached frame, as the server would apply it."""
    table = filter_time_range(table, start, end, what)
    if limit is not None:
        table = table.slice(0, limit)
    if columns is not None:
        unknown = [c for c in columns if c not in table.schema.names]
        if unknown:
            raise InvalidArgument(f"unknown column(s) {', '.join(repr(c) for c in unknown)} in {what}; columns are: {', '.join(table.schema.names)}")
        table = table.select(list(dict.fromkeys(columns)))
    return table


class Hangar:
    """A connection to a Hangar server. Use it as a context manager, or call :meth:`close`.

    :param url: ``grpc://HOST:PORT`` or ``grpc+tls://HOST:PORT`` (default :func:`default_server`).
    :param token: a bearer token (JWT) for secured servers.
    :param username: log in with a password (Basic → Bearer through the Flight Handshake).
    :param password: the password of ``username``.
    :param tls_root_certs: PEM bytes or text of the CA that signed the server's certificate.
    :param cert_chain: PEM client certificate (mutual TLS); with ``private_key``.
    :param private_key: PEM key of ``cert_chain``.
    :param override_hostname: the TLS server name to check instead of the URL's host.
    :param timeout: seconds each call may take (None: no limit).
    :param retries: how often a call failing with ``UNAVAILABLE`` is tried again, with exponential
        backoff from ``backoff`` seconds (jittered). Appends without ``expected_version`` and puts of
        streamed batches are not retried: they may have been committed, or cannot be sent again.
    :param backoff: the first retry's delay in seconds.
    :param cache_dir: keep frames read in this directory and pull only what changed
        (docs/client-and-cli.md, "Caching"); None: no cache.
    :param cache_max_bytes: bound on the cache's size (least recently read frames go first).
    :param offline: never ask the server; serve reads from the cache (needs ``cache_dir``) and raise
        :class:`CacheMiss` for what it does not hold.
    :param progress: show tqdm progress bars for transfers (needs the ``tqdm`` extra).
    """

    def __init__(
        self,
        url: Optional[str] = None,
        *,
        token: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        tls_root_certs: Union[str, bytes, None] = None,
        cert_chain: Union[str, bytes, None] = None,
        private_key: Union[str, bytes, None] = None,
        override_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
        retries: int = 3,
        backoff: float = 0.1,
        cache_dir: Union[str, "os.PathLike[str]", None] = None,
        cache_max_bytes: Optional[int] = None,
        offline: bool = False,
        progress: bool = False,
    ) -> None:
        if offline and cache_dir is None:
            raise ValueError("offline=True serves reads from the cache: give cache_dir too")
        if (username is None) != (password is None):
            raise ValueError("give username and password together")
        self.url = url or default_server()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.offline = offline
        self.progress = progress
        #: The local cache (None without ``cache_dir``): ``clear()``, ``entries()``, ``size_bytes()``.
        self.cache: Optional[FrameCache] = FrameCache(cache_dir, cache_max_bytes) if cache_dir is not None else None
        #: Calls made and data received, for monitoring (and to see what the cache saved).
        self.stats = CallStats()
        self._token = token
        self._login = (username, password) if username is not None else None
        self._tls = {
            key: value.encode() if isinstance(value, str) else value
            for key, value in (("tls_root_certs", tls_root_certs), ("cert_chain", cert_chain), ("private_key", private_key))
            if value is not None
        }
        self._override_hostname = override_hostname
        self._client: Optional[flight.FlightClient] = None
        self._headers: list[tuple[bytes, bytes]] = []

    # -- connection --------------------------------------------------------------------------
    def _flight(self) -> flight.FlightClient:
        if self.offline:
            raise CacheMiss("offline mode: this call needs the server; create the client without offline=True")
        if self._client is None:
            kwargs: dict[str, Any] = dict(self._tls)
            # Each client its own subchannels: gRPC otherwise shares them process-wide, with their
            # reconnect backoff, so a retry after UNAVAILABLE would wait out another channel's backoff.
            kwargs["generic_options"] = [("grpc.use_local_subchannel_pool", 1), ("grpc.initial_reconnect_backoff_ms", 100)]
            if self._override_hostname is not None:
                kwargs["override_hostname"] = self._override_hostname
            client = flight.FlightClient(self.url, **kwargs)
            headers: list[tuple[bytes, bytes]] = []
            if self._token is not None:
                headers.append((b"authorization", b"Bearer " + self._token.encode()))
            if self._login is not None:
                user, password = self._login
                try:
                    key, value = client.authenticate_basic_token(user, password, flight.FlightCallOptions(timeout=self.timeout))
                except Exception as error:  # noqa: BLE001 - translated
                    client.close()
                    raise translate_error(error) from error
                headers.append((key, value))
            self._client, self._headers = client, headers
        return self._client

    def _options(self) -> flight.FlightCallOptions:
        return flight.FlightCallOptions(headers=self._headers, timeout=self.timeout)

    def _call(self, kind: str, run: Callable[[], T], retry: bool = True) -> T:
        """Runs one call, translating errors and retrying UNAVAILABLE with backoff."""
        attempt = 0
        if self.offline:
            raise CacheMiss(f"offline mode: {kind} needs the server; create the client without offline=True")
        while True:
            self.stats.calls[kind] += 1
            try:
                return run()
            except Exception as raw:  # noqa: BLE001 - translated below
                error = translate_error(raw)
                if isinstance(error, Unavailable) and retry and attempt < self.retries:
                    # A fresh channel connects at once; gRPC's own channel would wait out its reconnect backoff.
                    self.close()
                    time.sleep(self.backoff * (2**attempt) * (0.5 + random.random()))
                    attempt += 1
                    continue
                if error is raw:
                    raise
                raise error from raw

    def close(self) -> None:
        """Closes the connection."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> "Hangar":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- actions -----------------------------------------------------------------------------
    def _action(self, action: str, body: dict[str, Any]) -> bytes:
        payload = json.dumps(body).encode()

        def run() -> bytes:
            results = list(self._flight().do_action(flight.Action(action, payload), self._options()))
            return results[0].body.to_pybytes() if results else b""

        return self._call(f"action:{action}", run)

    def _action_json(self, action: str, body: dict[str, Any]) -> Any:
        raw = self._action(action, body)
        try:
            return json.loads(raw)
        except ValueError as bad:
            raise HangarError(f"unexpected {action} result from the server: {raw[:200]!r}", code="INTERNAL") from bad

    # -- writes ------------------------------------------------------------------------------
    def put(
        self,
        name: str,
        data: FrameData,
        *,
        mode: str = "error",
        bucket: Optional[str] = None,
        metadata: Optional[dict[str, Any]] = None,
        expected_version: Optional[int] = None,
        allow_unordered: bool = False,
        range: Optional[tuple[TimeBound, TimeBound]] = None,
        schema: Optional[str] = None,
        progress: Optional[bool] = None,
    ) -> PutResult:
        """Stores a frame. It changes atomically when the upload completes; on failure nothing is stored.

        :param mode: ``error`` (default: fail if it exists), ``append`` (add rows; same columns),
            ``replace``, or ``update`` (replace the stored rows of the data's time range; see :meth:`update`).
        :param metadata: a JSON object replacing the frame's metadata (without it the frame keeps its own).
        :param expected_version: commit only if the frame is still at this version (0: must not exist).
        :param allow_unordered: let an append start before the frame's last time (refused by default).
        :param range: mode ``update``: the time range ``(start, end)`` replaced (end exclusive).
        :param schema: mode ``append``: ``"evolve"`` lets the data add or omit columns (missing values read as null).
        :raises FrameExists: mode ``error`` and the frame exists.
        :raises SchemaMismatch: an append whose columns differ from the frame's (or, evolving, whose types do).
        :raises Conflict: ``expected_version`` no longer matches.
        :raises FailedPrecondition: an append going back in time without ``allow_unordered``.
        """
        command: dict[str, Any] = {"name": name, "mode": mode, "bucket": bucket}
        if metadata is not None:
            command["metadata"] = metadata
        if expected_version is not None:
            command["expected_version"] = expected_version
        if allow_unordered:
            command["allow_unordered"] = True
        if range is not None:
            command["range"] = [ticket_time(range[0]), ticket_time(range[1])]
        if schema is not None:
            command["schema"] = schema
        descriptor = flight.FlightDescriptor.for_command(json.dumps(command).encode())
        schema, batches, resendable = _to_arrow(data)
        show = self.progress if progress is None else progress

        def run() -> dict[str, Any]:
            writer, reader = self._flight().do_put(descriptor, schema, self._options())
            bar = _progress_bar(show, f"put {name}", "row")
            try:
                for batch in batches:
                    writer.write_batch(batch)
                    if bar is not None:
                        bar.update(batch.num_rows)
                writer.done_writing()
                result = reader.read()
            finally:
                if bar is not None:
                    bar.close()
                writer.close()
            if result is None:
                raise HangarError("the server answered the put without a result", code="INTERNAL")
            summary: dict[str, Any] = json.loads(result.to_pybytes())
            return summary

        retry = resendable and (mode != "append" or expected_version is not None)
        raw = self._call("DoPut", run, retry=retry)
        return PutResult(raw["name"], raw["bucket"], raw["rowsWritten"], raw["rows"], raw["version"], raw.get("rowsRemoved"), raw.get("segmentsRewritten"))

    def update(self, name: str, data: FrameData, *, range: Optional[tuple[TimeBound, TimeBound]] = None, **options: Any) -> PutResult:
        """Replaces the stored rows whose time lies in the data's time range (first to last time, or
        ``range=(start, end)``, end exclusive) with the data's rows; only overlapping segments are
        rewritten. The data needs the frame's columns and its time column, sorted."""
        return self.put(name, data, mode="update", range=range, **options)

    def delete_range(self, name: str, start: TimeBound, end: TimeBound, *, bucket: Optional[str] = None) -> RangeRewrite:
        """Removes the rows whose time lies in [start, end) as a new version (only overlapping segments
        are rewritten). :raises FrameNotFound: :raises InvalidArgument: without a time column."""
        raw = self._action_json("delete_range", {"name": name, "bucket": bucket, "start": ticket_time(start), "end": ticket_time(end)})
        return RangeRewrite(raw["name"], raw["bucket"], raw["version"], raw["rows"], raw["rows_removed"], raw["segments_rewritten"])

    def set_metadata(self, name: str, metadata: dict[str, Any], *, bucket: Optional[str] = None, expected_version: Optional[int] = None) -> int:
        """Replaces a frame's metadata as a new version without sending its rows (``{}`` clears it);
        returns the new version. :raises FrameNotFound: :raises Conflict:"""
        body: dict[str, Any] = {"name": name, "bucket": bucket, "metadata": metadata}
        if expected_version is not None:
            body["expected_version"] = expected_version
        return int(self._action_json("set_metadata", body)["version"])

    def save(self, name: str, data: FrameData, *, mode: str = "replace", **options: Any) -> PutResult:
        """pullframe's verb: :meth:`put` with mode ``replace`` by default (``mode="append"`` to add rows)."""
        return self.put(name, data, mode=mode, **options)

    # -- reads -------------------------------------------------------------------------------
    def _read(self, ticket: dict[str, Any], what: str, progress: Optional[bool] = None) -> pa.Table:
        payload = flight.Ticket(json.dumps(ticket).encode())
        show = self.progress if progress is None else progress

        def run() -> pa.Table:
            reader = self._flight().do_get(payload, self._options())
            bar = _progress_bar(show, what, "row")
            batches = []
            try:
                while True:
                    try:
                        chunk = reader.read_chunk()
                    except StopIteration:
                        break
                    batch = chunk.data
                    if batch is None:
                        continue
                    batches.append(batch)
                    self.stats.rows_received += batch.num_rows
                    self.stats.bytes_received += batch.nbytes
                    if bar is not None:
                        bar.update(batch.num_rows)
            finally:
                if bar is not None:
                    bar.close()
            return pa.Table.from_batches(batches, schema=reader.schema)

        return self._call("DoGet", run)

    def get(
        self,
        name: str,
        *,
        bucket: Optional[str] = None,
        columns: Optional[Sequence[str]] = None,
        start: Optional[TimeBound] = None,
        end: Optional[TimeBound] = None,
        limit: Optional[int] = None,
        version: Optional[int] = None,
        as_of: Optional[TimeBound] = None,
        snapshot: Optional[str] = None,
        tail: Optional[int] = None,
        progress: Optional[bool] = None,
    ) -> pa.Table:
        """Reads a frame as a pyarrow Table.

        :param columns: only these columns, in this order.
        :param start: only rows whose time column is at or after this (ISO-8601, epoch seconds, datetime).
        :param end: only rows whose time column is before this.
        :param limit: at most this many rows (after the time filter).
        :param version: read this version (see :meth:`versions`).
        :param as_of: read the version current at this instant.
        :param snapshot: read the version this snapshot of the bucket holds (see :meth:`snapshot`).
        :param tail: only the last this many rows (the server reads only the segments holding them);
            not with ``start``, ``end`` or ``limit``.
        :raises FrameNotFound: the frame (or that version) does not exist.
        :raises InvalidArgument: an unknown column, a bad bound, a range on a frame without a time column.

        With a cache, the frame is synced first (one ``stat`` call; then only appended rows are
        fetched) and the selection is applied locally. ``as_of``, ``snapshot`` and ``tail`` reads go to the server.
        """
        if self.cache is not None and as_of is None and snapshot is None and tail is None:
            where = f"frame {name!r} in bucket {bucket or 'default'!r}"
            table = self._synced(name, bucket or "default", version, progress)
            return _select(table, columns, start, end, limit, where)
        ticket = self._frame_ticket(name, bucket, columns, start, end, limit, version, as_of, snapshot, tail)
        return self._read(ticket, f"get {name}", progress)

    def tail(self, name: str, rows: int, **options: Any) -> pa.Table:
        """The frame's last ``rows`` rows (:meth:`get` with ``tail``; ``columns``, ``version`` etc. apply)."""
        return self.get(name, tail=rows, **options)

    @staticmethod
    def _frame_ticket(
        name: str,
        bucket: Optional[str],
        columns: Optional[Sequence[str]] = None,
        start: Optional[TimeBound] = None,
        end: Optional[TimeBound] = None,
        limit: Optional[int] = None,
        version: Optional[int] = None,
        as_of: Optional[TimeBound] = None,
        snapshot: Optional[str] = None,
        tail: Optional[int] = None,
    ) -> dict[str, Any]:
        ticket: dict[str, Any] = {"name": name, "bucket": bucket}
        if columns is not None:
            ticket["columns"] = list(columns)
        if start is not None:
            ticket["start"] = ticket_time(start)
        if end is not None:
            ticket["end"] = ticket_time(end)
        if limit is not None:
            ticket["limit"] = limit
        if version is not None:
            ticket["version"] = version
        if as_of is not None:
            ticket["as_of"] = ticket_time(as_of)
        if snapshot is not None:
            ticket["snapshot"] = snapshot
        if tail is not None:
            ticket["tail"] = tail
        return ticket

    def load(self, name: str, start: Optional[TimeBound] = None, end: Optional[TimeBound] = None, **options: Any) -> pa.Table:
        """pullframe's verb: :meth:`get` of the rows in [start, end)."""
        return self.get(name, start=start, end=end, **options)

    def get_pandas(self, name: str, **options: Any) -> "pandas.DataFrame":
        """:meth:`get` as a pandas DataFrame (needs the ``pandas`` extra)."""
        return self.get(name, **options).to_pandas()

    def get_polars(self, name: str, **options: Any) -> "polars.DataFrame":
        """:meth:`get` as a Polars DataFrame (needs the ``polars`` extra)."""
        import polars

        result = polars.from_arrow(self.get(name, **options))
        assert isinstance(result, polars.DataFrame)
        return result

    def get_batches(
        self,
        name: str,
        *,
        bucket: Optional[str] = None,
        columns: Optional[Sequence[str]] = None,
        start: Optional[TimeBound] = None,
        end: Optional[TimeBound] = None,
        limit: Optional[int] = None,
        version: Optional[int] = None,
        as_of: Optional[TimeBound] = None,
        snapshot: Optional[str] = None,
        tail: Optional[int] = None,
    ) -> Iterator[pa.RecordBatch]:
        """Streams a frame's record batches from the server with bounded memory (never cached);
        the options are :meth:`get`'s. Not retried: a stream cannot be restarted where it broke."""
        ticket = json.dumps(self._frame_ticket(name, bucket, columns, start, end, limit, version, as_of, snapshot, tail)).encode()
        self.stats.calls["DoGet"] += 1
        try:
            reader = self._flight().do_get(flight.Ticket(ticket), self._options())
            for chunk in reader:
                if chunk.data is not None:
                    self.stats.rows_received += chunk.data.num_rows
                    self.stats.bytes_received += chunk.data.nbytes
                    yield chunk.data
        except Exception as raw:  # noqa: BLE001 - translated
            error = translate_error(raw)
            if error is raw:
                raise
            raise error from raw

    def sql(
        self,
        query: str,
        *,
        bucket: Optional[str] = None,
        as_of: Optional[TimeBound] = None,
        snapshot: Optional[str] = None,
        progress: Optional[bool] = None,
    ) -> pa.Table:
        """Runs a read-only SQL query (DuckDB dialect) on the server. Frames of ``bucket`` are tables by
        their name; other buckets' frames are ``bucket.frame``.

        :raises QueryError: bad SQL, unknown table or column.
        :raises PermissionDenied: anything but a query, or file access.
        :raises DeadlineExceeded: the query outran the server's SQL timeout.

        ``as_of`` reads every frame as it was at that instant; ``snapshot`` every frame of ``bucket``
        as that snapshot holds it (frames of other buckets cannot be named then).
        """
        ticket: dict[str, Any] = {"sql": query, "bucket": bucket}
        if as_of is not None:
            ticket["as_of"] = ticket_time(as_of)
        if snapshot is not None:
            ticket["snapshot"] = snapshot
        return self._read(ticket, "sql", progress)

    def sql_pandas(self, query: str, **options: Any) -> "pandas.DataFrame":
        """:meth:`sql` as a pandas DataFrame."""
        return self.sql(query, **options).to_pandas()

    # -- the cache ---------------------------------------------------------------------------
    def _synced(self, name: str, bucket: str, version: Optional[int], progress: Optional[bool]) -> pa.Table:
        """The frame at `version` (None: the current one) from the cache, after pulling what changed."""
        cache = self.cache
        assert cache is not None
        what = f"frame {name!r} in bucket {bucket!r}"
        for _ in range(5):  # another process may replace an entry while it is being read
            entry = cache.entry(bucket, name)
            try:
                if self.offline:
                    if entry is None:
                        raise CacheMiss(f"offline mode: the cache at {cache.directory} does not hold {what}")
                    if version is not None and entry.version != version:
                        raise CacheMiss(f"offline mode: the cache holds version {entry.version} of {what}, not version {version}")
                    return cache.load(entry)
                try:
                    stat = self.stat(name, bucket=bucket, version=version)
                except FrameNotFound:
                    if version is None:
                        cache.drop(bucket, name)
                    raise
                if entry is not None and (entry.version, entry.committed_at) == (stat.version, stat.committed_at):
                    return cache.load(entry)
                if entry is not None and version is not None and entry.version > version:
                    # An older version than the one held: read it, but keep the newer entry.
                    return self._read(self._frame_ticket(name, bucket, version=version), f"get {name}", progress)
                with cache.lock(bucket, name):
                    entry = cache.entry(bucket, name)  # another process may have synced meanwhile
                    if entry is not None and (entry.version, entry.committed_at) == (stat.version, stat.committed_at):
                        return cache.load(entry)
                    if entry is not None and entry.version < stat.version:
                        try:
                            appended = self._read(
                                {
                                    "name": name,
                                    "bucket": bucket,
                                    "version": stat.version,
                                    "since_version": entry.version,
                                    "since_committed_at": entry.committed_at,
                                },
                                f"sync {name}",
                                progress,
                            )
                        except NotAppendOnly:
                            appended = None
                        if appended is not None and entry.rows + appended.num_rows == stat.rows:
                            stored = cache.store(bucket, name, appended, version=stat.version, committed_at=stat.committed_at, extends=entry)
                            return cache.load(stored)
                    whole = self._read(self._frame_ticket(name, bucket, version=stat.version), f"get {name}", progress)
                    cache.store(bucket, name, whole, version=stat.version, committed_at=stat.committed_at)
                    return whole
            except StaleEntry:
                continue
        raise HangarError(f"the cache entry of {what} kept changing while being read; try again", code="UNAVAILABLE")

    # -- description and history -------------------------------------------------------------
    def list(self, *, bucket: Optional[str] = None, regex: Optional[str] = None, metadata: Optional[dict[str, Any]] = None) -> list[FrameListing]:
        """The frames of a bucket, optionally only names matching ``regex`` and metadata with these values."""
        criteria: dict[str, Any] = {"bucket": bucket}
        if regex is not None:
            criteria["regex"] = regex
        if metadata is not None:
            criteria["metadata"] = metadata
        expression = json.dumps(criteria).encode()

        def run() -> list[FrameListing]:
            listing = []
            for info in self._flight().list_flights(expression, self._options()):
                path = [part.decode() if isinstance(part, bytes) else part for part in info.descriptor.path]
                listing.append(FrameListing(path[0], path[1] if len(path) > 1 else (bucket or "default"), info.schema, info.total_records, info.total_bytes))
            return listing

        return self._call("ListFlights", run)

    def stat(
        self,
        name: str,
        *,
        bucket: Optional[str] = None,
        version: Optional[int] = None,
        as_of: Optional[TimeBound] = None,
        snapshot: Optional[str] = None,
    ) -> FrameStat:
        """Describes a frame, now, at a past version or as a snapshot holds it. :raises FrameNotFound:"""
        body: dict[str, Any] = {"name": name, "bucket": bucket}
        if version is not None:
            body["version"] = version
        if as_of is not None:
            body["as_of"] = ticket_time(as_of)
        if snapshot is not None:
            body["snapshot"] = snapshot
        raw = self._action_json("stat", body)
        return FrameStat(
            name=raw["name"],
            bucket=raw["bucket"],
            version=raw["version"],
            committed_at=raw["committed_at"],
            rows=raw["rows"],
            bytes=raw["bytes"],
            metadata=raw.get("metadata") or {},
            schema=[ColumnInfo(c["name"], c["type"], c["nullable"]) for c in raw.get("schema", [])],
        )

    def versions(self, name: str, *, bucket: Optional[str] = None) -> builtins.list[FrameVersion]:
        """A frame's kept versions, oldest first. :raises FrameNotFound:"""
        raw = self._action_json("versions", {"name": name, "bucket": bucket})
        return [
            FrameVersion(
                version=v["version"],
                committed_at=v["committed_at"],
                operation=v.get("operation"),
                rows=v["rows"],
                bytes=v["bytes"],
                segments=v["segments"],
                deleted=v["deleted"],
                restored_from=v.get("restored_from"),
            )
            for v in raw
        ]

    def restore(self, name: str, version: int, *, bucket: Optional[str] = None) -> int:
        """Makes an old version current again (as a new version); returns the new version number."""
        return int(self._action_json("restore", {"name": name, "bucket": bucket, "version": version})["version"])

    def delete(self, name: str, *, bucket: Optional[str] = None) -> None:
        """Deletes a frame (a new version; history stays until vacuum). :raises FrameNotFound:"""
        self._action("delete", {"name": name, "bucket": bucket})
        if self.cache is not None:
            self.cache.drop(bucket or "default", name)

    def snapshot(self, name: str, *, bucket: Optional[str] = None, frames: Optional[Sequence[str]] = None) -> Snapshot:
        """Takes a snapshot of the bucket: the current version of every frame (or of ``frames``),
        readable later with ``snapshot=name`` in :meth:`get`, :meth:`stat` and :meth:`sql`, and kept
        from vacuum until deleted, also after the frames are deleted.
        :raises FrameExists: the name is taken. :raises FrameNotFound: a missing bucket or frame."""
        body: dict[str, Any] = {"name": name, "bucket": bucket}
        if frames is not None:
            body["frames"] = list(frames)
        return _snapshot(self._action_json("snapshot", body))

    def snapshots(self, *, bucket: Optional[str] = None) -> builtins.list[Snapshot]:
        """The bucket's snapshots, by name."""
        return [_snapshot(raw) for raw in self._action_json("snapshots", {"bucket": bucket})]

    def delete_snapshot(self, name: str, *, bucket: Optional[str] = None) -> None:
        """Deletes a snapshot (the versions it held fall under retention again). :raises FrameNotFound:"""
        self._action("delete_snapshot", {"name": name, "bucket": bucket})

    def compact(self, name: str, *, bucket: Optional[str] = None) -> dict[str, Any]:
        """Merges small appended segments (a new version, same rows): ``{version, compacted, segments_before, segments_after, …}``."""
        result: dict[str, Any] = self._action_json("compact", {"name": name, "bucket": bucket})
        return result

    def vacuum(self, *, bucket: Optional[str] = None, name: Optional[str] = None, dry_run: bool = False) -> dict[str, Any]:
        """Removes versions past the server's retention (admin scope): ``{frames, versions_removed, segments_removed, bytes_freed}``."""
        result: dict[str, Any] = self._action_json("vacuum", {"bucket": bucket, "name": name, "dry_run": dry_run})
        return result

    def purge(self, name: str, *, bucket: Optional[str] = None) -> dict[str, Any]:
        """Removes a frame with every kept version at once, writing nothing (admin scope; cannot be undone)."""
        result: dict[str, Any] = self._action_json("purge", {"name": name, "bucket": bucket})
        if self.cache is not None:
            self.cache.drop(bucket or "default", name)
        return result

    # -- buckets and the server --------------------------------------------------------------
    def buckets(self) -> builtins.list[str]:
        """The bucket names."""
        result: builtins.list[str] = self._action_json("buckets", {})
        return result

    def delete_bucket(self, name: str, *, mode: str = "error") -> None:
        """Deletes a bucket. ``mode="delete"`` deletes its frames too.
        :raises BucketNotEmpty: mode ``error`` and the bucket holds frames."""
        self._action("delete_bucket", {"name": name, "mode": mode})
        if self.cache is not None:
            for entry in self.cache.entries():
                if entry.bucket == name:
                    self.cache.drop(entry.bucket, entry.name)

    def resample(
        self,
        source: str,
        target: str,
        *,
        rule: Optional[str] = None,
        time_col: Optional[str] = None,
        aggregation_func: Optional[str] = None,
        sql: Optional[str] = None,
        mode: str = "error",
        source_bucket: Optional[str] = None,
        target_bucket: Optional[str] = None,
    ) -> dict[str, Any]:
        """Writes a derived frame on the server (docs/resample.md): by ``rule``/``time_col``/``aggregation_func``
        (pandas-style bins) or by ``sql``. Returns ``{source_rows, target_rows}``."""
        body: dict[str, Any] = {"source": source, "target": target, "mode": mode, "source_bucket": source_bucket, "target_bucket": target_bucket}
        if sql is not None:
            body["sql"] = sql
        else:
            body.update(rule=rule, time_col=time_col, aggregation_func=aggregation_func)
        result: dict[str, Any] = self._action_json("resample", body)
        return result

    def ping(self) -> str:
        """Checks the server answers; returns ``pong``."""
        return self._action("ping", {}).decode()

    def shutdown(self) -> None:
        """Asks the server to shut down gracefully."""
        self._action("shutdown", {})
