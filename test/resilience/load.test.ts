// 5,000 concurrent connections held against one Junction: every request is
// answered (nothing lost), and the process stays responsive while they are
// open. Figures are printed for docs/reliability.md; timing is not asserted.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { oneObjective } from '../support/configs.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const CONNECTIONS = 5000;
const REQUEST = Buffer.from(
  'POST /v1/objectives/obj HTTP/1.1\r\nhost: junction\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n{"q":1}',
);

let upstream: Upstream;
let j: Junction;

beforeAll(async () => {
  upstream = await startUpstream('up');
  // Connections wait idle until all 5,000 are open: on a loaded machine that can near the 10 s
  // headers budget (which would rightly cut them as slow clients), so it is raised here.
  j = await startJunction({
    config: oneObjective({ 'm@1': [upstream.url] }, { default: 'm@1' }),
    port: 0,
    server: { headersTimeoutMs: 60_000 },
  });
  j.server.maxConnections = CONNECTIONS + 100;
});
afterAll(async () => {
  await j.close();
  await upstream.close();
});

describe('load', () => {
  it(`${CONNECTIONS} concurrent connections: all answered, the process responsive`, async () => {
    const { port } = new URL(j.url);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const t0 = performance.now();
    const sockets: Socket[] = [];
    // Connect in waves so the listen backlog is never the thing being tested.
    for (let wave = 0; wave < CONNECTIONS; wave += 500) {
      const batch = Array.from({ length: Math.min(500, CONNECTIONS - wave) }, () => {
        const s = connect(Number(port), '127.0.0.1');
        s.setNoDelay(true);
        sockets.push(s);
        return once(s, 'connect');
      });
      await Promise.all(batch);
    }
    const connected = performance.now();

    // Every connection sends one request at once; each must get a complete 200.
    const answered = sockets.map(
      (s) =>
        new Promise<string>((resolve, reject) => {
          let head = '';
          s.on('data', (d: Buffer) => {
            head += d.toString('latin1');
            if (head.includes('{"served":"up"}')) resolve(head.slice(0, 12));
          });
          s.on('error', reject);
          s.on('close', () => resolve(head.slice(0, 12) || 'closed'));
        }),
    );
    for (const s of sockets) s.write(REQUEST);

    // While they are in flight and held open, a health check and a normal call are answered.
    const probeStart = performance.now();
    const health = await request(`${j.url}/healthz`);
    await health.body.dump();
    const probeMs = performance.now() - probeStart;
    expect(health.statusCode).toBe(200);

    const statuses = await Promise.all(answered);
    const done = performance.now();
    const counts = new Map<string, number>();
    for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ 'HTTP/1.1 200': CONNECTIONS });

    // All still connected (keep-alive): held, not dropped.
    expect(sockets.filter((s) => s.destroyed).length).toBe(0);
    const after = await request(`${j.url}/v1/objectives/obj`, { method: 'POST', body: '{}' });
    await after.body.dump();
    expect(after.statusCode).toBe(200);

    console.log(
      `[load] ${CONNECTIONS} connections opened in ${(connected - t0).toFixed(0)} ms; ` +
        `${CONNECTIONS} requests answered in ${(done - connected).toFixed(0)} ms; /healthz during load ${probeMs.toFixed(0)} ms; ` +
        `event-loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(0)} ms, max ${(loop.max / 1e6).toFixed(0)} ms; ` +
        `rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB (client, Junction and upstream share this process)`,
    );
    loop.disable();
    for (const s of sockets) s.destroy();
  }, 60_000);
});
