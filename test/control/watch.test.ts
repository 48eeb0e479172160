// `serve --config FILE --watch`: a good edit becomes a revision, a bad edit is
// refused with the reason and the running revision stays, and restarting on an
// unchanged file writes no new revision.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startJunction } from '../../src/app.js';
import type { WatchOutcome } from '../../src/control/config-watch.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

let up: Upstream;
let dir: string;
const quiet = { error() {}, warn() {}, info() {} };

beforeAll(async () => {
  up = await startUpstream();
  dir = mkdtempSync(join(tmpdir(), 'junction-watch-'));
});
afterAll(async () => {
  await up.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Watch outcomes as a queue the test awaits one by one. */
function outcomes() {
  const seen: WatchOutcome[] = [];
  const waiters: Array<(o: WatchOutcome) => void> = [];
  return {
    push(o: WatchOutcome) {
      const w = waiters.shift();
      if (w) w(o);
      else seen.push(o);
    },
    next(): Promise<WatchOutcome> {
      const o = seen.shift();
      return o ? Promise.resolve(o) : new Promise((resolve) => waiters.push(resolve));
    },
    /** The next outcome that changed something or refused something (a save can fire twice). */
    async settled(): Promise<WatchOutcome> {
      let o = await this.next();
      while (o.ok && o.result.unchanged) o = await this.next();
      return o;
    },
  };
}

describe('config file seeding and watch', () => {
  it('applies good edits, refuses bad ones and keeps the running revision', async () => {
    const file = join(dir, 'junction.yaml');
    const data = join(dir, 'data');
    writeFileSync(file, stringify(twoTargets(up.url, up.url)));
    const events = outcomes();
    const j = await startJunction({
      configFile: file,
      port: 0,
      log: quiet,
      control: { data, watch: true, onWatch: (o) => events.push(o) },
    });
    try {
      expect(j.runtime.current!.number).toBe(1);

      writeFileSync(file, stringify(twoTargets(up.url, up.url, 'm@2')));
      let o = await events.settled();
      expect(o).toMatchObject({ ok: true, result: { revision: 2, unchanged: false } });
      expect(j.runtime.current!.config.objectives.cw!.default).toBe('m@2');

      writeFileSync(file, stringify(twoTargets(up.url, up.url, 'ghost@1')));
      o = await events.settled();
      expect(o.ok).toBe(false);
      expect(o.ok ? '' : o.reason).toMatch(/objectives\.cw\.default/);
      expect(j.runtime.current!.number).toBe(2);

      writeFileSync(file, 'objectives: [unclosed');
      o = await events.settled();
      expect(o).toMatchObject({ ok: false });
      expect(j.runtime.current!.number).toBe(2);

      writeFileSync(file, stringify(twoTargets(up.url, up.url, 'm@1')));
      o = await events.settled();
      while (!o.ok) o = await events.settled(); // a repeated event for the broken save
      expect(o).toMatchObject({ ok: true, result: { revision: 3 } });
    } finally {
      await j.close();
    }

    // Restart on the same file and store: the store already has it, so no revision 4.
    const again = await startJunction({ configFile: file, port: 0, log: quiet, control: { data } });
    try {
      expect(again.runtime.current!.number).toBe(3);
      expect(await again.control!.plane.store.latestNumber()).toBe(3);
    } finally {
      await again.close();
    }
  });
});
