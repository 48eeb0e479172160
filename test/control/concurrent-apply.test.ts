// Two processes' control planes on one store applying at the same moment: both
// changes are stored with distinct numbers, each is built before it is stored,
// and both processes end on the latest revision.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startJunction } from '../../src/app.js';
import { twoTargets } from './configs.js';

const dir = mkdtempSync(join(tmpdir(), 'junction-concurrent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('concurrent applies on one store', () => {
  it('store distinct revisions and converge', async () => {
    const quiet = { error() {}, warn() {}, info() {} };
    const up = 'http://127.0.0.1:9';
    const start = () =>
      startJunction({ config: twoTargets(up, up), port: 0, log: quiet, control: { data: dir, pollMs: 3_600_000 } });
    const p1 = await start();
    const p2 = await start();
    try {
      expect([p1.runtime.current!.number, p2.runtime.current!.number]).toEqual([1, 1]);
      const [r1, r2] = await Promise.all([
        p1.control!.plane.apply({ source: twoTargets(up, up, 'm@2'), author: 'one', message: '' }),
        p2.control!.plane.apply({
          source: twoTargets(up, up, 'm@1', { pins: { u: 'm@2' } }),
          author: 'two',
          message: '',
        }),
      ]);
      expect([r1.revision, r2.revision].sort()).toEqual([2, 3]);
      await p1.control!.plane.sync();
      await p2.control!.plane.sync();
      expect([p1.runtime.current!.number, p2.runtime.current!.number]).toEqual([3, 3]);
      const list = await p1.control!.plane.store.list(10);
      expect(
        list
          .map((r) => r.author)
          .slice(0, 2)
          .sort(),
      ).toEqual(['one', 'two']);
    } finally {
      await p1.close();
      await p2.close();
    }
  });
});
