"""Time bounds: how the client sends them in tickets, and how the cache applies them locally with the
server's rules (docs/protocol.md, "Range reads"): half-open [start, end) on the frame's time column,
null times excluded, strings without an offset are UTC, dates count from their midnight."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Optional, Union

import pyarrow as pa
import pyarrow.compute as pc

from .errors import InvalidArgument

#: A time bound: ISO-8601 text, epoch seconds, a datetime/date, a pandas Timestamp or numpy datetime64.
TimeBound = Union[str, int, float, dt.datetime, dt.date, Any]

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?$"
)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_DAY_NS = 86_400 * 10**9


def ticket_time(bound: TimeBound) -> Union[str, int, float]:
    """A bound as a ticket carries it: ISO-8601 text or epoch seconds."""
    if isinstance(bound, bool):
        raise InvalidArgument(f"a time bound must be ISO-8601 text, epoch seconds or a datetime, got {bound!r}")
    if isinstance(bound, (int, float, str)):
        return bound
    iso = getattr(bound, "isoformat", None)  # datetime, date, pandas Timestamp (nanoseconds kept)
    if iso is not None and not hasattr(bound, "dtype"):
        if isinstance(bound, dt.datetime) and bound.tzinfo is not None:
            bound = bound.astimezone(dt.timezone.utc)
        text = str(iso())
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if hasattr(bound, "dtype") and str(getattr(bound, "dtype", "")).startswith("datetime64"):
        import numpy as np  # only present when numpy values are passed

        return str(np.datetime_as_string(bound, unit="ns"))
    raise InvalidArgument(f"a time bound must be ISO-8601 text, epoch seconds or a datetime, got {bound!r}")


def bound_ns(bound: TimeBound) -> int:
    """A bound as nanoseconds since the Unix epoch (UTC), exactly as the server parses it."""
    value = ticket_time(bound)
    if isinstance(value, (int, float)):
        return int((Decimal(repr(value)) * 10**9).to_integral_value(rounding=ROUND_FLOOR))
    match = _ISO.match(value)
    if not match:
        raise InvalidArgument(f"{value!r} is not an ISO-8601 date or date-time (e.g. 2024-05-01 or 2024-05-01T09:30:00.5Z)")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    days = dt.date(int(year), int(month), int(day)).toordinal() - _EPOCH_ORDINAL
    seconds = days * 86_400 + int(hour or 0) * 3600 + int(minute or 0) * 60 + int(second or 0)
    ns = seconds * 10**9 + int((fraction or "").ljust(9, "0") or 0)
    if offset and offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        ns -= sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60) * 10**9
    return ns


def time_column(schema: pa.Schema) -> Optional[str]:
    """The frame's time column by the server's rule: the pandas index if it is a timestamp or date,
    else the first timestamp column, else the first date column."""
    def is_time(t: pa.DataType) -> bool:
        return bool(pa.types.is_timestamp(t) or pa.types.is_date32(t) or pa.types.is_date64(t))

    pandas_meta = (schema.metadata or {}).get(b"pandas")
    if pandas_meta:
        try:
            index_columns = json.loads(pandas_meta).get("index_columns", [])
        except ValueError:
            index_columns = []
        for name in index_columns:
            if isinstance(name, str) and name in schema.names and is_time(schema.field(name).type):
                return name
    for field in schema:
        if pa.types.is_timestamp(field.type):
            return str(field.name)
    for field in schema:
        if pa.types.is_date32(field.type) or pa.types.is_date64(field.type):
            return str(field.name)
    return None


_INT64 = (-(2**63), 2**63 - 1)


def _ceil_div(a: int, b: int) -> int:
    """ceil(a / b), clamped to int64 (a bound past every value stays past it)."""
    return max(_INT64[0], min(_INT64[1], -((-a) // b)))


def filter_time_range(table: pa.Table, start: Optional[TimeBound], end: Optional[TimeBound], what: str) -> pa.Table:
    """Rows with start <= time < end on the frame's time column (nulls excluded).
    @raises InvalidArgument when the frame has no time column."""
    if start is None and end is None:
        return table
    column = time_column(table.schema)
    if column is None:
        raise InvalidArgument(f"{what} has no time column (a timestamp or date column), so start and end cannot be used; read it without them")
    values = table.column(column)
    kind = values.type
    if pa.types.is_timestamp(kind):
        unit_ns = _UNIT_NS[kind.unit]
        raw = values.cast(pa.int64())
    elif pa.types.is_date32(kind):
        unit_ns = _DAY_NS
        raw = values.cast(pa.int32()).cast(pa.int64())
    else:  # date64: milliseconds
        unit_ns = 10**6
        raw = values.cast(pa.int64())
    mask = None
    if start is not None:
        mask = pc.greater_equal(raw, pa.scalar(_ceil_div(bound_ns(start), unit_ns), pa.int64()))
    if end is not None:
        upper = pc.less(raw, pa.scalar(_ceil_div(bound_ns(end), unit_ns), pa.int64()))
        mask = upper if mask is None else pc.and_(mask, upper)
    return table.filter(mask)
