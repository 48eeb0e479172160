// `serve --workers 2 --decision-log FILE --log-rotate size=8K`: two processes
// append to one decision log and rotate it between them (each follows the
// other's rotations: observe/rotating-file.ts). Every request's line is in
// exactly one of the files, whole, after many rotations.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { spawnJunction, type JunctionProcess } from '../support/junction-process.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from '../control/configs.js';

let dir: string;
let up: Upstream;
let j: JunctionProcess | undefined;

beforeAll(async () => {
  up = await startUpstream();
  dir = mkdtempSync(join(tmpdir(), 'junction-rotation-workers-'));
  writeFileSync(join(dir, 'junction.yaml'), stringify(twoTargets(up.url, up.url)));
}, 60_000);
afterAll(async () => {
  await j?.stop();
  await up.close();
  rmSync(dir, { recursive: true, force: true });
});

it('two workers share one rotating decision log: every line once and whole', async () => {
  const log = join(dir, 'logs', 'decisions.jsonl');
  mkdirSync(join(dir, 'logs'));
  j = await spawnJunction(
    [
      'serve',
      '--workers',
      '2',
      '--config',
      join(dir, 'junction.yaml'),
      '--data',
      join(dir, 'data'),
      '--port',
      '0',
      '--admin-port',
      '0',
      '--host',
      '127.0.0.1',
      '--decision-log',
      log,
      '--log-rotate',
      'size=8K',
      '--shutdown-grace-ms',
      '2000',
    ],
    {},
    90_000, // two processes from source on a loaded machine
  );
  // Both workers up: connections are handed to each in turn.
  for (let i = 0; ; i++) {
    const text = await (await request(`${j.url}/metrics`)).body.text();
    if (/^junction_workers 2$/m.test(text)) break;
    if (i > 400) throw new Error('the second worker never started');
    await new Promise((r) => setTimeout(r, 50));
  }
  const N = 600;
  const agent = new Agent({ connections: 16 });
  for (let i = 0; i < N; i += 40) {
    await Promise.all(
      Array.from({ length: 40 }, async (_, k) => {
        const res = await request(`${j!.url}/v1/objectives/cw`, {
          method: 'POST',
          body: '{}',
          headers: { 'x-request-id': `req-${i + k}` },
          dispatcher: agent,
        });
        await res.body.text();
        expect(res.statusCode).toBe(200);
      }),
    );
  }
  await agent.close();
  await j.stop(); // SIGTERM: each worker drains and closes its log
  j = undefined;

  const files = readdirSync(join(dir, 'logs')).map((n) => join(dir, 'logs', n));
  expect(files.length).toBeGreaterThan(10);
  const ids = new Set<string>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    if (text === '') continue;
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.slice(0, -1).split('\n')) {
      const id = (JSON.parse(line) as { requestId: string }).requestId;
      expect(ids.has(id)).toBe(false);
      ids.add(id);
    }
  }
  expect(ids.size).toBe(N);
}, 180_000);
