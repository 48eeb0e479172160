"""Decisions per second of JunctionClient.decide on one core (SPEC §9: ≥ 200k/s for Python).

    python3 clients/python/bench/decide_bench.py [--seconds 2] [--cpu N]

Self-contained: a small stand-in for Junction (a subprocess serving the snapshot and taking
exposures with 202, as POST /v1/exposures does) so the client connects, follows and reports as
it would in production; the config is the server's decide benchmark config (bench/decide.ts
benchConfig: rules, an experiment, a rollout). The bench process is pinned to one CPU; the
stand-in runs outside it. Measures, best of three interleaved rounds:

- the routing core alone (Objective.route, as the server's bench times its decide);
- decide with 4,096 units cycled (returning units: the bucket memo answers), exposures off and on
  (on: the sender thread batching them to the stand-in shares the GIL, so its cost is counted);
- the same without the bucket memo; a new unit on every call; 1,000 objectives loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from junction_client import ExposureSettings, JunctionClient  # noqa: E402
from junction_client._bucket import memo  # noqa: E402

CYCLED = [f"user-{i}" for i in range(4096)]
CONTEXT = {"country": "US", "device": "tv"}


def bench_config(objectives: int, rules: int = 10) -> Dict[str, Any]:
    """bench/decide.ts benchConfig(objectives)."""
    http = lambda p: {"backend": {"type": "http", "endpoints": [f"http://127.0.0.1:{p}"]}}  # noqa: E731
    return {
        "models": {"ranker": {"versions": {"6": http(1), "7": http(2), "8": http(3)}}},
        "objectives": {
            f"objective-{i}": {
                "default": "ranker@6",
                "rules": [{"when": {"context": {"country": [f"C{r}"], "device": ["tv"]}}, "use": "ranker@7"} for r in range(rules)],
                "experiments": [{"id": f"exp-{i}", "population": 0.5,
                                 "cells": {"A": {"weight": 50, "use": "ranker@6"}, "B": {"weight": 50, "use": "ranker@7"}}}],
                "rollout": {"candidate": "ranker@8", "percent": 20},
            }
            for i in range(objectives)
        },
    }  # fmt: skip


STAND_IN = textwrap.dedent(
    """
    import json, sys, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    snapshot = sys.stdin.buffer.read()
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def reply(self, status, body=b"", etag=None):
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            if etag: self.send_header("etag", etag)
            self.end_headers(); self.wfile.write(body)
        def do_GET(self):
            if self.headers.get("if-none-match") == '"rev-1"':
                time.sleep(30 if "wait=" in self.path else 0); self.reply(304)
            else:
                self.reply(200, snapshot, '"rev-1"')
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.reply(202, b'{"accepted":0,"written":0}')
    s = ThreadingHTTPServer(("127.0.0.1", 0), H); s.daemon_threads = True
    print(s.server_address[1], flush=True)
    s.serve_forever()
    """
)


def stand_in(objectives: int) -> "tuple[subprocess.Popen, str]":
    snap = json.dumps({"format": 1, "revision": 1, "config": bench_config(objectives)}).encode()
    proc = subprocess.Popen([sys.executable, "-c", STAND_IN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(snap)
    proc.stdin.close()
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}"


def rate(fn: Callable[[int], None], seconds: float) -> float:
    n = 0
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        fn(n)
        n += 1000
    return n / (time.perf_counter() - start)


def cycled(jc: JunctionClient, objective: str) -> Callable[[int], None]:
    decide, units, ctx = jc.decide, CYCLED, CONTEXT

    def run(n: int) -> None:
        for i in range(n, n + 1000):
            decide(objective, units[i & 4095], ctx)

    return run


def fresh(jc: JunctionClient, objective: str) -> Callable[[int], None]:
    decide, ctx = jc.decide, CONTEXT
    counter = [0]

    def run(n: int) -> None:
        base = counter[0]
        for i in range(base, base + 1000):
            decide(objective, f"fresh-{i}", ctx)
        counter[0] = base + 1000

    return run


def core(jc: JunctionClient, objective: str) -> Callable[[int], None]:
    o = jc._snap.objectives[objective]  # type: ignore[union-attr]
    route, units, ctx, bucket = o.route, CYCLED, CONTEXT, memo(32_768)

    def run(n: int) -> None:
        for i in range(n, n + 1000):
            route(units[i & 4095], ctx, "live", bucket)

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=1.0, help="length of each measure in a round")
    ap.add_argument("--cpu", type=int, default=None, help="the CPU to pin to (default: the last one allowed)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()

    one, url_one = stand_in(1)
    many, url_many = stand_in(1000)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if cpus:
        os.sched_setaffinity(0, {args.cpu if args.cpu is not None else cpus[-1]})
    clients: List[JunctionClient] = []
    try:
        off = JunctionClient.connect(url_one, exposures=False)
        on = JunctionClient.connect(url_one, exposures=ExposureSettings(max_buffered=1_000_000))
        no_memo = JunctionClient.connect(url_one, exposures=False, bucket_memo=0)
        new_units = JunctionClient.connect(url_one, exposures=False)
        thousand = JunctionClient.connect(url_many, exposures=False)
        clients = [off, on, no_memo, new_units, thousand]
        measures = [
            ("routing core (Objective.route), 4,096 units cycled", core(off, "objective-0")),
            ("decide, 4,096 units cycled (memo answers), exposures off", cycled(off, "objective-0")),
            ("decide, 4,096 units cycled (memo answers), exposures on", cycled(on, "objective-0")),
            ("decide, 4,096 units cycled, bucket_memo=0", cycled(no_memo, "objective-0")),
            ("decide, a new unit every call, exposures off", fresh(new_units, "objective-0")),
            ("decide, 1,000 objectives loaded, 4,096 units cycled", cycled(thousand, "objective-999")),
        ]
        for _, m in measures:  # warm up: memos filled, code paths taken
            rate(m, 0.2)
        best: Dict[str, float] = {}
        for _ in range(3):
            for name, m in measures:
                best[name] = max(best.get(name, 0.0), rate(m, args.seconds))
        on.flush()
        sent, dropped = on.stats.exposures_sent, on.stats.exposures_dropped
    finally:
        for c in clients:
            c.close()
        one.kill()
        many.kill()
    if args.json:
        print(json.dumps({"decisions_per_second": {k: round(v) for k, v in best.items()}, "exposures": {"sent": sent, "dropped": dropped}}))
        return
    print(f"Python {sys.version.split()[0]}, one CPU{f' (cpu {args.cpu if args.cpu is not None else cpus[-1]})' if cpus else ''}; best of 3 rounds of {args.seconds:g} s")
    for name, value in best.items():
        mark = "" if "core" in name else ("  ≥ 200k ✓" if value >= 200_000 else "  < 200k ✗")
        print(f"  {name:<62} {value:>12,.0f}/s{mark}")
    print(f"  exposures on: {sent:,} sent, {dropped:,} dropped")


if __name__ == "__main__":
    main()
