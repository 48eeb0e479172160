"""A Junction with clients configured: the snapshot, exposures, feedback and calls through
Junction need the API key; without it the errors are typed (401 unauthorized)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import List

import pytest

from support import REPO, Junction, wait_until
from junction_client import ClientEvent, JunctionClient, NotReady, Unauthorized

KEY = "jk_test_0123456789abcdef"


def test_the_api_key_opens_every_route_and_its_absence_is_typed(tmp_path: Path) -> None:
    config = {
        "models": {
            "ranker": {"class": "scorer", "versions": {"6": {"backend": {"type": "onnx", "path": str(REPO / "models/ranker-6.onnx")}}}},
            "m": {"class": "scorer", "versions": {"1": {"backend": {"type": "http", "endpoints": ["http://127.0.0.1:1"]}}}},
        },
        "objectives": {"ranking": {"default": "ranker@6"}, "cw": {"default": "m@1"}},
        "clients": {"web": {"keySha256": hashlib.sha256(KEY.encode()).hexdigest()}},
    }  # fmt: skip
    j = Junction(tmp_path, config, extra=["--feedback-log", str(tmp_path / "feedback.jsonl")]).start()
    try:
        events: List[ClientEvent] = []
        with pytest.raises(NotReady):
            JunctionClient.connect(j.url, on_event=events.append)
        assert any("HTTP 401" in (e.error or "") for e in events if e.type == "disconnected")

        with JunctionClient.connect(j.url, api_key=KEY) as jc:
            assert jc.decide("cw", unit="u").target == "m@1"
            body = json.loads((REPO / "examples/requests/continue-watching-ranking.json").read_text())
            res = jc.invoke("ranking", body, unit="u")
            assert (res.status, res.direct) == (200, False)
            assert jc.feedback("click", 1, request_id=res.request_id)["accepted"] == 1
            jc.flush()
            assert jc.stats.exposures_sent == 1 and jc.stats.exposures_dropped == 0
            labels = {"objective": "cw", "via": "sdk"}
            assert wait_until(lambda: j.metric("junction_decisions_total", labels, api_key=KEY) == 1, 5)

        with JunctionClient.connect(j.url, api_key=KEY) as jc:
            jc._api_key = "jk_wrong"  # a key revoked after connecting
            with pytest.raises(Unauthorized) as e:
                jc.feedback("click", 1, objective="cw", unit="u")
            assert (e.value.code, e.value.status) == ("unauthorized", 401)
            res = jc.invoke("ranking", {}, unit="u")
            assert res.status == 401
            with pytest.raises(Unauthorized):
                res.raise_for_error()
    finally:
        j.stop()
