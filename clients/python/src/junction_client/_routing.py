"""The routing core (SPEC §3), ported from the server's src/routing/ with its
semantics kept exactly: compile a checked config once per revision into
per-objective tables whose every possible outcome (and its Decision) is built
ahead, then decide with a few dict lookups.

Steps, first that yields a target wins: override (when allowed), pins, rules
(first whose ``when`` matches: every listed context key present with one of
its values, and the traffic class among those listed), experiments (each whose
``when`` matches and whose population holds the unit's bucket; cells split the
population in the order JavaScript lists them), rollout (bucket < percent ×
100, salt ``{objective}:{candidate}``), default.

A compiled table is never changed after it is built (but for the override
outcomes it adds on first use, one dict entry at a time), so any number of
threads may decide on it while the client swaps in the next one.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from . import errors
from ._bucket import BUCKETS, bucket_of, random_unit
from ._snapshot import TRAFFIC_CLASSES, js_key_order
from .decision import Decision, decision_of


class Target:
    __slots__ = ("id", "model", "version", "model_class", "backend")

    def __init__(self, id: str, model: str, version: str, model_class: str, backend: Mapping[str, Any]):
        self.id = id
        self.model = model
        self.version = version
        self.model_class = model_class
        self.backend = backend


class Outcome:
    """A possible result of routing, with both Decisions (unit given or not) built ahead."""

    __slots__ = ("objective", "target", "step", "rule", "experiment", "cell", "balance", "revision", "with_unit", "without_unit")

    def __init__(
        self,
        objective: str,
        revision: int,
        target: Target,
        step: str,
        rule: str,
        experiment: Optional[str] = None,
        cell: Optional[str] = None,
        balance: Optional[str] = None,
    ):
        self.objective = objective
        self.target = target
        self.step = step
        self.rule = rule
        self.experiment = experiment
        self.cell = cell
        self.balance = balance
        self.revision = revision
        header = (
            f"rule={rule}"
            + ("" if cell is None else f" cell={cell}")
            + ("" if balance is None else f" balance={balance}")
            + f" revision={revision}"
        )

        def make(x_decision: str) -> Decision:
            return decision_of(
                objective, target.id, target.model, target.version, target.backend,
                rule, experiment, cell, balance, revision, x_decision,
            )  # fmt: skip

        self.with_unit: Decision = make(header)
        self.without_unit: Decision = make(header + " unit=none")


class When:
    __slots__ = ("context", "classes")

    def __init__(self, when: Mapping[str, Any]):
        self.context: Tuple[Tuple[str, frozenset], ...] = tuple(
            (key, frozenset(v if isinstance(v, list) else [v])) for key, v in (when.get("context") or {}).items()
        )
        tc = when.get("trafficClass")
        self.classes: Optional[frozenset] = None if tc is None else frozenset(tc if isinstance(tc, list) else [tc])

    def matches(self, ctx: Mapping[str, str], tc: str) -> bool:
        if self.classes is not None and tc not in self.classes:
            return False
        for key, values in self.context:
            if ctx.get(key) not in values:
                return False
        return True


class Experiment:
    __slots__ = ("id", "salt", "when", "population_upper", "cells")

    def __init__(self, e: Mapping[str, Any], outcome_of: Callable[[Any, str], Outcome]):
        self.id: str = e["id"]
        self.salt: str = self.id if e.get("salt") is None else e["salt"]
        self.when = When(e["when"]) if e.get("when") is not None else None
        self.population_upper = e["population"] * BUCKETS
        cells: List[Tuple[float, Outcome]] = []
        cumulative = 0
        cell_map = e["cells"]
        for name in js_key_order(list(cell_map)):
            cumulative += cell_map[name]["weight"]
            cells.append(((self.population_upper * cumulative) / 100, outcome_of(cell_map[name]["use"], name)))
        # Float rounding must never leave a sliver of the population without a cell.
        if cells:
            cells[-1] = (self.population_upper, cells[-1][1])
        self.cells = tuple(cells)


class Rollout:
    __slots__ = ("salt", "percent", "upper", "outcome")

    def __init__(self, salt: str, percent: float, outcome: Outcome):
        self.salt = salt
        self.percent = percent
        self.upper = percent * 100
        self.outcome = outcome


def arm_target(use: Any) -> str:
    return use if isinstance(use, str) else use["target"]


def arm_balance(use: Any) -> Optional[str]:
    return None if isinstance(use, str) else use["balance"]


def arm_label(use: Any) -> str:
    return use if isinstance(use, str) else f"{use['target']} balance={use['balance']}"


class Objective:
    __slots__ = (
        "name", "interface", "revision", "allow_override", "overridable", "targets",
        "pins", "rule_outcomes", "rule_keys", "class_bits", "experiments", "rollout",
        "default", "overrides",
    )  # fmt: skip

    def __init__(self, name: str, o: Mapping[str, Any], revision: int, targets: Mapping[str, Target]):
        def outcome(ref: str, step: str, rule: str) -> Outcome:
            return Outcome(name, revision, targets[ref], step, rule)

        def arm_outcome(use: Any, step: str, rule: str, experiment: Optional[str] = None, cell: Optional[str] = None) -> Outcome:
            return Outcome(name, revision, targets[arm_target(use)], step, rule, experiment, cell, arm_balance(use))

        self.name = name
        self.interface: str = o.get("interface", "json")
        self.revision = revision
        self.allow_override: bool = o.get("allowOverride", False)
        self.targets = targets
        self.overridable = _overridable_targets(o)
        shared: Dict[str, Outcome] = {}
        self.pins: Dict[str, Outcome] = {}
        for unit, ref in (o.get("pins") or {}).items():
            if ref not in shared:
                shared[ref] = outcome(ref, "pin", "pin")
            self.pins[unit] = shared[ref]

        rules = o.get("rules") or []
        whens = [When(r["when"]) for r in rules]
        self.rule_outcomes = tuple(
            outcome(r["use"], "rule", f"rule:{r['id'] if r.get('id') is not None else i}") for i, r in enumerate(rules)
        )
        self.rule_keys, self.class_bits = _rule_index(whens)

        self.experiments = tuple(
            Experiment(e, lambda use, cell, e=e: arm_outcome(use, "experiment", f"experiment:{e['id']}", e["id"], cell))
            for e in (o.get("experiments") or [])
        )
        r = o.get("rollout")
        self.rollout: Optional[Rollout] = None
        if r is not None:
            salt = r.get("salt")
            self.rollout = Rollout(
                f"{name}:{arm_label(r['candidate'])}" if salt is None else salt,
                r.get("percent", 0),
                arm_outcome(r["candidate"], "rollout", "rollout"),
            )
        self.default = outcome(o["default"], "default", "default")
        self.overrides: Dict[str, Outcome] = {}

    def route(self, unit: Optional[str], ctx: Mapping[str, str], tc: str, bucket: Callable[[str, str], int]) -> Outcome:
        """Steps 1 (pins) to 5, as src/routing/decide.ts; the override is resolved before."""
        if unit is not None:
            if self.pins:
                pinned = self.pins.get(unit)
                if pinned is not None:
                    return pinned
        else:
            # No unit: allocation is random, and a random unit never repeats, so it skips the memo.
            unit = random_unit()
            bucket = bucket_of
        if self.rule_outcomes:
            word = self.class_bits[tc]
            for key, by_value, unconstrained in self.rule_keys:
                value = ctx.get(key)
                word &= unconstrained if value is None else by_value.get(value, unconstrained)
                if not word:
                    break
            if word:
                return self.rule_outcomes[(word & -word).bit_length() - 1]
        for e in self.experiments:
            if e.when is not None and not e.when.matches(ctx, tc):
                continue
            b = bucket(e.salt, unit)
            if b < e.population_upper:
                for upper, cell in e.cells:
                    if b < upper:
                        return cell
        r = self.rollout
        if r is not None and r.upper > 0 and bucket(r.salt, unit) < r.upper:
            return r.outcome
        return self.default

    def override(self, ref: str) -> Outcome:
        """Step 1: an override, for a caller that may (the objective's allowOverride)."""
        if not self.allow_override:
            raise errors.error(
                "override_forbidden",
                f'overrides are not allowed on objective "{self.name}" for this caller',
                objective=self.name,
            )
        found = self.overrides.get(ref)
        if found is not None:
            return found
        target = self.targets.get(ref)
        if target is None:
            raise errors.error(
                "invalid_request",
                f'override: unknown target "{ref}"; expected model@version from the config',
                objective=self.name,
            )
        if ref not in self.overridable:
            raise errors.error(
                "override_forbidden",
                f'override "{ref}": objective "{self.name}" does not use {ref}; an override may name a target '
                "the objective routes, shadows or falls back to, or one listed in its overrideTargets",
                objective=self.name,
            )
        found = Outcome(self.name, self.revision, target, "override", "override")
        self.overrides[ref] = found
        return found


def _overridable_targets(o: Mapping[str, Any]) -> frozenset:
    out = {o["default"], *(o.get("pins") or {}).values(), *(o.get("policy") or {}).get("fallback", [])}
    out.update(o.get("overrideTargets") or [])
    out.update(r["use"] for r in o.get("rules") or [])
    for e in o.get("experiments") or []:
        out.update(arm_target(c["use"]) for c in e["cells"].values())
    if o.get("rollout") is not None:
        out.add(arm_target(o["rollout"]["candidate"]))
    out.update(s["use"] for s in o.get("shadow") or [])
    return frozenset(out)


def _rule_index(whens: List[When]) -> Tuple[tuple, Dict[str, int]]:
    """Per context key, the rules accepting each value as a bitset (bit i: rule i), plus
    those not constraining it; per traffic class, the rules it passes. First match is
    then an AND over the request's keys (src/routing/rule-index.ts)."""
    keys: List[str] = []
    for w in whens:
        for key, _ in w.context:
            if key not in keys:
                keys.append(key)
    index = []
    for key in keys:
        unconstrained = 0
        by_value: Dict[str, int] = {}
        for i, w in enumerate(whens):
            entry = next((values for k, values in w.context if k == key), None)
            if entry is None:
                unconstrained |= 1 << i
            else:
                for v in entry:
                    by_value[v] = by_value.get(v, 0) | (1 << i)
        index.append((key, {v: bits | unconstrained for v, bits in by_value.items()}, unconstrained))
    class_bits = {
        tc: sum(1 << i for i, w in enumerate(whens) if w.classes is None or tc in w.classes) for tc in TRAFFIC_CLASSES
    }
    return tuple(index), class_bits


class RoutingTable:
    __slots__ = ("revision", "objectives", "targets")

    def __init__(self, config: Mapping[str, Any], revision: int):
        self.revision = revision
        self.targets: Dict[str, Target] = {}
        for model, m in (config.get("models") or {}).items():
            for version, v in m["versions"].items():
                tid = f"{model}@{version}"
                self.targets[tid] = Target(tid, model, version, m.get("class", "other"), v["backend"])
        self.objectives: Dict[str, Objective] = {
            name: Objective(name, o, revision, self.targets) for name, o in (config.get("objectives") or {}).items()
        }
