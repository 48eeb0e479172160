import type { Send } from '../call/types.js';

/** A replica's last load report, as the balancers read it (SPEC §14). */
export interface ReplicaLoadView {
  /** Requests waiting in the replica's queue. */
  readonly queue: number;
  /** Requests the replica is running. */
  readonly running: number;
  /** KV-cache use, 0..1 (undefined when the replica does not report it). */
  readonly kvCache: number | undefined;
  /** How old the report is, ms. */
  readonly ageMs: number;
  /** Where it came from: a scrape of the replica's Prometheus page, or the ORCA reply header. */
  readonly source: 'metrics' | 'orca';
}

/** How a replica's DNS name resolved (discovered endpoints only). */
export interface DiscoveryView {
  /** The configured endpoint whose name was resolved, e.g. `http://vllm.ns.svc:8000`. */
  readonly name: string;
  /** Wall-clock time (ms since the epoch) of the last successful resolve, if any. */
  readonly resolvedAt: number | undefined;
  /** Why the last resolve failed (the last good set is kept), undefined when it succeeded. */
  readonly error: string | undefined;
}

/**
 * One replica behind a target, read-only, for explain, the console and the
 * admin API (SPEC §14). Built on demand; never on the request path.
 */
export interface ReplicaView {
  /** The replica's URL without credentials or query (the decision log's `endpoint`). */
  readonly address: string;
  /** Calls Junction has open to it now. */
  readonly outstanding: number;
  /** Active health checks' verdict. */
  readonly ready: boolean;
  /** Wall-clock time (ms since the epoch) until which it is ejected; undefined when it is not. */
  readonly ejectedUntil: number | undefined;
  /** Why it was last ejected (e.g. `5 consecutive failures`), undefined if never. */
  readonly ejectedWhy: string | undefined;
  /** Its last load report, undefined when none (or load reports are off). */
  readonly load: ReplicaLoadView | undefined;
  /** LoRA adapters it has loaded (from its `/v1/models`), undefined when not known. */
  readonly adapters: readonly string[] | undefined;
  /** Discovery status of the name it came from; undefined for an endpoint given as an address. */
  readonly discovery: DiscoveryView | undefined;
}

/** One deployed version's execution: remote endpoints or an in-process session. */
export interface Backend {
  readonly send: Send;
  /** True while at least one endpoint (or the in-process session) can take calls. */
  healthy(): boolean;
  /** Where a caller could reach this version directly (decide API), if anywhere. */
  endpoint(): string | undefined;
  /** The replicas behind this version now (remote backends; in-process ones have none). */
  replicas?(): ReplicaView[];
  /** How each discovered name last resolved (backends with `discovery`), for /readyz and explain. */
  discovery?(): DiscoveryView[];
  /** Resolves once the backend has its first replicas (discovery's first answer, bounded by the resolver's timeout). */
  ready?(): Promise<void>;
  close(): Promise<void>;
}
