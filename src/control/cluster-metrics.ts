// `/metrics` under `--workers`: the kernel hands a scrape to any one worker,
// which alone sees a fraction of the traffic. So the worker asks the primary,
// the primary gathers every worker's registry (prom-client's
// AggregatorRegistry: counters and histograms summed), and the worker answers
// with the merged text.
import cluster, { type Worker } from 'node:cluster';
import promClient from 'prom-client';
import { JunctionError } from '../errors.js';
import type { Registry } from 'prom-client';

const ASK = 'junction:metrics?';
const ANSWER = 'junction:metrics!';
const TIMEOUT_MS = 5000;

interface Answer {
  type: typeof ANSWER;
  id: number;
  text?: string;
  error?: string;
}

/** In the primary: answers workers' requests for the merged metrics. */
export function serveClusterMetrics(): void {
  const aggregator = new promClient.AggregatorRegistry();
  cluster.on('message', (worker: Worker, msg: { type?: string; id?: number }) => {
    if (msg?.type !== ASK) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: ANSWER, id: msg.id ?? 0, text } satisfies Answer),
      (err: Error) => worker.send({ type: ANSWER, id: msg.id ?? 0, error: err.message } satisfies Answer),
    );
  });
}

/** What a /metrics route serves: its text, and the content type to send it with. */
export interface MetricsSource {
  readonly text: () => Promise<string>;
  readonly contentType: string;
}

/** In a worker: every worker's metrics merged (`metricsRegistry`: this worker's Junction's), for the data plane's /metrics route. */
export function clusterMetrics(metricsRegistry: Registry): MetricsSource {
  promClient.AggregatorRegistry.setRegistries([metricsRegistry]);
  // Summed across workers by the aggregator: says how many processes the scrape covers.
  new promClient.Gauge({
    name: 'junction_workers',
    help: 'Worker processes merged into this /metrics (serve --workers)',
    registers: [metricsRegistry],
  }).set(1);
  // Constructing one installs prom-client's worker-side listener that hands this worker's metrics to the primary.
  void new promClient.AggregatorRegistry();
  const pending = new Map<number, (a: Answer) => void>();
  let next = 0;
  process.on('message', (msg: Answer) => {
    if (msg?.type === ANSWER) pending.get(msg.id)?.(msg);
  });
  const ask = () =>
    new Promise<string>((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new JunctionError('overloaded', 'workers did not report their metrics in time'));
      }, TIMEOUT_MS);
      pending.set(id, (a) => {
        clearTimeout(timer);
        pending.delete(id);
        if (a.text !== undefined) resolve(a.text);
        else reject(new Error(a.error ?? 'metrics aggregation failed'));
      });
      process.send!({ type: ASK, id });
    });
  return { text: ask, contentType: metricsRegistry.contentType };
}
