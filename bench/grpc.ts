// The gRPC face's cost per megabyte (issue 24, item 4): ModelInfer with a raw
// tensor of 64 KiB to 16 MiB, 1 and 8 concurrent callers, sent by a real
// grpc-js client three ways in one run, interleaved round by round:
//   direct  — straight to the model server;
//   floor   — through a bare node:http2 proxy that forwards the stream the
//             obvious way (bench/grpc-floor.ts);
//   Junction — through `junction serve` (gRPC face → routing → oip-grpc
//             backend, the message streamed on, only its model reference
//             rewritten).
// The model server, the floor and Junction are separate processes, so each
// has its own core to fight for; the client and its event loop are this
// process. Also: Junction's peak RSS over one 64 MiB message, and 16
// concurrent 16 MiB calls against its shared body budget, measured after the
// timed rounds.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client as GrpcClient, credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadOipGrpcService } from '../src/grpc/service.js';
import type { BenchSection } from './report.js';
import { compiled, freePort, start, startJunctionServe, waitFor } from './tools.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;
const MAX = 128 * MiB;
const PATH = '/inference.GRPCInferenceService/ModelInfer';
const service = loadOipGrpcService();

function message(name: string, tensorBytes: number): Buffer {
  const tensor = randomBytes(tensorBytes);
  return service.decoded.ModelInfer!.requestSerialize({
    model_name: name,
    inputs: [{ name: 'INPUT0', datatype: 'UINT8', shape: ['1', String(tensorBytes)] }],
    raw_input_contents: [tensor],
  });
}

function once(client: Client, bytes: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    client.makeUnaryRequest(
      PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new Metadata(),
      {},
      (err: ServiceError | null) => (err ? reject(err) : resolve()),
    ),
  );
}

/** Calls completed and wall ms for `callers` callers for about `ms`. */
async function run(client: Client, bytes: Buffer, callers: number, ms: number): Promise<{ calls: number; ms: number }> {
  const end = performance.now() + ms;
  let calls = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        await once(client, bytes);
        calls++;
      }
    }),
  );
  return { calls, ms: performance.now() - t0 };
}

function rssOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Resets the process's peak RSS (Linux: clear_refs 5), so VmHWM measures from now. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export async function benchGrpc(seconds = 1.5): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-bench-grpc-'));
  const [upPort, floorPort, httpPort, grpcPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  writeFileSync(
    join(dir, 'junction.yaml'),
    `models:
  echo:
    versions:
      "1": { backend: { type: http, protocol: oip-grpc, endpoints: ["grpc://127.0.0.1:${upPort}"] } }
objectives:
  echo: { interface: oip, default: echo@1, policy: { maxBodyBytes: ${64 * MiB} } }
`,
  );
  const children = [
    start(process.execPath, [compiled(join(root, 'bench/grpc-upstream.ts')), String(upPort)]),
    start(process.execPath, [compiled(join(root, 'bench/grpc-floor.ts')), String(floorPort), `127.0.0.1:${upPort}`]),
  ];
  const junction = startJunctionServe({
    config: join(dir, 'junction.yaml'),
    port: httpPort,
    data: join(dir, 'data'),
    args: ['--grpc-port', String(grpcPort)],
  });
  children.push(junction);
  const options = { 'grpc.max_send_message_length': MAX, 'grpc.max_receive_message_length': MAX };
  const clients = {
    direct: new GrpcClient(`127.0.0.1:${upPort}`, credentials.createInsecure(), options),
    floor: new GrpcClient(`127.0.0.1:${floorPort}`, credentials.createInsecure(), options),
    Junction: new GrpcClient(`127.0.0.1:${grpcPort}`, credentials.createInsecure(), options),
  };
  const rows: BenchSection['rows'] = [];
  const notes: string[] = [];
  try {
    await waitFor(`http://127.0.0.1:${httpPort}/healthz`);
    const small = message('echo', 1024);
    for (const c of Object.values(clients)) {
      for (let i = 0; i < 50; i++) await once(c, small).catch(() => undefined); // up, warm, and Junction's health check passed
      await once(c, small);
    }

    const rounds = 3;
    for (const callers of [1, 8]) {
      for (const mib of [0.0625, 1, 4, 16]) {
        const bytes = message('echo', Math.round(mib * MiB));
        const total = { direct: { calls: 0, ms: 0 }, floor: { calls: 0, ms: 0 }, Junction: { calls: 0, ms: 0 } };
        for (let r = 0; r < rounds; r++) {
          for (const name of ['direct', 'floor', 'Junction'] as const) {
            const got = await run(clients[name], bytes, callers, (seconds * 1000) / rounds);
            total[name].calls += got.calls;
            total[name].ms += got.ms;
          }
        }
        const perCall = (t: { calls: number; ms: number }) => (t.ms * callers) / t.calls;
        const d = perCall(total.direct);
        const f = perCall(total.floor);
        const j = perCall(total.Junction);
        const mbps = (t: { calls: number; ms: number }) => (t.calls * bytes.length) / MiB / (t.ms / 1000);
        rows.push({
          callers,
          'raw tensor': mib < 1 ? `${mib * 1024} KiB` : `${mib} MiB`,
          'direct ms/call': d.toFixed(2),
          'floor ms/call': f.toFixed(2),
          'Junction ms/call': j.toFixed(2),
          'Junction / floor': (j / f).toFixed(2),
          'Junction ms/MiB over direct': ((j - d) / Math.max(mib, 1 / 16)).toFixed(2),
          'floor MiB/s': mbps(total.floor).toFixed(0),
          'Junction MiB/s': mbps(total.Junction).toFixed(0),
        });
      }
    }
    // Memory last (a heap grown by 64 MiB messages must not slow the timed calls): one 64 MiB message
    // (the listener's limit) through Junction, its peak RSS reset just before.
    const big = message('echo', 64 * MiB - 200);
    const before = rssOf(junction.pid!);
    const reset = resetPeak(junction.pid!);
    await once(clients.Junction, big);
    const after = rssOf(junction.pid!);
    notes.push(
      `one ${(big.length / MiB).toFixed(2)} MiB message through Junction: RSS ${(before.rss / MiB).toFixed(0)} MiB before, peak ${(after.peak / MiB).toFixed(0)} MiB during (+${((after.peak - before.rss) / MiB).toFixed(1)} MiB, ${reset ? 'peak reset just before' : 'peak since start: clear_refs unavailable'})`,
    );
    // 16 concurrent 16 MiB calls: every one served, none refused for the body budget.
    const m16 = message('echo', 16 * MiB);
    const before16 = rssOf(junction.pid!);
    resetPeak(junction.pid!);
    const results = await Promise.allSettled(Array.from({ length: 16 }, () => once(clients.Junction, m16)));
    const after16 = rssOf(junction.pid!);
    const refused = results.filter((r) => r.status === 'rejected');
    notes.push(
      `16 concurrent 16 MiB calls through Junction: ${16 - refused.length} served, ${refused.length} refused${refused.length > 0 ? ` (${String((refused[0] as PromiseRejectedResult).reason)})` : ''}; peak RSS +${((after16.peak - before16.rss) / MiB).toFixed(1)} MiB over ${(before16.rss / MiB).toFixed(0)} MiB (256 MiB of messages in flight)`,
    );
  } finally {
    for (const c of Object.values(clients)) c.close();
    for (const child of children) child.kill();
  }
  return {
    name: 'grpc (ModelInfer, raw_input_contents, oip-grpc backend, against a bare HTTP/2 proxy)',
    rows,
    notes: [
      `${seconds} s per case and route, in ${3} interleaved rounds; model server, floor proxy and Junction in their own processes, the grpc-js callers in this one`,
      'targets (issue 24): Junction ≤ 1.2× the floor per call at every size; 1 MiB throughput ≥ 0.8× the floor; a 64 MiB message raises RSS by less than its size',
      ...notes,
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(await benchGrpc(Number(process.argv[2] ?? 1.5)));
}
