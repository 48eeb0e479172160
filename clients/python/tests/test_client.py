"""Against a real Junction and real upstreams: decisions equal the server's, with its headers;
invoke calls a remote target directly with the server's rewrite (compared with what the same
upstream receives when Junction calls it), and goes through Junction for targets only Junction
can call; exposures and feedback reach Junction; errors are typed with the stable codes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict

import pytest

from support import REPO, Junction, Upstream, answer, request, wait_until
from junction_client import (
    BackendError,
    DeadlineExceeded,
    InvalidRequest,
    JunctionClient,
    MethodNotAllowed,
    NotReady,
    ObjectiveNotFound,
    OverrideForbidden,
    UpstreamError,
)
from junction_client.errors import from_response, STATUS_OF_CODE


@pytest.fixture(scope="module")
def jc(junction: Junction):
    client = JunctionClient.connect(junction.url)
    yield client
    client.close()


def server_decide(j: Junction, **item: Any) -> Dict[str, Any]:
    status, _, body = request(j.url + "/v1/decide", "POST", json.dumps(item).encode(), {"content-type": "application/json"})
    assert status == 200, body
    return json.loads(body)


def test_decides_as_the_server_does_with_the_headers_it_would_send(jc: JunctionClient, junction: Junction, upstreams) -> None:
    d = jc.decide("support-chat", unit="user-42", context={"Country": "BR"})
    assert (d.objective, d.target, d.rule, d.routing_key, d.remote, d.protocol) == (
        "support-chat", "chat@2", "rule:br", "chat@2", True, "openai",
    )  # fmt: skip
    assert d.endpoints == (upstreams["chat-2"].url,)
    assert d.grpc is None
    assert dict(d.headers) == {
        "x-model": "chat@2",
        "x-decision": f"rule=rule:br revision={d.revision}",
        "x-junction-target": "chat@2",
    }
    server = server_decide(junction, objective="support-chat", unit="user-42", context={"country": "BR"})
    assert (server["target"], server["rule"], server["revision"], server["routingKey"]) == (d.target, d.rule, d.revision, d.routing_key)
    assert jc.decide("support-chat").headers["x-decision"].endswith("unit=none")
    assert jc.decide("support-chat", unit="").headers["x-decision"].endswith("unit=none")
    # The same outcome is the same shared, read-only object.
    assert jc.decide("support-chat", unit="user-42", context={"country": "BR"}) is d
    with pytest.raises(TypeError):
        d.headers["x-model"] = "other"  # type: ignore[index]
    # Targets only Junction can call, and a gRPC one a gRPC client may call itself.
    assert jc.decide("ranking").remote is False and jc.decide("ranking").protocol is None
    assert jc.decide("vault-chat").remote is False and jc.decide("vault-chat").endpoints == ()
    g = jc.decide("grpc-tensors", unit="u")
    assert (g.remote, g.protocol, g.endpoints) == (False, "oip-grpc", ())
    assert g.grpc is not None and (g.grpc.endpoints, g.grpc.model, g.grpc.version) == (("grpc://127.0.0.1:9",), "ranker", "")


def test_decide_errors_are_the_server_codes(jc: JunctionClient, junction: Junction) -> None:
    with pytest.raises(ObjectiveNotFound) as e:
        jc.decide("nope")
    assert (e.value.code, e.value.status) == ("objective_not_found", 404)
    with pytest.raises(OverrideForbidden) as e2:
        jc.decide("support-chat", override="chat@2")  # allowOverride is off
    assert e2.value.code == "override_forbidden" and e2.value.status == 403
    with pytest.raises(InvalidRequest):
        jc.decide("support-chat", traffic_class="prod")
    with pytest.raises(InvalidRequest):
        jc.decide("homepage", override="not a target")
    with pytest.raises(InvalidRequest):
        jc.decide("homepage", override="svc@9")  # no such version
    with pytest.raises(OverrideForbidden):
        jc.decide("homepage", override="chat@1")  # exists, but homepage does not use it
    with pytest.raises(InvalidRequest):
        jc.decide("homepage", context={"country": 5})  # type: ignore[dict-item]
    d = jc.decide("homepage", unit="pinned-user", override="svc@1")
    assert (d.rule, d.target, d.headers["x-decision"]) == ("override", "svc@1", f"override" and f"rule=override revision={d.revision}")
    assert jc.decide("homepage", unit="pinned-user").rule == "pin"
    # The server answers the same codes for the same mistakes.
    bad = junction.decide_batch([{"objective": "nope"}, {"objective": "homepage", "trafficClass": "prod"}])["decisions"]
    assert [x["error"]["code"] for x in bad] == ["objective_not_found", "invalid_request"]


def direct_then_through_junction(jc: JunctionClient, junction: Junction, up: Upstream, objective: str, body: Any,
                                 **kw: Any) -> tuple:  # fmt: skip
    """What the upstream received from the SDK's direct call, and from Junction for the same unit."""
    before = len(up.received)
    res = jc.invoke(objective, body, unit="user-1", **kw)
    assert res.direct and res.status == 200, (res.status, res.body)
    assert len(up.received) == before + 1
    direct = up.received[-1]
    payload = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    status, headers, _ = request(
        f"{junction.url}/v1/objectives/{objective}{kw.get('query', '')}", "POST", payload,
        {"content-type": "application/json", "x-unit-id": "user-1"},
    )  # fmt: skip
    assert status == 200
    via = up.received[-1]
    assert headers["x-model"] == res.decision.target
    return res, direct, via


@pytest.mark.parametrize(
    "objective, upstream, body, path",
    [
        ("support-chat", "chat-1", {"model": "support-chat", "messages": [{"role": "user", "content": "hi"}]}, "/base/v1/chat/completions"),
        ("tensors", "oip", {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}, "/v2/models/ranker_onnx/versions/3/infer"),
        ("tf", "tf", {"instances": [[1.0, 2.0]]}, "/v1/models/half_plus_two/labels/stable:predict"),
        ("assistant", "chat-2", {"model": "assistant", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}, "/v1/messages"),
    ],
)
def test_invoke_calls_the_target_directly_with_the_servers_rewrite(
    jc: JunctionClient, junction: Junction, upstreams, objective: str, upstream: str, body: Any, path: str
) -> None:
    requests_before = junction.metric("junction_requests_total", {"objective": objective})
    res, direct, via = direct_then_through_junction(jc, junction, upstreams[upstream], objective, body)
    # Junction served nothing for the direct call (the one it counts is the comparison call).
    assert junction.metric("junction_requests_total", {"objective": objective}) == requests_before + 1
    assert direct["path"] == via["path"] == path
    assert direct["body"] == via["body"]
    # As the TypeScript SDK's direct calls: the decision travels with the call (Junction keeps it to its answer).
    assert direct["headers"]["x-model"] == res.decision.target
    assert direct["headers"]["x-decision"] == res.decision.headers["x-decision"]
    assert direct["headers"]["x-request-id"] == res.request_id and via["headers"]["x-request-id"]
    assert direct["headers"]["x-deadline-ms"] == "30000"
    assert res.json() == {"served": upstream}
    if objective == "support-chat":
        assert json.loads(direct["body"])["model"] == "served-chat-1"
    if objective == "assistant":  # the protocol's required header, as Junction sends it
        assert json.loads(direct["body"])["model"] == "claude-served"
        assert direct["headers"]["anthropic-version"] == via["headers"]["anthropic-version"] == "2023-06-01"


def test_invoke_raw_keeps_the_endpoint_url_and_adds_the_query(jc: JunctionClient, junction: Junction, upstreams) -> None:
    unit = next(u for u in (f"raw-{i}" for i in range(100)) if jc.decide("homepage", unit=u).target == "svc@1")
    res = jc.invoke("homepage", b"\x00\x01binary", unit=unit, query="?k=v", headers={"Content-Type": "application/octet-stream"})
    got = upstreams["raw-1"].received[-1]
    assert (res.direct, got["path"], got["body"], got["headers"]["content-type"]) == (True, "/predict?k=v", b"\x00\x01binary", "application/octet-stream")
    assert res.decision.cell in ("A", "B") and got["headers"]["x-decision"] == res.decision.headers["x-decision"]


def test_invoke_goes_through_junction_for_targets_only_junction_can_call(jc: JunctionClient, upstreams) -> None:
    body = json.loads((REPO / "examples/requests/continue-watching-ranking.json").read_text())
    res = jc.invoke("ranking", body, unit="user-7")
    assert (res.direct, res.status, res.headers["x-model"]) == (False, 200, "ranker@6")
    assert len(res.json()["outputs"]["score"]) == 3
    assert res.request_id == res.headers["x-request-id"]
    # A target whose credential only Junction holds: Junction calls it, with the credential.
    res = jc.invoke("vault-chat", {"model": "vault-chat", "messages": []}, unit="user-7")
    assert (res.direct, res.status, res.decision.remote) == (False, 200, False)
    got = upstreams["chat-1"].received[-1]
    assert got["headers"]["authorization"] == "Bearer upstream-secret"
    # Junction's own errors are typed.
    res = jc.invoke("ranking", None, method="GET")
    assert res.status == 405
    with pytest.raises(MethodNotAllowed) as e:
        res.raise_for_error()
    assert e.value.code == "method_not_allowed" and e.value.request_id


def test_invoke_failures_are_typed(jc: JunctionClient, upstreams) -> None:
    slow = upstreams["raw-2"]
    unit = next(u for u in (f"slow-{i}" for i in range(100)) if jc.decide("homepage", unit=u).target == "svc@2")
    slow.handler = lambda h, body: (time.sleep(1.0), answer(h, 200, b"{}"))
    try:
        with pytest.raises(DeadlineExceeded) as e:
            jc.invoke("homepage", {}, unit=unit, timeout=0.2)
        assert e.value.code == "deadline_exceeded" and e.value.status == 504
        slow.handler = lambda h, body: answer(h, 500, b"<html>oops</html>", "text/html")
        res = jc.invoke("homepage", {}, unit=unit)
        assert res.status == 500 and not res.ok
        with pytest.raises(BackendError) as e2:
            res.raise_for_error()
        assert e2.value.code is None and "oops" in e2.value.message
    finally:
        slow.handler = None
    # An endpoint nobody listens on.
    dead = JunctionClient(jc.url, exposures=False)
    dead._apply(_with_endpoint(jc, "homepage", "http://127.0.0.1:9"))
    with pytest.raises(UpstreamError) as e3:
        dead.invoke("homepage", {}, unit=unit)
    assert e3.value.code == "upstream_error" and e3.value.status == 502
    dead.close()


def _with_endpoint(jc: JunctionClient, objective: str, endpoint: str):
    from junction_client._watch import compile_text

    raw = json.loads(jc._snap.text)  # type: ignore[union-attr]
    for m in raw["config"]["models"].values():
        for v in m["versions"].values():
            if v["backend"]["type"] == "http" and v["backend"]["protocol"] == "raw":
                v["backend"]["endpoints"] = [endpoint]
    return compile_text(json.dumps(raw))


def test_exposures_reach_junction_in_batches(jc: JunctionClient, junction: Junction) -> None:
    jc.flush()  # the shared client's exposures of earlier tests: counted before, not during
    with JunctionClient.connect(junction.url) as client:
        labels = {"objective": "homepage", "via": "sdk"}
        before = junction.metric("junction_decisions_total", labels)
        for i in range(250):
            client.decide("homepage", unit=f"exposed-{i}")
        client.decide("homepage", unit="not-exposed", expose=False)
        client.flush()
        assert junction.metric("junction_decisions_total", labels) == before + 250
        assert client.stats.exposures_sent == 250 and client.stats.exposures_dropped == 0
        # The flusher thread sends on its own within its interval.
        client.decide("homepage", unit="later")
        assert wait_until(lambda: junction.metric("junction_decisions_total", labels) == before + 251, 5)


def test_feedback_by_request_id_and_by_unit(jc: JunctionClient, junction: Junction) -> None:
    log = junction.workdir / "feedback.jsonl"
    read = lambda: [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []  # noqa: E731
    before = len(read())  # other tests may have written feedback to the same log
    through = jc.invoke("ranking", json.loads((REPO / "examples/requests/continue-watching-ranking.json").read_text()), unit="fb-1")
    assert jc.feedback("click", 1, request_id=through.request_id) == {"accepted": 1, "written": 1}
    direct = jc.invoke("homepage", {}, unit="fb-2")
    jc.feedback("click", 2, request_id=direct.request_id)  # Junction never saw this id: sent by objective and unit
    jc.feedback("purchase", 9.5, objective="homepage", unit="fb-3")
    assert wait_until(lambda: len(read()) >= before + 3, 5)  # the log is written behind the answer
    lines = read()
    assert {"requestId": through.request_id, "objective": None, "unit": None, "metric": "click", "value": 1}.items() <= lines[-3].items()
    assert {"requestId": None, "objective": "homepage", "unit": "fb-2", "metric": "click", "value": 2}.items() <= lines[-2].items()
    assert {"objective": "homepage", "unit": "fb-3", "metric": "purchase", "value": 9.5}.items() <= lines[-1].items()
    with pytest.raises(InvalidRequest) as e:
        jc.feedback("click", 1e13, objective="homepage", unit="fb-3")
    assert "1e12" in e.value.message


def test_connect_fails_clearly_without_junction_or_cache(tmp_path: Path) -> None:
    with pytest.raises(NotReady) as e:
        JunctionClient.connect("http://127.0.0.1:9", backoff=(0.01, 0.05), cache_file=str(tmp_path / "none.json"))
    assert e.value.code == "not_ready" and "none.json" in e.value.message


def test_error_shapes_of_every_face() -> None:
    junction_face = b'{"error":{"code":"rate_limited","message":"slow down","objective":"o","requestId":"r1"}}'
    e = from_response(429, {"retry-after": "3"}, junction_face)
    assert (type(e).__name__, e.code, e.status, e.message, e.objective, e.request_id, e.retry_after) == (
        "RateLimited", "rate_limited", 429, "slow down", "o", "r1", 3.0,
    )  # fmt: skip
    openai_face = b'{"error":{"message":"no objective","type":"invalid_request_error","code":"model_not_found"}}'
    e = from_response(404, {"x-error-code": "objective_not_found"}, openai_face)
    assert isinstance(e, ObjectiveNotFound) and e.message == "no objective"
    e = from_response(503, {"x-error-code": "no_healthy_backend"}, b'{"error":"all ejected"}')
    assert e.code == "no_healthy_backend" and e.message == "all ejected" and e.status == 503
    e = from_response(502, {}, b"<html><body>Bad Gateway</body></html>")
    assert isinstance(e, BackendError) and e.code is None and "Bad Gateway" in e.message
    assert set(STATUS_OF_CODE) >= {"invalid_request", "unauthorized", "forbidden", "not_ready", "deadline_exceeded"}


RANKING = json.loads((REPO / "examples/requests/continue-watching-ranking.json").read_text())


def test_through_junction_junction_decides_as_the_sdk_did(jc: JunctionClient) -> None:
    for unit in [f"user-{i}" for i in range(20)] + [f"ünïcødé-{i}" for i in range(20)]:
        res = jc.invoke("ranking-ab", RANKING, unit=unit)
        assert not res.direct and res.status == 200
        assert res.headers["x-decision"] == res.decision.headers["x-decision"], unit


# x-unit-id is a header: Node reads its bytes as Latin-1, and Junction reads bytes that are valid
# UTF-8 as UTF-8 (faces/request-headers.ts), so a unit beyond Latin-1 routes as the SDK decided.
def test_through_junction_a_unit_beyond_latin1_decides_as_the_sdk_did(jc: JunctionClient) -> None:
    for unit in [f"ユーザー-{i}" for i in range(20)]:
        res = jc.invoke("ranking-ab", RANKING, unit=unit)
        assert res.headers["x-decision"] == res.decision.headers["x-decision"], unit

