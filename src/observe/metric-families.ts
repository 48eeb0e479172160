// Hot-path metric families registered on a prom-client Registry. prom-client's
// own `labels(...).inc()` hashes the label object on every call (≈1 µs each,
// measured); a request updates four or five series, so the request path keeps
// direct references to cells here (≈20 ns) and prom-client only reads them at
// scrape time through `get()`. Output shape is prom-client's, so text
// exposition and AggregatorRegistry (--workers) work unchanged.
import type { Registry } from 'prom-client';

type Labels = Record<string, string | number>;

interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
}

interface MetricJson {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: MetricValue[];
  aggregator: Aggregator;
}

/** How AggregatorRegistry merges this metric across --workers. */
export type Aggregator = 'sum' | 'max' | 'min' | 'average' | 'first' | 'omit';

interface FamilyOptions {
  name: string;
  help: string;
  labelNames: readonly string[];
  aggregator?: Aggregator;
}

abstract class Family<Cell> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator: Aggregator;
  protected readonly cells = new Map<string, { labels: Labels; cell: Cell }>();

  constructor(registry: Registry, opts: FamilyOptions) {
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames;
    this.aggregator = opts.aggregator ?? 'sum';
    // prom-client's Registry accepts any object with name + get(); the cast is its typing's limit.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The cell for these label values (in labelNames order). Look it up once and keep it: this allocates. */
  cell(values: readonly string[]): Cell {
    const key = values.join('\u0001');
    let entry = this.cells.get(key);
    if (entry === undefined) {
      const labels: Labels = {};
      this.labelNames.forEach((n, i) => {
        labels[n] = values[i] ?? '';
      });
      entry = { labels, cell: this.newCell() };
      this.cells.set(key, entry);
    }
    return entry.cell;
  }

  /** The cell for these label values if the series exists; never creates one (readers must not add series to /metrics). */
  peek(values: readonly string[]): Cell | undefined {
    return this.cells.get(values.join('\u0001'))?.cell;
  }

  /** Drops the series (it stops being exported); a cell still held elsewhere is detached, not reused. */
  remove(values: readonly string[]): void {
    this.cells.delete(values.join('\u0001'));
  }

  /** Drops every series: for gauges re-derived whole from state (e.g. the live revision's rollouts). */
  removeAll(): void {
    this.cells.clear();
  }

  protected abstract newCell(): Cell;
  abstract get(): Promise<MetricJson>;
  abstract reset(): void;
}

export interface ValueCell {
  value: number;
}

/** A counter or gauge whose cells are plain numbers: `cell.value++`. */
export class ValueFamily extends Family<ValueCell> {
  constructor(registry: Registry, opts: FamilyOptions & { type: 'counter' | 'gauge' }) {
    super(registry, opts);
    this.type = opts.type;
  }

  readonly type: 'counter' | 'gauge';

  protected newCell(): ValueCell {
    return { value: 0 };
  }

  async get(): Promise<MetricJson> {
    const values: MetricValue[] = [];
    for (const { labels, cell } of this.cells.values()) values.push({ labels, value: cell.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const { cell } of this.cells.values()) cell.value = 0;
  }
}

export class HistogramCell {
  /** Non-cumulative count per bucket; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class HistogramFamily extends Family<HistogramCell> {
  readonly type = 'histogram';
  private readonly bounds: Float64Array;

  constructor(registry: Registry, opts: FamilyOptions & { buckets: readonly number[] }) {
    super(registry, opts);
    this.bounds = Float64Array.from(opts.buckets);
  }

  protected newCell(): HistogramCell {
    return new HistogramCell(this.bounds);
  }

  async get(): Promise<MetricJson> {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels, cell } of this.cells.values()) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += cell.counts[i]!;
        values.push({ labels: { ...labels, le: this.bounds[i]! }, value: acc, metricName: bucket });
      }
      values.push({ labels: { ...labels, le: '+Inf' }, value: cell.count, metricName: bucket });
      values.push({ labels, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: cell.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const { cell } of this.cells.values()) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}
