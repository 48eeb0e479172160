"""The routing core without a server: SPEC §3 vectors, the rule index against a plain
reading of the matchers, JavaScript's key order for cells, snapshot validation,
and the openai ``model`` rewrite on bytes."""

from __future__ import annotations

import hashlib
import json
import random

import pytest

import support  # noqa: F401  (puts the package's src on sys.path)
from junction_client import InvalidRequest, bucket_of
from junction_client._jsonfield import rewrite_model_field
from junction_client._routing import RoutingTable, When
from junction_client._snapshot import SnapshotError, check_snapshot, js_key_order
from junction_client._watch import compile_text


def reference(salt: str, unit: str) -> int:
    """SPEC §3 spelled out independently: hex digest, first 8 hex digits, mod 10000."""
    return int(hashlib.sha256(f"{salt}:{unit}".encode("utf-8")).hexdigest()[:8], 16) % 10000


def test_spec_vectors() -> None:
    # The vectors the server's own tests pin (src/routing/bucket.test.ts), computed outside Node:
    # printf 'cw-42:user-1' | sha256sum → 37dbf586… → 0x37dbf586 mod 10000.
    assert bucket_of("cw-42", "user-1") == 0x37DBF586 % 10000 == 2118
    assert bucket_of("continue-watching-ranking:ranker@7", "user-1") == 0xB33E7322 % 10000 == 4370
    # Non-ASCII units hash their UTF-8 bytes; the value is what Node's crypto.hash gives.
    assert bucket_of("s", "ünïcødé-ユーザー") == reference("s", "ünïcødé-ユーザー") == 2029
    assert bucket_of("s", "😀") == 6772
    # A lone surrogate (a JSON "\ud800" escape) is U+FFFD to V8's UTF-8 writer: same bucket as the server.
    assert bucket_of("s", "\ud800x") == 5126
    assert bucket_of("s", "\udc00\ud800") == 5650
    for i in range(2000):
        assert bucket_of("exp", f"u{i}") == reference("exp", f"u{i}")


def snapshot(objectives: dict, models: dict | None = None, revision: int = 3) -> str:
    http = {"backend": {"type": "http", "protocol": "raw", "endpoints": ["http://10.0.0.1:80/p"]}}
    models = models or {"m": {"class": "scorer", "versions": {str(v): http for v in range(1, 6)}}}
    return json.dumps({"format": 1, "revision": revision, "config": {"models": models, "objectives": objectives}})


def route(table: RoutingTable, objective: str, unit: str | None, ctx: dict | None = None, tc: str = "live"):
    return table.objectives[objective].route(unit, ctx or {}, tc, bucket_of)


def test_cells_split_the_population_in_javascript_key_order() -> None:
    # JavaScript lists array-index keys ("2", "10") first, ascending, whatever the JSON's order:
    # the server's Object.entries does, so the buckets are split in that order here too.
    assert js_key_order(["B", "10", "A", "2", "01", "4294967295"]) == ["2", "10", "B", "A", "01", "4294967295"]
    compiled = compile_text(
        snapshot({"o": {"default": "m@1", "experiments": [{"id": "e", "population": 1, "cells": {
            "B": {"weight": 50, "use": "m@2"}, "10": {"weight": 25, "use": "m@3"}, "2": {"weight": 25, "use": "m@4"}}}]}})
    )  # fmt: skip
    e = compiled.table.objectives["o"].experiments[0]
    assert [(upper, c.cell) for upper, c in e.cells] == [(2500, "2"), (5000, "10"), (10000, "B")]
    for i in range(300):
        b = bucket_of("e", f"u{i}")
        want = "2" if b < 2500 else "10" if b < 5000 else "B"
        assert route(compiled.table, "o", f"u{i}").cell == want


def test_steps_in_order_and_rollout_salt() -> None:
    table = compile_text(
        snapshot({"cw": {
            "default": "m@1",
            "pins": {"vip": "m@5"},
            "rules": [{"id": "br", "when": {"context": {"country": ["BR", "MX"]}}, "use": "m@2"},
                      {"when": {"trafficClass": "test"}, "use": "m@3"}],
            "experiments": [{"id": "x", "population": 0.5, "when": {"context": {"device": "tv"}},
                             "cells": {"A": {"weight": 50, "use": "m@1"}, "B": {"weight": 50, "use": "m@4"}}}],
            "rollout": {"candidate": "m@4", "percent": 30},
        }})
    ).table  # fmt: skip
    assert route(table, "cw", "vip", {"country": "BR"}).rule == "pin"
    assert route(table, "cw", "u", {"country": "MX"}).rule == "rule:br"
    assert route(table, "cw", "u", {}, "test").rule == "rule:1"
    for i in range(500):
        unit = f"u{i}"
        got = route(table, "cw", unit, {"device": "tv"})
        b, r = bucket_of("x", unit), bucket_of("cw:m@4", unit)
        if b < 5000:
            assert (got.rule, got.cell) == ("experiment:x", "A" if b < 2500 else "B")
        elif r < 3000:
            assert (got.rule, got.target.id) == ("rollout", "m@4")
        else:
            assert got.rule == "default"
        # Without the experiment's context only the rollout allocates.
        assert route(table, "cw", unit).rule == ("rollout" if r < 3000 else "default")
    d = route(table, "cw", "u3", {"device": "tv"})
    assert d.with_unit.headers["x-decision"].endswith(f"revision=3")
    assert d.without_unit.headers["x-decision"].endswith("unit=none")


def test_rule_index_agrees_with_each_matcher_in_order() -> None:
    rand = random.Random(7)
    keys, values = ["country", "device", "tier"], ["a", "b", "c", "d"]
    for _ in range(40):
        rules = []
        for i in range(rand.randint(1, 70)):  # past 64 rules: more than one machine word
            ctx = {k: rand.sample(values, rand.randint(1, 2)) for k in rand.sample(keys, rand.randint(0, 2))}
            when: dict = {"context": ctx}
            if rand.random() < 0.3:
                when["trafficClass"] = rand.sample(["live", "test", "synthetic"], rand.randint(1, 2))
            rules.append({"id": f"r{i}", "when": when, "use": "m@2"})
        table = compile_text(snapshot({"o": {"default": "m@1", "rules": rules}})).table
        whens = [When(r["when"]) for r in rules]
        for _ in range(60):
            req = {k: rand.choice(values + ["z"]) for k in keys if rand.random() < 0.7}
            tc = rand.choice(["live", "test", "synthetic"])
            first = next((i for i, w in enumerate(whens) if w.matches(req, tc)), None)
            got = route(table, "o", "u", req, tc)
            assert got.rule == ("default" if first is None else f"rule:r{first}")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["objectives"]["o"].update(default="m@99"), 'objectives.o.default: model "m" has no version "99"'),
        (lambda c: c["objectives"]["o"]["experiments"][0]["cells"]["A"].update(weight=40), "weights sum to 90, expected 100"),
        (lambda c: c["objectives"]["o"]["experiments"][0].update(population=0), "population is 0, expected a share in (0, 1]"),
        (lambda c: c["objectives"]["o"]["rules"][0]["when"].update(negate=True), "rules[0].when.negate: unrecognized key"),
        (lambda c: c["objectives"]["o"]["rules"][0]["when"]["context"].update(Country="BR"), 'write "country"'),
        (
            lambda c: (c["models"]["m"]["versions"]["1"]["backend"].update(protocol="tfserving"), c["objectives"]["o"].update(interface="oip")),
            'm@1 cannot serve interface "oip" (its backend serves json)',
        ),
        (lambda c: c["models"]["m"]["versions"]["1"]["backend"].update(protocol="oip-grpc"), "needs grpc://host:port"),
        (lambda c: c["objectives"]["o"]["rollout"].update(candidate="m@1"), "the candidate is already the default"),
        (lambda c: c["objectives"]["o"]["experiments"][0].update(population=True), "population is True"),
    ],
)
def test_snapshots_failing_validation_are_refused_naming_the_problem(change, message) -> None:
    config = json.loads(snapshot({"o": {
        "default": "m@1",
        "rules": [{"when": {"context": {"country": "BR"}}, "use": "m@2"}],
        "experiments": [{"id": "e", "population": 0.5, "cells": {"A": {"weight": 50, "use": "m@1"}, "B": {"weight": 50, "use": "m@2"}}}],
        "rollout": {"candidate": "m@3", "percent": 5},
    }}))  # fmt: skip
    check_snapshot(config)  # the unchanged one is fine
    change(config["config"])
    with pytest.raises(SnapshotError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        check_snapshot(config)


def test_snapshot_envelope() -> None:
    for text, message in [
        ("<html>502 Bad Gateway</html>", "not JSON"),
        ('{"format":1,"revision":1,"config":{"models":{},"objectives":{}},"x":NaN}', "not JSON"),
        ('{"format":2,"revision":1,"config":{}}', "format 2 is not one this SDK knows"),
        ('{"format":1,"revision":0,"config":{}}', "revision must be a positive integer"),
        ("[1,2]", "not a JSON object"),
    ]:
        with pytest.raises(SnapshotError, match=message):
            compile_text(text)


def test_openai_model_field_is_rewritten_on_the_bytes_as_the_server_does() -> None:
    body = b'{ "messages": [{"role":"user","content":"hi \\u00e9"}], "model" : "support-chat", "seed": 12345678901234567890}'
    out = rewrite_model_field(body, "model", "served-1", "o")
    assert out == body.replace(b'"support-chat"', b'"served-1"')  # every other byte as sent
    assert rewrite_model_field(b'{"a":1}', "model", "s", "o") == b'{"model":"s","a":1}'
    assert rewrite_model_field(b" {} ", "model", "s", "o") == b' {"model":"s"} '
    for bad, why in [
        (b'{"model":"a","mod\\u0065l":"b"}', "appears twice"),
        (b'{"MODEL":"a"}', "some servers read it as"),
        (b'{"model\\u0000x":"a"}', "some servers read it as"),
        (b'{"model":"a",}', "not valid JSON"),
        (b"[1]", "must be a JSON object"),
        (b"", "must be a JSON object"),
        (b'{"a":01}', "not valid JSON"),
    ]:
        with pytest.raises(InvalidRequest, match=why):
            rewrite_model_field(bad, "model", "s", "o")
