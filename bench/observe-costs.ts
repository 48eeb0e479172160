// CPU cost per request of each observability piece, measured in-process on
// synthetic request records: steadier than throughput on a shared machine, and
// it says where the time goes. Returns µs per request for each piece.
import { createWriteStream, openSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ExportResult } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import type { Call, Reply } from '../src/call/types.js';
import { DecisionLog } from '../src/observe/decision-log.js';
import { accessLog, createLogger } from '../src/observe/logger.js';
import { createMetrics } from '../src/observe/metrics.js';
import { newRecord, type RequestRecord } from '../src/observe/record.js';
import { requestSpans, traceAttempts, traceRouting } from '../src/observe/tracing.js';
import type { Outcome } from '../src/routing/types.js';

class DiscardingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

const outcome = {
  objective: 'continue-watching-ranking',
  target: { id: 'ranker@7' },
  step: 'experiment',
  rule: 'experiment:cw-42',
  experiment: 'cw-42',
  cell: 'B',
  revision: 17,
  header: '',
  headerNoUnit: '',
} as unknown as Outcome;
const headers = { 'x-unit-id': 'user-1', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
const reply: Reply = { status: 200, headers: {}, body: null };

function record(i: number): RequestRecord {
  const r = newRecord(`req-${i}`, 'POST', '/v1/objectives/continue-watching-ranking', performance.now());
  r.objective = 'continue-watching-ranking';
  r.started = true;
  r.unit = 'user-1';
  r.context = { country: 'BR' };
  return r;
}

function finish(r: RequestRecord): void {
  r.outcome = outcome;
  r.status = 200;
  r.upstreamMs = 1.2;
  r.firstByte = r.start + 1.3;
  r.end = r.start + 1.5;
}

async function perRequest(n: number, run: (i: number) => void | Promise<void>): Promise<number> {
  for (let i = 0; i < Math.min(n, 5000); i++) await run(i); // warm-up
  const t = performance.now();
  for (let i = 0; i < n; i++) await run(i);
  return ((performance.now() - t) * 1000) / n;
}

export async function observabilityCosts(n = 50_000): Promise<Array<[string, number]>> {
  const devnull = () => openSync('/dev/null', 'w');
  const baseline = await perRequest(n, (i) => {
    finish(record(i));
  });

  const m = createMetrics();
  const metrics = await perRequest(n, (i) => {
    const r = record(i);
    m.start(r, headers);
    finish(r);
    m.end(r);
  });

  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new DiscardingExporter(), { maxQueueSize: 65536 })],
  });
  const spans = requestSpans(provider);
  const backend = traceAttempts(async () => reply);
  const tracing = await perRequest(n, async (i) => {
    const r = record(i);
    spans.start(r, headers);
    traceRouting(r.trace!, outcome, performance.now());
    await backend({
      objective: { name: 'continue-watching-ranking' },
      target: outcome.target,
      headers: {},
      trace: r.trace,
    } as unknown as Call);
    finish(r);
    spans.end(r);
  });
  await provider.shutdown();

  const log = new DecisionLog({ sink: createWriteStream('/dev/null'), sampleRate: () => 1 });
  const decisions = await perRequest(n, (i) => {
    const r = record(i);
    finish(r);
    log.observer(r);
  });
  await log.close();

  const access = accessLog(createLogger({ destination: pino.destination({ fd: devnull(), sync: false }) }));
  const accessCost = await perRequest(n, (i) => {
    const r = record(i);
    finish(r);
    access(r);
  });

  return [
    ['metrics (in-flight + requests + 3 histograms)', metrics - baseline],
    ['tracing (request + route + upstream span, W3C inject)', tracing - baseline],
    ['decision log (sample 1.0)', decisions - baseline],
    ['access log', accessCost - baseline],
  ];
}
