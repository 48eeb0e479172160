"""Typed errors carrying Junction's stable error codes (SPEC §2.5, docs/errors.md).

Branch on ``code`` (or the subclass), never on the message. Junction's own
errors have a code; an error *from a backend* (its own status and body,
passed through) has ``code`` None and is a :class:`BackendError`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

# Every code Junction answers with, and its HTTP status (src/errors.ts; SPEC §16 adds
# the spend codes; the two 409s are the admin API's refusals of a change, SPEC §18).
# A code not listed here still becomes a JunctionError.
STATUS_OF_CODE: Mapping[str, int] = {
    "invalid_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "override_forbidden": 403,
    "objective_not_found": 404,
    "not_found": 404,
    "method_not_allowed": 405,
    "request_timeout": 408,
    "rollout_refused": 409,
    "experiment_break_unacknowledged": 409,
    "payload_too_large": 413,
    "rate_limited": 429,
    "token_limit_exceeded": 429,
    "budget_exceeded": 429,
    "client_closed": 499,
    "internal": 500,
    "upstream_error": 502,
    "overloaded": 503,
    "no_healthy_backend": 503,
    "not_ready": 503,
    "deadline_exceeded": 504,
}


class JunctionError(Exception):
    """An error with Junction's stable ``code``, its HTTP ``status`` and a message.

    ``objective``, ``request_id`` and ``retry_after`` (seconds) are set when known.
    """

    def __init__(
        self,
        code: Optional[str],
        status: int,
        message: str,
        *,
        objective: Optional[str] = None,
        request_id: Optional[str] = None,
        retry_after: Optional[float] = None,
        body: Optional[bytes] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.objective = objective
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body

    def __str__(self) -> str:
        return f"{self.code or 'http_' + str(self.status)}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status}, message={self.message!r})"


class InvalidRequest(JunctionError):
    """400: a bad value in what was sent (a traffic class, an override, a body Junction must read)."""


class Unauthorized(JunctionError):
    """401: missing or unknown API key."""


class Forbidden(JunctionError):
    """403: the key may not call this objective."""


class OverrideForbidden(Forbidden):
    """403: this caller may not override, or the override names a target the objective does not use."""


class ObjectiveNotFound(JunctionError):
    """404: no objective by that name in the revision."""


class NotFound(JunctionError):
    """404: no such route (e.g. /v1/feedback on a Junction started without --feedback-log)."""


class MethodNotAllowed(JunctionError):
    """405: the objective does not accept this method."""


class RequestTimeout(JunctionError):
    """408: the request body arrived too slowly."""


class PayloadTooLarge(JunctionError):
    """413: the body is over the objective's maxBodyBytes."""


class RateLimited(JunctionError):
    """429: over a rate limit, token limit or budget; ``retry_after`` says when to come back."""


class InternalError(JunctionError):
    """500: a bug in Junction; ``request_id`` finds it in the logs."""


class UpstreamError(JunctionError):
    """502: the target (or Junction, for calls through it) could not be reached or broke the protocol."""


class Unavailable(JunctionError):
    """503: the base of overloaded, no_healthy_backend and not_ready."""


class Overloaded(Unavailable):
    """503: a concurrency or queue limit was hit."""


class NoHealthyBackend(Unavailable):
    """503: every endpoint of the target is ejected and no fallback was left."""


class NotReady(Unavailable):
    """503: no config (no snapshot) to decide on."""


class DeadlineExceeded(JunctionError):
    """504: the budget ran out before the reply started."""


class BackendError(JunctionError):
    """A backend's own error status, passed through unchanged (``code`` is None)."""


_CLASSES: Mapping[str, type] = {
    "invalid_request": InvalidRequest,
    "unauthorized": Unauthorized,
    "forbidden": Forbidden,
    "override_forbidden": OverrideForbidden,
    "objective_not_found": ObjectiveNotFound,
    "not_found": NotFound,
    "method_not_allowed": MethodNotAllowed,
    "request_timeout": RequestTimeout,
    "payload_too_large": PayloadTooLarge,
    "rate_limited": RateLimited,
    "token_limit_exceeded": RateLimited,
    "budget_exceeded": RateLimited,
    "internal": InternalError,
    "upstream_error": UpstreamError,
    "overloaded": Overloaded,
    "no_healthy_backend": NoHealthyBackend,
    "not_ready": NotReady,
    "deadline_exceeded": DeadlineExceeded,
}


def error(code: str, message: str, *, objective: Optional[str] = None, **kw: Any) -> JunctionError:
    """The typed error for ``code`` (its class and status), raised by the SDK itself."""
    cls = _CLASSES.get(code, JunctionError)
    return cls(code, STATUS_OF_CODE.get(code, 500), message, objective=objective, **kw)


def from_response(status: int, headers: Mapping[str, str], body: bytes) -> JunctionError:
    """The typed error of an HTTP answer that is not a success.

    Reads every shape Junction answers in: its own ``{"error": {"code", "message", …}}``,
    OpenAI's ``{"error": {"message", "type", "code"}}`` and OIP's ``{"error": "…"}``, with
    the stable code in ``x-error-code`` on the protocol faces. Anything else (a backend's
    error, an HTML page from a proxy) is a BackendError with the start of the body.
    """
    code = headers.get("x-error-code")
    message: Optional[str] = None
    objective: Optional[str] = None
    request_id = headers.get("x-request-id")
    try:
        parsed = json.loads(body.decode("utf-8")) if body else None
    except (ValueError, UnicodeDecodeError):
        parsed = None
    if isinstance(parsed, dict):
        err = parsed.get("error")
        if isinstance(err, dict):
            if code is None and isinstance(err.get("code"), str) and err["code"] in STATUS_OF_CODE:
                code = err["code"]
            if isinstance(err.get("message"), str):
                message = err["message"]
            if isinstance(err.get("objective"), str):
                objective = err["objective"]
            if isinstance(err.get("requestId"), str):
                request_id = err["requestId"]
        elif isinstance(err, str):
            message = err
    if message is None:
        message = body[:300].decode("utf-8", "replace").strip() or f"HTTP {status}"
    retry_after: Optional[float] = None
    raw_retry = headers.get("retry-after")
    if raw_retry is not None:
        try:
            retry_after = float(raw_retry)
        except ValueError:
            retry_after = None
    cls = _CLASSES.get(code, JunctionError) if code is not None else BackendError
    return cls(
        code,
        status,
        message,
        objective=objective,
        request_id=request_id,
        retry_after=retry_after,
        body=body,
    )
