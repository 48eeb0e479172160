// What every replica carries besides its transport (an undici pool, gRPC
// channels): the counters the endpoint set balances and ejects on, its last
// load report, the adapters it has loaded and where its address came from.
// HTTP and gRPC replicas extend this one class, so every balancer, the load
// reports and discovery work the same for both.
import type { DiscoveryView, ReplicaView } from './types.js';

/** A replica's load as it last reported it (scraped metrics or the ORCA reply header). */
export interface LoadReport {
  queue: number;
  running: number;
  /** 0..1, undefined when not reported. */
  kvCache: number | undefined;
  /** performance.now() when it was taken. */
  at: number;
  source: 'metrics' | 'orca';
}

/** How one configured DNS name last resolved; shared by every replica it produced. */
export interface DiscoveryState {
  readonly name: string;
  /** Wall clock (Date.now()) of the last good answer. */
  resolvedAt: number | undefined;
  error: string | undefined;
}

/** 32-bit FNV-1a of a string: a replica's place in consistent-hashing order. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export abstract class ReplicaState {
  readonly url: string;
  /** The URL without credentials or query: what metrics, logs and views show. */
  readonly address: string;
  /** Its place in consistent-hashing order (prefix balancing). */
  readonly hash: number;
  outstanding = 0;
  failures = 0;
  ejections = 0;
  ejectedUntil = 0;
  /** Why it was last ejected. */
  ejectedWhy: string | undefined = undefined;
  /** Set by active health checks; passive ejection is separate. */
  ready = true;
  recovery: NodeJS.Timeout | undefined = undefined;
  /** Last load report, undefined until one arrives. */
  load: LoadReport | undefined = undefined;
  /**
   * Junction's own open calls when the last report arrived: the change since
   * (calls sent minus calls finished) is added to the report, so a burst
   * between two scrapes is seen and calls that finished since are not counted.
   */
  outstandingAtReport = 0;
  /** LoRA adapters it lists (adapter balancing), undefined when not known. */
  adapters: ReadonlySet<string> | undefined = undefined;
  /** Discovery state of the name it came from, if any. */
  discovery: DiscoveryState | undefined = undefined;
  /** Removed from its set (discovery): takes no new calls, closes once its calls are done. */
  removed = false;

  constructor(url: string, address: string) {
    this.url = url;
    this.address = address;
    this.hash = hashString(address);
  }

  available(now: number): boolean {
    return this.ready && this.ejectedUntil <= now;
  }

  abstract close(): Promise<void>;

  /** Read-only view for explain, the console and the admin API. */
  view(now: number): ReplicaView {
    const load = this.load;
    const d = this.discovery;
    const wallNow = Date.now();
    return {
      address: this.address,
      outstanding: this.outstanding,
      ready: this.ready,
      ejectedUntil: this.ejectedUntil > now ? Math.round(wallNow + (this.ejectedUntil - now)) : undefined,
      ejectedWhy: this.ejectedWhy,
      load:
        load === undefined
          ? undefined
          : {
              queue: load.queue,
              running: load.running,
              kvCache: load.kvCache,
              ageMs: Math.max(0, Math.round(now - load.at)),
              source: load.source,
            },
      adapters: this.adapters === undefined ? undefined : [...this.adapters].sort(),
      discovery:
        d === undefined
          ? undefined
          : ({ name: d.name, resolvedAt: d.resolvedAt, error: d.error } satisfies DiscoveryView),
    };
  }
}
