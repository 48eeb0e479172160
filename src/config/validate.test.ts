import { describe, expect, it } from 'vitest';
import { issuesOf } from '../../test/support/config-issues.js';
import { ConfigError } from './issues.js';
import { parseConfigText, validateConfig } from './load.js';

const http = { backend: { type: 'http', endpoints: ['http://127.0.0.1:9'] } };
const models = {
  ranker: { class: 'scorer', versions: { '6': http, '7': http } },
  chat: {
    class: 'generator',
    versions: { '1': { backend: { type: 'http', protocol: 'openai', endpoints: ['http://127.0.0.1:9'] } } },
  },
};

describe('config validation', () => {
  it('model and version names are what a target ref is made of: nothing that could end a header, a label or an nginx line', () => {
    const backend = { type: 'onnx', path: 'm.onnx' };
    const evil = 'x\n}\nserver { listen 9999; }\n#';
    const issues = issuesOf({
      models: {
        [evil]: { versions: { '1': { backend } } },
        ok: { versions: { 'v 2': { backend }, '3': { backend } } },
      },
      objectives: { cw: { default: 'ok@3' } },
    });
    expect(issues.some((i) => i.includes('model names are [A-Za-z0-9]'))).toBe(true);
    expect(issues.some((i) => i.startsWith('models.ok.versions') && i.includes('version names are'))).toBe(true);
    expect(
      issuesOf({
        models: { 'ranker.v2': { versions: { '2026-11_a': { backend } } } },
        objectives: { cw: { default: 'ranker.v2@2026-11_a' } },
      }),
    ).toEqual([]);
  });

  it('accepts the SPEC-shaped config and fills documented defaults', () => {
    const c = validateConfig({ models, objectives: { cw: { default: 'ranker@6' } } });
    expect(c.objectives.cw!.interface).toBe('json');
    expect(c.objectives.cw!.policy.timeoutMs).toBe(30000);
    expect(c.objectives.cw!.observability.decisionLogSample).toBe(1);
  });

  it('refuses minShadowAgreement without a compared shadow of the candidate', () => {
    const rollout = {
      candidate: 'ranker@7',
      percent: 5,
      steps: [5, 100],
      gates: { minRequests: 10, minShadowAgreement: 0.9 },
    };
    expect(issuesOf({ models, objectives: { cw: { default: 'ranker@6', rollout } } })).toEqual([
      'objectives.cw.rollout.gates.minShadowAgreement: needs a shadow of the candidate to compare: add shadow: [{ use: ranker@7, percent: 10, compare: numeric }]',
    ]);
    expect(
      issuesOf({
        models,
        objectives: {
          cw: { default: 'ranker@6', rollout, shadow: [{ use: 'ranker@7', percent: 10, compare: 'exact' }] },
        },
      }),
    ).toEqual([]);
  });

  it('reports every problem at once, each with its path and the fix', () => {
    const issues = issuesOf({
      models,
      objectives: {
        'o-exp': {
          default: 'ranker@9',
          experiments: [
            {
              id: 'e1',
              population: 1.5,
              cells: { A: { weight: 50, use: 'ranker@6' }, B: { weight: 40, use: 'ranker@7' } },
            },
            { id: 'e1', population: 0.1, cells: { A: { weight: 100, use: 'nope@1' } } },
          ],
          rules: [{ when: { context: { Country: 'BR' } }, use: 'ranker@7' }],
        },
        Bad_Name: { default: 'ranker@6' },
        chatty: { interface: 'json', default: 'chat@1' },
      },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        'objectives.o-exp.default: model "ranker" has no version "9" (versions: 6, 7)',
        'objectives.o-exp.experiments[0].population: population is 1.5, expected a share in (0, 1], e.g. 0.2 for 20% of units',
        'objectives.o-exp.experiments[0].cells: weights sum to 90, expected 100',
        expect.stringMatching(/^objectives\.o-exp\.experiments\[1\]\.id: duplicate experiment id "e1"/),
        'objectives.o-exp.experiments[1].cells.A.use: unknown model "nope" in "nope@1"; declare it under models: or fix the name',
        'objectives.o-exp.rules[0].when.context.Country: context keys are lowercase (they come from x-context-* headers); write "country"',
        'objectives.Bad_Name: objective names are lowercase [a-z0-9][a-z0-9-]{0,62}; rename it',
        expect.stringMatching(/^objectives\.chatty\.default: chat@1 cannot serve interface "json"/),
      ]),
    );
    expect(issues).toHaveLength(8);
  });

  it('names unknown keys (typos) and bad types by path', () => {
    const issues = issuesOf({
      models,
      objectives: { cw: { default: 'ranker@6', polcy: {}, policy: { timeoutMs: 'fast' } } },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^objectives\.cw: unknown key "polcy"/),
        expect.stringMatching(/^objectives\.cw\.policy\.timeoutMs: /),
      ]),
    );
  });

  it('refuses retries and hedging on non-idempotent objectives', () => {
    const issues = issuesOf({
      models,
      objectives: { cw: { default: 'ranker@6', policy: { retries: 2, hedgeAfterMs: 10 } } },
    });
    expect(issues).toEqual([
      'objectives.cw.policy.retries: retries need idempotent: true (a non-idempotent call may not be sent twice)',
      'objectives.cw.policy.hedgeAfterMs: hedging needs idempotent: true (a hedge sends the call twice)',
    ]);
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(() => parseConfigText('models:\n  a: [1, 2\n', 'x.yaml')).toThrow(/line \d+, column \d+/);
  });

  it('rejects duplicate keys instead of silently taking the last', () => {
    expect(() => parseConfigText('objectives:\n  a: {}\n  a: {}\n')).toThrow(ConfigError);
  });
});
