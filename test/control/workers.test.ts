// `serve --workers 2`: two processes share the data and admin ports; /metrics
// merges both; an apply through the admin port reaches both workers (they
// share the SQLite store and follow it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { spawnJunction, type JunctionProcess } from '../support/junction-process.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

let dir: string;
let up: Upstream;
let j: JunctionProcess;

beforeAll(async () => {
  up = await startUpstream();
  dir = mkdtempSync(join(tmpdir(), 'junction-workers-'));
  const file = join(dir, 'junction.yaml');
  writeFileSync(file, stringify(twoTargets(up.url, up.url)));
  j = await spawnJunction([
    'serve',
    '--workers',
    '2',
    '--config',
    file,
    '--data',
    join(dir, 'data'),
    '--port',
    '0',
    '--admin-port',
    '0',
    '--host',
    '127.0.0.1',
    '--insecure-admin',
  ]);
}, 60_000);
afterAll(async () => {
  await j?.stop();
  await up.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('serve --workers', () => {
  it('/metrics merges every worker', async () => {
    // Both workers must be up before the merge counts two; each starts on its own.
    for (;;) {
      const res = await request(`${j.url}/metrics`);
      const text = await res.body.text();
      expect(res.statusCode).toBe(200);
      if (/^junction_workers 2$/m.test(text)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('an apply reaches every worker', async () => {
    const res = await request(`${j.adminUrl}/admin/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(twoTargets(up.url, up.url, 'm@2')),
    });
    const { revision } = (await res.body.json()) as { revision: number };
    expect(revision).toBe(2);
    // Fresh connections are spread over the workers; wait until a run of them all answer from revision 2.
    let streak = 0;
    while (streak < 20) {
      const agent = new Agent({ pipelining: 0 });
      const r = await request(`${j.url}/v1/objectives/cw`, { method: 'POST', body: '{}', dispatcher: agent });
      await r.body.text();
      await agent.close();
      expect(r.statusCode).toBe(200);
      streak = String(r.headers['x-decision']).includes('revision=2') ? streak + 1 : 0;
    }
  });
});
