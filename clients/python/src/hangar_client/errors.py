"""Hangar's errors as Python exceptions, and the translation of pyarrow.flight failures into them.

Every exception keeps the server's message, its error ``code`` (the gRPC status name, e.g.
``NOT_FOUND``) and its detail ``type`` (e.g. ``FileNotFoundError``). Where shoots' client raised a
builtin, Hangar's exception subclasses it: ``FrameNotFound`` is a ``FileNotFoundError`` and
``FrameExists`` a ``FileExistsError``, so ``except FileNotFoundError`` keeps working.
"""
from __future__ import annotations

import json
import re
from typing import Any, Optional

import pyarrow as pa
import pyarrow.flight as flight

__all__ = [
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
    "translate_error",
]


class HangarError(Exception):
    """Base class of every error this client raises for a failed call."""

    #: The gRPC status name the server answered (``NOT_FOUND``, ``INVALID_ARGUMENT``, …).
    code: str = "UNKNOWN"

    def __init__(self, message: str, *, code: Optional[str] = None, type: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        #: The server's detail type (shoots-compatible where one exists), e.g. ``ConflictError``.
        self.type = type or self.__class__.__name__

    def __str__(self) -> str:
        return self.message


class FrameNotFound(HangarError, FileNotFoundError):
    """``NOT_FOUND``: the frame, bucket or version does not exist (or is no longer kept)."""

    code = "NOT_FOUND"


class FrameExists(HangarError, FileExistsError):
    """``ALREADY_EXISTS``: a put with mode ``error`` onto an existing frame."""

    code = "ALREADY_EXISTS"


class InvalidArgument(HangarError, ValueError):
    """``INVALID_ARGUMENT``: a bad name, ticket, bound, column or value."""

    code = "INVALID_ARGUMENT"


class SchemaMismatch(InvalidArgument):
    """An append whose columns differ from the stored frame's."""


class QueryError(InvalidArgument):
    """Bad SQL, or an unknown table or column in a query (detail type ``DataFusionError``)."""


class FailedPrecondition(HangarError):
    """``FAILED_PRECONDITION``: the store's state forbids the request."""

    code = "FAILED_PRECONDITION"


class BucketNotEmpty(FailedPrecondition):
    """``delete_bucket`` with mode ``error`` on a bucket that holds frames."""


class Conflict(FailedPrecondition):
    """A put's ``expected_version`` no longer matches: another writer committed first."""


class NotAppendOnly(FailedPrecondition):
    """An incremental read (``since_version``) of a frame that did not only grow since that version."""


class Unauthenticated(HangarError, PermissionError):
    """``UNAUTHENTICATED``: no, or an invalid, token or password."""

    code = "UNAUTHENTICATED"


class PermissionDenied(HangarError, PermissionError):
    """``PERMISSION_DENIED``: the token lacks a scope, or a SQL statement is not a read-only query."""

    code = "PERMISSION_DENIED"


class ResourceExhausted(HangarError):
    """``RESOURCE_EXHAUSTED``: a configured limit was exceeded."""

    code = "RESOURCE_EXHAUSTED"


class StoreFull(ResourceExhausted):
    """The store refused a write for space; nothing of it was stored."""


class Unimplemented(HangarError, NotImplementedError):
    """``UNIMPLEMENTED``: the server does not offer this."""

    code = "UNIMPLEMENTED"


class Cancelled(HangarError):
    """``CANCELLED``: the call was cancelled."""

    code = "CANCELLED"


class DeadlineExceeded(HangarError, TimeoutError):
    """``DEADLINE_EXCEEDED``: the call's timeout, or the server's SQL timeout, ran out."""

    code = "DEADLINE_EXCEEDED"


class DataLoss(HangarError):
    """``DATA_LOSS``: stored bytes failed their checksum or are missing; the message names them."""

    code = "DATA_LOSS"


class StorageError(HangarError, OSError):
    """``INTERNAL``: the server's storage failed (detail type ``ShootsIOError``), or another internal error."""

    code = "INTERNAL"


class Unavailable(HangarError, ConnectionError):
    """``UNAVAILABLE``: the server could not be reached, also after the client's retries."""

    code = "UNAVAILABLE"


class CacheMiss(HangarError):
    """Offline mode: the cache does not hold what was asked for, and the server may not be asked."""

    code = "CACHE_MISS"


# Detail types that name a more precise class than the code does.
_BY_TYPE: dict[str, type[HangarError]] = {
    "FileNotFoundError": FrameNotFound,
    "FileExistsError": FrameExists,
    "SchemaMismatchError": SchemaMismatch,
    "BucketNotEmptyError": BucketNotEmpty,
    "ConflictError": Conflict,
    "NotAppendOnlyError": NotAppendOnly,
    "StoreFullError": StoreFull,
    "DataLossError": DataLoss,
    "ShootsIOError": StorageError,
}

_BY_CODE: dict[str, type[HangarError]] = {
    "NOT_FOUND": FrameNotFound,
    "ALREADY_EXISTS": FrameExists,
    "INVALID_ARGUMENT": InvalidArgument,
    "FAILED_PRECONDITION": FailedPrecondition,
    "UNAUTHENTICATED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
    "RESOURCE_EXHAUSTED": ResourceExhausted,
    "UNIMPLEMENTED": Unimplemented,
    "CANCELLED": Cancelled,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
    "DATA_LOSS": DataLoss,
    "INTERNAL": StorageError,
    "UNAVAILABLE": Unavailable,
}

# pyarrow's own exception classes, for failures that carry no JSON detail.
_BY_PYARROW_CLASS: list[tuple[type[BaseException], str]] = [
    (flight.FlightUnavailableError, "UNAVAILABLE"),
    (flight.FlightUnauthenticatedError, "UNAUTHENTICATED"),
    (flight.FlightUnauthorizedError, "PERMISSION_DENIED"),
    (flight.FlightTimedOutError, "DEADLINE_EXCEEDED"),
    (flight.FlightCancelledError, "CANCELLED"),
    (pa.ArrowNotImplementedError, "UNIMPLEMENTED"),
    (pa.ArrowInvalid, "INVALID_ARGUMENT"),
    (pa.ArrowKeyError, "NOT_FOUND"),
]

# pyarrow words the status into its message: "Flight returned <status> error, with message: …",
# followed by gRPC's debug context.
_WORDING = re.compile(
    r"(?:gRPC|Flight) returned ([a-z ]+?) error, with message: (.*?)(?:\. gRPC client debug context: .*|\. Detail: .*)?$", re.S
)
# pyarrow's words for statuses whose names differ from gRPC's.
_WORDING_CODES = {
    "PRECONDITION_FAILED": "FAILED_PRECONDITION",
    "UNAUTHORIZED": "PERMISSION_DENIED",
    "TIMED_OUT": "DEADLINE_EXCEEDED",
    "NOT_IMPLEMENTED": "UNIMPLEMENTED",
}
# Hangar's messages for the errors pyarrow receives without their detail type.
_TYPES_BY_MESSAGE = {
    "FAILED_PRECONDITION": [("read the frame whole", "NotAppendOnlyError"), ("not the expected", "ConflictError")],
    "INVALID_ARGUMENT": [("schema does not match", "SchemaMismatchError")],
    "RESOURCE_EXHAUSTED": [("store is full", "StoreFullError")],
}


def _detail_of(error: BaseException) -> Optional[dict[str, Any]]:
    """The server's JSON detail ({"type","message","code"}) if pyarrow kept it (``extra_info``)."""
    extra = getattr(error, "extra_info", None)
    if not extra:
        return None
    try:
        detail = json.loads(extra)
    except (ValueError, UnicodeDecodeError):
        return None
    return detail if isinstance(detail, dict) and isinstance(detail.get("message"), str) else None


def _make(code: str, type_name: Optional[str], message: str) -> HangarError:
    cls = _BY_TYPE.get(type_name or "") or _BY_CODE.get(code, HangarError)
    if type_name == "DataFusionError" and code == "INVALID_ARGUMENT":
        cls = QueryError
    return cls(message, code=code, type=type_name)


def translate_error(error: BaseException) -> BaseException:
    """The Hangar exception for a pyarrow.flight failure (``error`` itself if it is not one)."""
    if isinstance(error, HangarError):
        return error
    detail = _detail_of(error)
    if detail is not None:
        return _make(str(detail.get("code") or "UNKNOWN"), detail.get("type"), detail["message"])
    text = str(error)
    wording = _WORDING.search(text)
    code: Optional[str] = None
    if wording:
        code = wording.group(1).strip().upper().replace(" ", "_")
        code = _WORDING_CODES.get(code, code)
        text = wording.group(2)
    if code is None or code == "UNKNOWN":
        for cls, candidate in _BY_PYARROW_CLASS:
            if isinstance(error, cls):
                code = candidate
                break
    if code is None:
        if not isinstance(error, (flight.FlightError, pa.ArrowException)):
            return error
        code = "UNKNOWN"
    type_name = next((t for needle, t in _TYPES_BY_MESSAGE.get(code, []) if needle in text), None)
    return _make(code, type_name, text)
