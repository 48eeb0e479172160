// Discovered endpoints against a real DNS server on loopback (SPEC §14): a
// name whose A records are replicas on 127.0.0.x, re-resolved while calls
// flow; replicas join and leave without a failed call; a name that stops
// resolving keeps its last good set and says so; an oversized answer is cut.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { Discovery } from '../../src/backends/discovery.js';
import { EndpointSet } from '../../src/backends/http/endpoints.js';
import { ReplicaState } from '../../src/backends/replica.js';
import { startDnsServer } from '../support/dns-server.js';
import { startGrpcModelServer } from '../support/servers/grpc-oip.js';
import { recordTelemetry } from '../support/telemetry.js';

const open: Array<{ close(): Promise<void> }> = [];
let savedEnv: string | undefined;
beforeEach(() => {
  savedEnv = process.env.JUNCTION_DNS_SERVERS;
});
afterEach(async () => {
  if (savedEnv === undefined) delete process.env.JUNCTION_DNS_SERVERS;
  else process.env.JUNCTION_DNS_SERVERS = savedEnv;
  await Promise.all(open.splice(0).map((x) => x.close()));
});

interface Host {
  ip: string;
  served: number;
  server: Server;
}

/** One HTTP replica per address, all on the same port (Linux loopback answers all of 127/8). */
async function replicas(ips: string[]): Promise<{ port: number; hosts: Map<string, Host> }> {
  for (let attempt = 0; ; attempt++) {
    const hosts = new Map<string, Host>();
    let port = 0;
    try {
      for (const ip of ips) {
        const host: Host = { ip, served: 0, server: undefined as unknown as Server };
        host.server = createServer((req, res) => {
          host.served++;
          // A little time in flight, so replicas leave with calls open.
          setTimeout(() => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ served: ip }));
          }, 5);
        });
        await new Promise<void>((resolve, reject) => {
          host.server.once('error', reject);
          host.server.listen(port, ip, () => resolve());
        });
        port = (host.server.address() as AddressInfo).port;
        hosts.set(ip, host);
        open.push({
          close: () =>
            new Promise<void>((r) => {
              host.server.closeAllConnections();
              host.server.close(() => r());
            }),
        });
      }
      return { port, hosts };
    } catch (err) {
      for (const h of hosts.values()) h.server.close();
      if (attempt > 5) throw err;
    }
  }
}

const warnings: string[] = [];
const log = {
  error: () => undefined,
  info: () => undefined,
  warn: (_o: object, m: string) => void warnings.push(m),
};

async function junction(backend: object, telemetry = recordTelemetry()): Promise<Junction> {
  const j = await startJunction({
    telemetry: telemetry.sink,
    log,
    port: 0,
    config: {
      models: { m: { versions: { '1': { backend: { type: 'http', ...backend } } } } },
      objectives: { o: { default: 'm@1' } },
    },
  });
  open.unshift(j);
  return j;
}

async function until(what: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('discovery', () => {
  it('replicas join and leave with the DNS answer while calls flow, and no call fails', async () => {
    const dns = await startDnsServer(['127.0.0.2', '127.0.0.3']);
    open.push(dns);
    process.env.JUNCTION_DNS_SERVERS = dns.address;
    const { port, hosts } = await replicas(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const j = await junction({ endpoints: [`http://replicas.test:${port}`], discovery: { intervalMs: 100 } });
    const backend = j.runtime.current!.backends.get('m@1')!;
    expect(
      backend.replicas!()
        .map((r) => r.address)
        .sort(),
    ).toEqual([`http://127.0.0.2:${port}`, `http://127.0.0.3:${port}`]);
    expect(backend.replicas!()[0]!.discovery).toMatchObject({ name: `http://replicas.test:${port}`, error: undefined });

    let running = true;
    const failures: string[] = [];
    let calls = 0;
    const perWorker = [0, 0, 0, 0];
    const worker = async (_: unknown, w: number) => {
      while (running) {
        const res = await request(`${j.url}/v1/objectives/o`, { method: 'POST', body: '{}' });
        const text = await res.body.text();
        calls++;
        perWorker[w]!++;
        if (res.statusCode !== 200) failures.push(`${res.statusCode} ${text}`);
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    const served = (ip: string) => hosts.get(ip)!.served;
    // A call picked just before a replica left may still reach it: each worker calls one at a time, so
    // once every worker has finished a call started after the change, none is left on its way there.
    const settled = async () => {
      const marks = [...perWorker];
      await until(() => perWorker.every((n, w) => n > marks[w]! + 1));
    };

    dns.answer = ['127.0.0.3', '127.0.0.4']; // .4 joins, .2 leaves
    await until(() => served('127.0.0.4') > 10);
    await settled();
    let before = served('127.0.0.2');
    await new Promise((r) => setTimeout(r, 100));
    expect(served('127.0.0.2')).toBe(before); // gone: no new calls

    dns.answer = ['127.0.0.4']; // down to one
    await until(() => backend.replicas!().length === 1);
    await settled();
    before = served('127.0.0.3');
    await until(() => served('127.0.0.4') > 60);
    expect(served('127.0.0.3')).toBe(before);

    dns.answer = ['127.0.0.2', '127.0.0.3', '127.0.0.4']; // all back
    const marks = [served('127.0.0.2'), served('127.0.0.3')];
    await until(() => served('127.0.0.2') > marks[0]! + 10 && served('127.0.0.3') > marks[1]! + 10);
    running = false;
    await Promise.all(workers);
    expect(calls).toBeGreaterThan(100);
    expect(failures).toEqual([]);
  });

  it('a name that stops resolving keeps its last good set and says so (/readyz, metric)', async () => {
    const dns = await startDnsServer(['127.0.0.2']);
    open.push(dns);
    process.env.JUNCTION_DNS_SERVERS = dns.address;
    const { port } = await replicas(['127.0.0.2']);
    const telemetry = recordTelemetry();
    const j = await junction(
      { endpoints: [`http://replicas.test:${port}`], discovery: { intervalMs: 100 } },
      telemetry,
    );
    warnings.length = 0;
    dns.fail = true;
    await until(() => telemetry.count('dropped', 'dns_resolve') >= 2);
    const res = await request(`${j.url}/v1/objectives/o`, { method: 'POST', body: '{}' });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const ready = await request(`${j.url}/readyz`);
    const body = (await ready.body.json()) as { status: string; discovery?: Array<Record<string, unknown>> };
    expect(ready.statusCode).toBe(200);
    expect(body.discovery).toEqual([
      expect.objectContaining({ target: 'm@1', name: `http://replicas.test:${port}`, error: expect.any(String) }),
    ]);
    expect(warnings.filter((w) => w.includes('does not resolve'))).toHaveLength(1); // once, not per attempt
    dns.fail = false;
    await until(() => j.runtime.current!.backends.get('m@1')!.discovery!()[0]!.error === undefined);
  });

  it('an answer with more addresses than maxAddresses is cut, counted (4,000 A records, over TCP)', async () => {
    const many = Array.from({ length: 4000 }, (_, i) => `127.1.${i >> 8}.${i & 255 || 1}`);
    const dns = await startDnsServer(many);
    open.push(dns);
    process.env.JUNCTION_DNS_SERVERS = dns.address;
    const telemetry = recordTelemetry();
    const j = await junction(
      { endpoints: ['http://many.test:9'], discovery: { intervalMs: 60_000, maxAddresses: 16 } },
      telemetry,
    );
    const backend = j.runtime.current!.backends.get('m@1')!;
    expect(backend.replicas!()).toHaveLength(16);
    expect(telemetry.events.some((e) => e[0] === 'dropped' && e[1] === 'dns_answer' && (e[2] as number) > 3000)).toBe(
      true,
    );
  });
});

class Fake extends ReplicaState {
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('discovery, alone', () => {
  it('a 10,000-address answer keeps maxAddresses of them, with a counted warning', async () => {
    const telemetry = recordTelemetry();
    const set = new EndpointSet<Fake>(
      [],
      {
        connections: 1,
        maxConcurrency: undefined,
        consecutiveFailures: 5,
        baseEjectionMs: 1000,
        maxEjectedPercent: 50,
      },
      undefined,
      undefined,
      (u) => new Fake(u, u),
    );
    const warnings: string[] = [];
    const d = new Discovery(set, ['http://big.test:8000'], {
      backend: 'm@1',
      intervalMs: 1000,
      maxAddresses: 256,
      telemetry: telemetry.sink,
      logger: { warn: (_o, m) => warnings.push(m), info: () => undefined, error: () => undefined },
      resolver: {
        resolve4: () =>
          Promise.resolve(Array.from({ length: 10_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`)),
        resolve6: () => Promise.reject(Object.assign(new Error('no AAAA'), { code: 'ENODATA' })),
      },
    });
    await d.tick();
    expect(set.endpoints).toHaveLength(256);
    expect(telemetry.count('dropped', 'dns_answer', 10_000 - 256)).toBe(1);
    expect(warnings).toHaveLength(1);
    d.stop();
  });
});

describe('discovery for oip-grpc backends', () => {
  it('resolves a grpc:// name to replicas, follows the answer under traffic, and balances by least load', async () => {
    const first = await startGrpcModelServer({ simple: ['1'] }, 0, undefined, '127.0.0.2');
    open.push(first);
    const port = Number(first.address.split(':')[1]);
    const second = await startGrpcModelServer({ simple: ['1'] }, port, undefined, '127.0.0.3');
    open.push(second);
    const dns = await startDnsServer(['127.0.0.2']);
    open.push(dns);
    process.env.JUNCTION_DNS_SERVERS = dns.address;
    const telemetry = recordTelemetry();
    const j = await startJunction({
      telemetry: telemetry.sink,
      port: 0,
      config: {
        models: {
          simple: {
            versions: {
              '1': {
                backend: {
                  type: 'http',
                  protocol: 'oip-grpc',
                  endpoints: [`grpc://grpc.test:${port}`],
                  discovery: { intervalMs: 100 },
                  balance: 'least-load',
                },
              },
            },
          },
        },
        objectives: { identity: { interface: 'oip', default: 'simple@1' } },
      },
    });
    open.unshift(j);
    const infer = async () => {
      const res = await request(`${j.url}/v2/models/identity/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'INT64', shape: [1, 3], data: [[1, 2, 3]] }] }),
      });
      await res.body.text();
      return res.statusCode;
    };
    for (let i = 0; i < 5; i++) expect(await infer()).toBe(200);
    expect(first.received.length).toBe(5);
    dns.answer = ['127.0.0.2', '127.0.0.3'];
    await until(() => j.runtime.current!.backends.get('simple@1')!.replicas!().length === 2);
    const statuses = await Promise.all(Array.from({ length: 40 }, infer));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(second.received.length).toBeGreaterThan(0);
    dns.answer = ['127.0.0.3'];
    await until(() => j.runtime.current!.backends.get('simple@1')!.replicas!().length === 1);
    const before = first.received.length;
    for (let i = 0; i < 5; i++) expect(await infer()).toBe(200);
    expect(first.received.length).toBe(before);
    expect(telemetry.count('picked', 'simple@1', 'fallback-no-report')).toBeGreaterThan(0);
  });
});
