// Slow clients (slowloris) cannot hold the server: a client that never
// finishes its headers, or dribbles its body, is cut at the server's budgets
// while everyone else is served.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { oneObjective } from '../support/configs.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

let upstream: Upstream;
let j: Junction;

beforeAll(async () => {
  upstream = await startUpstream('up');
  j = await startJunction({
    config: oneObjective({ 'm@1': [upstream.url] }, { default: 'm@1' }),
    port: 0,
    server: { headersTimeoutMs: 300, requestTimeoutMs: 600, timeoutCheckIntervalMs: 100 },
  });
});
afterAll(async () => {
  await j.close();
  await upstream.close();
});

function slowSocket(first: string): Promise<Socket> {
  const { port } = new URL(j.url);
  const socket = connect(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  socket.resume(); // read, so the server's close reaches us
  socket.write(first);
  return once(socket, 'connect').then(() => socket);
}

describe('slow clients', () => {
  it('clients that never finish their headers are cut; others are served meanwhile', async () => {
    const slow = await Promise.all(
      Array.from({ length: 200 }, () => slowSocket('POST /v1/objectives/obj HTTP/1.1\r\nhost: x\r\nx-unit-id: ')),
    );
    const r = await request(`${j.url}/v1/objectives/obj`, { method: 'POST', body: '{}' });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
    await Promise.all(slow.filter((s) => !s.destroyed).map((s) => once(s, 'close')));
    expect(slow.every((s) => s.destroyed)).toBe(true);
  });

  it('a client dribbling its body is cut at the request budget', async () => {
    const s = await slowSocket('POST /v1/objectives/obj HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n{');
    const timer = setInterval(() => {
      if (!s.destroyed) s.write(' ');
    }, 50);
    let reply = '';
    s.on('data', (d) => {
      reply += d.toString();
    });
    await once(s, 'close');
    clearInterval(timer);
    // Cut: either a 408 before the response started, or a closed socket.
    expect(reply === '' || /^HTTP\/1\.1 (408|4\d\d|5\d\d)/.test(reply)).toBe(true);
    const r = await request(`${j.url}/v1/objectives/obj`, { method: 'POST', body: '{}' });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
  });
});
