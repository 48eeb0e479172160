// An open-loop load generator: requests start on a fixed schedule whatever
// the latency of earlier ones (no coordinated omission), so percentiles are
// what a caller at that rate sees. Run in its own process so its CPU does not
// count against the server under test.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface FixedRateResult {
  sent: number;
  errors: number;
  p50ms: number;
  p99ms: number;
  p999ms: number;
}

export async function fixedRate(
  url: string,
  rps: number,
  seconds: number,
  body: string,
  headers: Record<string, string>,
): Promise<FixedRateResult> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: 64 });
  const total = Math.round(rps * seconds);
  const latencies = new Float64Array(total);
  let errors = 0;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rps;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // Timers are coarse: a request may leave a little before its slot. Late ones are
    // timed from their slot (the wait is part of what a caller would see), early ones from leaving.
    const from = Math.min(due, performance.now());
    inflight.push(
      pool
        .request({ path: u.pathname, method: 'POST', body, headers: { ...headers, 'x-unit-id': `user-${i % 5000}` } })
        .then(
          async (res) => {
            await res.body.dump();
            if (res.statusCode !== 200) errors++;
            latencies[i] = performance.now() - from;
          },
          () => {
            errors++;
            latencies[i] = performance.now() - from;
          },
        ),
    );
  }
  await Promise.all(inflight);
  await pool.close();
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { sent: total, errors, p50ms: at(0.5), p99ms: at(0.99), p999ms: at(0.999) };
}

// As a child process: `tsx bench/fixed-rate.ts URL RPS SECONDS` prints one JSON line.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, rps, seconds] = process.argv.slice(2);
  const result = await fixedRate(url!, Number(rps), Number(seconds), '{"user":"user-1","titles":[101,202,303,404]}', {
    'content-type': 'application/json',
  });
  console.log(JSON.stringify(result));
}
