// A balancer as an experiment arm (SPEC §14, issue 23 item 6): a cell or a
// rollout candidate may name `{ target, balance }`; routing carries the
// balance on precomputed, frozen outcomes and says it in x-decision.
import { describe, expect, it } from 'vitest';
import { issuesOf } from '../../test/support/config-issues.js';
import { validateConfig } from '../config/load.js';
import { bucketOf } from './bucket.js';
import { BucketMemo } from './bucket-memo.js';
import { compileRouting } from './compile.js';
import { decide, explain } from './decide.js';
import type { RoutingRequest } from './types.js';

const openai = { backend: { type: 'http', protocol: 'openai', endpoints: ['http://127.0.0.1:9'] } };
const oip = { backend: { type: 'http', protocol: 'oip', endpoints: ['http://127.0.0.1:9'] } };
const onnx = { backend: { type: 'onnx', path: 'm.onnx' } };

export const ARMS_CONFIG = {
  models: { chat: { class: 'generator', versions: { '1': openai, '2': openai } } },
  objectives: {
    chat: {
      interface: 'openai',
      default: 'chat@1',
      experiments: [
        {
          id: 'balancers',
          population: 1,
          cells: {
            A: { weight: 50, use: 'chat@1' },
            B: { weight: 50, use: { target: 'chat@1', balance: 'prefix' } },
          },
        },
      ],
    },
  },
};

const req = (unit: string): RoutingRequest => ({ unit, context: {}, trafficClass: 'live' });

describe('balancer arms in routing', () => {
  const table = compileRouting(validateConfig(ARMS_CONFIG), 4);
  const o = table.objectives.get('chat')!;

  it('a { target, balance } cell validates, compiles to an outcome carrying the balance, and says it in x-decision', () => {
    const [a, b] = o.experiments[0]!.cells.map((c) => c.outcome);
    expect(a!.target.id).toBe('chat@1');
    expect(b!.target.id).toBe('chat@1');
    expect(a!.balance).toBeUndefined();
    expect(b!.balance).toBe('prefix');
    expect(b!.cell).toBe('B');
    expect(b!.header).toBe('rule=experiment:balancers cell=B balance=prefix revision=4');
    expect(b!.headerNoUnit).toBe('rule=experiment:balancers cell=B balance=prefix revision=4 unit=none');
    expect(a!.header).toBe('rule=experiment:balancers cell=A revision=4');
    expect(Object.isFrozen(b)).toBe(true);
    expect(o.default.balance).toBeUndefined();
  });

  it('allocates units stickily, by the same buckets as any cell, and returns the shared outcome (no allocation)', () => {
    const memo = new BucketMemo(64);
    for (let i = 0; i < 200; i++) {
      const unit = `user-${i}`;
      const first = decide(table, o, req(unit));
      expect(decide(table, o, req(unit), undefined, memo)).toBe(first); // the same frozen object, every time
      const cell = bucketOf('balancers', unit) < 5000 ? 'A' : 'B';
      expect(first.cell).toBe(cell);
      expect(first.balance).toBe(cell === 'B' ? 'prefix' : undefined);
    }
  });

  it('explain names the balance in its trail', () => {
    let unit = 'u0';
    for (let i = 0; bucketOf('balancers', unit) < 5000; i++) unit = `u${i}`;
    const { outcome, trail } = explain(table, o, req(unit));
    expect(outcome.balance).toBe('prefix');
    expect(trail.at(-1)!.reason).toMatch(/cell B \(balance=prefix\)$/);
  });

  it('a { target, balance } rollout candidate: the balance on its outcome, its own default salt', () => {
    const t = compileRouting(
      validateConfig({
        ...ARMS_CONFIG,
        objectives: {
          chat: {
            interface: 'openai',
            default: 'chat@1',
            rollout: { candidate: { target: 'chat@1', balance: 'least-load' }, percent: 30 },
          },
        },
      }),
      5,
    );
    const r = t.objectives.get('chat')!.rollout!;
    expect(r.salt).toBe('chat:chat@1 balance=least-load');
    expect(r.outcome.balance).toBe('least-load');
    expect(r.outcome.header).toBe('rule=rollout balance=least-load revision=5');
    for (let i = 0; i < 100; i++) {
      const d = decide(t, t.objectives.get('chat')!, req(`u${i}`));
      expect(d.step).toBe(bucketOf(r.salt, `u${i}`) < 3000 ? 'rollout' : 'default');
    }
  });
});

describe('balancer arms in validation', () => {
  const withCell = (models: object, use: unknown, iface = 'oip') =>
    issuesOf({
      models,
      objectives: {
        o: {
          interface: iface,
          default: 'm@1',
          experiments: [{ id: 'e', population: 1, cells: { A: { weight: 50, use: 'm@1' }, B: { weight: 50, use } } }],
        },
      },
    });

  it('checks the target exists and the balancer suits its backend', () => {
    expect(withCell({ m: { versions: { '1': oip } } }, { target: 'm@1', balance: 'least-load' })).toEqual([]);
    expect(withCell({ m: { versions: { '1': oip } } }, { target: 'm@9', balance: 'p2c' })).toEqual([
      'objectives.o.experiments[0].cells.B.use.target: model "m" has no version "9" (versions: 1)',
    ]);
    expect(withCell({ m: { versions: { '1': oip } } }, { target: 'm@1', balance: 'prefix' })).toEqual([
      'objectives.o.experiments[0].cells.B.use.balance: m@1: balance prefix reads the OpenAI request (prompt, model field); its backend speaks oip, use p2c or least-load',
    ]);
    expect(
      withCell({ m: { class: 'scorer', versions: { '1': onnx } } }, { target: 'm@1', balance: 'p2c' }, 'json'),
    ).toEqual([
      'objectives.o.experiments[0].cells.B.use.balance: m@1: runs in process (onnx): it has no replicas to balance; name the target alone',
    ]);
    expect(withCell({ m: { versions: { '1': oip } } }, { target: 'm@1', balance: 'fastest' })[0]).toMatch(
      /^objectives\.o\.experiments\[0\]\.cells\.B\.use/,
    );
  });

  it('a balance-only rollout candidate is accepted unless it is the default as it already is', () => {
    const rollout = (candidate: unknown, balance?: string) =>
      issuesOf({
        models: {
          chat: {
            class: 'generator',
            versions: { '1': { backend: { ...openai.backend, ...(balance ? { balance } : {}) } } },
          },
        },
        objectives: { c: { interface: 'openai', default: 'chat@1', rollout: { candidate, percent: 5 } } },
      });
    expect(rollout({ target: 'chat@1', balance: 'prefix' })).toEqual([]);
    expect(rollout({ target: 'chat@1', balance: 'p2c' })).toEqual([
      'objectives.c.rollout.candidate.balance: the default chat@1 already picks its replicas with p2c; name another balancer or remove the rollout',
    ]);
    expect(rollout({ target: 'chat@1', balance: 'prefix' }, 'prefix')).toHaveLength(1);
    expect(rollout('chat@1')[0]).toContain('the candidate is already the default');
  });
});
