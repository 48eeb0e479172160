"""JunctionClient: the feature-flag-SDK pattern for model routing (SPEC §10, §20).

Download the routing (a snapshot), decide in process with the server's routing
semantics, call the chosen target directly, report exposures in batches,
follow new revisions by long-poll, and keep deciding on the last snapshot
when Junction is away.

Thread safety: every public method may be called from any number of threads
at once. ``decide`` reads the current compiled snapshot through one attribute
read and never sees half of a revision: a new one is compiled whole on the
watcher thread and swapped in by one assignment. Returned Decisions are
immutable and shared.

Fork: a client made before ``os.fork()`` keeps working in the child. Threads
do not survive a fork, so the child restarts the snapshot watcher and the
exposure sender (``os.register_at_fork``), with new locks, no connections of
the parent's, and an empty exposure buffer (what was buffered is the parent's
to report).
"""

from __future__ import annotations

import itertools
import json
import os
import weakref
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Union

from . import _bucket, _http, errors
from ._exposures import ExposureQueue
from ._invoke import Body, InvokeResult, Plan, plan_direct, plan_via_junction, send_blocking
from ._snapshot import TARGET_REF, TRAFFIC_CLASSES
from ._watch import MAX_SNAPSHOT_BYTES, Compiled, Watcher
from .decision import Decision
from .events import EventHook, emitter

_EMPTY: Mapping[str, str] = {}
_CLASSES = frozenset(TRAFFIC_CLASSES)
#: Request ids of direct calls remembered for ``feedback`` (Junction never saw them).
_DIRECT_IDS = 10_000


@dataclass(frozen=True)
class ExposureSettings:
    """How exposures are reported: ``batch_size`` per call (at most 10,000), at least every
    ``flush_interval`` seconds, at most ``max_buffered`` waiting (beyond: dropped, counted)."""

    batch_size: int = 1000
    flush_interval: float = 1.0
    max_buffered: int = 100_000


@dataclass(frozen=True)
class ClientStats:
    revision: Optional[int]
    #: Junction answered the last snapshot request
    connected: bool
    snapshots_rejected: int
    exposures_sent: int
    exposures_dropped: int
    exposures_buffered: int
    #: bucket memo lookups (None when ``bucket_memo=0``)
    bucket_hits: Optional[int]
    bucket_misses: Optional[int]


_clients: "weakref.WeakSet[JunctionClient]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for client in list(_clients):
        client._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class JunctionClient:
    """Decide locally and call targets directly. Make one with :meth:`connect`."""

    def __init__(
        self,
        url: str,
        *,
        api_key: Optional[str] = None,
        cache_file: Optional[str] = None,
        on_event: Optional[EventHook] = None,
        exposures: Union[bool, ExposureSettings] = True,
        wait_seconds: float = 30.0,
        backoff: "tuple[float, float]" = (0.25, 30.0),
        timeout: float = 30.0,
        bucket_memo: int = 32_768,
        max_snapshot_bytes: int = MAX_SNAPSHOT_BYTES,
    ) -> None:
        _http.split_url(url)  # a bad URL fails here, not on a thread
        self.url = url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout
        self._snap: Optional[Compiled] = None
        self._pool = _http.Pool()
        self._emit = emitter(on_event)
        self._memo = _bucket.memo(bucket_memo) if bucket_memo > 0 else None
        self._bucket = self._memo or _bucket.bucket_of
        self._next_endpoint: Dict[str, Iterator[int]] = {}
        self._direct_ids: Dict[str, tuple] = {}
        self._closed = False
        settings = ExposureSettings() if exposures is True else exposures
        self._exposures: Optional[ExposureQueue] = None
        if isinstance(settings, ExposureSettings):
            self._exposures = ExposureQueue(
                self.url, api_key, self._pool, self._emit,
                settings.batch_size, settings.flush_interval, settings.max_buffered,
            )  # fmt: skip
        self._watcher = Watcher(
            self.url, api_key, cache_file, wait_seconds, backoff[0], backoff[1], max_snapshot_bytes,
            self._emit, self._apply,
        )  # fmt: skip

    @classmethod
    def connect(cls, url: str, **options: Any) -> "JunctionClient":
        """Fetches the snapshot (or, when Junction is unreachable, reads ``cache_file``) and starts
        following new revisions. Raises NotReady when neither has a usable snapshot.

        Options: ``api_key``, ``cache_file``, ``on_event`` (a callable taking a ClientEvent),
        ``exposures`` (True, False, or ExposureSettings), ``wait_seconds`` (long-poll, default 30),
        ``backoff`` ((first, largest) retry delay in seconds), ``timeout`` (invoke, default 30 s),
        ``bucket_memo`` ((salt, unit) buckets remembered, default 32,768; 0 turns it off),
        ``max_snapshot_bytes`` (default 64 MiB).
        """
        client = cls(url, **options)
        if not client._watcher.first():
            client._pool.close()
            cache = options.get("cache_file")
            raise errors.error(
                "not_ready",
                f"no snapshot: {url} is unreachable or has no valid config" + (f", and {cache} has none" if cache else ""),
            )
        client._start()
        _clients.add(client)
        return client

    def _start(self) -> None:
        self._watcher.start()
        if self._exposures is not None:
            self._exposures.start()

    def _apply(self, compiled: Compiled) -> None:
        self._snap = compiled  # one reference assignment: deciders see the old revision or the new one

    def _after_fork(self) -> None:
        if self._closed:
            return
        self._pool.forget()
        self._watcher.after_fork()
        if self._exposures is not None:
            self._exposures.after_fork()
        self._start()

    # -- reading ---------------------------------------------------------------------------

    @property
    def revision(self) -> Optional[int]:
        """The revision decisions are made on."""
        snap = self._snap
        return None if snap is None else snap.revision

    @property
    def stats(self) -> ClientStats:
        ex = self._exposures
        info = self._memo.cache_info() if self._memo is not None else None
        return ClientStats(
            revision=self.revision,
            connected=self._watcher.connected,
            snapshots_rejected=self._watcher.rejected,
            exposures_sent=ex.sent if ex else 0,
            exposures_dropped=ex.dropped if ex else 0,
            exposures_buffered=ex.buffered if ex else 0,
            bucket_hits=info.hits if info else None,
            bucket_misses=info.misses if info else None,
        )

    def objectives(self) -> List[str]:
        """Objective names of the current revision."""
        snap = self._snap
        return [] if snap is None else list(snap.objectives)

    # -- deciding --------------------------------------------------------------------------

    def decide(
        self,
        objective: str,
        unit: Optional[str] = None,
        context: Optional[Mapping[str, str]] = None,
        traffic_class: Optional[str] = None,
        override: Optional[str] = None,
        expose: Optional[bool] = None,
    ) -> Decision:
        """Decides in process, synchronously, as Junction would for the same revision.

        Raises ObjectiveNotFound, OverrideForbidden or InvalidRequest where ``/v1/decide``
        would answer them. ``expose=False`` leaves this decision out of the exposures.
        """
        snap = self._snap
        o = None if snap is None else snap.objectives.get(objective)
        if (
            o is not None
            and override is None
            and type(unit) is str
            and unit != ""
            and (traffic_class is None or (type(traffic_class) is str and traffic_class in _CLASSES))
        ):
            # The common call, straight through: _decide below is the same with every check spelled out.
            ctx = _server_context(context, objective) if context else _EMPTY
            decision = o.route(unit, ctx, traffic_class or "live", self._bucket).with_unit
        else:
            decision = self._decide(objective, unit, context, traffic_class, override)[0]
        ex = self._exposures
        if ex is not None and expose is not False:
            ex.add(decision, unit or None, traffic_class or "live")
        return decision

    def _decide(self, objective: str, unit: Any, context: Any, traffic_class: Any, override: Any) -> tuple:
        snap = self._snap
        if snap is None:
            raise errors.error("not_ready", "no snapshot loaded")
        o = snap.objectives.get(objective)
        if o is None:
            raise errors.error("objective_not_found", f'no objective "{objective}"', objective=objective)
        if unit == "":
            unit = None
        elif unit is not None and not isinstance(unit, str):
            raise errors.error("invalid_request", f"unit must be a string (got {unit!r})", objective=objective)
        if traffic_class is None:
            tc = "live"
        elif isinstance(traffic_class, str) and traffic_class in _CLASSES:
            tc = traffic_class
        else:
            raise errors.error(
                "invalid_request",
                f"traffic_class must be live, test or synthetic (got {traffic_class!r})",
                objective=objective,
            )
        ctx = _EMPTY if not context else _server_context(context, objective)
        if override is not None:
            if not isinstance(override, str) or not TARGET_REF.fullmatch(override):
                raise errors.error(
                    "invalid_request", f'override must be "model@version" (got {override!r})', objective=objective
                )
            outcome = o.override(override)
        else:
            outcome = o.route(unit, ctx, tc, self._bucket)
        return (outcome.with_unit if unit is not None else outcome.without_unit), outcome

    # -- calling ---------------------------------------------------------------------------

    def invoke(
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
        """Decides, then calls the target: its endpoints directly for a remote target, through
        Junction for one only Junction can call (which then decides and logs the exposure itself).

        ``body``: bytes or str as they are, a dict or list as JSON. ``operation``: the protocol
        operation as the server's faces name them (``invoke``, ``infer``, ``chat/completions``,
        ``embeddings``, …). ``query``: a query string with its ``?``. The answer is read whole;
        any status is returned (``result.raise_for_error()`` raises the typed error). Raises
        UpstreamError or DeadlineExceeded when no answer came.
        """
        return send_blocking(self._pool, self._plan(
            objective, body, unit, context, traffic_class, override, headers, method, operation, query, timeout, expose
        ))  # fmt: skip

    def _plan(self, objective: str, body: Body, unit: Any, context: Any, traffic_class: Any, override: Any,
              headers: Any, method: str, operation: str, query: str, timeout: Optional[float],
              expose: Optional[bool]) -> Plan:  # fmt: skip
        decision, outcome = self._decide(objective, unit, context, traffic_class, override)
        unit = unit or None
        tc = traffic_class or "live"
        method = method.upper()
        budget = self._timeout if timeout is None else timeout
        if not decision.remote:
            ctx = _EMPTY if not context else _server_context(context, objective)
            return plan_via_junction(
                self.url, self._api_key, objective, decision, unit, ctx, tc, override,
                body, method, query, headers, budget,
            )  # fmt: skip
        if self._exposures is not None and expose is not False:
            self._exposures.add(decision, unit, tc)
        plan = plan_direct(
            objective, outcome, decision, self._endpoint_for(decision), body, method, operation, query, headers, budget
        )
        self._remember_direct(plan.request_id, objective, unit)
        return plan

    def _endpoint_for(self, d: Decision) -> str:
        counter = self._next_endpoint.get(d.target)
        if counter is None:
            counter = self._next_endpoint.setdefault(d.target, itertools.count())
        return d.endpoints[next(counter) % len(d.endpoints)]

    def _remember_direct(self, request_id: Optional[str], objective: str, unit: Optional[str]) -> None:
        if request_id is None or unit is None:
            return
        ids = self._direct_ids
        if len(ids) >= _DIRECT_IDS:
            try:
                del ids[next(iter(ids))]
            except (StopIteration, KeyError, RuntimeError):
                pass
        ids[request_id] = (objective, unit)

    # -- reporting -------------------------------------------------------------------------

    def feedback(
        self,
        metric: str,
        value: float,
        *,
        request_id: Optional[str] = None,
        objective: Optional[str] = None,
        unit: Optional[str] = None,
        time: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Reports an outcome (a click, a purchase) for a decision: by ``request_id`` (from an
        invoke), or by ``objective`` and ``unit``. ``POST /v1/feedback`` (Junction needs
        ``--feedback-log``); returns its answer, raises the typed error otherwise.

        Junction never saw the request id of a direct call, so feedback naming one this client
        made is sent by its objective and unit, which experiment readouts join on.
        """
        return self._post_json("/v1/feedback", self._feedback_item(metric, value, request_id, objective, unit, time))

    def _feedback_item(self, metric: str, value: float, request_id: Optional[str], objective: Optional[str],
                       unit: Optional[str], time: Optional[str]) -> Dict[str, Any]:  # fmt: skip
        if request_id is not None and objective is None and unit is None:
            known = self._direct_ids.get(request_id)
            if known is not None:
                request_id, (objective, unit) = None, known
        item: Dict[str, Any] = {"metric": metric, "value": value}
        for key, v in (("requestId", request_id), ("objective", objective), ("unit", unit), ("time", time)):
            if v is not None:
                item[key] = v
        return item

    def _post_json(self, path: str, payload: Any) -> Dict[str, Any]:
        headers = {"content-type": "application/json"}
        if self._api_key is not None:
            headers["authorization"] = f"Bearer {self._api_key}"
        body = json.dumps(payload).encode()
        try:
            res = self._pool.request("POST", self.url + path, headers, body, self._timeout)
        except Exception as err:
            raise errors.error("upstream_error", f"Junction ({self.url}) failed: {type(err).__name__}: {err}") from err
        if not 200 <= res.status < 300:
            raise errors.from_response(res.status, res.headers, res.body)
        try:
            return json.loads(res.body) if res.body else {}
        except ValueError:
            return {}

    def flush(self) -> None:
        """Sends the exposures buffered so far, from this thread."""
        if self._exposures is not None:
            self._exposures.flush()

    def close(self) -> None:
        """Stops following revisions, flushes exposures, stops the threads, closes connections."""
        if self._closed:
            return
        self._closed = True
        self._watcher.close()
        if self._exposures is not None:
            self._exposures.close()
        self._pool.close()
        _clients.discard(self)

    def __enter__(self) -> "JunctionClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _server_context(context: Mapping[str, str], objective: str) -> Mapping[str, str]:
    """Context as the server sees it: keys lowercase (they come from header names), values strings
    (the server answers 400 otherwise). Both checks run at C speed; a copy only when a key is not
    lowercase already."""
    try:
        "".join(context.values())  # TypeError unless every value is a string
        if all(map(str.islower, context)):  # TypeError for a key that is not a string
            return context
        lowered = {k.lower(): v for k, v in context.items()}
    except (TypeError, AttributeError):
        raise errors.error(
            "invalid_request", "context must be a mapping of strings to strings", objective=objective
        ) from None
    return lowered
