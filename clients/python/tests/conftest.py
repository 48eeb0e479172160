from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from support import REPO, Junction, Upstream


def pytest_configure(config: Any) -> None:
    if shutil.which("node") is None or not (REPO / "node_modules" / "tsx").exists():
        raise pytest.UsageError(f"these tests start a real Junction: node and {REPO}/node_modules (npm ci) are needed")


@pytest.fixture(scope="session")
def upstreams() -> Iterator[Dict[str, Upstream]]:
    ups = {name: Upstream(name) for name in ("chat-1", "chat-2", "oip", "tf", "raw-1", "raw-2")}
    yield ups
    for u in ups.values():
        u.close()


def shared_config(ups: Dict[str, Upstream]) -> Dict[str, Any]:
    """One config with a target of every kind the SDK treats differently."""
    http = lambda protocol, url, **kw: {"backend": {"type": "http", "protocol": protocol, "endpoints": [url], **kw}}  # noqa: E731
    return {
        "models": {
            "chat": {
                "class": "generator",
                "versions": {
                    "1": http("openai", f"{ups['chat-1'].url}/base", model="served-chat-1"),
                    "2": http("openai", ups["chat-2"].url),
                },
            },
            # Needs a credential only Junction holds: never called directly.
            "vault": {"class": "generator", "versions": {"1": http("openai", ups["chat-1"].url, headers={"authorization": "Bearer upstream-secret"})}},
            "ranker": {"class": "scorer", "versions": {
                "6": {"backend": {"type": "onnx", "path": str(REPO / "models/ranker-6.onnx")}},
                "7": {"backend": {"type": "onnx", "path": str(REPO / "models/ranker-7.onnx")}}}},
            "triton": {"class": "scorer", "versions": {"1": http("oip", ups["oip"].url, model="ranker_onnx", version="3")}},
            "tf": {"class": "scorer", "versions": {"1": http("tfserving", ups["tf"].url, model="half_plus_two", version="stable")}},
            "svc": {
                "class": "scorer",
                "versions": {"1": http("raw", f"{ups['raw-1'].url}/predict"), "2": http("raw", f"{ups['raw-2'].url}/predict")},
            },
            "claude": {"class": "generator", "versions": {"1": http("anthropic", ups["chat-2"].url, model="claude-served")}},
            "grpcm": {"class": "scorer", "versions": {"1": http("oip-grpc", "grpc://127.0.0.1:9", model="ranker", version="")}},
        },
        "objectives": {
            "support-chat": {
                "interface": "openai",
                "default": "chat@1",
                "rules": [{"id": "br", "when": {"context": {"country": "BR"}}, "use": "chat@2"}],
                "rollout": {"candidate": "chat@2", "percent": 0},
            },
            "vault-chat": {"interface": "openai", "default": "vault@1"},
            "ranking": {"default": "ranker@6"},
            "ranking-ab": {
                "default": "ranker@6",
                "experiments": [{"id": "rk-ab", "population": 1, "cells": {"A": {"weight": 50, "use": "ranker@6"}, "B": {"weight": 50, "use": "ranker@7"}}}],
            },
            "tensors": {"interface": "oip", "default": "triton@1"},
            "tf": {"default": "tf@1"},
            "homepage": {
                "default": "svc@1",
                "allowOverride": True,
                "pins": {"pinned-user": "svc@2"},
                "experiments": [
                    {"id": "hp-1", "population": 1, "cells": {"A": {"weight": 50, "use": "svc@1"}, "B": {"weight": 50, "use": "svc@2"}}}
                ],
            },
            "grpc-tensors": {"interface": "oip", "default": "grpcm@1"},
            "assistant": {"interface": "openai", "default": "claude@1"},
        },
    }  # fmt: skip


@pytest.fixture(scope="session")
def junction(tmp_path_factory: pytest.TempPathFactory, upstreams: Dict[str, Upstream]) -> Iterator[Junction]:
    """The shared Junction: decision and feedback logs on. Tests leave its config as they found it."""
    work = tmp_path_factory.mktemp("junction")
    j = Junction(
        work,
        shared_config(upstreams),
        extra=["--decision-log", str(work / "decisions.jsonl"), "--feedback-log", str(work / "feedback.jsonl")],
    ).start()
    yield j
    j.stop()


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    return tmp_path
