"""The examples run, against the shared Junction: the blocking service, the asyncio one, and the
notebook-style readout of `junction analyze --json` (on logs this test fills with exposures and
feedback sent by the SDK). The OpenAI snippet needs a package that is not installed here: it is
compiled, and says what it needs."""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from support import PACKAGE, REPO, Junction, wait_until
from junction_client import JunctionClient

EXAMPLES = PACKAGE / "examples"


def run(args: List[str], **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(PACKAGE / "src"))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60, env=env, **kw)


def test_the_blocking_service_decides_and_calls(junction: Junction, tmp_path: Path) -> None:
    body = tmp_path / "infer.json"
    body.write_text(json.dumps({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}))
    out = run([str(EXAMPLES / "service_decide.py"), "--url", junction.url, "--objective", "tensors", "--unit", "user-1",
               "--body", str(body), "--cache-file", str(tmp_path / "cache.json")])  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "decided locally on revision" in out.stdout and '"target": "triton@1"' in out.stdout
    assert '"direct": true' in out.stdout and '"served": "oip"' in out.stdout
    # An in-process model: the same code, through Junction.
    out = run([str(EXAMPLES / "service_decide.py"), "--url", junction.url, "--objective", "ranking", "--unit", "user-1",
               "--body", str(REPO / "examples/requests/continue-watching-ranking.json"),
               "--cache-file", str(tmp_path / "cache.json")])  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert '"direct": false' in out.stdout and '"target": "ranker@6"' in out.stdout
    assert (tmp_path / "cache.json").exists()


def test_the_asyncio_service_calls_concurrently(junction: Junction) -> None:
    out = run([str(EXAMPLES / "async_service.py"), "--url", junction.url, "--objective", "support-chat", "u1", "u2", "u3"])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("revision ") and len(lines) == 4
    assert all("chat@1 answered directly" in line for line in lines[1:]), out.stdout


def test_the_readout_of_junction_analyze(junction: Junction, tmp_path: Path) -> None:
    decisions = junction.workdir / "decisions.jsonl"
    feedback = junction.workdir / "feedback.jsonl"
    with JunctionClient.connect(junction.url) as jc:
        cells = {}
        for i in range(200):
            d = jc.decide("homepage", unit=f"reader-{i}")
            cells[f"reader-{i}"] = d.cell
        jc.flush()
        for unit, cell in cells.items():
            if cell == "B" or int(unit.split("-")[1]) % 3 == 0:
                jc.feedback("click", 1, objective="homepage", unit=unit)

    def logged() -> bool:
        lines = decisions.read_text().splitlines() if decisions.exists() else []
        return sum('"reader-' in line for line in lines) >= 200

    assert wait_until(logged, 10)
    assert wait_until(lambda: feedback.exists() and feedback.read_text().count('"reader-') >= 100, 10)
    analyzed = subprocess.run(
        ["node", "--import", "tsx", "test/support/junction-cli.ts", "analyze", "--decisions", str(decisions),
         "--feedback", str(feedback), "--experiment", "hp-1", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert analyzed.returncode == 0, analyzed.stderr
    (tmp_path / "readout.json").write_text(analyzed.stdout)
    out = run([str(EXAMPLES / "readout.py"), str(tmp_path / "readout.json")])
    assert out.returncode == 0, out.stderr
    assert "hp-1" in out.stdout and "click" in out.stdout

    sys.path.insert(0, str(EXAMPLES))
    try:
        import readout  # the notebook's way: functions over the parsed JSON
    finally:
        sys.path.remove(str(EXAMPLES))
    parsed = json.loads(analyzed.stdout)
    rows = readout.cell_rows(parsed)
    assert [r["cell"] for r in rows] == ["A", "B"] and sum(r["units"] for r in rows) >= 200
    clicks = {r["cell"]: r for r in readout.metric_rows(parsed) if r["metric"] == "click"}
    assert clicks["B"]["mean"] > clicks["A"]["mean"] and clicks["B"]["difference"] > 0
    assert any(line.startswith("hp-1 click: cell B +") for line in readout.verdicts(parsed))


def test_the_openai_snippet_compiles_and_says_what_it_needs() -> None:
    py_compile.compile(str(EXAMPLES / "openai_face.py"), doraise=True)
    try:
        import openai  # noqa: F401

        pytest.skip("openai is installed: the snippet would call a real Junction's OpenAI face")
    except ImportError:
        pass
    out = run([str(EXAMPLES / "openai_face.py")])
    assert out.returncode == 1 and "pip install openai" in out.stderr
