// The replicas behind one version: keep-alive pools, a balancer per call
// (balance/: power-of-two-choices on outstanding requests by default), passive ejection of endpoints that keep failing (with
// recovery after the ejection time), and the readiness that active health
// checks (health-check.ts) set. Every change of an endpoint's availability is
// reported, so the endpoint-health metric and /readyz agree.
import { Pool } from 'undici';
import { JunctionError } from '../../errors.js';
import type { HttpBackendConfig } from '../../config/schema.js';
import type { TlsConnectOptions } from '../tls.js';
import { redactUrl } from '../../config/redact.js';
import { ReplicaState } from '../replica.js';
import type { ReplicaView } from '../types.js';
import type { Balance } from '../../config/schema.js';
import { p2c, P2cBalancer } from '../balance/p2c.js';
import { newPickInput, type Balancer, type PickInput } from '../balance/types.js';

export interface EndpointOptions {
  connections: number;
  maxConcurrency: number | undefined;
  consecutiveFailures: number;
  baseEjectionMs: number;
  maxEjectedPercent: number;
  /** Client TLS settings for https:// endpoints (CA, client certificate, SNI). */
  tls?: TlsConnectOptions | undefined;
}

/** Active health checks when `health` sets no interval or timeout (or is absent but the protocol has a readiness path). */
export const HEALTH_DEFAULTS = { intervalMs: 5000, timeoutMs: 1000 } as const;

/** A backend's endpoint-set settings, for HTTP and gRPC alike: the schema's ejection defaults when `ejection` is absent. */
export function endpointOptions(cfg: HttpBackendConfig, tls?: TlsConnectOptions): EndpointOptions {
  return {
    connections: cfg.connections,
    maxConcurrency: cfg.maxConcurrency,
    consecutiveFailures: cfg.ejection?.consecutiveFailures ?? 5,
    baseEjectionMs: cfg.ejection?.baseEjectionMs ?? 10_000,
    maxEjectedPercent: cfg.ejection?.maxEjectedPercent ?? 50,
    tls,
  };
}

/** What the set balances and ejects: one replica, whatever carries its calls (an undici pool, gRPC channels). */
export type Replica = ReplicaState;

/** Told whenever an endpoint becomes available or unavailable. */
export type HealthReport<E extends Replica = Endpoint> = (endpoint: E, healthy: boolean) => void;

export class Endpoint extends ReplicaState {
  readonly origin: string;
  /** The endpoint URL's path without a trailing slash ('' for the root). */
  readonly basePath: string;
  readonly pool: Pool;

  constructor(url: string, connections: number, tls?: TlsConnectOptions) {
    super(url, redactUrl(url));
    const u = new URL(url);
    this.origin = u.origin;
    this.basePath = (u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '')) + u.search;
    this.pool = new Pool(u.origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      ...(tls !== undefined && u.protocol === 'https:' ? { connect: tls } : {}),
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** The longest a removed replica's open calls are waited for before its transport is closed under them. */
const MAX_DRAIN_MS = 10 * 60_000;

/** Resolves once `e` has no call open (checked every 50 ms), or after MAX_DRAIN_MS. */
function drained(e: Replica): Promise<void> {
  if (e.outstanding <= 0) return Promise.resolve();
  const until = performance.now() + MAX_DRAIN_MS;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (e.outstanding <= 0 || performance.now() > until) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
    timer.unref();
  });
}

export class EndpointSet<E extends Replica = Endpoint> {
  /** The replicas taking calls now. Replaced whole when membership changes (discovery), never edited in place. */
  endpoints: readonly E[];
  /** What the balancers know of the call being picked for: one object, overwritten per call. */
  readonly input: PickInput = newPickInput();
  /** Why the last pick chose what it did (`p2c`, `least-load`, `prefix-hit`, …). */
  reason = 'p2c';
  private readonly p2c = new P2cBalancer();
  private readonly balancers = new Map<Balance, Balancer>();
  /** Whether a replica may take the call being picked for (bound once: no closure per call). */
  readonly ok = (e: E): boolean => e.available(this.input.now) && this.hasRoom(e) && !e.removed;

  constructor(
    urls: readonly string[],
    private readonly opts: EndpointOptions,
    private readonly report: HealthReport<E> = () => undefined,
    private readonly clock: () => number = () => performance.now(),
    readonly open: (url: string) => E = (u) => new Endpoint(u, opts.connections, opts.tls) as unknown as E,
    private readonly makeBalancer: (name: Balance) => Balancer = () => new P2cBalancer(),
  ) {
    this.endpoints = urls.map(open);
    for (const e of this.endpoints) report(e, true);
  }

  /**
   * An endpoint for one call, or the error every backend answers when there is
   * none: `overloaded` when all are at their concurrency cap, else
   * `no_healthy_backend`. `balance` picks it (p2c when undefined); fill
   * `input` (prefix key, adapter) before calling for the balancers that read it.
   */
  pickOrRefuse(now: number, targetId: string, objective: string, balance?: Balance): E {
    const e = balance === undefined || balance === 'p2c' ? this.pick(now) : this.pickWith(balance, now);
    if (e !== undefined) return e;
    if (this.anyAvailable(now))
      throw new JunctionError('overloaded', `every endpoint of ${targetId} is at its concurrency cap`, { objective });
    throw new JunctionError('no_healthy_backend', `no endpoint of ${targetId} is available`, { objective });
  }

  /**
   * Two random available endpoints, the less loaded wins (balance/p2c.ts).
   * Returns undefined when none is available or all are at their concurrency cap.
   */
  pick(now: number, random: () => number = Math.random): E | undefined {
    this.input.now = now;
    this.reason = 'p2c';
    return p2c(this.endpoints, this.ok, random);
  }

  /** The pick of the named balancer (made once per name), with `input` as the caller filled it. */
  pickWith(balance: Balance, now: number, random: () => number = Math.random): E | undefined {
    let b = this.balancers.get(balance);
    if (b === undefined) this.balancers.set(balance, (b = balance === 'p2c' ? this.p2c : this.makeBalancer(balance)));
    const input = this.input;
    input.now = now;
    input.random = random;
    const e = b.pick(this.endpoints, this.ok, input);
    this.reason = b.reason;
    return e;
  }

  /** Adds replicas (discovery): they take calls at once. */
  add(list: readonly E[]): void {
    if (list.length === 0) return;
    this.endpoints = [...this.endpoints, ...list];
    for (const e of list) this.report(e, true);
  }

  /**
   * Takes replicas out (discovery): no new call goes to them; each one's pool
   * closes once the calls it has open are done (undici's close waits for them).
   */
  remove(list: readonly E[]): Promise<void> {
    if (list.length === 0) return Promise.resolve();
    const gone = new Set(list);
    this.endpoints = this.endpoints.filter((e) => !gone.has(e));
    const closing: Promise<void>[] = [];
    for (const e of list) {
      e.removed = true;
      clearTimeout(e.recovery);
      closing.push(drained(e).then(() => e.close().catch(() => undefined)));
    }
    return Promise.all(closing).then(() => undefined);
  }

  /** Each replica as explain and the console show it. */
  views(now: number): ReplicaView[] {
    return this.endpoints.map((e) => e.view(now));
  }

  anyAvailable(now: number): boolean {
    return this.endpoints.some((e) => e.available(now));
  }

  success(e: E): void {
    e.failures = 0;
  }

  /** A failed call (connection error or 5xx). Enough in a row ejects the endpoint for a growing time. */
  failure(e: E, now: number): void {
    e.failures++;
    if (e.failures < this.opts.consecutiveFailures || e.ejectedUntil > now) return;
    const ejected = this.endpoints.filter((x) => x.ejectedUntil > now).length;
    // Never eject so many that the set cannot serve (Envoy's max_ejection_percent);
    // a single endpoint may always be ejected, so callers see no_healthy_backend fast.
    if (this.endpoints.length > 1 && ((ejected + 1) / this.endpoints.length) * 100 > this.opts.maxEjectedPercent)
      return;
    const wasAvailable = e.available(now);
    e.ejections++;
    const ms = this.opts.baseEjectionMs * Math.min(e.ejections, 10);
    e.ejectedUntil = now + ms;
    e.ejectedWhy = `${e.failures} consecutive failures`;
    e.failures = 0;
    if (wasAvailable) this.report(e, false);
    // Recovery is lazy for picking (ejectedUntil is compared on each call); the
    // timer only reports it, so the metric and /readyz see the endpoint return.
    clearTimeout(e.recovery);
    e.recovery = setTimeout(() => {
      e.recovery = undefined;
      if (e.available(this.clock())) this.report(e, true);
    }, ms + 1);
    e.recovery.unref();
  }

  /**
   * An active health check's verdict. A passing check after a failing one means
   * the replica came back (restarted, reloaded): it also ends a passive ejection
   * and forgets the ejection history. A check that keeps passing leaves an
   * ejection alone — the readiness endpoint can be fine while inference fails.
   */
  setReady(e: E, ready: boolean, now: number): void {
    if (e.ready === ready) return;
    const before = e.available(now);
    e.ready = ready;
    if (ready) {
      e.ejectedUntil = 0;
      e.ejections = 0;
      e.failures = 0;
      clearTimeout(e.recovery);
      e.recovery = undefined;
    }
    const after = e.available(now);
    if (before !== after) this.report(e, after);
  }

  hasRoom(e: E): boolean {
    return this.opts.maxConcurrency === undefined || e.outstanding < this.opts.maxConcurrency;
  }

  async close(): Promise<void> {
    for (const e of this.endpoints) clearTimeout(e.recovery);
    await Promise.all(this.endpoints.map((e) => e.close().catch(() => undefined)));
  }
}
