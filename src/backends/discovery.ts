// Discovered endpoints (SPEC §14 `discovery`): when a backend sets
// `discovery`, each endpoint whose host is a DNS name (not an IP address) is
// resolved, and every A and AAAA address in the answer is a replica (a
// Kubernetes headless Service). Names are re-resolved every `intervalMs` and
// membership follows live: new addresses get their own pool and take calls at
// once; addresses gone take no new call and their pools close once the calls
// they have open are done. A name that fails to resolve keeps its last good
// set and says so (its DiscoveryView error, /readyz, junction_dropped_total
// {sink="dns_resolve"}, a log line); an answer longer than `maxAddresses` is
// cut, counted (sink="dns_answer"). Names are resolved by DNS (node:dns's
// Resolver, c-ares), not /etc/hosts; `dnsServers` points it elsewhere (tests).
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from '../call/hooks.js';
import { redactUrl } from '../config/redact.js';
import type { Telemetry } from '../observe/telemetry.js';
import type { EndpointSet, Replica } from './http/endpoints.js';
import type { DiscoveryState } from './replica.js';
import type { DiscoveryView } from './types.js';

/** The resolver's two calls; injectable so tests can answer anything. */
export interface AddressResolver {
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
}

export interface DiscoveryOptions {
  backend: string;
  intervalMs: number;
  maxAddresses: number;
  telemetry: Telemetry;
  logger?: Logger | undefined;
  /** `host:port` DNS servers instead of the system's. */
  dnsServers?: readonly string[] | undefined;
  resolver?: AddressResolver | undefined;
  /** Makes the replica for an address of `host` (default: the set's own); TLS keeps `host` as the server name. */
  open?: ((url: string, host: string) => Replica) | undefined;
  /** Told when a replica joins or leaves (pool metrics). */
  opened?: ((e: Replica) => void) | undefined;
  closed?: ((e: Replica) => void) | undefined;
}

/** Whether an endpoint URL names a host to resolve (not an IP literal). */
export function isDiscoverable(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return isIP(host) === 0;
}

/** `url` with its host replaced by `address` (IPv6 in brackets). */
export function withAddress(url: string, address: string): string {
  const u = new URL(url);
  u.hostname = isIP(address) === 6 ? `[${address}]` : address;
  const written = url.split(/[?#]/)[0]!;
  const text = u.toString();
  // URL adds a trailing slash to a bare origin: keep the form the config wrote.
  return u.pathname === '/' && !written.endsWith('/') && u.search === '' ? text.slice(0, -1) : text;
}

interface Name {
  url: string;
  host: string;
  state: DiscoveryState;
  /** address → its replica */
  replicas: Map<string, Replica>;
  resolving: boolean;
}

export class Discovery<E extends Replica> {
  private readonly names: Name[];
  private readonly resolver: AddressResolver;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly set: EndpointSet<E>,
    urls: readonly string[],
    private readonly opts: DiscoveryOptions,
  ) {
    this.names = urls.map((url) => ({
      url,
      host: new URL(url).hostname,
      state: { name: redactUrl(url), resolvedAt: undefined, error: undefined },
      replicas: new Map(),
      resolving: false,
    }));
    if (opts.resolver !== undefined) this.resolver = opts.resolver;
    else {
      const r = new Resolver({ timeout: Math.min(2000, opts.intervalMs), tries: 2 });
      if (opts.dnsServers !== undefined && opts.dnsServers.length > 0) r.setServers([...opts.dnsServers]);
      this.resolver = r;
    }
  }

  /** Resolves every name once (the first set of replicas), then keeps them current. */
  async start(): Promise<void> {
    await this.tick();
    if (this.stopped) return;
    this.timer = setInterval(() => void this.tick().catch(() => undefined), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  views(): DiscoveryView[] {
    return this.names.map((n) => ({ ...n.state }));
  }

  tick(): Promise<void> {
    return Promise.all(this.names.map((n) => this.resolve(n))).then(() => undefined);
  }

  private async resolve(n: Name): Promise<void> {
    if (n.resolving || this.stopped) return;
    n.resolving = true;
    try {
      const [v4, v6] = await Promise.allSettled([this.resolver.resolve4(n.host), this.resolver.resolve6(n.host)]);
      if (this.stopped) return;
      const found = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
      if (found.length === 0) {
        const reason: unknown = v4.status === 'rejected' ? v4.reason : v6.status === 'rejected' ? v6.reason : undefined;
        const message =
          reason instanceof Error ? ((reason as { code?: string }).code ?? reason.message) : 'no addresses';
        this.failed(n, message);
        return;
      }
      const unique = [...new Set(found)].filter((a) => isIP(a) !== 0);
      if (unique.length > this.opts.maxAddresses) {
        const cut = unique.length - this.opts.maxAddresses;
        this.opts.telemetry.dropped('dns_answer', cut);
        this.opts.logger?.warn(
          { backend: this.opts.backend, name: n.state.name, addresses: unique.length, kept: this.opts.maxAddresses },
          'discovery: the DNS answer has more addresses than maxAddresses; the rest are ignored',
        );
        unique.length = this.opts.maxAddresses;
      }
      this.apply(n, unique);
      if (n.state.error !== undefined)
        this.opts.logger?.info(
          { backend: this.opts.backend, name: n.state.name },
          'discovery: the name resolves again',
        );
      n.state.error = undefined;
      n.state.resolvedAt = Date.now();
    } finally {
      n.resolving = false;
    }
  }

  private failed(n: Name, message: string): void {
    this.opts.telemetry.dropped('dns_resolve');
    if (n.state.error === undefined) {
      this.opts.logger?.warn(
        { backend: this.opts.backend, name: n.state.name, error: message, kept: n.replicas.size },
        'discovery: the name does not resolve; its last good set of replicas is kept',
      );
    }
    n.state.error = message;
  }

  /** Membership to `addresses`: new ones added, gone ones removed (their pools close after their calls). */
  private apply(n: Name, addresses: readonly string[]): void {
    const want = new Set(addresses);
    const gone: E[] = [];
    for (const [address, e] of n.replicas) {
      if (!want.has(address)) {
        gone.push(e as E);
        n.replicas.delete(address);
      }
    }
    const added: E[] = [];
    for (const address of addresses) {
      if (n.replicas.has(address)) continue;
      const url = withAddress(n.url, address);
      const e = (this.opts.open?.(url, n.host) ?? this.set.open(url)) as E;
      e.discovery = n.state;
      n.replicas.set(address, e);
      added.push(e);
    }
    this.set.add(added);
    for (const e of added) this.opts.opened?.(e);
    void this.set.remove(gone).then(() => {
      for (const e of gone) this.opts.closed?.(e);
    });
  }
}

/**
 * A backend's endpoints as written, split for `discovery`: the names to
 * resolve (hosts that are not IP literals; none without `discovery`) and the
 * replicas that are fixed. HTTP and gRPC backends both start from this.
 */
export function splitEndpoints(cfg: {
  endpoints: readonly string[];
  discovery?: { intervalMs: number; maxAddresses: number } | undefined;
}): { names: string[]; fixed: readonly string[] } {
  const names = cfg.discovery !== undefined ? cfg.endpoints.filter(isDiscoverable) : [];
  return { names, fixed: names.length > 0 ? cfg.endpoints.filter((u) => !names.includes(u)) : cfg.endpoints };
}

/**
 * The backend's discovery of `names` into `set`, started (undefined when there
 * are no names): the one wiring of HTTP and gRPC backends, which differ only in
 * how a replica is opened for an address and how it is named in metrics.
 */
export function startDiscovery<E extends Replica>(
  set: EndpointSet<E>,
  names: readonly string[],
  cfg: { discovery?: { intervalMs: number; maxAddresses: number } | undefined },
  opts: {
    backend: string;
    telemetry: Telemetry;
    logger?: Logger | undefined;
    dnsServers?: readonly string[] | undefined;
    open: (url: string, host: string) => E;
    label: (e: E) => string;
  },
): { discovery: Discovery<E>; started: Promise<void> } | undefined {
  if (names.length === 0 || cfg.discovery === undefined) return undefined;
  const { telemetry, backend, label } = opts;
  const discovery = new Discovery(set, names, {
    backend,
    intervalMs: cfg.discovery.intervalMs,
    maxAddresses: cfg.discovery.maxAddresses,
    telemetry,
    logger: opts.logger,
    dnsServers: opts.dnsServers,
    open: opts.open,
    opened: (e) => telemetry.endpointOpened(backend, label(e as E)),
    closed: (e) => telemetry.endpointClosed(backend, label(e as E)),
  });
  return { discovery, started: discovery.start() };
}
