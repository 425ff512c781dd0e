"""Typed errors for every documented Guest Manager error ``type``.

Each class carries the parsed body so callers act on structure, never on message strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One entry of ``errors.attributes`` (the docs name the key ``attribute`` or ``field``).
    ``name`` is the related record's name when the attribute is a relationship."""

    attribute: str
    code: str
    message: str
    label: str = ""
    name: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, node: dict[str, Any]) -> FieldError:
        return cls(
            attribute=str(node.get("attribute") or node.get("field") or "base"),
            code=str(node.get("code") or ""),
            message=str(node.get("message") or ""),
            label=str(node.get("label") or ""),
            name=str(node.get("name") or ""),
            detail=detail if isinstance(detail := node.get("detail"), dict) else {},
        )

    def sentence(self, subject: str = "") -> str:
        """The message as a sentence about ``subject`` (a record's name), else about the
        related record the API named, else about the attribute: "Last Few is sold out",
        "Email is invalid". Errors on ``base`` are whole sentences already."""
        if self.attribute == "base":
            return self.message
        subject = subject or self.name or self.label
        if not subject or self.message.lower().startswith(subject.lower()):
            return self.message
        return f"{subject} {self.message}"

    @property
    def full_message(self) -> str:
        return self.sentence()


@dataclass(frozen=True)
class ValidationErrors:
    """The ``errors`` object of a ``validation_error``: attribute errors and association
    errors keyed by association name, then by record id (as a string)."""

    attributes: list[FieldError] = field(default_factory=list)
    associations: dict[str, dict[str, ValidationErrors]] = field(default_factory=dict)
    message: str = ""

    @classmethod
    def parse(cls, body: dict[str, Any] | None) -> ValidationErrors:
        body = body or {}
        errors = body.get("errors") or {}
        attributes = [FieldError.parse(n) for n in errors.get("attributes") or []]
        associations: dict[str, dict[str, ValidationErrors]] = {}
        for name, by_id in (errors.get("associations") or {}).items():
            if isinstance(by_id, dict):
                associations[name] = {str(k): cls.parse(v) for k, v in by_id.items()}
        return cls(
            attributes=attributes, associations=associations, message=body.get("message", "")
        )

    def for_attribute(self, attribute: str) -> list[FieldError]:
        return [e for e in self.attributes if e.attribute == attribute]

    def for_record(self, association: str, record_id: int | str) -> ValidationErrors | None:
        return self.associations.get(association, {}).get(str(record_id))

    def __bool__(self) -> bool:
        return bool(self.attributes or any(self.associations.values()))


class GuestManagerError(Exception):
    """Base of every error raised by the client."""

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        body: Any = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message
        self.status = status
        self.body = body
        self.method = method
        self.path = path

    @property
    def type(self) -> str:
        return self.body.get("type", "") if isinstance(self.body, dict) else ""


class TransportError(GuestManagerError):
    """The API could not be reached or did not answer in time (connect/read timeout)."""


class InvalidPathParameter(GuestManagerError, ValueError):
    """A path parameter that is not an id or a safe token; no request was sent."""


class ServerError(GuestManagerError):
    """A 5xx answer."""


class UnexpectedResponse(GuestManagerError):
    """A 4xx answer whose body names no documented error type (or is not JSON)."""


class APIError(GuestManagerError):
    """An error answer with a documented ``type``."""

    error_type: str = ""


class Unauthorized(APIError):
    error_type = "unauthorized"


class Forbidden(APIError):
    error_type = "forbidden"


class NotFound(APIError):
    error_type = "not_found"

    @property
    def model(self) -> str:
        """Which kind of record was missing (``detail.model``: "Order", "Variant"), or ""."""
        detail = self.body.get("detail") if isinstance(self.body, dict) else None
        return str(detail.get("model") or "") if isinstance(detail, dict) else ""

    @property
    def record_id(self) -> str:
        detail = self.body.get("detail") if isinstance(self.body, dict) else None
        return str(detail.get("id") or "") if isinstance(detail, dict) else ""


class RoutingError(APIError):
    error_type = "routing_error"


class ParameterMissing(APIError):
    error_type = "parameter_missing"


class UnpermittedParameters(APIError):
    error_type = "unpermitted_parameters"

    @property
    def params(self) -> list[str]:
        return list((self.body.get("detail") or {}).get("params") or [])


class ValidationError(APIError):
    error_type = "validation_error"

    @property
    def errors(self) -> ValidationErrors:
        return ValidationErrors.parse(self.body)


class CheckoutNotAllowed(APIError):
    """The order failed the checkout eligibility check; reasons are a validation_error
    under ``detail`` (e.g. ``invalid_inventory`` after expiry)."""

    error_type = "checkout_not_allowed"

    @property
    def reasons(self) -> ValidationErrors:
        return ValidationErrors.parse(self.body.get("detail") or {})

    @property
    def codes(self) -> set[str]:
        return {e.code for e in self.reasons.attributes}


class InvalidState(APIError):
    error_type = "invalid_state"


class CannotModify(APIError):
    error_type = "cannot_modify"


class GuestCheckoutRequired(APIError):
    error_type = "guest_checkout_required"


class Uneditable(APIError):
    """409: the event is still being built by an operation."""

    error_type = "uneditable"


class RateLimitExceeded(APIError):
    error_type = "rate_limit_exceeded"

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


ERROR_TYPES: dict[str, type[APIError]] = {
    cls.error_type: cls
    for cls in (
        Unauthorized,
        Forbidden,
        NotFound,
        RoutingError,
        ParameterMissing,
        UnpermittedParameters,
        ValidationError,
        CheckoutNotAllowed,
        InvalidState,
        CannotModify,
        GuestCheckoutRequired,
        Uneditable,
        RateLimitExceeded,
    )
}

# Used when a body names no type: the status alone still tells the kind.
STATUS_FALLBACK: dict[int, type[APIError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Uneditable,
    422: ValidationError,
    429: RateLimitExceeded,
}


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
