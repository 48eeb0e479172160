"""The differential test of SPEC §10/§20, as packages/client/test/differential.test.ts runs it
for the TypeScript SDK: per config, 100,000 random units and contexts decided by this SDK and
by the server's POST /v1/decide (batches of 10,000), compared field by field, then again after
a live apply once the SDK has followed the new revision. Zero mismatches.

One Junction process serves every config in turn (each a live apply), so the SDK also follows
revisions that change everything. Beyond the TypeScript test's units: non-ASCII ones, a lone
surrogate (JSON "\\ud800"), and context keys written in upper case.
"""

from __future__ import annotations

import copy
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from support import REPO, Junction, wait_until
from junction_client import JunctionClient

N = 100_000
BATCH = 10_000
CLASSES = ["live", "live", "live", "test", "synthetic"]
EXOTIC = ["ünïcødé-{}", "ユーザー-{}", "😀-{}", "\ud800-{}", "tab\t{}", "Ω≈ç√-{}"]

Item = Tuple[str, str, Dict[str, str], str]


def bench_config(objectives: int, rules: int = 10) -> Dict[str, Any]:
    """bench/decide.ts benchConfig(50): the server's own decide benchmark config."""
    http = lambda p: {"backend": {"type": "http", "endpoints": [f"http://127.0.0.1:{p}"]}}  # noqa: E731
    objs = {
        f"objective-{i}": {
            "default": "ranker@6",
            "rules": [{"when": {"context": {"country": [f"C{r}"], "device": ["tv"]}}, "use": "ranker@7"} for r in range(rules)],
            "experiments": [{"id": f"exp-{i}", "population": 0.5,
                             "cells": {"A": {"weight": 50, "use": "ranker@6"}, "B": {"weight": 50, "use": "ranker@7"}}}],
            "rollout": {"candidate": "ranker@8", "percent": 20},
        }
        for i in range(objectives)
    }  # fmt: skip
    return {"models": {"ranker": {"versions": {"6": http(1), "7": http(2), "8": http(3)}}}, "objectives": objs}


def two_targets() -> Dict[str, Any]:
    """test/control/configs.ts twoTargets(…, { pins, rollout })."""
    return {
        "models": {"m": {"class": "scorer", "versions": {
            "1": {"backend": {"type": "http", "endpoints": ["http://127.0.0.1:1"]}},
            "2": {"backend": {"type": "http", "endpoints": ["http://127.0.0.1:2"]}}}}},
        "objectives": {"cw": {"default": "m@1", "pins": {"pinned-1": "m@2"}, "rollout": {"candidate": "m@2", "percent": 50}}},
    }  # fmt: skip


def large_config() -> Dict[str, Any]:
    """The TypeScript test's generated config: 5 objectives × 400 rules over several keys,
    experiments with when and salts, a balancer arm, a rollout, 50 pins."""
    http = lambda p: {"backend": {"type": "http", "endpoints": [f"http://127.0.0.1:{p}"]}}  # noqa: E731
    versions = {str(i + 1): http(9100 + i) for i in range(8)}
    objectives: Dict[str, Any] = {}
    for o in range(5):
        pick = lambda i, o=o: f"m@{(i * 7 + o) % 8 + 1}"  # noqa: E731
        objectives[f"large-{o}"] = {
            "default": "m@1",
            "pins": {f"pinned-{i}": pick(i) for i in range(50)},
            "rules": [
                {
                    "id": f"r{i}",
                    "when": {
                        "context": {"country": sorted({f"C{i % 40}", f"C{(i * 3) % 40}"}), **({"device": [f"d{i % 5}"]} if i % 3 == 0 else {})},
                        **({"trafficClass": "test"} if i % 11 == 0 else {}),
                    },
                    "use": pick(i),
                }
                for i in range(400)
            ],
            "experiments": [
                {"id": f"e{o}-a", "population": 0.3, "when": {"context": {"device": ["d1", "d2"]}},
                 "cells": {"A": {"weight": 50, "use": pick(1)}, "B": {"weight": 50, "use": pick(2)}}},
                {"id": f"e{o}-b", "salt": f"salt-{o}", "population": 0.5,
                 "cells": {"A": {"weight": 20, "use": pick(3)}, "B": {"weight": 30, "use": pick(4)},
                           "C": {"weight": 30, "use": pick(5)}, "D": {"weight": 20, "use": {"target": pick(4), "balance": "least-load"}}}},
                {"id": f"e{o}-c", "population": 1, "when": {"trafficClass": ["synthetic"]},
                 "cells": {"only": {"weight": 100, "use": pick(6)}}},
            ],
            "rollout": {"candidate": {"target": pick(7), "balance": "least-load"} if o == 4 else pick(7), "percent": 35},
        }  # fmt: skip
    return {"models": {"m": {"class": "scorer", "versions": versions}}, "objectives": objectives}


def changed(source: Dict[str, Any]) -> Dict[str, Any]:
    """A different revision of the same config: rules reversed, rollouts moved, populations changed."""
    nxt = copy.deepcopy(source)
    for o in nxt.get("objectives", {}).values():
        if isinstance(o.get("rules"), list):
            o["rules"].reverse()
        if o.get("rollout"):
            o["rollout"]["percent"] = (o["rollout"].get("percent", 0) + 41) % 101
        for e in o.get("experiments", []):
            e["population"] = max(0.05, min(1, e.get("population", 1) * 0.6))
    return nxt


def requests(source: Dict[str, Any], seed: int) -> List[Item]:
    """Random requests that exercise the config: context values its rules name (and others),
    pinned units, returning units, exotic units, every traffic class."""
    rand = random.Random(seed)
    objectives = list(source["objectives"])
    values: Dict[str, Dict[str, List[str]]] = {}
    pins: Dict[str, List[str]] = {}
    for name, o in source["objectives"].items():
        keys: Dict[str, Dict[str, None]] = {}
        whens = [r["when"] for r in o.get("rules", [])] + [e.get("when") for e in o.get("experiments", [])]
        for when in whens:
            for k, v in ((when or {}).get("context") or {}).items():
                for x in v if isinstance(v, list) else [v]:
                    keys.setdefault(k, {})[x] = None
        values[name] = {k: [*vs, "zz"] for k, vs in keys.items()}
        pins[name] = list(o.get("pins", {}))
    items: List[Item] = []
    for _ in range(N):
        objective = objectives[int(rand.random() * len(objectives))]
        pinned = pins[objective]
        if pinned and rand.random() < 0.05:
            unit = rand.choice(pinned)
        elif rand.random() < 0.5:
            unit = f"r-{int(rand.random() * 200)}"  # returning units: the bucket memo answers them
        elif rand.random() < 0.04:
            unit = rand.choice(EXOTIC).format(int(rand.random() * 1000))
        else:
            unit = f"u-{int(rand.random() * 1e9):x}"
        context = {k: vs[int(rand.random() * len(vs))] for k, vs in values[objective].items() if rand.random() < 0.7}
        if rand.random() < 0.2:
            context["other"] = "x"
        if context and rand.random() < 0.05:
            k = next(iter(context))
            context[k.upper()] = context.pop(k)  # the server lowercases keys (they are header names)
        items.append((objective, unit, context, CLASSES[int(rand.random() * len(CLASSES))]))
    return items


def key(d: Dict[str, Any]) -> str:
    return f"{d['target']}|{d['rule']}|{d.get('cell') or ''}|{d.get('experiment') or ''}|{d.get('balance') or ''}|{d['revision']}"


def server_decisions(j: Junction, items: List[Item]) -> List[str]:
    out: List[str] = []
    for i in range(0, len(items), BATCH):
        batch = [{"objective": o, "unit": u, "context": c, "trafficClass": t} for o, u, c, t in items[i : i + BATCH]]
        for d in j.decide_batch(batch)["decisions"]:
            out.append(f"error:{d['error']['code']}" if "error" in d else key(d))
    return out


def sdk_decisions(jc: JunctionClient, items: List[Item]) -> List[str]:
    out: List[str] = []
    decide = jc.decide
    for o, u, c, t in items:
        try:
            d = decide(o, u, c, t)
            out.append(f"{d.target}|{d.rule}|{d.cell or ''}|{d.experiment or ''}|{d.balance or ''}|{d.revision}")
        except Exception as err:  # noqa: BLE001 - compared with the server's error code
            out.append(f"error:{getattr(err, 'code', err)}")
    return out


def mismatches(items: List[Item], sdk: List[str], server: List[str]) -> List[str]:
    out = []
    for i, (a, b) in enumerate(zip(sdk, server)):
        if a != b:
            out.append(f"{json.dumps(items[i])}: sdk {a} server {b}")
            if len(out) == 5:
                break
    assert len(sdk) == len(server) == len(items)
    return out


@pytest.fixture(scope="module")
def jx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Junction]:
    # Started on the quickstart, so its in-process (ONNX) models load from their relative paths.
    j = Junction(tmp_path_factory.mktemp("differential"), REPO / "examples/quickstart.yaml").start()
    yield j
    j.stop()


CONFIGS = [
    ("examples/quickstart.yaml", lambda: (REPO / "examples/quickstart.yaml").read_text()),
    ("test/fixtures/valid.yaml", lambda: (REPO / "test/fixtures/valid.yaml").read_text()),
    ("bench config (50 objectives)", lambda: bench_config(50)),
    ("two targets with pins and a rollout", two_targets),
    ("generated: 5 objectives × 400 rules, 3 experiments, a rollout, 50 pins", large_config),
]


def test_sdk_and_server_decide_identically(jx: Junction) -> None:
    # Two clients: the default bucket memo (every decision of a returning unit answered by it), and none.
    memo = JunctionClient.connect(jx.url, exposures=False)
    plain = JunctionClient.connect(jx.url, exposures=False, bucket_memo=0)
    started = time.monotonic()
    try:
        for name, make in CONFIGS:
            config = make()
            if name != "examples/quickstart.yaml":  # the quickstart is live already
                rev = jx.apply(config, "differential")
                assert wait_until(lambda: memo.revision == rev and plain.revision == rev, 10), name
            # The source as the server parsed it (YAML fixtures have no parser here): requests use its keys.
            source = jx.get_json("/v1/config/snapshot")["config"] if isinstance(config, str) else config
            for seed, cfg in ((42, None), (7, changed(source))):
                if cfg is not None:
                    rev = jx.apply(cfg, "differential: changed")
                    assert wait_until(lambda: memo.revision == rev and plain.revision == rev, 10), name
                items = requests(source, seed)
                # The server decides in its process while this one decides locally: the two overlap.
                with ThreadPoolExecutor(1) as pool:
                    asked = pool.submit(server_decisions, jx, items)
                    local = sdk_decisions(memo, items), sdk_decisions(plain, items)
                    server = asked.result()
                assert mismatches(items, local[0], server) == [], name
                assert mismatches(items, local[1], server) == [], name
                assert sum(s.startswith("error:") for s in server) == 0, name
        stats = memo.stats
        assert stats.bucket_hits is not None and stats.bucket_hits > 100_000
        print(f"differential: {len(CONFIGS)} configs × 2 revisions × {N:,} units in {time.monotonic() - started:.1f} s")
    finally:
        memo.close()
        plain.close()
