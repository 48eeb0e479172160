"""What the client tells its host about, through ``on_event`` and the
``junction_client`` logger. The client never raises into the caller for these:
they happen on its background threads, and deciding goes on regardless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Optional

logger = logging.getLogger("junction_client")
logger.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class ClientEvent:
    """One event. ``type`` is one of:

    - ``revision``: a snapshot was applied (``revision``, ``source``: "server" or "cache");
    - ``disconnected``: Junction could not be reached or answered an error (``error``); the
      client keeps deciding on its last snapshot and retries in ``retry_in`` seconds;
    - ``reconnected``: Junction answers again;
    - ``snapshot_rejected``: a snapshot that was not JSON, too large, of an unknown format or
      failing validation (``revision`` when it said one, ``error``); the last good one stays;
    - ``cache_error``: the cache file could not be written (``error``);
    - ``exposures_dropped``: exposures were dropped (``count``, ``total`` so far, ``reason``).
    """

    type: str
    revision: Optional[int] = None
    source: Optional[str] = None
    error: Optional[str] = None
    retry_in: Optional[float] = None
    count: Optional[int] = None
    total: Optional[int] = None
    reason: Optional[str] = None


EventHook = Callable[[ClientEvent], None]

_LEVELS = {
    "revision": logging.INFO,
    "reconnected": logging.INFO,
    "disconnected": logging.WARNING,
    "snapshot_rejected": logging.ERROR,
    "cache_error": logging.WARNING,
    "exposures_dropped": logging.WARNING,
}


def emitter(hook: Optional[EventHook], log: logging.Logger = logger) -> EventHook:
    """Logs each event and calls the hook, never letting the hook's failure reach the client's threads."""

    def emit(event: ClientEvent) -> None:
        level = _LEVELS.get(event.type, logging.INFO)
        if log.isEnabledFor(level):
            fields = {k: v for k, v in event.__dict__.items() if v is not None and k != "type"}
            log.log(level, "junction client: %s %s", event.type, fields)
        if hook is not None:
            try:
                hook(event)
            except Exception:  # the host's hook failed; deciding must go on
                log.exception("junction client: on_event hook raised")

    return emit
