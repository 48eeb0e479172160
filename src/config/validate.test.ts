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

  it('refuses a policy budget longer than a timer can wait (it would fire after 1 ms and cut every call)', () => {
    const issues = issuesOf({
      models,
      objectives: { cw: { default: 'ranker@7', policy: { timeoutMs: 2 ** 31, replyTimeoutMs: 2 ** 40 } } },
    });
    expect(issues.some((i) => i.startsWith('objectives.cw.policy.timeoutMs'))).toBe(true);
    expect(issues.some((i) => i.startsWith('objectives.cw.policy.replyTimeoutMs'))).toBe(true);
  });

  it('refuses a tokens-per-minute limit on an objective that carries no tokens', () => {
    expect(issuesOf({ models, objectives: { cw: { default: 'ranker@6', rateLimit: { tpm: 1000 } } } })).toEqual([
      'objectives.cw.rateLimit.tpm: interface json carries no tokens: a tokens-per-minute limit applies to interface openai only; remove it',
    ]);
    expect(
      issuesOf({ models, objectives: { chat: { interface: 'openai', default: 'chat@1', rateLimit: { tpm: 1000 } } } }),
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

  it('runs the semantic checks on the well-formed parts of a config the schema refused, every problem at once', () => {
    const issues = issuesOf({
      models: { ...models, broken: { versions: { '1': { backend: { type: 'grpc' } } } } },
      objectives: {
        cw: { default: 'ranker@9', policy: { timeoutMs: 'fast' } },
        other: { default: 'broken@1', rules: [{ when: {}, use: 'ghost@1' }] },
      },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^models\.broken\.versions\.1\.backend\.type: /),
        expect.stringMatching(/^objectives\.cw\.policy\.timeoutMs: /),
        'objectives.cw.default: model "ranker" has no version "9" (versions: 6, 7)',
        'objectives.other.rules[0].use: unknown model "ghost" in "ghost@1"; declare it under models: or fix the name',
      ]),
    );
    // broken@1 is declared but malformed: not reported as unknown, nor judged.
    expect(issues).toHaveLength(4);
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

  describe('configs that would produce broken answers are refused, naming the path (issue 22, finding 10)', () => {
    const withPolicy = (policy: Record<string, unknown>) => ({
      models,
      objectives: { cw: { default: 'ranker@6', policy } },
    });
    const nested = (depth: number): unknown => {
      let v: unknown = 'leaf';
      for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { a: v } : [v];
      return v;
    };

    it('a static answer is a final response: 1xx refused, 2xx-5xx kept; no body with 204/205/304', () => {
      for (const status of [100, 101, 103, 199]) {
        expect(issuesOf(withPolicy({ static: { status, body: {} } }))).toEqual([
          'objectives.cw.policy.static.status: a static answer is a final response: status 200-599 (1xx are interim responses)',
        ]);
      }
      expect(issuesOf(withPolicy({ static: { status: 204, body: 'x' } }))).toEqual([
        'objectives.cw.policy.static.body: a 204 answer has no body; remove body or pick another status',
      ]);
      for (const status of [200, 204, 304, 503]) expect(issuesOf(withPolicy({ static: { status } }))).toEqual([]);
    });

    it("static headers: no framing or hop-by-hop header, none of Junction's own, no name twice, no control characters", () => {
      const issues = issuesOf(
        withPolicy({
          static: {
            status: 200,
            body: 'hello',
            headers: {
              'Content-Length': '2',
              'transfer-encoding': 'chunked',
              connection: 'close',
              'X-Decision': 'rule=fake',
              'x-request-id': 'r',
              'content-type': 'text/plain',
              'Content-Type': 'text/html',
              'x-split': 'a\r\nset-cookie: x=1',
              'x-nul': 'a\u0000b',
              'bad name': 'x',
            },
          },
        }),
      );
      const at = 'objectives.cw.policy.static.headers';
      expect(issues).toEqual([
        `${at}.Content-Length: content-length frames the message or belongs to one connection: Junction sets it, configuring it would break the framing; remove it`,
        expect.stringMatching(new RegExp(`^${at}\\.transfer-encoding: transfer-encoding frames the message`)),
        expect.stringMatching(new RegExp(`^${at}\\.connection: connection frames the message`)),
        `${at}.X-Decision: x-decision is written by Junction on every answer; remove it`,
        `${at}.x-request-id: x-request-id is written by Junction on every answer; remove it`,
        `${at}.Content-Type: the same header as "content-type" (header names ignore case); keep one`,
        `${at}.x-split: a header value may hold visible ASCII, spaces and tabs only; this one has a carriage return (\\r) at character 2`,
        `${at}.x-nul: a header value may hold visible ASCII, spaces and tabs only; this one has a NUL at character 2`,
        expect.stringMatching(new RegExp(`^${at}\\.bad name: expected an HTTP header name`)),
      ]);
      expect(
        issuesOf(
          withPolicy({ static: { status: 200, headers: { 'Content-Type': 'text/csv', 'cache-control': 'no-store' } } }),
        ),
      ).toEqual([]);
    });

    it('upstream headers: no framing header, no control character outside a ${env:}/${file:} reference', () => {
      const backend = {
        type: 'http',
        endpoints: ['http://127.0.0.1:9'],
        headers: {
          authorization: 'Bearer ${file:/run/secrets/key}',
          'x-tenant': 'a\nb',
          'content-length': '10',
        },
      };
      expect(
        issuesOf({ models: { m: { versions: { '1': { backend } } } }, objectives: { cw: { default: 'm@1' } } }),
      ).toEqual([
        'models.m.versions.1.backend.headers.x-tenant: a header value may hold visible ASCII, spaces and tabs only; this one has a line feed (\\n) at character 2',
        expect.stringMatching(/^models\.m\.versions\.1\.backend\.headers\.content-length: content-length frames/),
      ]);
    });

    it('ids written into x-decision and metric labels are in a safe charset: rule and experiment ids, cells, clients', () => {
      const rule = 'ids are [A-Za-z0-9][A-Za-z0-9_.~:@/+-]*, at most 128 characters';
      const issues = issuesOf({
        models,
        objectives: {
          cw: {
            default: 'ranker@6',
            rules: [
              { id: 'règle', when: {}, use: 'ranker@7' },
              { id: 'br mx', when: {}, use: 'ranker@7' },
              { id: 'a\r\nx-evil: 1', when: {}, use: 'ranker@7' },
              { id: 'br-mx', when: {}, use: 'ranker@7' },
              { id: 'latam_launch:v2', when: {}, use: 'ranker@7' },
            ],
          },
          other: {
            default: 'ranker@6',
            experiments: [{ id: 'e=1', population: 1, cells: { A: { weight: 100, use: 'ranker@7' } } }],
          },
        },
      });
      expect(issues).toEqual([
        expect.stringContaining(`objectives.cw.rules[0].id: rule ${rule}`),
        expect.stringContaining(`objectives.cw.rules[1].id: rule ${rule}`),
        expect.stringContaining(`objectives.cw.rules[2].id: rule ${rule}`),
        expect.stringContaining(`objectives.other.experiments[0].id: experiment ${rule}`),
      ]);
      expect(
        issuesOf({
          models,
          objectives: {
            cw: {
              default: 'ranker@6',
              experiments: [{ id: 'e1', population: 1, cells: { 'Ä "x"': { weight: 100, use: 'ranker@7' } } }],
            },
          },
          clients: { 'web app': { keySha256: 'a'.repeat(64) } },
        }),
      ).toEqual([
        expect.stringContaining(`objectives.cw.experiments[0].cells.Ä "x": cell names are [A-Za-z0-9]`),
        expect.stringContaining('clients.web app: client names are [A-Za-z0-9]'),
      ]);
    });

    it('free-form JSON (version metadata, a static body) nests at most 32 levels, however deep it is', () => {
      const version = (metadata: unknown) => ({ backend: http.backend, metadata: { owner: 'ml', run: metadata } });
      const config = (metadata: unknown, body: unknown) => ({
        models: { m: { versions: { '1': version(metadata) } } },
        objectives: { cw: { default: 'm@1', policy: { static: { status: 200, body } } } },
      });
      expect(issuesOf(config(nested(31), nested(32)))).toEqual([]);
      for (const depth of [33, 100_000]) {
        expect(issuesOf(config(nested(depth), nested(depth)))).toEqual([
          expect.stringMatching(
            /^models\.m\.versions\.1\.metadata: nested more than 32 levels deep \(at run\.[0a]\.[0a]\.[0a]…\); flatten it$/,
          ),
          expect.stringMatching(/^objectives\.cw\.policy\.static\.body: nested more than 32 levels deep/),
        ]);
      }
      // Deep enough to overflow any recursive walk, as JSON text: JSON.parse copes, validation refuses it.
      const text = `{"models":{"m":{"versions":{"1":{"backend":{"type":"http","endpoints":["http://127.0.0.1:9"]},"metadata":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}}}},"objectives":{"cw":{"default":"m@1"}}}`;
      expect(issuesOf(parseConfigText(text))).toEqual([
        expect.stringMatching(/^models\.m\.versions\.1\.metadata: nested/),
      ]);
    });
  });

  it('refuses YAML whose flow brackets nest past 256 levels before the parser recurses into them', () => {
    const deep = (n: number) =>
      `models:\n  m:\n    versions:\n      "1":\n        metadata: ${'['.repeat(n)}1${']'.repeat(n)}\n`;
    expect(() => parseConfigText(deep(256))).not.toThrow();
    for (const n of [257, 200_000]) {
      expect(() => parseConfigText(deep(n), 'deep.yaml')).toThrow(/brackets nest deeper than 256 levels/);
    }
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(() => parseConfigText('models:\n  a: [1, 2\n', 'x.yaml')).toThrow(/line \d+, column \d+/);
  });

  it('rejects duplicate keys instead of silently taking the last', () => {
    expect(() => parseConfigText('objectives:\n  a: {}\n  a: {}\n')).toThrow(ConfigError);
  });
});
