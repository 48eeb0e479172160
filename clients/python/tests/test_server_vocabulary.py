"""This package cannot import the server's TypeScript, so what it copies from it is compared
with the server's own declarations, read from the repository's source: the wire protocols
(paths, interfaces, schemes, the model field, required headers), the error codes and their
statuses, the traffic classes, balancers, interfaces and the snapshot format. A protocol or
code added to the server fails here, naming what to add."""

from __future__ import annotations

import json
import subprocess

from support import REPO
from junction_client import errors
from junction_client._protocols import INTERFACES, PROTOCOLS, call_path
from junction_client._snapshot import BALANCERS, FORMATS, TRAFFIC_CLASSES

SAMPLES = [("ranker", "7"), ("ranker", ""), ("my model", "stable"), ("m", "v1.2")]

SCRIPT = """
const { PROTOCOLS } = await import('./src/config/protocols/index.ts');
const { ERRORS } = await import('./src/errors.ts');
const { BALANCERS, TRAFFIC_CLASSES } = await import('./src/config/schema.ts');
const { INTERFACES } = await import('./src/config/interfaces.ts');
const { SNAPSHOT_FORMAT } = await import('./src/faces/snapshot.ts').catch(() => import('./src/http/snapshot.ts'))
  .catch(() => ({ SNAPSHOT_FORMAT: null }));
const samples = %s;
const protocols = {};
for (const [name, p] of Object.entries(PROTOCOLS)) {
  protocols[name] = {
    transport: p.transport, schemes: p.schemes, interfaces: p.interfaces, operations: p.operations,
    modelField: p.modelField ?? null, headers: p.headers ?? {},
    paths: p.modelPath ? samples.map(([m, v]) => p.modelPath(m, v)) : null,
  };
}
const errors = Object.fromEntries(Object.entries(ERRORS).map(([k, v]) => [k, v.status]));
console.log(JSON.stringify({ protocols, errors, BALANCERS, TRAFFIC_CLASSES, INTERFACES, SNAPSHOT_FORMAT }));
""" % json.dumps(SAMPLES)


def server() -> dict:
    out = subprocess.run(
        ["node", "--import", "tsx", "--input-type=module", "-e", SCRIPT],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_the_sdk_copies_of_the_server_vocabulary_are_current() -> None:
    s = server()
    assert sorted(PROTOCOLS) == sorted(s["protocols"]), "a wire protocol was added or removed on the server"
    for name, theirs in s["protocols"].items():
        ours = PROTOCOLS[name]
        assert ours.transport == theirs["transport"], name
        assert list(ours.schemes) == theirs["schemes"], name
        assert list(ours.interfaces) == theirs["interfaces"], name
        assert (ours.operations if isinstance(ours.operations, str) else dict(ours.operations)) == theirs["operations"], name
        assert ours.model_field == theirs["modelField"], name
        assert dict(ours.headers) == theirs["headers"], name
        if theirs["paths"] is not None:
            assert ours.model_path is not None, name
            assert [ours.model_path(m, v) for m, v in SAMPLES] == theirs["paths"], name
        else:
            assert ours.model_path is None, name
    # Every code the server answers has its status here (the SDK may know more: SPEC §16's).
    for code, status in s["errors"].items():
        assert errors.STATUS_OF_CODE.get(code) == status, code
    assert list(BALANCERS) == s["BALANCERS"]
    assert list(TRAFFIC_CLASSES) == s["TRAFFIC_CLASSES"]
    assert list(INTERFACES) == s["INTERFACES"]
    if s["SNAPSHOT_FORMAT"] is not None:
        assert s["SNAPSHOT_FORMAT"] in FORMATS


def test_call_paths() -> None:
    oip = {"type": "http", "protocol": "oip", "endpoints": ["http://h"], "model": "triton", "version": "3"}
    assert call_path(oip, "ranker", "7", "infer", "?x=1", "o") == "/v2/models/triton/versions/3/infer?x=1"
    tf = {"type": "http", "protocol": "tfserving", "endpoints": ["http://h"]}
    assert call_path(tf, "half", "stable", "invoke", "", "o") == "/v1/models/half/labels/stable:predict"
    assert call_path(tf, "half", "12", "invoke", "", "o") == "/v1/models/half/versions/12:predict"
    raw = {"type": "http", "protocol": "raw", "endpoints": ["http://h/p"]}
    assert call_path(raw, "m", "1", "anything", "?q=2", "o") == "?q=2"
