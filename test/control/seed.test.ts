// The config given at start and a store that already has revisions (issue 22,
// finding 7): a process that fails to start writes nothing; the file seeds
// only an empty store; --apply-config (`applyConfig`) applies it anyway, as a
// new revision that says so. Several Junctions on one SQLite folder, in process.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startJunction, type Junction } from '../../src/app.js';
import { SqliteStore } from '../../src/control/sqlite-store.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

let up: Upstream;
let dir: string;
const lines: string[] = [];
const log = {
  error: (_o: object, m: string) => lines.push(m),
  warn: (_o: object, m: string) => lines.push(m),
  info: (_o: object, m: string) => lines.push(m),
};

beforeAll(async () => {
  up = await startUpstream();
  dir = mkdtempSync(join(tmpdir(), 'junction-seed-'));
});
afterAll(async () => {
  await up.close();
  rmSync(dir, { recursive: true, force: true });
});

async function count(data: string): Promise<number> {
  const store = new SqliteStore(data);
  try {
    return await store.latestNumber();
  } finally {
    await store.close();
  }
}

/** A port something else holds. */
async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('seeding the store from the config given at start', () => {
  it('an empty store and a taken port: the process fails and writes nothing', async () => {
    const data = join(dir, 'empty');
    const file = join(dir, 'empty.yaml');
    writeFileSync(file, stringify(twoTargets(up.url, up.url)));
    const { port, server } = await takenPort();
    try {
      await expect(
        startJunction({ configFile: file, port, host: '127.0.0.1', log, control: { data } }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      server.close();
    }
    expect(await count(data)).toBe(0);
  });

  it('a newer revision in the store is never reverted by a file given at start, unless applyConfig', async () => {
    const data = join(dir, 'shared');
    const file = join(dir, 'junction.yaml');
    writeFileSync(file, stringify(twoTargets(up.url, up.url)));
    const a: Junction = await startJunction({ configFile: file, port: 0, host: '127.0.0.1', log, control: { data } });
    try {
      expect(a.runtime.current!.number).toBe(1);
      // A change through the control plane (the admin API's path): revision 2.
      await a.control!.plane.apply({ source: twoTargets(up.url, up.url, 'm@2'), author: 'ana', message: 'to m@2' });

      // A second process on a taken port (A's): fails, writes nothing.
      const aPort = Number(new URL(a.url).port);
      await expect(
        startJunction({ configFile: file, port: aPort, host: '127.0.0.1', log, control: { data } }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(await count(data)).toBe(2);

      // One that starts serves revision 2 and says the file is ignored.
      lines.length = 0;
      const b = await startJunction({ configFile: file, port: 0, log, control: { data } });
      try {
        expect(b.runtime.current!.number).toBe(2);
        expect(b.runtime.current!.config.objectives.cw!.default).toBe('m@2');
        expect(lines.join('\n')).toMatch(/differs from the store's revision 2 .*--apply-config/);
      } finally {
        await b.close();
      }
      expect(await count(data)).toBe(2);
      await a.control!.plane.sync();
      expect(a.runtime.current!.number).toBe(2);

      // With applyConfig the file is applied as revision 3, and the revision says how it came.
      const c = await startJunction({ configFile: file, port: 0, log, control: { data, applyConfig: true } });
      try {
        expect(c.runtime.current!.number).toBe(3);
        expect(c.runtime.current!.config.objectives.cw!.default).toBe('m@1');
        expect((await c.control!.plane.store.get(3))!.message).toMatch(/--apply-config/);
      } finally {
        await c.close();
      }
      // The same file again, with applyConfig: unchanged, nothing written.
      const d = await startJunction({ configFile: file, port: 0, log, control: { data, applyConfig: true } });
      await d.close();
      expect(await count(data)).toBe(3);
    } finally {
      await a.close();
    }
  });
});
