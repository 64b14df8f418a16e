"""The CMON ``request_status`` values and the exception handlers raise to answer with one."""

from __future__ import annotations

from typing import Any

OK = "Ok"
INVALID_REQUEST = "InvalidRequest"
OBJECT_NOT_FOUND = "ObjectNotFound"
TRY_AGAIN = "TryAgain"
CLUSTER_NOT_FOUND = "ClusterNotFound"
UNKNOWN_ERROR = "UnknownError"
ACCESS_DENIED = "AccessDenied"
AUTH_REQUIRED = "AuthRequired"
REDIRECT = "Redirect"

STATUSES = (OK, INVALID_REQUEST, OBJECT_NOT_FOUND, TRY_AGAIN, CLUSTER_NOT_FOUND,
            UNKNOWN_ERROR, ACCESS_DENIED, AUTH_REQUIRED, REDIRECT)


class RpcError(Exception):
    """An error reply: ``request_status`` plus ``error_string`` (omitted when None).

    ``extra`` adds reply fields (a real controller sometimes does, e.g. ``Redirect``).
    """

    def __init__(self, status: str, message: str | None = None, **extra: Any) -> None:
        super().__init__(message or status)
        self.status = status
        self.message = message
        self.extra = extra


def invalid(message: str) -> RpcError:
    return RpcError(INVALID_REQUEST, message)


def not_found(message: str) -> RpcError:
    return RpcError(OBJECT_NOT_FOUND, message)


def denied(message: str | None) -> RpcError:
    return RpcError(ACCESS_DENIED, message)
