"""A snapshot (GET /v1/config/snapshot) checked before anything of it is used.

The TypeScript SDK bundles the server's zod schema and semantic validation; this
package cannot, so it checks what routing and calling read, the way the server
does (src/config/schema.ts and validate.ts): every object routing reads is
strict (an unknown key in a ``when``, a rule, an experiment, a cell or a rollout
would mean routing this SDK does not know, so the snapshot is refused), the
rest of the config (policies, observability, replica settings) is not read and
not checked. A snapshot with any problem is refused whole, never half-applied;
the client keeps the last good one.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ._protocols import INTERFACES, PROTOCOLS, endpoint_scheme_problem, interfaces_served_by

#: The snapshot formats this SDK understands (faces/snapshot.ts SNAPSHOT_FORMAT).
FORMATS = frozenset({1})

OBJECTIVE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_NAME_PART = r"[A-Za-z0-9][A-Za-z0-9._-]*"
TARGET_NAME = re.compile(_NAME_PART)
TARGET_REF = re.compile(f"{_NAME_PART}@{_NAME_PART}")
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.~:@/+-]{0,127}")
SAFE_ID_RULE = (
    "[A-Za-z0-9][A-Za-z0-9_.~:@/+-]*, at most 128 characters "
    "(it is written into response headers and metric labels)"
)
TRAFFIC_CLASSES = ("live", "test", "synthetic")
MODEL_CLASSES = ("scorer", "classifier", "generator", "embedder", "other")
BALANCERS = ("p2c", "least-load", "prefix", "adapter")

_WHEN_KEYS = frozenset({"context", "trafficClass"})
_RULE_KEYS = frozenset({"id", "when", "use"})
_EXPERIMENT_KEYS = frozenset({"id", "when", "population", "salt", "cells"})
_CELL_KEYS = frozenset({"weight", "use"})
_ARM_KEYS = frozenset({"target", "balance"})
_ROLLOUT_KEYS = frozenset({"candidate", "percent", "salt", "state", "steps", "holdSeconds", "gates"})


class SnapshotError(Exception):
    """A snapshot that cannot be used: not JSON, an unknown format, or a config that fails validation."""


def parse_json(text: str) -> Any:
    """JSON as JavaScript reads it: NaN and Infinity are not JSON."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def js_key_order(keys: List[str]) -> List[str]:
    """Keys in the order JavaScript enumerates an object's: array-index keys first, ascending.

    The server splits an experiment's buckets in the order ``Object.entries`` lists its
    cells, so a cell named "2" comes before "A" whatever order the JSON wrote.
    """
    index = [k for k in keys if _is_array_index(k)]
    if not index:
        return list(keys)
    return sorted(index, key=int) + [k for k in keys if not _is_array_index(k)]


def _is_array_index(key: str) -> bool:
    return (
        key.isascii()
        and key.isdigit()
        and (key == "0" or key[0] != "0")
        and int(key) < 4294967295
    )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _path(parts: Tuple[Any, ...]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += str(p) if out == "" else f".{p}"
    return out or "(root)"


class _Checker:
    """Collects every problem with its path, as the server's validation does."""

    def __init__(self) -> None:
        self.issues: List[str] = []

    def add(self, path: Tuple[Any, ...], message: str) -> None:
        self.issues.append(f"{_path(path)}: {message}")

    def obj(self, value: Any, path: Tuple[Any, ...], keys: Optional[frozenset] = None) -> bool:
        if not isinstance(value, dict):
            self.add(path, "expected an object")
            return False
        if keys is not None:
            for k in value:
                if k not in keys:
                    self.add(path + (k,), "unrecognized key (routing this SDK does not know: upgrade it)")
        return True

    def ref(self, value: Any, path: Tuple[Any, ...]) -> bool:
        if isinstance(value, str) and TARGET_REF.fullmatch(value):
            return True
        self.add(path, 'expected a target "model@version", e.g. "ranker@7"')
        return False


def check_snapshot(raw: Any) -> Tuple[int, Dict[str, Any]]:
    """The revision and config of a snapshot; raises SnapshotError naming every problem."""
    if not isinstance(raw, dict):
        raise SnapshotError("snapshot is not a JSON object")
    fmt = raw.get("format")
    if not _number(fmt) or fmt not in FORMATS:
        raise SnapshotError(
            f"snapshot format {fmt!r} is not one this SDK knows; upgrade junction-router-client"
        )
    revision = raw.get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 1:
        raise SnapshotError("snapshot revision must be a positive integer")
    config = raw.get("config")
    c = _Checker()
    if c.obj(config, ("config",)):
        _check_config(config, c)
    if c.issues:
        shown = "; ".join(c.issues[:3]) + (f"; and {len(c.issues) - 3} more" if len(c.issues) > 3 else "")
        raise SnapshotError(f"snapshot config is invalid: {shown}")
    return revision, config


def _check_config(config: Mapping[str, Any], c: _Checker) -> None:
    models = config.get("models", {})
    if c.obj(models, ("models",)):
        for name, m in models.items():
            _check_model(name, m, c)
    objectives = config.get("objectives", {})
    if not c.obj(objectives, ("objectives",)) or not isinstance(models, dict):
        return
    experiment_ids: Dict[str, str] = {}
    for name, o in objectives.items():
        if c.obj(o, ("objectives", name)):
            _check_objective(models, name, o, experiment_ids, c)


def _check_model(name: str, m: Any, c: _Checker) -> None:
    at = ("models", name)
    if not TARGET_NAME.fullmatch(name):
        c.add(at, 'model names are [A-Za-z0-9][A-Za-z0-9._-]* (no "@": it separates model and version); rename it')
    if not c.obj(m, at):
        return
    if m.get("class", "other") not in MODEL_CLASSES:
        c.add(at + ("class",), f"expected one of {', '.join(MODEL_CLASSES)}")
    versions = m.get("versions")
    if not c.obj(versions, at + ("versions",)):
        return
    if not versions:
        c.add(at + ("versions",), "a model needs at least one version")
    for v, version in versions.items():
        vat = at + ("versions", v)
        if not TARGET_NAME.fullmatch(v):
            c.add(vat, "version names are [A-Za-z0-9][A-Za-z0-9._-]*; rename it")
        if c.obj(version, vat) and c.obj(version.get("backend"), vat + ("backend",)):
            _check_backend(version["backend"], vat + ("backend",), c)


def _check_backend(b: Mapping[str, Any], at: Tuple[Any, ...], c: _Checker) -> None:
    kind = b.get("type")
    if kind == "onnx":
        if not isinstance(b.get("path"), str) or b["path"] == "":
            c.add(at + ("path",), "expected the path of the .onnx file")
        return
    if kind != "http":
        c.add(at + ("type",), 'expected "onnx" or "http"')
        return
    protocol = b.get("protocol", "raw")
    if protocol not in PROTOCOLS:
        c.add(at + ("protocol",), f"expected one of {', '.join(PROTOCOLS)}")
        return
    endpoints = b.get("endpoints")
    if not isinstance(endpoints, list) or not endpoints:
        c.add(at + ("endpoints",), "expected at least one endpoint URL")
        return
    for i, url in enumerate(endpoints):
        if not isinstance(url, str):
            c.add(at + ("endpoints", i), "expected a URL")
            continue
        problem = endpoint_scheme_problem(protocol, url)
        if problem is not None:
            c.add(at + ("endpoints", i), problem)
    for key in ("headers", "tls"):
        if key in b and not isinstance(b[key], dict):
            c.add(at + (key,), "expected an object")
    for key in ("model", "version"):
        if key in b and not isinstance(b[key], str):
            c.add(at + (key,), "expected a string")
    if "balance" in b and b["balance"] not in BALANCERS:
        c.add(at + ("balance",), f"expected one of {', '.join(BALANCERS)}")


def _check_objective(
    models: Mapping[str, Any],
    name: str,
    o: Mapping[str, Any],
    experiment_ids: Dict[str, str],
    c: _Checker,
) -> None:
    at = ("objectives", name)
    if not OBJECTIVE_NAME.fullmatch(name):
        c.add(at, "objective names are lowercase [a-z0-9][a-z0-9-]{0,62}; rename it")
    interface = o.get("interface", "json")
    if interface not in INTERFACES:
        c.add(at + ("interface",), f"expected one of {', '.join(INTERFACES)}")
        return

    def target(ref: Any, path: Tuple[Any, ...]) -> None:
        if c.ref(ref, path):
            _check_target(models, interface, ref, path, c)

    def arm(use: Any, path: Tuple[Any, ...]) -> None:
        if isinstance(use, dict):
            if not c.obj(use, path, _ARM_KEYS):
                return
            target(use.get("target"), path + ("target",))
            balance = use.get("balance")
            if balance not in BALANCERS:
                c.add(path + ("balance",), f"expected one of {', '.join(BALANCERS)}")
                return
            backend = _backend_of(models, use.get("target"))
            problem = None if backend is None else _balance_problem(backend, balance)
            if problem is not None:
                c.add(path + ("balance",), f"{use['target']}: {problem}")
        else:
            target(use, path)

    target(o.get("default"), at + ("default",))
    if not isinstance(o.get("allowOverride", False), bool):
        c.add(at + ("allowOverride",), "expected true or false")
    for key in ("overrideTargets",):
        refs = o.get(key, [])
        if isinstance(refs, list):
            for i, ref in enumerate(refs):
                target(ref, at + (key, i))
        else:
            c.add(at + (key,), "expected a list of targets")
    policy = o.get("policy", {})
    if c.obj(policy, at + ("policy",)):
        fallback = policy.get("fallback", [])
        if isinstance(fallback, list):
            for i, ref in enumerate(fallback):
                target(ref, at + ("policy", "fallback", i))
        else:
            c.add(at + ("policy", "fallback"), "expected a list of targets")
    pins = o.get("pins", {})
    if c.obj(pins, at + ("pins",)):
        for unit, ref in pins.items():
            if unit == "":
                c.add(at + ("pins",), "a pin needs a non-empty unit id")
            target(ref, at + ("pins", unit))
    rules = o.get("rules", [])
    if not isinstance(rules, list):
        c.add(at + ("rules",), "expected a list")
        rules = []
    rule_ids: set = set()
    for i, rule in enumerate(rules):
        rat = at + ("rules", i)
        if not c.obj(rule, rat, _RULE_KEYS):
            continue
        if "id" in rule:
            rid = rule["id"]
            if not isinstance(rid, str) or not SAFE_ID.fullmatch(rid):
                c.add(rat + ("id",), f"rule ids are {SAFE_ID_RULE}")
            elif rid in rule_ids:
                c.add(rat + ("id",), f'duplicate rule id "{rid}"; rule ids must be unique within an objective')
            else:
                rule_ids.add(rid)
        _check_when(rule.get("when"), rat + ("when",), c)
        target(rule.get("use"), rat + ("use",))
    experiments = o.get("experiments", [])
    if not isinstance(experiments, list):
        c.add(at + ("experiments",), "expected a list")
        experiments = []
    for i, e in enumerate(experiments):
        eat = at + ("experiments", i)
        if c.obj(e, eat, _EXPERIMENT_KEYS):
            _check_experiment(e, eat, experiment_ids, arm, c)
    shadow = o.get("shadow", [])
    if isinstance(shadow, list):
        for i, s in enumerate(shadow):
            if c.obj(s, at + ("shadow", i)):
                target(s.get("use"), at + ("shadow", i, "use"))
    else:
        c.add(at + ("shadow",), "expected a list")
    rollout = o.get("rollout")
    if rollout is not None and c.obj(rollout, at + ("rollout",), _ROLLOUT_KEYS):
        rat = at + ("rollout",)
        arm(rollout.get("candidate"), rat + ("candidate",))
        percent = rollout.get("percent", 0)
        if not _number(percent) or not 0 <= percent <= 100:
            c.add(rat + ("percent",), "expected a number from 0 to 100")
        if "salt" in rollout and not isinstance(rollout["salt"], str):
            c.add(rat + ("salt",), "expected a string")
        candidate = rollout.get("candidate")
        balance = candidate.get("balance") if isinstance(candidate, dict) else None
        ref = candidate.get("target") if isinstance(candidate, dict) else candidate
        if ref == o.get("default"):
            backend = _backend_of(models, ref)
            own = (backend.get("balance") or "p2c") if backend and backend.get("type") == "http" else None
            if balance is None:
                c.add(
                    rat + ("candidate",),
                    "the candidate is already the default; remove the rollout or name a new version",
                )
            elif balance == own:
                c.add(
                    rat + ("candidate", "balance"),
                    f"the default {ref} already picks its replicas with {own}; "
                    "name another balancer or remove the rollout",
                )


def _check_experiment(e: Mapping[str, Any], at: Tuple[Any, ...], ids: Dict[str, str], arm: Any, c: _Checker) -> None:
    eid = e.get("id")
    if not isinstance(eid, str) or not SAFE_ID.fullmatch(eid):
        c.add(at + ("id",), f"experiment ids are {SAFE_ID_RULE}")
    elif eid in ids:
        c.add(
            at + ("id",),
            f'duplicate experiment id "{eid}" (also in {ids[eid]}); experiment ids must be unique across the config',
        )
    else:
        ids[eid] = _path(at)
    population = e.get("population")
    if not _number(population) or not 0 < population <= 1:
        c.add(at + ("population",), f"population is {population!r}, expected a share in (0, 1], e.g. 0.2 for 20% of units")
    if "salt" in e and not isinstance(e["salt"], str):
        c.add(at + ("salt",), "expected a string")
    if "when" in e:
        _check_when(e["when"], at + ("when",), c)
    cells = e.get("cells")
    if not c.obj(cells, at + ("cells",)):
        return
    if not cells:
        c.add(at + ("cells",), "an experiment needs at least one cell")
    total = 0
    for name, cell in cells.items():
        cat = at + ("cells", name)
        if not SAFE_ID.fullmatch(name):
            c.add(cat, f"cell names are {SAFE_ID_RULE}; rename it")
        if not c.obj(cell, cat, _CELL_KEYS):
            continue
        weight = cell.get("weight")
        if not _number(weight) or not 0 <= weight <= 100:
            c.add(cat + ("weight",), "expected a number from 0 to 100")
        else:
            total += weight
        arm(cell.get("use"), cat + ("use",))
    if cells and abs(total - 100) > 1e-9:
        c.add(at + ("cells",), f"weights sum to {total}, expected 100")


def _check_when(when: Any, at: Tuple[Any, ...], c: _Checker) -> None:
    if not c.obj(when, at, _WHEN_KEYS):
        return
    context = when.get("context")
    if context is not None and c.obj(context, at + ("context",)):
        for key, v in context.items():
            ok = isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(x, str) for x in v))
            if not ok:
                c.add(at + ("context", key), "expected a string or a non-empty list of strings")
            if key != key.lower():
                c.add(
                    at + ("context", key),
                    f'context keys are lowercase (they come from x-context-* headers); write "{key.lower()}"',
                )
    tc = when.get("trafficClass")
    if tc is not None:
        listed = tc if isinstance(tc, list) else [tc]
        if not listed or any(x not in TRAFFIC_CLASSES for x in listed):
            c.add(at + ("trafficClass",), "expected live, test or synthetic (or a non-empty list of them)")


def _backend_of(models: Mapping[str, Any], ref: Any) -> Optional[Mapping[str, Any]]:
    if not isinstance(ref, str) or "@" not in ref:
        return None
    model, _, version = ref.rpartition("@")
    m = models.get(model)
    v = m.get("versions", {}).get(version) if isinstance(m, dict) and isinstance(m.get("versions"), dict) else None
    return v.get("backend") if isinstance(v, dict) and isinstance(v.get("backend"), dict) else None


def _balance_problem(backend: Mapping[str, Any], balance: str) -> Optional[str]:
    if backend.get("type") != "http":
        return f"runs in process ({backend.get('type')}): it has no replicas to balance; name the target alone"
    protocol = backend.get("protocol", "raw")
    if balance in ("prefix", "adapter") and protocol != "openai":
        return (
            f"balance {balance} reads the OpenAI request (prompt, model field); "
            f"its backend speaks {protocol}, use p2c or least-load"
        )
    return None


def _check_target(models: Mapping[str, Any], interface: str, ref: str, path: Tuple[Any, ...], c: _Checker) -> None:
    model_name, _, version = ref.rpartition("@")
    model = models.get(model_name)
    if not isinstance(model, dict):
        c.add(path, f'unknown model "{model_name}" in "{ref}"; declare it under models: or fix the name')
        return
    versions = model.get("versions") if isinstance(model.get("versions"), dict) else {}
    v = versions.get(version)
    if not isinstance(v, dict) or not isinstance(v.get("backend"), dict):
        known = ", ".join(versions) or "none"
        c.add(path, f'model "{model_name}" has no version "{version}" (versions: {known})')
        return
    backend = v["backend"]
    if backend.get("type") == "http" and backend.get("protocol", "raw") not in PROTOCOLS:
        return  # reported with the backend
    served = interfaces_served_by(backend, model.get("class", "other"))
    if interface not in served:
        c.add(
            path,
            f'{ref} cannot serve interface "{interface}" (its backend serves {", ".join(served) or "nothing"}); '
            "pick another target or change the objective's interface",
        )
