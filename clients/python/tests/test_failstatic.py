"""When Junction is away or answers badly: the client keeps deciding on its last good snapshot,
says so (events, log, counters), starts from its cache file when Junction is down at boot, and
refuses snapshots that are not JSON, too large or invalid, whole. Exposures never block."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from support import Junction, Upstream, answer, free_port, wait_until
from junction_client import ClientEvent, ExposureSettings, JunctionClient, NotReady


def events_of(kind: str, events: List[ClientEvent]) -> List[ClientEvent]:
    return [e for e in events if e.type == kind]


def config(percent: int) -> Dict[str, Any]:
    http = lambda p: {"backend": {"type": "http", "endpoints": [f"http://127.0.0.1:{p}"]}}  # noqa: E731
    return {
        "models": {"m": {"class": "scorer", "versions": {"1": http(1), "2": http(2)}}},
        "objectives": {"cw": {"default": "m@1", "rollout": {"candidate": "m@2", "percent": percent}}},
    }


def test_keeps_deciding_when_junction_dies_and_boots_from_the_cache_file(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "snapshot.json"
    cache.parent.mkdir()
    j = Junction(tmp_path / "j", config(50), port=free_port()).start()
    events: List[ClientEvent] = []
    jc = JunctionClient.connect(j.url, cache_file=str(cache), on_event=events.append, backoff=(0.02, 0.1), exposures=False)
    cold = None
    try:
        before = {u: jc.decide("cw", unit=u) for u in (f"user-{i}" for i in range(50))}
        assert wait_until(cache.exists, 5)
        assert json.loads(cache.read_text())["revision"] == jc.revision
        assert [p.name for p in cache.parent.iterdir()] == ["snapshot.json"]  # written atomically: no temp file left
        j.kill()  # SIGKILL: no goodbye
        assert wait_until(lambda: bool(events_of("disconnected", events)), 10)
        assert jc.stats.connected is False
        assert all(jc.decide("cw", unit=u) is d for u, d in before.items())

        # A second process boots while Junction is down: it decides from the cache file.
        booted: List[ClientEvent] = []
        cold = JunctionClient.connect(j.url, cache_file=str(cache), on_event=booted.append, backoff=(0.02, 0.1), exposures=False)
        assert ClientEvent("revision", revision=jc.revision, source="cache") in booted
        assert all(cold.decide("cw", unit=u).target == d.target for u, d in before.items())

        # Junction comes back on the same port and store; a new revision reaches both.
        j.start()
        assert wait_until(lambda: bool(events_of("reconnected", events)) and bool(events_of("reconnected", booted)), 15)
        rev = j.apply(config(100))
        assert wait_until(lambda: jc.revision == rev and cold.revision == rev, 5)
        assert jc.decide("cw", unit="user-1").target == "m@2"
        assert wait_until(lambda: json.loads(cache.read_text())["revision"] == rev, 5)
    finally:
        jc.close()
        if cold is not None:
            cold.close()
        j.stop()


class FakeJunction:
    """Answers the snapshot route as a test says: good, bad, HTML, too large."""

    def __init__(self, good: Dict[str, Any]) -> None:
        self.good = good
        self.mode = "good"
        self.up = Upstream("fake")
        self.up.handler = self.handle
        self.url = self.up.url

    def handle(self, h: Any, body: bytes) -> None:
        if not h.path.startswith("/v1/config/snapshot"):
            answer(h, 202, b'{"accepted":0,"written":0}')
            return
        mode = self.mode
        if mode.startswith("good"):
            rev = int(mode.split(":")[1]) if ":" in mode else 1
            if h.headers.get("if-none-match") == f'"rev-{rev}"':
                time.sleep(0.05)
                answer(h, 304, b"")
                return
            snap = dict(self.good, revision=rev)
            answer(h, 200, json.dumps(snap).encode(), headers={"etag": f'"rev-{rev}"'})
        elif mode == "invalid":
            bad = json.loads(json.dumps(self.good))
            bad["revision"] = 2
            bad["config"]["objectives"]["cw"]["default"] = "m@99"  # names a target that does not exist
            answer(h, 200, json.dumps(bad).encode(), headers={"etag": '"rev-2"'})
        elif mode == "html200":
            answer(h, 200, b"<!doctype html><html><body>Welcome to nginx!</body></html>", "text/html")
        elif mode == "html502":
            answer(h, 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        elif mode == "huge":
            snap = dict(self.good, revision=5, padding="x" * 5000)
            answer(h, 200, json.dumps(snap).encode(), headers={"etag": '"rev-5"'})
        elif mode == "huge-chunked":
            h.send_response(200)
            h.send_header("content-type", "application/json")
            h.send_header("transfer-encoding", "chunked")
            h.end_headers()
            data = json.dumps(dict(self.good, revision=6, padding="x" * 5000)).encode()
            for i in range(0, len(data), 1000):
                part = data[i : i + 1000]
                h.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            h.wfile.write(b"0\r\n\r\n")

    def close(self) -> None:
        self.up.close()


@pytest.fixture()
def good_snapshot() -> Dict[str, Any]:
    return {"format": 1, "revision": 1, "config": config(0)}


def test_a_snapshot_failing_validation_is_refused_whole_and_the_last_good_one_stays(good_snapshot) -> None:
    fake = FakeJunction(good_snapshot)
    events: List[ClientEvent] = []
    jc = JunctionClient.connect(fake.url, on_event=events.append, wait_seconds=1, backoff=(0.02, 0.05), exposures=False)
    try:
        assert jc.revision == 1
        fake.mode = "invalid"
        assert wait_until(lambda: bool(events_of("snapshot_rejected", events)), 5)
        rejected = events_of("snapshot_rejected", events)[0]
        assert rejected.revision == 2 and 'has no version "99"' in (rejected.error or "")
        assert jc.revision == 1 and jc.stats.snapshots_rejected >= 1
        assert jc.decide("cw", unit="u").target == "m@1"
        fake.mode = "good:3"  # fixed upstream: the next good revision is taken
        assert wait_until(lambda: jc.revision == 3, 5)
    finally:
        jc.close()
        fake.close()


def test_html_answers_are_errors_not_crashes(good_snapshot, tmp_path: Path) -> None:
    fake = FakeJunction(good_snapshot)
    events: List[ClientEvent] = []
    jc = JunctionClient.connect(fake.url, on_event=events.append, wait_seconds=1, backoff=(0.02, 0.05), exposures=False,
                                cache_file=str(tmp_path / "c.json"))  # fmt: skip
    try:
        fake.mode = "html200"  # a proxy's page with status 200
        assert wait_until(lambda: any("not JSON" in (e.error or "") for e in events_of("snapshot_rejected", events)), 5)
        fake.mode = "html502"  # a proxy's error page
        assert wait_until(lambda: any("HTTP 502" in (e.error or "") for e in events_of("disconnected", events)), 5)
        assert jc.revision == 1 and jc.decide("cw", unit="u").target == "m@1"
        assert all(t.is_alive() for t in threading.enumerate() if t.name == "junction-snapshot")
    finally:
        jc.close()
    # At boot: an HTML answer and no cache file is a clear error; with the cache file, it decides.
    with pytest.raises(NotReady):
        JunctionClient.connect(fake.url, exposures=False)
    booted = JunctionClient.connect(fake.url, exposures=False, cache_file=str(tmp_path / "c.json"), backoff=(0.02, 0.05))
    assert booted.revision == 1
    booted.close()
    fake.close()


@pytest.mark.parametrize("mode", ["huge", "huge-chunked"])
def test_a_snapshot_over_the_bound_is_refused(good_snapshot, mode: str) -> None:
    fake = FakeJunction(good_snapshot)
    events: List[ClientEvent] = []
    jc = JunctionClient.connect(fake.url, on_event=events.append, wait_seconds=1, backoff=(0.02, 0.05),
                                exposures=False, max_snapshot_bytes=4000)  # fmt: skip
    try:
        fake.mode = mode
        assert wait_until(lambda: any("4000-byte limit" in (e.error or "") for e in events_of("snapshot_rejected", events)), 5)
        assert jc.revision == 1
        fake.mode = "good:7"
        assert wait_until(lambda: jc.revision == 7, 5)
    finally:
        jc.close()
        fake.close()


def test_exposures_are_bounded_dropped_and_counted_never_blocking(good_snapshot, tmp_path: Path) -> None:
    cache = tmp_path / "snapshot.json"
    cache.write_text(json.dumps(good_snapshot))
    events: List[ClientEvent] = []
    # Junction is down: nothing can be delivered, and the buffer holds 10.
    jc = JunctionClient.connect(f"http://127.0.0.1:{free_port()}", cache_file=str(cache), on_event=events.append,
                                backoff=(1, 1), exposures=ExposureSettings(max_buffered=10, flush_interval=60))  # fmt: skip
    for i in range(50):
        jc.decide("cw", unit=f"u{i}")
    assert jc.stats.exposures_dropped == 40 and jc.stats.exposures_buffered == 10
    jc.close()  # tries to deliver the 10 (Junction is down): dropped and counted too
    assert jc.stats.exposures_dropped == 50
    dropped = events_of("exposures_dropped", events)
    assert dropped[-1].total == 50 and sum(e.count or 0 for e in dropped) == 50


def test_deciding_never_waits_for_a_junction_that_hangs(good_snapshot, tmp_path: Path) -> None:
    # A Junction that accepts exposures' connections and never answers.
    hang = threading.Event()
    up = Upstream("hang")
    up.handler = lambda h, body: (
        answer(h, 503, b"{}") if h.path.startswith("/v1/config") else (hang.wait(10), answer(h, 503, b"{}"))
    )
    cache = tmp_path / "snapshot.json"
    cache.write_text(json.dumps(good_snapshot))
    jc = JunctionClient.connect(up.url, cache_file=str(cache), backoff=(5, 5), timeout=2,
                                exposures=ExposureSettings(batch_size=10, flush_interval=0.01))  # fmt: skip
    try:
        started = time.perf_counter()
        for i in range(20_000):
            jc.decide("cw", unit=f"u{i % 100}")
        assert time.perf_counter() - started < 2.0  # the sender is stuck; decide is not
    finally:
        hang.set()
        jc.close()
        up.close()


def test_a_wall_clock_jump_moves_no_timer_and_its_exposures_are_refused_and_counted(junction: Junction, monkeypatch) -> None:
    events: List[ClientEvent] = []
    jc = JunctionClient.connect(junction.url, on_event=events.append, wait_seconds=1)
    try:
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + 3 * 86400)  # the wall clock jumps three days ahead
        d = jc.decide("homepage", unit="clock-1")
        assert d.rule in ("experiment:hp-1", "pin", "default")
        jc.flush()  # Junction refuses exposures dated past its own clock: dropped and counted, not retried
        assert jc.stats.exposures_dropped == 1
        assert any("refused: HTTP 400" in (e.reason or "") for e in events if e.type == "exposures_dropped")
        # The long-poll (1 s here) keeps its rhythm on the monotonic clock: still answered, still connected.
        time.sleep(2.5)
        assert jc.stats.connected and not [e for e in events if e.type == "disconnected"]
    finally:
        monkeypatch.undo()
        jc.close()
