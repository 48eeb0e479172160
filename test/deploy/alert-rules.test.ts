// The alert rules shipped in deploy/prometheus/junction-alerts.yaml: every metric
// and label they name is one a running Junction registers (so renaming a metric or
// a label fails here, not silently in someone's Prometheus), the PrometheusRule for
// the Operator holds the same groups, and promtool (Debian's `prometheus` package)
// accepts the file and passes its unit tests (junction-alerts.test.yaml), which
// fire each alert on series shaped as Junction exports them.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startJunction, type Junction } from '../../src/app.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = join(ROOT, 'deploy/prometheus/junction-alerts.yaml');
const RULE_TESTS = join(ROOT, 'deploy/prometheus/junction-alerts.test.yaml');
const OPERATOR_RULE = join(ROOT, 'deploy/kubernetes/monitoring/prometheus-rule.yaml');

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Rules {
  groups: Array<{ name: string; rules: Rule[] }>;
}

const rules = parse(readFileSync(RULES, 'utf8')) as Rules;
const alerts = rules.groups.flatMap((g) => g.rules);

const PROMTOOL = spawnSync('promtool', ['--version']).error === undefined ? 'promtool' : undefined;
if (PROMTOOL === undefined && process.env.JUNCTION_REQUIRE_SERVICES === '1')
  throw new Error('JUNCTION_REQUIRE_SERVICES=1: promtool is not installed (apt-get install prometheus)');

let j: Junction;
const registry = new Registry();
beforeAll(async () => {
  j = await startJunction({
    listen: false,
    metricsRegistry: registry,
    config: {
      models: { m: { versions: { '1': { backend: { type: 'http', endpoints: ['http://127.0.0.1:9'] } } } } },
      objectives: { o: { default: 'm@1' } },
    },
    log: { error() {}, warn() {}, info() {} },
  });
});
afterAll(async () => {
  await j?.close();
});

interface Family {
  name: string;
  type: string;
  labels: string[];
}

/** The family a series name belongs to (`x_bucket`, `x_sum`, `x_count` are a histogram's), as registered. */
function family(series: string): Family | undefined {
  for (const name of [series, series.replace(/_(bucket|sum|count)$/, '')]) {
    const metric = registry.getSingleMetric(name) as unknown as { type?: string; labelNames?: readonly string[] };
    if (metric === undefined) continue;
    if (name !== series && metric.type !== 'histogram') return undefined;
    const labels = [...(metric.labelNames ?? [])];
    return {
      name,
      type: metric.type ?? '',
      labels: name !== series && series.endsWith('_bucket') ? [...labels, 'le'] : labels,
    };
  }
  return undefined;
}

/** Each selector of an expression: its metric and the label names its matchers use. */
function selectors(expr: string): Array<{ metric: string; matchers: string[] }> {
  return [...expr.matchAll(/\b(junction_[a-z0-9_]+)\s*(?:\{([^}]*)\})?/g)].map((m) => ({
    metric: m[1]!,
    matchers: [...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!),
  }));
}

describe('deploy/prometheus/junction-alerts.yaml', () => {
  it('names only metrics a Junction registers', () => {
    expect(alerts.length).toBeGreaterThan(0);
    const unknown = alerts.flatMap((r) =>
      selectors(r.expr)
        .filter((s) => family(s.metric) === undefined)
        .map((s) => `${r.alert}: ${s.metric}`),
    );
    expect(unknown).toEqual([]);
  });

  it('matches, groups and describes by labels those metrics have', () => {
    const wrong: string[] = [];
    for (const r of alerts) {
      const used = selectors(r.expr);
      const labels = new Set(used.flatMap((s) => family(s.metric)?.labels ?? []));
      for (const s of used)
        for (const l of s.matchers)
          if (!family(s.metric)?.labels.includes(l)) wrong.push(`${r.alert}: ${s.metric} has no label ${l}`);
      for (const m of r.expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g))
        for (const l of m[1]!.split(',').map((x) => x.trim()))
          if (l !== '' && !labels.has(l)) wrong.push(`${r.alert}: groups by ${l}, which its metrics lack`);
      for (const text of Object.values(r.annotations ?? {}))
        for (const m of text.matchAll(/\$labels\.(\w+)/g))
          if (!labels.has(m[1]!))
            wrong.push(`${r.alert}: its annotation reads $labels.${m[1]}, which its metrics lack`);
    }
    expect(wrong).toEqual([]);
  });

  it('every alert has a severity and a summary', () => {
    for (const r of alerts) {
      expect(['page', 'ticket'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
    }
  });

  it("the Prometheus Operator's PrometheusRule holds the same groups", () => {
    const operator = parse(readFileSync(OPERATOR_RULE, 'utf8')) as { kind: string; spec: Rules };
    expect(operator.kind).toBe('PrometheusRule');
    expect(operator.spec).toEqual(rules);
  });

  describe.skipIf(PROMTOOL === undefined)(
    `promtool${PROMTOOL ? '' : ' (skipped: promtool not installed; apt-get install prometheus)'}`,
    () => {
      it('check rules accepts the file', () => {
        const r = spawnSync(PROMTOOL!, ['check', 'rules', RULES], { encoding: 'utf8' });
        expect(r.status, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toContain(`${alerts.length} rules found`);
      });

      it('each alert fires on the series its unit test feeds it, and stays quiet where it should', () => {
        const r = spawnSync(PROMTOOL!, ['test', 'rules', RULE_TESTS], { encoding: 'utf8' });
        expect(r.status, r.stdout + r.stderr).toBe(0);
        // Every alert is exercised: a new rule without a unit test fails here.
        const tested = new Set([...readFileSync(RULE_TESTS, 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
        expect(alerts.map((a) => a.alert).filter((a) => !tested.has(a))).toEqual([]);
      });
    },
  );
});
