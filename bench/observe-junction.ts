// One Junction for bench/observe.ts, in its own process: all observability on
// or all off, or what `junction serve --decision-log` runs (metrics + decision log).
// Usage: observe-junction.ts PORT UPSTREAM_URL on|off|serve DIR
import { join } from 'node:path';
import type { ExportResult } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { startJunction } from '../src/app.js';
import { createLogger } from '../src/observe/logger.js';

/** Spans are built, batched and handed over, then discarded: the OTLP network cost is the collector's side. */
class DiscardingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

const [port, upstream, mode, dir] = process.argv.slice(2) as [string, string, 'on' | 'off' | 'serve', string];
const backend = { type: 'http', endpoints: [upstream] };
const config = {
  models: { ranker: { class: 'scorer', versions: { '6': { backend }, '7': { backend } } } },
  objectives: {
    'continue-watching-ranking': {
      default: 'ranker@6',
      rules: [{ when: { context: { country: ['BR', 'MX'] } }, use: 'ranker@7' }],
      experiments: [
        {
          id: 'cw-42',
          population: 1,
          cells: { A: { weight: 50, use: 'ranker@6' }, B: { weight: 50, use: 'ranker@7' } },
        },
      ],
    },
  },
};
const on = mode === 'on';
const serve = mode === 'serve';
const junction = await startJunction({
  port: Number(port),
  config,
  metrics: on || serve,
  processMetrics: on || serve,
  tracing: on
    ? new BasicTracerProvider({
        spanProcessors: [
          new BatchSpanProcessor(new DiscardingExporter(), { maxQueueSize: 65536, maxExportBatchSize: 2048 }),
        ],
      })
    : false,
  decisionLog: on || serve ? join(dir, `decisions-${mode}.jsonl`) : undefined,
  accessLog: on,
  log: createLogger({ destination: pino.destination({ dest: join(dir, `${mode}.log`), sync: false }) }),
});
process.once('SIGTERM', () => {
  void junction.close().then(() => process.exit(0));
});
