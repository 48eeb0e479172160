// OIP REST tensors through Junction, side by side in one run (SPEC §9, §15):
// the same infer sent straight to a model server, through a bare Node.js proxy
// (the floor: node:http in, an undici Pool out, the body piped, bench/bare-proxy.ts)
// and through Junction (an `oip` objective, one worker), at 64 KiB to 16 MiB of
// tensor and 1 and 8 concurrent callers. Each body goes twice: in the binary
// data extension (JSON header + raw FP32 bytes) and as OIP JSON (`data`: the
// same floats as JSON numbers, several times the bytes). Junction reads
// neither: both stream through, so its cost per call should stay within 1.2×
// the floor's, and a 64 MiB body should not raise its RSS by its own size.
//
// The model server (bench/tensor-upstream.ts: the tests' digest server, which
// hashes what it gets and answers a 32-byte digest in binary), the floor and
// Junction each run in a process of their own; the callers are undici Pools in
// this one. Everything shares this machine's cores.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import type { BenchSection } from './report.js';
import { compiled, freePort, start, startJunctionServe, stop } from './tools.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;
const SIZES = [64 * 1024, MiB, 4 * MiB, 16 * MiB];
const CALLERS = [1, 8];
const RSS_BYTES = 64 * MiB;
/** Rounds per case (alternating order); figures are medians over them. */
const ROUNDS = 3;

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Body {
  bytes: Buffer;
  headers: Record<string, string>;
}

/** The binary data extension: the JSON header, then the tensor's raw bytes. */
/** An FP32 input: its name and shape (default INPUT0, one row of the whole tensor). */
interface Input {
  name: string;
  shape: number[];
}

const flatInput = (tensor: Buffer): Input => ({ name: 'INPUT0', shape: [1, tensor.length / 4] });

function binaryBody(tensor: Buffer, input = flatInput(tensor)): Body {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: input.name, datatype: 'FP32', shape: input.shape, parameters: { binary_data_size: tensor.length } },
      ],
      parameters: { binary_data_output: true },
    }),
  );
  return {
    bytes: Buffer.concat([header, tensor]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

/** The same tensor as OIP JSON: its floats as JSON numbers, as a client that stringifies a Float32Array sends them. */
function jsonBody(tensor: Buffer, input = flatInput(tensor)): Body {
  const floats = new Float32Array(tensor.buffer, tensor.byteOffset, tensor.length / 4);
  const text = JSON.stringify({
    inputs: [{ name: input.name, datatype: 'FP32', shape: input.shape, data: Array.from(floats) }],
  });
  return { bytes: Buffer.from(text), headers: { 'content-type': 'application/json' } };
}

/** Random floats in [0, 1): the bytes of a plausible FP32 tensor (random bytes would hold NaNs). */
function tensorOf(bytes: number): Buffer {
  const floats = new Float32Array(bytes / 4);
  const noise = randomBytes(bytes);
  for (let i = 0; i < floats.length; i++) floats[i] = noise.readUInt32LE(i * 4) / 2 ** 32;
  return Buffer.from(floats.buffer);
}

interface Target {
  name: string;
  pool: Pool;
  path: string;
}

async function once(t: Target, body: Body): Promise<void> {
  const res = await t.pool.request({ path: t.path, method: 'POST', headers: body.headers, body: body.bytes });
  await res.body.arrayBuffer();
  if (res.statusCode !== 200) throw new Error(`${t.name}: status ${res.statusCode}`);
}

/** Mean ms per call with `callers` closed-loop callers for about `seconds` (at least two calls each). */
async function measure(t: Target, body: Body, callers: number, seconds: number): Promise<number> {
  await once(t, body); // warm the connection and the path
  const end = performance.now() + seconds * 1000;
  let calls = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let mine = 0; mine < 2 || performance.now() < end; mine++) {
        await once(t, body);
        calls++;
      }
    }),
  );
  return ((performance.now() - started) * callers) / calls;
}

/** Until `path` answers on `pool` (undici, like every call of this bench). */
async function ready(pool: Pool, path: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await pool.request({ path, method: 'GET' });
      await res.body.arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${path} did not come up`);
      await sleep(50);
    }
  }
}

/** A process's resident set and its peak since the last reset (/proc, Linux), in bytes. */
function memory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
    return { rss: kib('VmRSS'), peak: kib('VmHWM') };
  } catch {
    return undefined;
  }
}

/** How far one 64 MiB binary call raises a process's peak RSS over its resident set before it. */
async function rssGrowth(t: Target, pid: number | undefined, body: Body): Promise<string> {
  if (pid === undefined) return 'n/a';
  await once(t, body); // the first large call sizes pools and buffers once; the second is the steady state
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  } catch {
    return 'n/a (cannot reset the peak)';
  }
  const before = memory(pid);
  await once(t, body);
  const after = memory(pid);
  if (before === undefined || after === undefined) return 'n/a';
  return `${((after.peak - before.rss) / MiB).toFixed(1)} MiB`;
}

/** ROUNDS measurements of one target with one caller. */
async function rounds(t: Target, body: Body, seconds: number): Promise<number[]> {
  const xs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) xs.push(await measure(t, body, 1, seconds));
  return xs;
}

/**
 * In-process ONNX (ranker-6: FP32 [rows, 8] → [rows, 1]) through the same Junction, one caller:
 * what the binary extension saves when Junction itself must read the tensor (a typed-array
 * view of the body instead of JSON numbers parsed into an array, then copied into a tensor).
 */
async function inProcess(onnx: Target, seconds: number): Promise<string> {
  const cases: string[] = [];
  for (const size of [64 * 1024, MiB, 4 * MiB]) {
    const tensor = tensorOf(size);
    const input = { name: 'features', shape: [size / 32, 8] };
    const binary = binaryBody(tensor, input);
    const json = jsonBody(tensor, input);
    const b = median(await rounds(onnx, binary, seconds));
    const j = median(await rounds(onnx, json, seconds));
    cases.push(`${label(size)} ${b.toFixed(2)} ms binary vs ${j.toFixed(2)} ms JSON (${(j / b).toFixed(1)}×)`);
  }
  return `in-process ONNX through Junction (ranker-6, FP32 [rows, 8], 1 caller; binary in and out vs JSON in and out): ${cases.join('; ')}`;
}

const label = (bytes: number) => (bytes < MiB ? `${bytes / 1024} KiB` : `${bytes / MiB} MiB`);

/** `junction`: the CLI to start (default bin/junction.js, which runs dist/; `npm run bench` builds it first). */
export async function benchTensors(quick = false, junctionBin = join(root, 'bin/junction.js')): Promise<BenchSection> {
  const seconds = quick ? 0.5 : 1;
  const dir = mkdtempSync(join(tmpdir(), 'junction-tensors-'));
  const [upPort, floorPort, junctionPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const upstream = `http://127.0.0.1:${upPort}`;
  writeFileSync(
    join(dir, 'junction.yaml'),
    `
models:
  digest:
    versions:
      "1": { backend: { type: http, protocol: oip, endpoints: ["${upstream}"] } }
  ranker:
    versions:
      "6": { backend: { type: onnx, path: "${join(root, 'models/ranker-6.onnx')}", maxBatch: 1 } }
objectives:
  rank:
    interface: oip
    default: ranker@6
    policy: { maxBodyBytes: ${256 * MiB}, timeoutMs: 60000 }
  tensors:
    interface: oip
    default: digest@1
    policy: { maxBodyBytes: ${256 * MiB}, timeoutMs: 60000 }
`,
  );
  const children = [
    start(process.execPath, [compiled(join(root, 'bench/tensor-upstream.ts')), String(upPort)]),
    // The floor: bench/bare-proxy.ts with both of its upstreams the model server.
    start(process.execPath, [compiled(join(root, 'bench/bare-proxy.ts')), String(floorPort), upstream, upstream]),
    startJunctionServe({
      config: join(dir, 'junction.yaml'),
      port: junctionPort,
      data: join(dir, 'data'),
      bin: junctionBin,
    }),
  ];
  const pools = [upPort, floorPort, junctionPort].map((p) => new Pool(`http://127.0.0.1:${p}`, { connections: 8 }));
  const [direct, floor, junction] = [
    { name: 'direct', pool: pools[0]!, path: '/v2/models/digest/infer' },
    { name: 'floor (bare node proxy)', pool: pools[1]!, path: '/v2/models/digest/infer' },
    { name: 'junction', pool: pools[2]!, path: '/v2/models/tensors/infer' },
  ] as const;
  const rows: BenchSection['rows'] = [];
  const notes: string[] = [];
  try {
    await Promise.all([
      ready(pools[0]!, '/v2/health/ready'),
      ready(pools[1]!, '/v2/health/ready'),
      ready(pools[2]!, '/healthz'),
    ]);
    // Memory first, before the timed runs have pushed anything's peak up.
    const big = binaryBody(tensorOf(RSS_BYTES));
    const floorRss = await rssGrowth(floor, children[1]!.pid, big);
    const junctionRss = await rssGrowth(junction, children[2]!.pid, big);
    notes.push(
      `peak RSS growth during one ${label(RSS_BYTES)} binary call (target < its size): junction ${junctionRss}, floor ${floorRss}`,
    );

    const worst: number[] = [];
    for (const size of SIZES) {
      const tensor = tensorOf(size);
      const bodies = { binary: binaryBody(tensor), json: jsonBody(tensor) };
      for (const callers of CALLERS) {
        for (const [encoding, body] of Object.entries(bodies)) {
          // Rounds in alternating order, so a drift during the case favours no target; on a shared
          // machine one round can be hit by another process, so each figure is a median over rounds
          // and the ratio is the median of the per-round ratios.
          const runs = new Map<string, number[]>([direct, floor, junction].map((t) => [t.name, []]));
          for (let round = 0; round < ROUNDS; round++) {
            const order = round % 2 === 0 ? [direct, floor, junction] : [junction, floor, direct];
            for (const t of order) runs.get(t.name)!.push(await measure(t, body, callers, seconds));
          }
          const d = median(runs.get(direct.name)!);
          const f = median(runs.get(floor.name)!);
          const j = median(runs.get(junction.name)!);
          const ratio = median(runs.get(junction.name)!.map((x, i) => x / runs.get(floor.name)![i]!));
          const mib = size / MiB;
          if (encoding === 'binary') worst.push(ratio);
          rows.push({
            tensor: label(size),
            body: `${encoding} ${label(body.bytes.length).replace(/(\.\d)\d+/, '$1')}`,
            callers,
            'direct ms/call': d.toFixed(2),
            'floor ms/call': f.toFixed(2),
            'junction ms/call': j.toFixed(2),
            'junction / floor': ratio.toFixed(2),
            'junction ms per tensor MiB over direct': ((j - d) / mib).toFixed(2),
            'junction tensor MiB/s': ((mib * callers * 1000) / j).toFixed(0),
          });
        }
      }
    }
    notes.push(await inProcess({ name: 'onnx', pool: pools[2]!, path: '/v2/models/rank/infer' }, seconds));
    notes.push(
      `binary: junction / floor time per call at worst ${Math.max(...worst).toFixed(2)}× (target ≤ 1.2× at every size)`,
      `each case: ${ROUNDS} rounds of ~${seconds} s per target in alternating order; ms per call is the median of the rounds' means, junction / floor the median of the per-round ratios; the model server hashes every byte, so "direct" includes it`,
      'json rows: the same tensor as OIP JSON `data` (full float repr): Junction streams it unread too, so its cost per tensor MiB is that of moving the bigger body',
      'junction: one process, defaults (metrics on, no decision log); callers: undici Pools of 8 connections in the bench process',
    );
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    stop(children);
  }
  return { name: 'tensors (OIP REST: binary data extension and JSON, remote oip backend)', rows, notes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  // `--junction FILE`: another build's CLI (e.g. a private tsc outDir), leaving a shared dist/ alone.
  const at = process.argv.indexOf('--junction');
  printSection(await benchTensors(process.argv.includes('--quick'), at > 0 ? process.argv[at + 1] : undefined));
}
