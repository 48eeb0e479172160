"""AsyncJunctionClient: the same client for asyncio code.

Deciding is local and synchronous (microseconds), so ``decide`` is a plain
method here too. The snapshot watcher and the exposure sender are the blocking
client's daemon threads in both clients: they never run on the event loop.
Calls (``invoke``, ``feedback``) go through ``httpx.AsyncClient`` when httpx is
installed; otherwise each runs the blocking transport in the loop's default
thread-pool executor. ``transport`` says which ("httpx" or "thread").
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any, Dict, List, Mapping, Optional

from . import errors
from ._invoke import Body, InvokeResult, Plan, send_blocking
from .client import ClientStats, JunctionClient
from .decision import Decision

try:  # optional: the asyncio transport when installed
    import httpx
except ImportError:  # pragma: no cover - depends on the environment
    httpx = None  # type: ignore[assignment]


class AsyncJunctionClient:
    """Make one with ``await AsyncJunctionClient.connect(url, ...)`` (the options of
    ``JunctionClient.connect``, plus ``use_httpx``: None picks httpx when installed)."""

    def __init__(self, client: JunctionClient, use_httpx: Optional[bool] = None) -> None:
        if use_httpx and httpx is None:
            raise RuntimeError("use_httpx=True, but httpx is not installed (pip install httpx)")
        self._client = client
        self._http = httpx.AsyncClient() if (use_httpx is not False and httpx is not None) else None

    @classmethod
    async def connect(cls, url: str, *, use_httpx: Optional[bool] = None, **options: Any) -> "AsyncJunctionClient":
        if use_httpx and httpx is None:
            raise RuntimeError("use_httpx=True, but httpx is not installed (pip install httpx)")
        loop = asyncio.get_running_loop()
        client = await loop.run_in_executor(None, functools.partial(JunctionClient.connect, url, **options))
        return cls(client, use_httpx)

    @property
    def transport(self) -> str:
        return "httpx" if self._http is not None else "thread"

    @property
    def client(self) -> JunctionClient:
        """The blocking client underneath (for code that runs in threads)."""
        return self._client

    @property
    def revision(self) -> Optional[int]:
        return self._client.revision

    @property
    def stats(self) -> ClientStats:
        return self._client.stats

    def objectives(self) -> List[str]:
        return self._client.objectives()

    def decide(
        self,
        objective: str,
        unit: Optional[str] = None,
        context: Optional[Mapping[str, str]] = None,
        traffic_class: Optional[str] = None,
        override: Optional[str] = None,
        expose: Optional[bool] = None,
    ) -> Decision:
        """Local and synchronous, as JunctionClient.decide: no I/O, safe on the event loop."""
        return self._client.decide(objective, unit, context, traffic_class, override, expose)

    async def invoke(
        self,
        objective: str,
        body: Body = None,
        unit: Optional[str] = None,
        context: Optional[Mapping[str, str]] = None,
        traffic_class: Optional[str] = None,
        override: Optional[str] = None,
        *,
        headers: Optional[Mapping[str, str]] = None,
        method: str = "POST",
        operation: str = "invoke",
        query: str = "",
        timeout: Optional[float] = None,
        expose: Optional[bool] = None,
    ) -> InvokeResult:
        """As JunctionClient.invoke, without blocking the event loop."""
        plan = self._client._plan(
            objective, body, unit, context, traffic_class, override, headers, method, operation, query, timeout, expose
        )
        if self._http is None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, send_blocking, self._client._pool, plan)
        return await self._send_httpx(plan)

    async def _send_httpx(self, plan: Plan) -> InvokeResult:
        assert self._http is not None
        try:
            res = await self._http.request(
                plan.method, plan.url, headers=plan.headers, content=plan.body, timeout=plan.timeout
            )
        except httpx.TimeoutException as err:
            raise plan.failure(TimeoutError(str(err))) from err
        except httpx.HTTPError as err:
            raise plan.failure(err) from err
        return plan.result(res.status_code, _headers(res), res.content)

    async def feedback(
        self,
        metric: str,
        value: float,
        *,
        request_id: Optional[str] = None,
        objective: Optional[str] = None,
        unit: Optional[str] = None,
        time: Optional[str] = None,
    ) -> Dict[str, Any]:
        """As JunctionClient.feedback."""
        c = self._client
        item = c._feedback_item(metric, value, request_id, objective, unit, time)
        if self._http is None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, c._post_json, "/v1/feedback", item)
        headers = {"content-type": "application/json"}
        if c._api_key is not None:
            headers["authorization"] = f"Bearer {c._api_key}"
        try:
            res = await self._http.post(c.url + "/v1/feedback", headers=headers, content=json.dumps(item).encode(),
                                        timeout=c._timeout)  # fmt: skip
        except httpx.HTTPError as err:
            raise errors.error("upstream_error", f"Junction ({c.url}) failed: {type(err).__name__}: {err}") from err
        if not 200 <= res.status_code < 300:
            raise errors.from_response(res.status_code, _headers(res), res.content)
        return res.json() if res.content else {}

    async def flush(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._client.flush)

    async def close(self) -> None:
        """Stops the threads, flushes exposures (in the executor), closes connections."""
        await asyncio.get_running_loop().run_in_executor(None, self._client.close)
        if self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> "AsyncJunctionClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def _headers(res: Any) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for name, value in res.headers.multi_items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out
