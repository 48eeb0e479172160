"""junction-router-client: decide where the request already is (Junction SPEC §10, §20).

    from junction_client import JunctionClient

    jc = JunctionClient.connect("http://junction:8080", api_key=..., cache_file="/var/cache/junction.json")
    d = jc.decide("continue-watching-ranking", unit="user-42", context={"country": "BR"})
    d.target, d.routing_key, d.headers
    res = jc.invoke("continue-watching-ranking", body, unit="user-42")
    jc.feedback(request_id=res.request_id, metric="click", value=1)
    jc.close()
"""

from ._bucket import BUCKETS, bucket_of
from ._invoke import InvokeResult
from ._snapshot import SnapshotError
from .aio import AsyncJunctionClient
from .client import ClientStats, ExposureSettings, JunctionClient
from .decision import Decision, GrpcTarget
from .errors import (
    BackendError,
    DeadlineExceeded,
    Forbidden,
    InternalError,
    InvalidRequest,
    JunctionError,
    MethodNotAllowed,
    NoHealthyBackend,
    NotFound,
    NotReady,
    ObjectiveNotFound,
    Overloaded,
    OverrideForbidden,
    PayloadTooLarge,
    RateLimited,
    RequestTimeout,
    Unauthorized,
    Unavailable,
    UpstreamError,
)
from .events import ClientEvent

__version__ = "0.1.0"

__all__ = [
    "AsyncJunctionClient",
    "BUCKETS",
    "BackendError",
    "ClientEvent",
    "ClientStats",
    "DeadlineExceeded",
    "Decision",
    "ExposureSettings",
    "Forbidden",
    "GrpcTarget",
    "InternalError",
    "InvalidRequest",
    "InvokeResult",
    "JunctionClient",
    "JunctionError",
    "MethodNotAllowed",
    "NoHealthyBackend",
    "NotFound",
    "NotReady",
    "ObjectiveNotFound",
    "Overloaded",
    "OverrideForbidden",
    "PayloadTooLarge",
    "RateLimited",
    "RequestTimeout",
    "SnapshotError",
    "Unauthorized",
    "Unavailable",
    "UpstreamError",
    "bucket_of",
]
