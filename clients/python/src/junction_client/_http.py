"""Blocking HTTP/1.1 over ``http.client``, with keep-alive connections per origin.

Small on purpose: the SDK needs requests with a timeout, a bounded read, and
connections reused between calls. Thread-safe: a connection is used by one
thread at a time (taken from the idle list, returned after its answer is read).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from typing import Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

Origin = Tuple[str, str, int]

#: Errors of a kept-alive connection the server closed while it sat idle: the request was not
#: processed, so it is sent again once on a fresh connection.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class TooLarge(Exception):
    """An answer over the read bound."""


class Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body


def split_url(url: str) -> Tuple[Origin, str]:
    """``http://host:port/base?q`` → ((scheme, host, port), "/base?q")."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"expected an http:// or https:// URL, got {url!r}")
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return (scheme, host, port), path


def header_value(value: str) -> "str | bytes":
    """A header value as Node reads it: latin-1 bytes (so ``ü`` arrives as ``ü``); beyond
    latin-1 nothing arrives unchanged, so the UTF-8 bytes go (a server reading latin-1 sees
    them as other characters)."""
    try:
        value.encode("latin-1")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8")


def response_headers(resp: http.client.HTTPResponse) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for name, value in resp.getheaders():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def connection(origin: Origin, timeout: float, context: Optional[ssl.SSLContext] = None) -> http.client.HTTPConnection:
    scheme, host, port = origin
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=context or ssl.create_default_context())
    return http.client.HTTPConnection(host, port, timeout=timeout)


def read_body(resp: http.client.HTTPResponse, limit: Optional[int]) -> bytes:
    """The whole body, or TooLarge once it passes ``limit`` bytes (counted as it arrives:
    a chunked answer declares no length)."""
    if limit is None:
        return resp.read()
    declared = resp.getheader("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"{declared} bytes is over the {limit}-byte limit")
    chunks: List[bytes] = []
    size = 0
    while True:
        chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"over the {limit}-byte limit")
        chunks.append(chunk)
    resp.read()  # marks the answer done (read1 alone leaves it open when its length ran out exactly)
    return b"".join(chunks)


class Pool:
    """Idle keep-alive connections per origin, at most ``max_idle`` each."""

    def __init__(self, max_idle: int = 32) -> None:
        self._idle: Dict[Origin, List[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._max_idle = max_idle
        self._closed = False

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, "str | bytes"],
        body: Optional[bytes],
        timeout: float,
        limit: Optional[int] = None,
    ) -> Response:
        """Sends and reads the whole answer. Raises OSError (socket.timeout included),
        http.client.HTTPException or TooLarge."""
        origin, path = split_url(url)
        conn, reused = self._take(origin, timeout)
        try:
            try:
                resp = self._send(conn, method, path or "/", headers, body, timeout)
            except _STALE:
                if not reused:
                    raise
                conn.close()
                conn = connection(origin, timeout)
                resp = self._send(conn, method, path or "/", headers, body, timeout)
            data = read_body(resp, limit)
        except BaseException:
            conn.close()
            raise
        out = Response(resp.status, response_headers(resp), data)
        if resp.will_close:
            conn.close()
        else:
            self._give(origin, conn)
        return out

    @staticmethod
    def _send(
        conn: http.client.HTTPConnection,
        method: str,
        path: str,
        headers: Mapping[str, "str | bytes"],
        body: Optional[bytes],
        timeout: float,
    ) -> http.client.HTTPResponse:
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        conn.request(method, path, body=body, headers={k: header_value(v) if isinstance(v, str) else v for k, v in headers.items()})
        return conn.getresponse()

    def _take(self, origin: Origin, timeout: float) -> Tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get(origin)
            if idle:
                return idle.pop(), True
        return connection(origin, timeout), False

    def _give(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if self._closed or len(idle) >= self._max_idle:
                conn.close()
            else:
                idle.append(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for c in conns:
            c.close()

    def forget(self) -> None:
        """After fork, in the child: the parent's connections are the parent's. Drop them
        without a word on the wire (closing our copy of a socket sends nothing while the
        parent holds its own)."""
        self._lock = threading.Lock()
        self._idle = {}


def shutdown(conn: Optional[http.client.HTTPConnection]) -> None:
    """Unblocks a thread waiting on ``conn`` (a long-poll) from another thread."""
    sock = getattr(conn, "sock", None) if conn is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
