"""Keeps the newest snapshot: a long-poll on ``GET /v1/config/snapshot?wait=`` with
the ETag in hand, on a daemon thread, so a new revision arrives as soon as it
is live on the replica answering.

When Junction is unreachable the last snapshot stays in use and the poll
retries with capped, fully jittered exponential backoff. The cache file
(written atomically after every accepted snapshot) lets a process start
deciding while Junction is down. A snapshot that is not JSON (an HTML page
from a proxy), too large, of an unknown format or invalid is refused whole and
reported; the last good one stays. Every wait is on the monotonic clock, so a
wall-clock change moves no timer.
"""

from __future__ import annotations

import http.client
import os
import random
import threading
import time
from typing import Callable, Optional

from . import _http
from ._routing import RoutingTable
from ._snapshot import SnapshotError, check_snapshot, parse_json
from .events import ClientEvent, EventHook

#: Largest snapshot read by default: a config with 10,000 rules is a few MB.
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024


class Compiled:
    """A checked and compiled snapshot: what deciding reads, swapped in whole."""

    __slots__ = ("revision", "table", "objectives", "text")

    def __init__(self, revision: int, table: RoutingTable, text: str):
        self.revision = revision
        self.table = table
        self.objectives = table.objectives
        self.text = text


def compile_text(text: str) -> Compiled:
    """Parses, checks and compiles a snapshot's text; raises SnapshotError (with the
    revision it named, when it named one, as ``.revision``)."""
    try:
        raw = parse_json(text)
    except ValueError as err:
        raise SnapshotError(f"snapshot is not JSON ({err}): {text[:80]!r}") from None
    try:
        revision, config = check_snapshot(raw)
    except SnapshotError as err:
        named = raw.get("revision") if isinstance(raw, dict) else None
        err.revision = named if isinstance(named, int) and not isinstance(named, bool) else None  # type: ignore[attr-defined]
        raise
    return Compiled(revision, RoutingTable(config, revision), text)


class _Rejected(Exception):
    """The answer was a snapshot this SDK refused (already reported)."""


class _Status(Exception):
    """Junction (or something in its place) answered an error status."""


class Watcher:
    def __init__(
        self,
        url: str,
        api_key: Optional[str],
        cache_file: Optional[str],
        wait_seconds: float,
        min_backoff: float,
        max_backoff: float,
        max_bytes: int,
        emit: EventHook,
        apply: Callable[[Compiled], None],
    ) -> None:
        self._origin, self._base = _http.split_url(url)
        self._api_key = api_key
        self._cache_file = cache_file
        self._wait = wait_seconds
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._max_bytes = max_bytes
        self._emit = emit
        self._apply = apply
        self._etag: Optional[str] = None
        self.current: Optional[int] = None
        self._failures = 0
        self._rejections = 0
        self.rejected = 0
        self.connected = False
        self._conn: Optional[http.client.HTTPConnection] = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def first(self) -> bool:
        """The first snapshot: from Junction, else from the cache file. False when neither has one."""
        try:
            self._poll(0)
            if self.current is not None:
                return True
        except _Rejected:
            pass
        except Exception as err:  # unreachable, an error status, a snapshot over the bound
            self._failures = 1
            self._emit(ClientEvent("disconnected", error=_describe(err), retry_in=self._min_backoff))
        return self._from_cache()

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._follow, name="junction-snapshot", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        _http.shutdown(self._conn)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def after_fork(self) -> None:
        """In a forked child: the parent's thread and connection are gone; follow anew."""
        self._conn = None  # the parent's socket: never shut down from here (it would cut the parent's poll)
        self._stop = threading.Event()
        self._thread = None

    def _follow(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            # After a failure, ask without waiting: a revision missed while away arrives at once.
            wait = 0 if self._failures > 0 else self._wait
            try:
                applied = self._poll(wait)
            except _Rejected:
                self._rejections += 1
                self._stop.wait(self._backoff(self._rejections))
                continue
            except Exception as err:
                if self._stop.is_set():
                    return
                delay = self._backoff(self._failures)
                self._failures += 1
                self.connected = False
                self._emit(ClientEvent("disconnected", error=_describe(err), retry_in=delay))
                self._stop.wait(delay)
                continue
            self._rejections = 0
            # A server that answers a long-poll at once without a new revision (a proxy that
            # ignores ?wait) must not be asked in a tight loop.
            if wait > 0 and not applied and time.monotonic() - started < 0.2:
                self._stop.wait(self._min_backoff)

    def _backoff(self, failures: int) -> float:
        """Full jitter over an exponential ceiling: replicas coming back are not stampeded."""
        ceiling = min(self._max_backoff, self._min_backoff * 2 ** min(failures, 16))
        return self._min_backoff / 2 + random.random() * (ceiling - self._min_backoff / 2)

    def _answered(self) -> None:
        if self._failures > 0:
            self._emit(ClientEvent("reconnected"))
        self._failures = 0
        self.connected = True

    def _poll(self, wait: float) -> bool:
        """One request; True when it applied a new revision."""
        headers = {"accept": "application/json"}
        if self._etag is not None:
            headers["if-none-match"] = self._etag
        if self._api_key is not None:
            headers["authorization"] = f"Bearer {self._api_key}"
        path = self._base.rstrip("/") + "/v1/config/snapshot" + (f"?wait={wait:g}" if wait > 0 else "")
        conn = self._conn or _http.connection(self._origin, wait + 10)
        self._conn = conn
        try:
            conn.timeout = wait + 10
            if conn.sock is not None:
                conn.sock.settimeout(wait + 10)
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            status = resp.status
            if status in (200, 304):
                self._answered()
            if status == 304:
                resp.read()
                if resp.will_close:
                    self._drop()
                return False
            if status != 200:
                text = resp.read(300).decode("utf-8", "replace")
                self._drop()
                raise _Status(f"snapshot: HTTP {status} {text}".strip())
            try:
                body = _http.read_body(resp, self._max_bytes)
            except _http.TooLarge as err:
                self._drop()
                self.rejected += 1
                self._emit(ClientEvent("snapshot_rejected", error=f"snapshot: {err}"))
                raise _Rejected() from None
            etag = resp.getheader("etag")
            if resp.will_close:
                self._drop()
        except (_Rejected, _Status):
            raise  # the connection was dealt with
        except BaseException:
            self._drop()
            raise
        return self._accept(body, etag, "server")

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _accept(self, body: bytes, etag: Optional[str], source: str) -> bool:
        try:
            compiled = compile_text(body.decode("utf-8"))
        except (SnapshotError, UnicodeDecodeError) as err:
            self.rejected += 1
            self._emit(
                ClientEvent("snapshot_rejected", revision=getattr(err, "revision", None), error=_describe(err))
            )
            # Its ETag anyway: the next long-poll then waits for a newer revision instead of this one again.
            if etag is not None:
                self._etag = etag
            if source == "server":
                raise _Rejected() from None
            return False
        if self.current is not None and compiled.revision <= self.current:
            if etag is not None:
                self._etag = etag
            return False  # an older replica answered: keep the newer revision
        self._etag = etag or f'"rev-{compiled.revision}"'
        self.current = compiled.revision
        self._apply(compiled)
        self._emit(ClientEvent("revision", revision=compiled.revision, source=source))
        if source == "server" and self._cache_file is not None:
            self._write_cache(body)
        return True

    def _from_cache(self) -> bool:
        if self._cache_file is None:
            return False
        try:
            with open(self._cache_file, "rb") as f:
                body = f.read(self._max_bytes + 1)
        except OSError:
            return False
        if len(body) > self._max_bytes:
            self.rejected += 1
            self._emit(ClientEvent("snapshot_rejected", error=f"cache file over the {self._max_bytes}-byte limit"))
            return False
        return self._accept(body, None, "cache")

    def _write_cache(self, body: bytes) -> None:
        path = self._cache_file
        assert path is not None
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)  # readers see the old file or the new one, never half of one
        except OSError as err:
            self._emit(ClientEvent("cache_error", error=str(err)))
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _describe(err: BaseException) -> str:
    if isinstance(err, (SnapshotError, _Status)):
        return str(err)
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
