// Bounded load and fault scenarios against real Junction processes on
// 127.0.0.1 (issues 10 and 22): sustained load with faults while keyless and
// rate-limited callers attack every listener (data plane, admin API, gRPC),
// thousands of half-open and silent connections under a 1,024 file limit,
// keyless large bodies and gRPC messages (gzip too), slow bodies, stalled TLS
// handshakes, and SIGTERM with all of that open. Prints one JSON line per
// scenario: the Junction process's RSS and open file descriptors
// (before/peak/after), a normal call's latency while the scenario ran, what
// clients saw, and what Junction recorded (junction_requests_total by code),
// so "every failure recorded as one" can be checked.
// Run: npm run build && tsx scripts/outage-scenarios.ts [seconds]   (default 60; ONLY=word,… picks scenarios)
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import { keyDigest } from '../src/tenancy/keys.js';
import { makeTestCerts } from '../test/support/certs.js';
import { inferMessage, prefix, rawCall, rawSession } from '../test/grpc/raw-grpc.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.argv[2] ?? 60);
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

interface Started {
  child: ChildProcess;
  url: string;
  admin: string;
  grpcPort: number;
}

/**
 * A `junction serve` process under a file limit of 1,024 (the common default
 * the review exhausted): data plane, admin API and gRPC on free ports.
 */
async function startJunction(config: object, extra: string[] = []): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-outage-'));
  const file = join(dir, 'junction.json');
  writeFileSync(file, JSON.stringify(config));
  const args = [
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
    '--grpc-port',
    '0',
    '--feedback-log',
    join(dir, 'feedback.jsonl'),
    '--decision-log',
    join(dir, 'decisions.jsonl'),
    ...extra,
  ];
  // An admin token, as in production: keyless admin calls are refused before their bodies are read.
  const child = spawn('sh', ['-c', 'ulimit -n 1024 && exec "$0" "$@"', process.execPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, JUNCTION_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  child.stderr.resume();
  return new Promise<Started>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /serving (https?:\/\/[^\s,]+), admin (https?:\/\/[^\s,)]+).*gRPC on port (\d+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, admin: m[2]!, grpcPort: Number(m[3]) });
    });
    child.once('exit', (code) => reject(new Error(`junction exited ${code}: ${out}`)));
  });
}

function fds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

interface Probe {
  stop(): Promise<{ calls: number; statuses: Record<string, number>; p50ms: number; p99ms: number; maxMs: number }>;
}

/**
 * A well-behaved caller, one call every 50 ms on its own connection, for as long
 * as a scenario runs: what a normal call costs while the process is attacked.
 */
function probe(url: string, ca: Buffer): Probe {
  const agent = new Agent({ connections: 1, connect: { ca } });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const r = await request(`${url}/v1/objectives/probe`, {
          method: 'POST',
          body: '{}',
          dispatcher: agent,
          headers: { authorization: `Bearer ${KEY}` },
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        await r.body.text();
        statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'error';
        statuses[code] = (statuses[code] ?? 0) + 1;
      }
      latencies.push(performance.now() - t0);
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await agent.close();
      latencies.sort((x, y) => x - y);
      const at = (q: number) =>
        Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10;
      return { calls: latencies.length, statuses, p50ms: at(0.5), p99ms: at(0.99), maxMs: at(1) };
    },
  };
}

/** Runs a scenario with RSS and file descriptors sampled and a normal caller probing beside it. */
async function measured(name: string, j: Started, run: () => Promise<object>): Promise<object> {
  const pid = j.child.pid!;
  const before = { rssMb: rssMb(pid), fds: fds(pid) };
  const peak = { ...before };
  const sampler = setInterval(() => {
    peak.rssMb = Math.max(peak.rssMb, rssMb(pid));
    peak.fds = Math.max(peak.fds, fds(pid));
  }, 200);
  const normal = probe(j.url, certs.ca);
  let outcome: object;
  try {
    outcome = await run();
  } finally {
    clearInterval(sampler);
  }
  const normalCalls = await normal.stop();
  await sleep(1000);
  const after = { rssMb: rssMb(pid), fds: fds(pid) };
  return {
    scenario: name,
    ...outcome,
    normalCalls,
    rssMb: { before: before.rssMb, peak: peak.rssMb, after: after.rssMb },
    fds: { before: before.fds, peak: peak.fds, after: after.fds },
    junctionAlive: j.child.exitCode === null && j.child.signalCode === null,
  };
}

/** junction_requests_total by code, for the load's objectives (the probe's calls have their own). */
async function recorded(url: string): Promise<Record<string, number>> {
  const text = await (await request(`${url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).body.text();
  const byCode: Record<string, number> = {};
  for (const m of text.matchAll(/^junction_requests_total\{([^}]*)\} (\d+)/gm)) {
    if (!/objective="(plain|faulty)"/.test(m[1]!)) continue;
    const code = /code="(\d+)"/.exec(m[1]!)?.[1] ?? '?';
    byCode[code] = (byCode[code] ?? 0) + Number(m[2]);
  }
  return byCode;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Faulty and plain traffic, 64 callers, some leaving early: every failure must be recorded as one. */
async function sustained(j: Started, seconds: number): Promise<object> {
  const agent = new Agent({ connections: 64 });
  const seen: Record<string, number> = {};
  const note = (k: string) => {
    seen[k] = (seen[k] ?? 0) + 1;
  };
  const until = Date.now() + seconds * 1000;
  const codesBefore = await recorded(j.url);
  let sent = 0;
  await Promise.all(
    Array.from({ length: 64 }, async (_, w) => {
      while (Date.now() < until) {
        const objective = w % 2 === 0 ? 'plain' : 'faulty';
        const abortEarly = w % 8 === 7;
        const ac = new AbortController();
        sent++;
        try {
          const r = await request(`${j.url}/v1/objectives/${objective}`, {
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
  await agent.close();
  await sleep(500);
  const codes = minus(await recorded(j.url), codesBefore);
  return {
    sent,
    clientsSaw: seen,
    recordedByCode: codes,
    recordedTotal: Object.values(codes).reduce((a, b) => a + b, 0),
  };
}

function minus(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

/** A caller limited to 1 request/s floods every non-invoke route: exposures, feedback, decide, long-polls. */
async function limitedCaller(j: Started, seconds: number): Promise<object> {
  const agent = new Agent({ connections: 16 });
  const statuses: Record<string, Record<string, number>> = {};
  const count = (route: string, status: number | string) => {
    const r = (statuses[route] ??= {});
    r[status] = (r[status] ?? 0) + 1;
  };
  const now = new Date().toISOString();
  const exposures = JSON.stringify({
    exposures: Array.from({ length: 10_000 }, (_, i) => ({
      time: now,
      objective: 'plain',
      unit: `u${i}`,
      target: 'ok@1',
      rule: 'default',
      revision: 1,
      trafficClass: 'live',
    })),
  });
  const feedback = JSON.stringify({
    feedback: Array.from({ length: 10_000 }, (_, i) => ({
      objective: 'plain',
      unit: `u${i}`,
      metric: 'click',
      value: 1,
    })),
  });
  const calls: Array<[string, () => Parameters<typeof request>[1]]> = [
    ['exposures', () => ({ method: 'POST', body: exposures, headers: { 'content-type': 'application/json' } })],
    ['feedback', () => ({ method: 'POST', body: feedback, headers: { 'content-type': 'application/json' } })],
    ['decide', () => ({ method: 'POST', body: JSON.stringify({ objective: 'plain', unit: 'u1' }) })],
  ];
  const paths: Record<string, string> = { exposures: '/v1/exposures', feedback: '/v1/feedback', decide: '/v1/decide' };
  const until = Date.now() + seconds * 1000;
  await Promise.all([
    ...calls.map(async ([name, options]) => {
      while (Date.now() < until) {
        try {
          const opts = options()!;
          const r = await request(`${j.url}${paths[name]}`, {
            ...opts,
            dispatcher: agent,
            headers: { ...(opts.headers as Record<string, string>), authorization: `Bearer ${LIMITED_KEY}` },
          });
          await r.body.text();
          count(name, r.statusCode);
        } catch (err) {
          count(name, (err as { code?: string }).code ?? 'error');
        }
      }
    }),
    // 200 long-polls held at once by the same caller.
    ...Array.from({ length: 200 }, async () => {
      try {
        const snap = await request(`${j.url}/v1/config/snapshot`, {
          headers: { authorization: `Bearer ${LIMITED_KEY}` },
        });
        const etag = snap.headers.etag as string | undefined;
        await snap.body.text();
        const r = await request(`${j.url}/v1/config/snapshot?wait=${seconds}`, {
          headers: { authorization: `Bearer ${LIMITED_KEY}`, 'if-none-match': etag ?? '' },
          headersTimeout: (seconds + 10) * 1000,
        });
        await r.body.text();
        count('snapshot-wait', r.statusCode);
      } catch (err) {
        count('snapshot-wait', (err as { code?: string }).code ?? 'error');
      }
    }),
  ]);
  await agent.close();
  return { callerLimit: '1 request/s, burst 1', statuses };
}

/** ModelInfer messages by size and compression, made once: the attackers share this process with the probe. */
const MESSAGES = new Map<string, Buffer>();

function framedMessage(size: number, gzip: boolean): Buffer {
  const key = `${size}:${gzip}`;
  let framed = MESSAGES.get(key);
  if (framed === undefined) {
    const message = inferMessage({ model_name: 'plain', raw_input_contents: [Buffer.alloc(size)] });
    const body = gzip ? gzipSync(message) : message;
    framed = Buffer.concat([prefix(body.length, gzip ? 1 : 0), body]);
    MESSAGES.set(key, framed);
  }
  return framed;
}

/**
 * A raw gRPC ModelInfer call over HTTP/2 (the tests' client: written in slices as a gRPC library
 * does, so node:http2's own client keeps reading the server's answer): its grpc-status, or how the
 * stream ended.
 */
async function grpcInfer(port: number, size: number, opts: { gzip?: boolean; key?: string } = {}): Promise<string> {
  const session = rawSession(port);
  try {
    const headers: Record<string, string> = {};
    if (opts.gzip === true) headers['grpc-encoding'] = 'gzip';
    if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
    const call = rawCall(session, headers);
    call.end(framedMessage(size, opts.gzip === true));
    const answer = await Promise.race([call.answer, sleep(30_000).then(() => undefined)]);
    if (answer === undefined) return 'no answer in 30 s';
    return answer.status === undefined ? `reset(${answer.rstCode})` : String(answer.status);
  } finally {
    session.destroy();
  }
}

/** Keyless ModelInfer calls: 32 MiB messages, and gzip ones of ~32 KiB that would inflate to 32 MiB. */
async function grpcKeyless(j: Started): Promise<object> {
  const plain: Record<string, number> = {};
  const gzip: Record<string, number> = {};
  for (let round = 0; round < 10; round++) {
    const results = await Promise.all([
      ...Array.from({ length: 20 }, () => grpcInfer(j.grpcPort, 32 * 1024 * 1024)),
      ...Array.from({ length: 20 }, () => grpcInfer(j.grpcPort, 32 * 1024 * 1024, { gzip: true })),
    ]);
    results.forEach((st, i) => {
      const into = i < 20 ? plain : gzip;
      into[st] = (into[st] ?? 0) + 1;
    });
  }
  return {
    calls: '200 × 32 MiB plain + 200 × 32 MiB gzip (each ~32 KiB on the wire), keyless',
    grpcStatus: { plain, gzip },
  };
}

/** Keyless 16 MiB bodies on the data plane and the admin API. */
async function keylessBodies(j: Started): Promise<object> {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const statuses: Record<string, number> = {};
  const admin = new URL(j.admin);
  const data = new URL(j.url);
  await Promise.all(
    Array.from(
      { length: 60 },
      (_, i) =>
        new Promise<void>((resolve) => {
          const target = i % 4 === 3 ? admin : data; // no admin token, no key
          const s = connect(Number(target.port), '127.0.0.1');
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
          const path = ['/v1/chat/completions', '/v1/decide', '/v1/objectives/plain', '/admin/config'][i % 4];
          s.write(
            `${i % 4 === 3 ? 'PUT' : 'POST'} ${path} HTTP/1.1\r\nhost: ${target.host}\r\ncontent-type: application/json\r\ncontent-length: ${16 * 1024 * 1024}\r\n\r\n`,
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
    ),
  );
  return { connections: '60 keyless, each sending 16 MiB (data plane and admin PUT /admin/config)', statuses };
}

/**
 * Connections that never send a byte, on every listener: more than the file
 * limit allows. Counts how many the server closed by itself within `waitMs`.
 */
async function silentConnections(j: Started, count: number, waitMs: number): Promise<object> {
  const listeners = {
    data: Number(new URL(j.url).port),
    admin: Number(new URL(j.admin).port),
    grpc: j.grpcPort,
  };
  const names = Object.keys(listeners) as Array<keyof typeof listeners>;
  const closedByServer: Record<string, number> = { data: 0, admin: 0, grpc: 0 };
  let opened = 0;
  let refused = 0;
  let waiting = true;
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const name = names[i % 3]!;
    const s = connect(listeners[name], '127.0.0.1');
    // Silent, not deaf: an HTTP/2 server speaks first (SETTINGS), and a paused socket never sees the server's close.
    s.resume();
    s.on('error', () => {
      refused++;
    });
    s.on('connect', () => {
      opened++;
    });
    s.on('close', () => {
      if (waiting) closedByServer[name]!++;
    });
    sockets.push(s);
    if (i % 200 === 199) await sleep(20);
  }
  await sleep(waitMs);
  waiting = false;
  for (const s of sockets) s.destroy();
  return {
    connections: `${count} silent sockets across data, admin and gRPC`,
    opened,
    refusedOrReset: refused,
    closedByServerWithin: { ms: waitMs, ...closedByServer },
  };
}

/** Half-sent request heads: slowloris at scale. */
async function halfOpen(j: Started, count: number): Promise<object> {
  const { port } = new URL(j.url);
  const sockets: Socket[] = [];
  let opened = 0;
  let closedByServer = 0;
  for (let i = 0; i < count; i++) {
    const s = connect(Number(port), '127.0.0.1');
    s.on('error', () => undefined);
    s.on('connect', () => {
      opened++;
      s.write('POST /v1/objectives/plain HTTP/1.1\r\nhost: x\r\n');
    });
    s.on('close', () => {
      closedByServer++;
    });
    sockets.push(s);
    if (i % 500 === 499) await sleep(50);
  }
  await sleep(3000);
  const closed = closedByServer;
  for (const s of sockets) s.destroy();
  return { connections: `${count} half-sent request heads`, opened, closedByServerWithin3s: closed };
}

async function slowBodies(j: Started, seconds: number): Promise<object> {
  const { port } = new URL(j.url);
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
  await sleep(Math.min(seconds, 15) * 1000);
  clearInterval(drip);
  for (const s of sockets) s.destroy();
  return {
    connections: '200 clients sending 1 byte every 2 s to an objective whose backend has 128 connections',
    slowClientsGot: statuses,
  };
}

/** 200 TLS clients that connect and never finish the handshake (a TLS Junction). */
async function stalledHandshakes(j: Started, waitMs: number): Promise<object> {
  const ports = [Number(new URL(j.url).port), Number(new URL(j.admin).port), j.grpcPort];
  let closedByServer = 0;
  const sockets = Array.from({ length: 200 }, (_, i) => {
    const s = connect(ports[i % 3]!, '127.0.0.1');
    s.on('error', () => undefined);
    // A ClientHello's first bytes, then nothing.
    s.on('connect', () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])));
    s.on('close', () => {
      closedByServer++;
    });
    return s;
  });
  await sleep(waitMs);
  const closed = closedByServer;
  for (const s of sockets) s.destroy();
  return {
    connections: '200 stalled TLS handshakes across data, admin and gRPC',
    closedByServerWithin: { ms: waitMs, count: closed },
  };
}

/** SIGTERM while silent, half-open and in-flight connections are open: how long until the process exits. */
async function sigterm(j: Started): Promise<object> {
  const { port } = new URL(j.url);
  const sockets = Array.from({ length: 300 }, (_, i) => {
    const s = connect(i % 2 === 0 ? Number(port) : j.grpcPort, '127.0.0.1');
    s.on('error', () => undefined);
    if (i % 4 === 0) s.on('connect', () => s.write('POST /v1/objectives/plain HTTP/1.1\r\nhost: x\r\n'));
    return s;
  });
  await sleep(500);
  const t0 = performance.now();
  const exited = new Promise<string>((resolve) =>
    j.child.once('exit', (code, signal) => resolve(String(code ?? signal))),
  );
  j.child.kill('SIGTERM');
  const outcome = await Promise.race([exited, sleep(60_000).then(() => 'still running after 60 s')]);
  const ms = Math.round(performance.now() - t0);
  for (const s of sockets) s.destroy();
  if (j.child.exitCode === null) j.child.kill('SIGKILL');
  return { scenario: 'SIGTERM with 300 idle and half-open sockets open', exit: outcome, ms };
}

/** `ONLY=silent,gRPC` runs the scenarios whose names contain one of the words (case-insensitive); all by default. */
const ONLY = (process.env.ONLY ?? '')
  .toLowerCase()
  .split(',')
  .filter((w) => w !== '');
const chosen = (name: string) => ONLY.length === 0 || ONLY.some((w) => name.toLowerCase().includes(w));
const LIMITED_KEY = 'jk_outage-scenarios-limited';
const ADMIN_TOKEN = 'outage-scenarios-admin-token';
const ok = await upstream(json);
const bad = await upstream(faulty);
const backend = (u: string, extra: object = {}) => ({
  backend: { type: 'http', protocol: 'raw', endpoints: [u], ...extra },
});
const config = {
  models: {
    ok: { versions: { '1': backend(ok.url), '2': backend(ok.url, { connections: 128 }) } },
    bad: { versions: { '1': backend(bad.url) } },
  },
  objectives: {
    plain: { default: 'ok@1' },
    probe: { default: 'ok@1' },
    faulty: { default: 'bad@1' },
    chat: { interface: 'openai', default: 'ok@1' },
    pooled: { default: 'ok@2' },
    'pooled-other': { default: 'ok@2' },
  },
  clients: {
    bench: { keySha256: keyDigest(KEY) },
    limited: { keySha256: keyDigest(LIMITED_KEY), rateLimit: { rps: 1, burst: 1 }, maxConcurrency: 4 },
  },
};
const certs = makeTestCerts();
const j = await startJunction(config);
let tlsJ: Started | undefined;
try {
  const scenarios: Array<[string, () => Promise<object>]> = [
    [
      `sustained load with faults, ${SECONDS}s, 64 clients, while a rate-limited caller floods exposures, feedback, decide and long-polls and keyless gRPC calls arrive`,
      async () => {
        const [load, limited, grpc] = await Promise.all([
          sustained(j, SECONDS),
          limitedCaller(j, SECONDS),
          grpcKeyless(j),
        ]);
        return { load, limited, grpc };
      },
    ],
    ['keyless gRPC ModelInfer, 32 MiB messages, plain and gzip', () => grpcKeyless(j)],
    ['1,100 connections that never send a byte (file limit 1,024)', () => silentConnections(j, 1100, 25_000)],
    ['5,000 half-sent request heads', () => halfOpen(j, 5000)],
    ['keyless 16 MiB bodies', () => keylessBodies(j)],
    ['slow bodies', () => slowBodies(j, SECONDS)],
  ];
  for (const [name, run] of scenarios.filter(([name]) => chosen(name))) {
    console.log(JSON.stringify(await measured(name, j, run)));
    if (j.child.exitCode !== null) throw new Error(`junction exited with ${j.child.exitCode}`);
  }
  if (chosen('SIGTERM')) console.log(JSON.stringify(await sigterm(j)));
  if (chosen('stalled TLS handshakes')) {
    tlsJ = await startJunction(config, ['--tls-cert', certs.serverCertFile, '--tls-key', certs.serverKeyFile]);
    console.log(JSON.stringify(await measured('stalled TLS handshakes', tlsJ, () => stalledHandshakes(tlsJ!, 15_000))));
    console.log(JSON.stringify(await sigterm(tlsJ)));
  }
} finally {
  for (const p of [j, tlsJ]) if (p !== undefined && p.child.exitCode === null) p.child.kill('SIGKILL');
  certs.remove();
  ok.server.closeAllConnections();
  bad.server.closeAllConnections();
  ok.server.close();
  bad.server.close();
}
