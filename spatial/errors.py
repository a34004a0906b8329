"""Domain errors raised by the analysis core and the store.

The service maps each class to an HTTP status in one table
(``service/errors.py``); the CLI maps them to exit codes. Core code never
raises ``HTTPException``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Rejection:
    """One rejected input row.

    ``row`` is the line number in the file as a spreadsheet shows it (the
    header is row 1, the first data row is row 2); for GeoJSON/GeoPackage it
    is the 1-based feature number.
    """

    file: str
    row: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RemapError(Exception):
    """Base class of every error remap raises on purpose."""

    code = "remap_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


class InputFormatError(RemapError):
    """A whole input is unusable (wrong format, wrong header, empty, wrong CRS).

    Fatal: nothing from the input is written.
    """

    code = "input_format"

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None,
                 row: int | None = None) -> None:
        details = {k: v for k, v in {"file": file, "field": field, "row": row}.items()
                   if v is not None}
        super().__init__(message, details=details)
        self.file = file
        self.field = field
        self.row = row


class PayloadTooLargeError(InputFormatError):
    """An input is larger than a configured limit (an upload, a file's contents)."""

    code = "payload_too_large"


class ParameterError(RemapError):
    """A request parameter is missing, malformed or out of range."""

    code = "invalid_parameter"

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}", details={"parameter": parameter,
                                                            "reason": reason})
        self.parameter = parameter
        self.reason = reason


class NotFoundError(RemapError):
    """A named thing (layer, boundary set, operation, unit) does not exist."""

    code = "not_found"


class ConflictError(RemapError):
    """The request conflicts with stored state (e.g. a name already taken)."""

    code = "conflict"


class AuthenticationError(RemapError):
    """No API key, or a key remap does not know."""

    code = "unauthenticated"


class PermissionDeniedError(RemapError):
    """The caller's role may not see or do this."""

    code = "forbidden"


class InsufficientDataError(RemapError):
    """Too few events or units for the method to say anything."""

    code = "insufficient_data"


class TooLargeError(RemapError):
    """A request whose estimated cost (units, permutations, response size) or
    upload size is above a configured limit. Refused before any work starts."""

    code = "too_large"


class RateLimitError(RemapError):
    """Too many requests (or failed authentications) in the current window.

    ``retry_after`` is the number of whole seconds until one more is allowed.
    """

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={**(details or {}), "retry_after_s": retry_after})
        self.retry_after = retry_after
