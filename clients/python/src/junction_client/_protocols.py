"""The wire protocols, as the server declares them (src/config/protocols/): which
interfaces each serves, its endpoint schemes, and where each operation goes on a
backend, so a direct call gets the same path (and, for ``openai``, the same
``model`` field) as Junction would send.

Kept in step with the server by the tests (tests/test_client.py calls each
protocol directly and through Junction and compares what the upstream saw).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Union
from urllib.parse import quote

INTERFACES = ("json", "oip", "openai", "bytes")

_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


def seg(name: str) -> str:
    """A path segment, escaped only when it must be (as encodeURIComponent)."""
    return name if _PLAIN_SEGMENT.fullmatch(name) else quote(name, safe="-_.!~*'()")


def _oip_path(model: str, version: str) -> str:
    if version == "":
        return f"/v2/models/{seg(model)}"
    return f"/v2/models/{seg(model)}/versions/{seg(version)}"


def _tfserving_path(model: str, version: str) -> str:
    base = f"/v1/models/{seg(model)}"
    if version == "":
        return base
    if re.fullmatch(r"\d+", version, flags=re.ASCII):
        return f"{base}/versions/{version}"
    return f"{base}/labels/{seg(version)}"


@dataclass(frozen=True)
class Protocol:
    transport: str  # "http" | "grpc"
    schemes: tuple
    endpoint_form: str
    interfaces: tuple
    # operation -> path after the model's own path; "any": the endpoint URL as it is (raw)
    operations: Union[Mapping[str, str], str]
    model_path: Optional[Callable[[str, str], str]] = None
    # the top-level JSON field set to the backend's served model name (openai, anthropic)
    model_field: Optional[str] = None
    # headers the protocol needs on every call (anthropic-version)
    headers: Mapping[str, str] = field(default_factory=dict)


_HTTP = ("http", "https")
_HTTP_FORM = "http:// or https://"

PROTOCOLS: Mapping[str, Protocol] = {
    "oip": Protocol(
        "http",
        _HTTP,
        _HTTP_FORM,
        ("oip",),
        {
            "invoke": "/infer",
            "infer": "/infer",
            "metadata": "",
            "ready": "/ready",
            "generate": "/generate",
            "generate_stream": "/generate_stream",
        },
        _oip_path,
    ),
    "openai": Protocol(
        "http",
        _HTTP,
        _HTTP_FORM,
        ("openai",),
        {
            "invoke": "/v1/chat/completions",
            "chat/completions": "/v1/chat/completions",
            "completions": "/v1/completions",
            "embeddings": "/v1/embeddings",
            "responses": "/v1/responses",
        },
        None,
        "model",
    ),
    # An OpenAI-compatible server without the Responses API (TGI, llama.cpp, Ollama).
    "openai-chat": Protocol(
        "http",
        _HTTP,
        _HTTP_FORM,
        ("openai",),
        {
            "invoke": "/v1/chat/completions",
            "chat/completions": "/v1/chat/completions",
            "completions": "/v1/completions",
            "embeddings": "/v1/embeddings",
        },
        None,
        "model",
    ),
    # Anthropic's Messages API: the generic objective endpoint carries a Messages request as it is.
    "anthropic": Protocol(
        "http",
        _HTTP,
        _HTTP_FORM,
        ("openai",),
        {"invoke": "/v1/messages", "messages": "/v1/messages"},
        None,
        "model",
        {"anthropic-version": "2023-06-01"},
    ),
    "tfserving": Protocol(
        "http",
        _HTTP,
        _HTTP_FORM,
        ("json",),
        {"invoke": ":predict", "infer": ":predict", "metadata": "/metadata", "ready": ""},
        _tfserving_path,
    ),
    "raw": Protocol("http", _HTTP, _HTTP_FORM, ("json", "bytes", "oip", "openai"), "any"),
    "oip-grpc": Protocol(
        "grpc",
        ("grpc", "grpcs"),
        "grpc://host:port (or grpcs://)",
        ("oip",),
        {"invoke": "ModelInfer", "infer": "ModelInfer", "metadata": "ModelMetadata", "ready": "ModelReady"},
    ),
}


def interfaces_served_by(backend: Mapping[str, Any], model_class: str) -> tuple:
    if backend.get("type") == "http":
        return PROTOCOLS[backend.get("protocol", "raw")].interfaces
    # In-process ONNX: tensors in JSON or OIP; generators speak OpenAI.
    return ("openai",) if model_class == "generator" else ("json", "oip")


def endpoint_scheme_problem(protocol: str, url: str) -> Optional[str]:
    declared = PROTOCOLS[protocol]
    scheme = url[: max(0, url.find(":"))].lower()
    if scheme in declared.schemes:
        return None
    if declared.transport != "http":
        return f"protocol {protocol} needs {declared.endpoint_form} endpoints, not {url.split('?')[0]}"
    takers = [p for p, d in PROTOCOLS.items() if scheme in d.schemes]
    hint = f" ({scheme}:// is for protocol {', '.join(takers)})" if takers else ""
    return f"protocol {protocol} needs {declared.endpoint_form} endpoints{hint}"


def only_through_junction(backend: Mapping[str, Any], transport: str = "http") -> Optional[str]:
    """Why only Junction can call this target over ``transport``, or None when a caller can."""
    if backend.get("type") != "http":
        return "runs in Junction's process (ONNX)"
    protocol = backend.get("protocol", "raw")
    if PROTOCOLS[protocol].transport != transport:
        if transport == "http":
            return f"protocol {protocol} is not plain HTTP (Junction's {protocol} backend calls it)"
        return f"protocol {protocol} is not gRPC"
    # The snapshot never carries credentials: a target that needs them is Junction's to call.
    if backend.get("headers") is not None or backend.get("tls") is not None:
        return "it needs upstream credentials or TLS settings only Junction holds"
    if any("?" in url for url in backend.get("endpoints", ())):
        return "its endpoint URLs carry a query (a key, perhaps) only Junction holds"
    return None


def served_model(backend: Mapping[str, Any], model: str) -> str:
    value = backend.get("model")
    return model if value is None else value


def served_version(backend: Mapping[str, Any], version: str) -> str:
    """'' means no version: the protocol's unversioned path (the server picks)."""
    value = backend.get("version")
    return version if value is None else value


def call_path(
    backend: Mapping[str, Any], model: str, version: str, operation: str, query: str, objective: str
) -> str:
    """The path (with query) on an endpoint for a call, after the endpoint's own base path."""
    protocol_name = backend.get("protocol", "raw")
    protocol = PROTOCOLS[protocol_name]
    if protocol.operations == "any":
        return query
    route = protocol.operations.get(operation)  # type: ignore[union-attr]
    if route is None:
        from .errors import error

        raise error(
            "invalid_request",
            f"{model}@{version} speaks {protocol_name}, which has no \"{operation}\" operation",
            objective=objective,
        )
    base = ""
    if protocol.model_path is not None:
        base = protocol.model_path(served_model(backend, model), served_version(backend, version))
    return base + route + query
