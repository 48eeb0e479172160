"""Exposures of local decisions, reported to ``POST /v1/exposures`` in batches.

``add`` is O(1), takes one uncontended lock and never blocks on I/O or raises:
the buffer is bounded, and what does not fit, or what Junction refuses, is
dropped and counted. A daemon thread sends a batch when one is full or
``flush_interval`` seconds after the last send; one batch is in flight at a
time; a batch that fails (Junction unreachable, 5xx, 429) is put back once
(where there is room), then dropped.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Deque, Dict, List, Optional, Tuple

from . import _http
from .decision import Decision
from .events import ClientEvent, EventHook

#: The server's per-call limit (src/faces/exposures.ts).
SERVER_MAX_BATCH = 10_000

# (epoch seconds, decision, unit, traffic class, retried)
Pending = Tuple[float, Decision, Optional[str], str, bool]


class _Encoder:
    """Exposures to JSON, cheaply: the sender shares the GIL with every thread that decides, so its
    cost per exposure is a cost per decision. A decision's own fields are encoded once (Decisions
    are shared, one per outcome) and the time's date part once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""
        self._ms = -1
        self._text = ""
        self._fragments: Dict[int, Tuple[Decision, str]] = {}

    def time(self, t: float) -> str:
        ms = int(t * 1000)
        if ms == self._ms:
            return self._text
        second = ms // 1000
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
        self._ms = ms
        self._text = f"{self._prefix}{ms % 1000:03d}Z"
        return self._text

    def fragment(self, d: Decision) -> str:
        found = self._fragments.get(id(d))
        if found is not None and found[0] is d:
            return found[1]
        if len(self._fragments) > 10_000:  # outcomes of revisions gone by
            self._fragments.clear()
        text = json.dumps(
            {"objective": d.objective, "target": d.target, "rule": d.rule, "experiment": d.experiment,
             "cell": d.cell, "revision": d.revision},
            separators=(",", ":"),
        )[1:-1]  # fmt: skip
        self._fragments[id(d)] = (d, text)  # the Decision held: its id is not reused meanwhile
        return text

    def batch(self, batch: List["Pending"]) -> bytes:
        # ASCII-escaped strings: a unit holding a lone surrogate still encodes (as \\udXXX, which
        # JSON.parse reads back as the same string the decision was made on).
        quote, when, fragment = encode_basestring_ascii, self.time, self.fragment
        items = [
            f'{{"time":"{when(t)}","unit":{"null" if unit is None else quote(unit)},"trafficClass":"{tc}",{fragment(d)}}}'
            for t, d, unit, tc, _ in batch
        ]
        return ('{"via":"sdk","exposures":[' + ",".join(items) + "]}").encode()


class ExposureQueue:
    def __init__(
        self,
        url: str,
        api_key: Optional[str],
        pool: _http.Pool,
        emit: EventHook,
        batch_size: int = 1000,
        flush_interval: float = 1.0,
        max_buffered: int = 100_000,
        timeout: float = 10.0,
    ) -> None:
        self._url = url.rstrip("/") + "/v1/exposures"
        self._api_key = api_key
        self._pool = pool
        self._emit = emit
        self._batch = max(1, min(batch_size, SERVER_MAX_BATCH))
        self._interval = flush_interval
        self._max = max_buffered
        self._timeout = timeout
        self._buf: Deque[Pending] = deque()
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closed = False
        self._unreported = 0
        self.sent = 0
        self.dropped = 0
        self._thread: Optional[threading.Thread] = None
        self._encoder = _Encoder()

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="junction-exposures", daemon=True)
            self._thread.start()

    def add(self, decision: Decision, unit: Optional[str], traffic_class: str) -> None:
        with self._lock:
            if self._closed or len(self._buf) >= self._max:
                # Counted now, told once per round of the thread: a full buffer must not flood the hook.
                self.dropped += 1
                self._unreported += 1
                return
            self._buf.append((time.time(), decision, unit, traffic_class, False))
            # Wake the sender once per batch gathered, not on every add past it: an Event.set per
            # decision would cost more than the decision (and spin a sender that cannot deliver).
            full = len(self._buf) % self._batch == 0
        if full:
            self._wake.set()

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def flush(self) -> None:
        """Sends everything buffered so far (in batches) from the calling thread. A batch that
        fails is tried once more, then dropped; so each batch costs at most two timeouts."""
        while self._send_one(immediate=True):
            pass

    def close(self, timeout: float = 10.0) -> None:
        """Flushes what it can, then stops. Once a batch cannot be delivered the rest is dropped
        (counted) rather than tried batch after batch against a Junction that is away."""
        while True:
            sent = self._send_one(immediate=False)
            if not sent:
                break
        with self._lock:
            self._closed = True
            left = len(self._buf)
            self._buf.clear()
        self._drop(left, "client closed")
        self._report()
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def after_fork(self) -> None:
        """In a forked child: what is buffered is the parent's to report; start empty, with new locks."""
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._buf = deque()
        self._unreported = 0
        self.sent = 0
        self.dropped = 0
        self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            self._report()
            # Up to one batch per round unless the buffer holds full batches: a Junction that is
            # down is asked once per interval, not in a loop.
            while self._send_one(immediate=False) and len(self._buf) >= self._batch:
                pass

    def _report(self) -> None:
        with self._lock:
            count, self._unreported = self._unreported, 0
            total = self.dropped
        if count > 0:
            reason = "client closed" if self._closed else "buffer full"
            self._emit(ClientEvent("exposures_dropped", count=count, total=total, reason=reason))

    def _send_one(self, immediate: bool) -> bool:
        """Sends one batch; False when there was nothing to send (or it could not be and was put back
        for the next round, when ``immediate`` is False)."""
        with self._send_lock:
            with self._lock:
                n = min(self._batch, len(self._buf))
                batch: List[Pending] = [self._buf.popleft() for _ in range(n)]
            if not batch:
                return False
            return self._send(batch) or immediate

    def _send(self, batch: List[Pending]) -> bool:
        body = self._encoder.batch(batch)
        headers = {"content-type": "application/json"}
        if self._api_key is not None:
            headers["authorization"] = f"Bearer {self._api_key}"
        try:
            res = self._pool.request("POST", self._url, headers, body, self._timeout)
        except Exception as err:
            self._retry_later(batch, f"{type(err).__name__}: {err}")
            return False
        if res.status == 202:
            with self._lock:
                self.sent += len(batch)
            return True
        text = res.body[:200].decode("utf-8", "replace")
        # Refused (400: e.g. a revision two applies old): sending it again would be refused again.
        if res.status < 500 and res.status != 429:
            self._drop(len(batch), f"refused: HTTP {res.status} {text}")
            return True
        self._retry_later(batch, f"HTTP {res.status}")
        return False

    def _retry_later(self, batch: List[Pending], reason: str) -> None:
        again = [p for p in batch if not p[4]]
        with self._lock:
            room = 0 if self._closed else max(0, self._max - len(self._buf))
            kept = again[:room]
            self._buf.extendleft(reversed([p[:4] + (True,) for p in kept]))  # type: ignore[misc]
        self._drop(len(batch) - len(kept), f"not delivered: {reason}")

    def _drop(self, count: int, reason: str) -> None:
        if count <= 0:
            return
        with self._lock:
            self.dropped += count
            total = self.dropped
        self._emit(ClientEvent("exposures_dropped", count=count, total=total, reason=reason))
