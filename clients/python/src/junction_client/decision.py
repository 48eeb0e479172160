"""What ``decide`` returns. Built once per routing outcome of a revision (and per
"had a unit or not", which changes x-decision) and shared: deciding allocates
nothing once a revision is compiled, and a Decision is immutable, so it may be
handed between threads freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, NoReturn, Optional, Tuple

from ._protocols import only_through_junction, served_model, served_version


class Headers(dict):
    """A read-only dict: one Decision (and its headers) is shared by every caller that gets it."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kw: Any) -> NoReturn:
        raise TypeError("Decision.headers is shared and read-only; copy it: dict(d.headers)")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]
    __ior__ = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple:
        return (Headers, (dict(self),))


@dataclass(frozen=True, slots=True)
class GrpcTarget:
    """An ``oip-grpc`` target a caller may call itself with a gRPC client.

    Dial one of ``endpoints`` (or nginx's gRPC listener with the metadata
    ``x-junction-target: routing_key``), and set ModelInferRequest.model_name to
    ``model`` and model_version to ``version``: nothing on that path rewrites the
    message as Junction does.
    """

    endpoints: Tuple[str, ...]
    model: str
    version: str


@dataclass(frozen=True, slots=True)
class Decision:
    """One routing decision: the same answer ``POST /v1/decide`` gives for this revision."""

    objective: str
    #: ``model@version``
    target: str
    model: str
    version: str
    #: the value of ``x-junction-target``: what a header-routed proxy routes on
    routing_key: str
    #: ``override``, ``pin``, ``rule:<id>``, ``experiment:<id>``, ``rollout`` or ``default``
    rule: str
    experiment: Optional[str]
    cell: Optional[str]
    #: the balancer a cell or rollout candidate names (``use: {target, balance}``), else None;
    #: only Junction's backends pick replicas by it
    balance: Optional[str]
    revision: int
    #: a remote HTTP target this process may call directly (False: in-process ONNX, or a
    #: target needing credentials only Junction holds; ``invoke`` goes through Junction)
    remote: bool
    #: the target's wire protocol (``oip``, ``openai``, ``tfserving``, ``raw``, ``oip-grpc``),
    #: None when it runs in Junction's process
    protocol: Optional[str]
    #: base URLs of the target's replicas when ``remote``, else empty
    endpoints: Tuple[str, ...]
    #: for an ``oip-grpc`` target a gRPC client may call itself, else None
    grpc: Optional[GrpcTarget]
    #: what the server would send: ``x-model``, ``x-decision``, and ``x-junction-target``
    headers: Mapping[str, str]

    def as_dict(self) -> dict:
        """The decision as plain data (for logs and JSON), field names as in /v1/decide where they exist."""
        return {
            "objective": self.objective,
            "target": self.target,
            "model": self.model,
            "version": self.version,
            "routingKey": self.routing_key,
            "rule": self.rule,
            "experiment": self.experiment,
            "cell": self.cell,
            "balance": self.balance,
            "revision": self.revision,
            "remote": self.remote,
            "protocol": self.protocol,
            "endpoints": list(self.endpoints),
            "headers": dict(self.headers),
        }


def decision_of(
    objective: str,
    target_id: str,
    model: str,
    version: str,
    backend: Mapping[str, Any],
    rule: str,
    experiment: Optional[str],
    cell: Optional[str],
    balance: Optional[str],
    revision: int,
    x_decision: str,
) -> Decision:
    is_http = backend.get("type") == "http"
    remote = is_http and only_through_junction(backend) is None
    grpc = None
    if is_http and only_through_junction(backend, "grpc") is None:
        grpc = GrpcTarget(
            tuple(backend["endpoints"]), served_model(backend, model), served_version(backend, version)
        )
    return Decision(
        objective=objective,
        target=target_id,
        model=model,
        version=version,
        routing_key=target_id,
        rule=rule,
        experiment=experiment,
        cell=cell,
        balance=balance,
        revision=revision,
        remote=remote,
        protocol=backend.get("protocol", "raw") if is_http else None,
        endpoints=tuple(backend["endpoints"]) if remote else (),
        grpc=grpc,
        headers=Headers({"x-model": target_id, "x-decision": x_decision, "x-junction-target": target_id}),
    )
