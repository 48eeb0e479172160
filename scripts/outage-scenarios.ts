// Bounded load and fault scenarios against a real Junction process on
// 127.0.0.1 (issue 10): sustained load with faults, thousands of connections,
// keyless large bodies, slow bodies. Prints one JSON line per scenario: RSS of
// the Junction process before/peak/after, what clients saw, and what Junction
// recorded (junction_requests_total by code), so "every failure recorded as
// one" can be checked. Run: npm run build && tsx scripts/outage-scenarios.ts [seconds]
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { keyDigest } from '../src/tenancy/keys.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.argv[2] ?? 20);
const KEY = 'jk_outage-scenarios-key';

function upstream(handle: (res: ServerResponse, n: number) => void): Promise<{ url: string; server: Server }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handle(res, n++));
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }),
    ),
  );
}

function json(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
}

/** Faults, in turn: a good reply, a reset mid-body, headers then death, a 500. */
function faulty(res: ServerResponse, n: number): void {
  switch (n % 4) {
    case 0:
      return json(res);
    case 1:
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      setTimeout(() => res.socket?.destroy(), 5);
      return;
    case 2:
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      setTimeout(() => res.socket?.destroy(), 5);
      return;
    default:
      res.writeHead(500);
      res.end('boom');
  }
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : -1;
}

async function startJunction(config: object): Promise<{ child: ChildProcess; url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-outage-'));
  const file = join(dir, 'junction.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin/junction.js'),
      'serve',
      '--config',
      file,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--data',
      join(dir, 'data'),
      '--admin-port',
      '0',
      '--insecure-admin',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr.resume();
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /serving (http:\/\/[^\s,]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`junction exited ${code}: ${out}`)));
  });
  return { child, url };
}

async function recorded(url: string): Promise<Record<string, number>> {
  const text = await (await request(`${url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).body.text();
  const byCode: Record<string, number> = {};
  for (const m of text.matchAll(/^junction_requests_total\{([^}]*)\} (\d+)/gm)) {
    const code = /code="(\d+)"/.exec(m[1]!)?.[1] ?? '?';
    byCode[code] = (byCode[code] ?? 0) + Number(m[2]);
  }
  return byCode;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sustained(url: string, pid: number): Promise<object> {
  const agent = new Agent({ connections: 64 });
  const seen: Record<string, number> = {};
  const note = (k: string) => {
    seen[k] = (seen[k] ?? 0) + 1;
  };
  const before = rssMb(pid);
  let peak = before;
  const until = Date.now() + SECONDS * 1000;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 250);
  let sent = 0;
  await Promise.all(
    Array.from({ length: 64 }, async (_, w) => {
      while (Date.now() < until) {
        const objective = w % 2 === 0 ? 'plain' : 'faulty';
        const abortEarly = w % 8 === 7;
        const ac = new AbortController();
        sent++;
        try {
          const r = await request(`${url}/v1/objectives/${objective}`, {
            method: 'POST',
            body: '{}',
            dispatcher: agent,
            signal: ac.signal,
            headers: { authorization: `Bearer ${KEY}` },
          });
          if (abortEarly) {
            ac.abort();
            note('client-abort');
            continue;
          }
          await r.body.text();
          note(String(r.statusCode));
        } catch {
          note(abortEarly ? 'client-abort' : 'cut');
        }
      }
    }),
  );
  clearInterval(sampler);
  await agent.close();
  await sleep(500);
  const codes = await recorded(url);
  return {
    scenario: `sustained load with faults, ${SECONDS}s, 64 clients`,
    sent,
    clientsSaw: seen,
    recordedByCode: codes,
    recordedTotal: Object.values(codes).reduce((a, b) => a + b, 0),
    rssMb: { before, peak, after: rssMb(pid) },
  };
}

async function connections(url: string, pid: number, count: number): Promise<object> {
  const { port } = new URL(url);
  const before = rssMb(pid);
  const sockets: Socket[] = [];
  let opened = 0;
  for (let i = 0; i < count; i++) {
    const s = connect(Number(port), '127.0.0.1');
    s.on('error', () => undefined);
    s.on('connect', () => {
      opened++;
    });
    sockets.push(s);
    if (i % 500 === 499) await sleep(50);
  }
  while (opened < count) await sleep(50);
  // Each sends half a request head and waits: slowloris at scale.
  for (const s of sockets) s.write('POST /v1/objectives/plain HTTP/1.1\r\nhost: x\r\n');
  await sleep(1000);
  const peak = rssMb(pid);
  const t0 = performance.now();
  const r = await request(`${url}/v1/objectives/plain`, {
    method: 'POST',
    body: '{}',
    headers: { authorization: `Bearer ${KEY}` },
  });
  await r.body.text();
  const normalMs = Math.round(performance.now() - t0);
  for (const s of sockets) s.destroy();
  await sleep(1000);
  return {
    scenario: `${count} idle half-open connections`,
    opened,
    normalCall: { status: r.statusCode, ms: normalMs },
    rssMb: { before, peak, after: rssMb(pid) },
  };
}

async function keylessBodies(url: string, pid: number): Promise<object> {
  const { port } = new URL(url);
  const before = rssMb(pid);
  let peak = before;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const statuses: Record<string, number> = {};
  await Promise.all(
    Array.from(
      { length: 60 },
      (_, i) =>
        new Promise<void>((resolve) => {
          const s = connect(Number(port), '127.0.0.1');
          let out = '';
          s.on('error', () => resolve());
          s.on('data', (d) => {
            out += d.toString('latin1');
          });
          s.on('close', () => {
            const code = /^HTTP\/1\.1 (\d+)/.exec(out)?.[1] ?? 'closed';
            statuses[code] = (statuses[code] ?? 0) + 1;
            resolve();
          });
          const path = ['/v1/chat/completions', '/v1/decide', '/v1/objectives/plain'][i % 3];
          s.write(
            `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${16 * 1024 * 1024}\r\n\r\n`,
          );
          let sentBytes = 0;
          const pump = () => {
            while (sentBytes < 16 * 1024 * 1024 && !s.destroyed) {
              sentBytes += chunk.length;
              if (!s.write(chunk)) return void s.once('drain', pump);
            }
            s.end();
          };
          pump();
          setTimeout(() => s.destroy(), 10_000);
        }),
    ).concat([
      (async () => {
        for (let k = 0; k < 40; k++) {
          peak = Math.max(peak, rssMb(pid));
          await sleep(250);
        }
      })(),
    ]),
  );
  await sleep(2000);
  return {
    scenario: '60 keyless connections each sending 16 MiB',
    statuses,
    rssMb: { before, peak, after: rssMb(pid) },
  };
}

async function slowBodies(url: string, pid: number): Promise<object> {
  const { port } = new URL(url);
  const before = rssMb(pid);
  const statuses: Record<string, number> = {};
  const sockets = Array.from({ length: 200 }, () => {
    const s = connect(Number(port), '127.0.0.1');
    let out = '';
    s.on('error', () => undefined);
    s.on('data', (d) => {
      out += d.toString('latin1');
    });
    s.on('close', () => {
      const code = /^HTTP\/1\.1 (\d+)/.exec(out)?.[1] ?? 'closed';
      statuses[code] = (statuses[code] ?? 0) + 1;
    });
    s.write(
      `POST /v1/objectives/pooled HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEY}\r\ncontent-length: 1000\r\n\r\n`,
    );
    return s;
  });
  const drip = setInterval(() => {
    for (const s of sockets) if (!s.destroyed) s.write('x');
  }, 2000);
  const latencies: number[] = [];
  const statusesNormal: Record<string, number> = {};
  const until = Date.now() + Math.min(SECONDS, 15) * 1000;
  while (Date.now() < until) {
    const t0 = performance.now();
    const r = await request(`${url}/v1/objectives/pooled-other`, {
      method: 'POST',
      body: '{}',
      headers: { authorization: `Bearer ${KEY}` },
    });
    await r.body.text();
    statusesNormal[r.statusCode] = (statusesNormal[r.statusCode] ?? 0) + 1;
    latencies.push(performance.now() - t0);
    await sleep(100);
  }
  clearInterval(drip);
  for (const s of sockets) s.destroy();
  await sleep(500);
  latencies.sort((a, b) => a - b);
  return {
    scenario: '200 clients sending 1 byte every 2 s to an objective whose backend has 128 connections',
    slowClientsGot: statuses,
    normalCalls: {
      statuses: statusesNormal,
      p50ms: Math.round(latencies[latencies.length >> 1]!),
      maxMs: Math.round(latencies.at(-1)!),
    },
    rssMb: { before, after: rssMb(pid) },
  };
}

const ok = await upstream(json);
const bad = await upstream(faulty);
const backend = (u: string, extra: object = {}) => ({
  backend: { type: 'http', protocol: 'raw', endpoints: [u], ...extra },
});
const { child, url } = await startJunction({
  models: {
    ok: { versions: { '1': backend(ok.url), '2': backend(ok.url, { connections: 128 }) } },
    bad: { versions: { '1': backend(bad.url) } },
  },
  objectives: {
    plain: { default: 'ok@1' },
    faulty: { default: 'bad@1' },
    chat: { interface: 'openai', default: 'ok@1' },
    pooled: { default: 'ok@2' },
    'pooled-other': { default: 'ok@2' },
  },
  clients: { bench: { keySha256: keyDigest(KEY) } },
});
const pid = child.pid!;
try {
  for (const run of [sustained, (u: string, p: number) => connections(u, p, 5000), keylessBodies, slowBodies]) {
    console.log(JSON.stringify(await run(url, pid)));
    if (child.exitCode !== null) throw new Error(`junction exited with ${child.exitCode}`);
  }
  console.log(JSON.stringify({ junctionAlive: child.exitCode === null && child.signalCode === null }));
} finally {
  child.kill('SIGTERM');
  ok.server.closeAllConnections();
  bad.server.closeAllConnections();
  ok.server.close();
  bad.server.close();
}
