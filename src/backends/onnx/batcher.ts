// Dynamic batching: concurrent requests to one session are merged along the
// batch dimension into one run, up to `maxBatch` rows or `maxDelayMs` of
// waiting, and each caller gets its own rows of every output back. Requests
// whose non-batch dimensions differ (e.g. sequence lengths) batch separately.
import * as ort from 'onnxruntime-node';

export type Feeds = Record<string, ort.Tensor>;
export type Runner = (feeds: Feeds) => Promise<Feeds>;

interface Pending {
  feeds: Feeds;
  rows: number;
  resolve: (out: Feeds) => void;
  reject: (err: unknown) => void;
}

interface Group {
  items: Pending[];
  rows: number;
  /** Cancels the pending delayed flush. */
  cancel: (() => void) | undefined;
}

export interface BatchStats {
  /** Session runs made. */
  runs: number;
  /** Requests served; requests / runs is the mean batch size. */
  requests: number;
}

export class Batcher {
  readonly stats: BatchStats = { runs: 0, requests: 0 };
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly runner: Runner,
    private readonly maxBatch: number,
    private readonly maxDelayMs: number,
  ) {}

  run(feeds: Feeds, rows: number): Promise<Feeds> {
    if (this.maxBatch <= 1 || rows >= this.maxBatch) return this.direct(feeds);
    return new Promise<Feeds>((resolve, reject) => {
      const key = groupKey(feeds);
      let group = this.groups.get(key);
      if (group !== undefined && group.rows + rows > this.maxBatch) {
        this.flush(key, group);
        group = undefined;
      }
      if (group === undefined) {
        group = { items: [], rows: 0, cancel: undefined };
        this.groups.set(key, group);
      }
      group.items.push({ feeds, rows, resolve, reject });
      group.rows += rows;
      if (group.rows >= this.maxBatch) this.flush(key, group);
      else if (group.cancel === undefined) {
        const g = group;
        const flush = () => this.flush(key, g);
        if (this.maxDelayMs > 0) {
          const timer = setTimeout(flush, this.maxDelayMs);
          g.cancel = () => clearTimeout(timer);
        } else {
          // maxDelayMs 0 gathers the callers of the same turn of the event
          // loop (setTimeout(0) would cost a whole millisecond).
          const immediate = setImmediate(flush);
          g.cancel = () => clearImmediate(immediate);
        }
      }
    });
  }

  private direct(feeds: Feeds): Promise<Feeds> {
    this.stats.runs++;
    this.stats.requests++;
    return this.runner(feeds);
  }

  private flush(key: string, group: Group): void {
    if (this.groups.get(key) === group) this.groups.delete(key);
    group.cancel?.();
    const { items } = group;
    if (items.length === 1) {
      const only = items[0]!;
      this.direct(only.feeds).then(only.resolve, only.reject);
      return;
    }
    this.stats.runs++;
    this.stats.requests += items.length;
    this.runner(
      concatFeeds(
        items.map((i) => i.feeds),
        group.rows,
      ),
    ).then(
      (out) => {
        let slices: Feeds[];
        try {
          let offset = 0;
          slices = items.map((item) => sliceFeeds(out, (offset += item.rows) - item.rows, item.rows, group.rows));
        } catch (err) {
          for (const item of items) item.reject(err);
          return;
        }
        items.forEach((item, i) => item.resolve(slices[i]!));
      },
      (err: unknown) => {
        for (const item of items) item.reject(err);
      },
    );
  }
}

function groupKey(feeds: Feeds): string {
  let key = '';
  for (const name in feeds) key += `${name}:${feeds[name]!.type}:${feeds[name]!.dims.slice(1).join('x')};`;
  return key;
}

function concatFeeds(all: Feeds[], rows: number): Feeds {
  const out: Feeds = {};
  for (const name in all[0]) {
    const first = all[0][name]!;
    const parts = all.map((f) => f[name]!.data);
    let data: ort.Tensor.DataType;
    if (Array.isArray(parts[0])) data = (parts as string[][]).flat();
    else {
      const total = parts.reduce((n, p) => n + p.length, 0);
      const Ctor = (parts[0] as Float32Array).constructor as new (n: number) => Float32Array;
      const merged = new Ctor(total);
      let at = 0;
      for (const p of parts as Float32Array[]) {
        merged.set(p, at);
        at += p.length;
      }
      data = merged;
    }
    out[name] = new ort.Tensor(first.type, data, [rows, ...first.dims.slice(1)]);
  }
  return out;
}

/** Rows [offset, offset + rows) of every output; outputs must be batch-major. */
function sliceFeeds(out: Feeds, offset: number, rows: number, total: number): Feeds {
  const mine: Feeds = {};
  for (const name in out) {
    const t = out[name]!;
    if (t.dims[0] !== total)
      throw new Error(`output "${name}" is not batch-major (dims ${t.dims.join('x')} for ${total} rows)`);
    const per = t.data.length / total;
    const data = t.data as Float32Array;
    mine[name] = new ort.Tensor(t.type, data.slice(offset * per, (offset + rows) * per) as ort.Tensor.DataType, [
      rows,
      ...t.dims.slice(1),
    ]);
  }
  return mine;
}
