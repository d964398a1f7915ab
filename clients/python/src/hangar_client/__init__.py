"""hangar-client: the Python client of Hangar, the Arrow Flight dataframe store.

>>> from hangar_client import Hangar
>>> with Hangar("grpc://127.0.0.1:8815") as h:                    # doctest: +SKIP
...     h.put("prices", df, mode="append", bucket="market")
...     day = h.get("prices", bucket="market", start="2024-05-01", end="2024-05-02")

See docs/python.md.
"""
from .cache import CacheEntry, FrameCache
from .client import CallStats, ColumnInfo, FrameListing, FrameStat, FrameVersion, Hangar, PutResult, RangeRewrite, Snapshot, default_server
from .errors import (
    BucketNotEmpty,
    CacheMiss,
    Cancelled,
    Conflict,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    FrameExists,
    FrameNotFound,
    HangarError,
    InvalidArgument,
    NotAppendOnly,
    PermissionDenied,
    QueryError,
    ResourceExhausted,
    SchemaMismatch,
    StorageError,
    StoreFull,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)

__version__ = "0.1.0"

__all__ = [
    "Hangar",
    "PutResult",
    "RangeRewrite",
    "Snapshot",
    "FrameStat",
    "ColumnInfo",
    "FrameVersion",
    "FrameListing",
    "CallStats",
    "FrameCache",
    "CacheEntry",
    "default_server",
    "HangarError",
    "FrameNotFound",
    "FrameExists",
    "InvalidArgument",
    "SchemaMismatch",
    "QueryError",
    "FailedPrecondition",
    "BucketNotEmpty",
    "Conflict",
    "NotAppendOnly",
    "Unauthenticated",
    "PermissionDenied",
    "ResourceExhausted",
    "StoreFull",
    "Unimplemented",
    "Cancelled",
    "DeadlineExceeded",
    "DataLoss",
    "StorageError",
    "Unavailable",
    "CacheMiss",
]
