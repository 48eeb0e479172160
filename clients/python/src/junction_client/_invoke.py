"""``invoke``: the decided target called directly, with the same protocol rewrite
as the server (the path for oip, tfserving and openai; the openai ``model``
field), or, for targets only Junction can call (in-process ONNX, targets whose
credentials or TLS files only Junction holds, gRPC ones), through Junction's
objective endpoint with the routing inputs as headers, where Junction decides
again (the same decision, for the same revision) and logs the exposure.

A call is planned here (URL, headers, body) and carried by a transport: the
blocking pool, or httpx for the asyncio client.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, Mapping, Optional, Tuple, Union
from urllib.parse import quote, urlsplit

from . import _http, errors
from ._jsonfield import rewrite_model_field
from ._protocols import PROTOCOLS, call_path, served_model
from ._routing import Outcome
from .decision import Decision

Body = Union[None, str, bytes, bytearray, memoryview, Mapping[str, Any], list]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: What encodeURIComponent leaves as it is.
_URI_COMPONENT_SAFE = "-_.!~*'()"
#: A caller's x-request-id is kept when it is a non-empty string of at most this many characters.
_MAX_INCOMING_ID = 200


def new_request_id() -> str:
    """A ULID, as Junction makes them: 48 bits of milliseconds then 80 random bits, Crockford base32."""
    n = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(n >> (5 * i)) & 31] for i in range(25, -1, -1))


def body_bytes(body: Body) -> Tuple[Optional[bytes], bool]:
    """The bytes to send, and whether they are JSON made here (then content-type is JSON)."""
    if body is None:
        return None, False
    if isinstance(body, str):
        return body.encode("utf-8"), False
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body), False
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), True


class InvokeResult:
    """The answer of an ``invoke``: read whole (``body``), with the decision that chose its target."""

    __slots__ = ("status", "headers", "body", "decision", "direct", "request_id")

    def __init__(
        self, status: int, headers: Dict[str, str], body: bytes, decision: Decision, direct: bool, request_id: Optional[str]
    ):
        self.status = status
        #: response headers, names lowercase (repeated ones joined with ", ")
        self.headers = headers
        self.body = body
        self.decision = decision
        #: True: the target's endpoint answered; False: Junction served it
        self.direct = direct
        #: the request id the target (or Junction) saw: give it to ``feedback``
        self.request_id = request_id

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)

    def raise_for_error(self) -> "InvokeResult":
        """Raises the typed error of a non-2xx answer (Junction's code, or BackendError); returns self."""
        if not self.ok:
            raise errors.from_response(self.status, self.headers, self.body)
        return self

    def __repr__(self) -> str:
        return f"InvokeResult(status={self.status}, target={self.decision.target!r}, direct={self.direct})"


class Plan:
    """One HTTP call to make."""

    __slots__ = ("method", "url", "headers", "body", "timeout", "decision", "direct", "request_id", "objective")

    def __init__(self, method: str, url: str, headers: Dict[str, Any], body: Optional[bytes], timeout: float,
                 decision: Decision, direct: bool, request_id: Optional[str], objective: str):  # fmt: skip
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.decision = decision
        self.direct = direct
        self.request_id = request_id
        self.objective = objective

    def result(self, status: int, headers: Dict[str, str], body: bytes) -> InvokeResult:
        rid = self.request_id if self.direct else headers.get("x-request-id", self.request_id)
        return InvokeResult(status, headers, body, self.decision, self.direct, rid)

    def failure(self, err: BaseException) -> errors.JunctionError:
        """The typed error of a call that got no answer."""
        who = self.decision.target if self.direct else f"Junction ({self.url})"
        if isinstance(err, TimeoutError):
            return errors.error(
                "deadline_exceeded", f"{who} did not answer within {self.timeout:g} s", objective=self.objective
            )
        return errors.error("upstream_error", f"{who} failed: {type(err).__name__}: {err}", objective=self.objective)


def _lower(headers: Optional[Mapping[str, str]]) -> Dict[str, Any]:
    return {k.lower(): v for k, v in (headers or {}).items()}


def split_endpoint(endpoint: str) -> Tuple[str, str]:
    """The endpoint's origin and base path, as the server's EndpointSet splits them."""
    u = urlsplit(endpoint)
    path = "" if u.path in ("", "/") else (u.path[:-1] if u.path.endswith("/") else u.path)
    return f"{u.scheme.lower()}://{u.netloc.lower()}", path + (f"?{u.query}" if u.query else "")


def plan_direct(
    objective: str,
    outcome: Outcome,
    decision: Decision,
    endpoint: str,
    body: Body,
    method: str,
    operation: str,
    query: str,
    headers: Optional[Mapping[str, str]],
    timeout: float,
) -> Plan:
    backend = outcome.target.backend
    protocol = PROTOCOLS[backend.get("protocol", "raw")]
    data, is_json = body_bytes(body)
    extra = _lower(headers)
    incoming = extra.get("x-request-id")
    rid = incoming if isinstance(incoming, str) and 0 < len(incoming) <= _MAX_INCOMING_ID else new_request_id()
    has_body = method not in ("GET", "HEAD")
    if protocol.model_field is not None and has_body:
        data = rewrite_model_field(
            data or b"", protocol.model_field, served_model(backend, outcome.target.model), objective
        )
    origin, base = split_endpoint(endpoint)
    path = base + call_path(backend, outcome.target.model, outcome.target.version, operation, query, objective)
    sent: Dict[str, Any] = {"content-type": "application/json"} if is_json else {}
    sent.update(extra)
    sent.update(protocol.headers)  # what the protocol needs on every call (anthropic-version): the server's win too
    sent["x-request-id"] = rid
    sent["x-deadline-ms"] = str(round(timeout * 1000))
    sent["x-model"] = decision.headers["x-model"]
    sent["x-decision"] = decision.headers["x-decision"]
    url = origin + (path if path.startswith("/") else "/" + path)
    return Plan(method, url, sent, data if has_body else None, timeout, decision, True, rid, objective)


def plan_via_junction(
    base_url: str,
    api_key: Optional[str],
    objective: str,
    decision: Decision,
    unit: Optional[str],
    context: Mapping[str, str],
    traffic_class: str,
    override: Optional[str],
    body: Body,
    method: str,
    query: str,
    headers: Optional[Mapping[str, str]],
    timeout: float,
) -> Plan:
    data, is_json = body_bytes(body)
    sent: Dict[str, Any] = {"content-type": "application/json"} if is_json else {}
    sent.update(_lower(headers))
    if api_key is not None:
        sent["authorization"] = f"Bearer {api_key}"
    if unit is not None:
        sent["x-unit-id"] = _http.header_value(unit)
    for k, v in context.items():
        sent[f"x-context-{k}"] = _http.header_value(v)
    if traffic_class != "live":
        sent["x-traffic-class"] = traffic_class
    if override is not None:
        sent["x-model-override"] = override
    sent["x-deadline-ms"] = str(round(timeout * 1000))
    url = f"{base_url}/v1/objectives/{quote(objective, safe=_URI_COMPONENT_SAFE)}{query}"
    rid = sent.get("x-request-id")
    body_out = None if method in ("GET", "HEAD") else data
    # Junction's own budget is the deadline; the socket waits a second longer for its answer.
    return Plan(method, url, sent, body_out, timeout + 1.0, decision, False, rid, objective)


def send_blocking(pool: _http.Pool, plan: Plan) -> InvokeResult:
    try:
        res = pool.request(plan.method, plan.url, plan.headers, plan.body, plan.timeout)
    except Exception as err:
        raise plan.failure(err) from err
    return plan.result(res.status, res.headers, res.body)
