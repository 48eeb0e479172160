// Starts the control plane of one process: store → control plane (serving and
// following the store) → admin API; then, once every listener of the process is
// bound (`begin`), the seed from the config file → file watch → rollout
// controller. A process that fails to start has written nothing to the store
// (issue 22, finding 7).
//
// A config given at start (--config FILE, or a config value) seeds only an
// EMPTY store; a store with revisions keeps serving its latest, and the log
// says whether the file matches it or is ignored. `applyConfig`
// (serve --apply-config) applies it as a new revision anyway (when it differs):
// the file is then the truth, as with --watch for later edits.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from '../call/hooks.js';
import { listenerUrl, type ListenerTls } from '../http/listener.js';
import type { Metrics } from '../observe/metrics.js';
import type { Observer } from '../observe/record.js';
import type { ReplySampler } from '../observe/reply-sample.js';
import type { Runtime } from '../runtime/runtime.js';
import { bearerAuth, NO_AUTH } from './admin-auth.js';
import { createAdminServer } from './admin-server.js';
import { basename } from 'node:path';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { watchConfigFile, type ConfigWatch, type WatchOutcome } from './config-watch.js';
import { ControlPlane } from './control-plane.js';
import { canonicalJson, type Store } from './store.js';
import { openStore } from './open-store.js';
import { RolloutController, type RolloutControllerOptions } from './rollout-controller.js';
import { TrafficStats } from './traffic-stats.js';
import { FleetTraffic, type FleetTrafficOptions } from './fleet-traffic.js';
import { SpendLedger } from './spend-ledger.js';
import { FleetReadoutReader } from './fleet-readout.js';
import { FleetReadoutWriter } from './fleet-readout-writer.js';
import { tagsJson } from './spend-types.js';
import type { ReadoutLogs } from './experiment-results.js';

export const DEFAULT_ADMIN_PORT = 8081;

export interface AdminOptions {
  port?: number;
  host?: string;
  /** The bearer token (JUNCTION_ADMIN_TOKEN), required when set. Without it and without `insecure` the admin API stays off. */
  token?: string;
  insecure?: boolean;
  /** Serve the admin API over HTTPS (serve --tls-cert/--tls-key). */
  tls?: ListenerTls;
  /** DNS names the admin API answers for besides IP addresses, localhost and `host` (serve --admin-allowed-host). */
  allowedHosts?: readonly string[];
}

export interface ControlOptions {
  /** postgres:// URL of a shared store … */
  store?: string;
  /** … or the SQLite data folder (default ./junction-data; `:memory:` for tests). */
  data?: string;
  /** Re-apply the config file when it changes. */
  watch?: boolean;
  /**
   * Apply the config given at start as a new revision even when the store
   * already has revisions (serve --apply-config). Without it the config seeds
   * only an empty store.
   */
  applyConfig?: boolean;
  admin?: AdminOptions;
  pollMs?: number;
  /** Walk gated rollouts through their steps (serve turns it on). */
  rolloutController?: Omit<RolloutControllerOptions, 'control' | 'log'>;
  /** The logs GET /admin/experiments/{id}/results reads (serve passes --decision-log and --feedback-log). */
  readouts?: ReadoutLogs;
  /** With a PostgreSQL store: how often this process writes its share of the fleet readout (default 2 s; tests shorten it). */
  readoutFlushMs?: number;
  /** How often this process publishes its traffic, and when another is stale (fleet-traffic.ts; tests shorten them). */
  fleet?: Pick<FleetTrafficOptions, 'publishMs' | 'staleMs' | 'maxSkewMs'>;
  /** Told of each watch outcome (tests wait on it). */
  onWatch?: (o: WatchOutcome) => void;
}

export interface StartedControl {
  plane: ControlPlane;
  admin?: Server;
  /** `http://host:port` of the admin API, when it runs. */
  adminUrl?: string;
  controller?: RolloutController;
  /** Samples replies for the gates' output scores. */
  replySampler?: ReplySampler | undefined;
  /** This process's share of the spend ledger, flushed to the store (GET /admin/spend, budgets). */
  spend: SpendLedger;
  /** With a PostgreSQL store: this process's share of the fleet readout (exposures, cell counts, feedback), written in batches. */
  readoutWriter?: FleetReadoutWriter | undefined;
  /** This process's traffic, published to the store from `begin` on; GET /admin/traffic sums the fleet's. */
  fleet: FleetTraffic;
  /** Request observers the data plane must call (the controller's gate statistics, the console's traffic). */
  observers: Observer[];
  /** Observers of routing-only decisions (POST /v1/decide): the console counts them as exposures. */
  decided: Observer[];
  /**
   * Writes the config given at start (by the seeding rule above), then starts
   * the file watch and the rollout controller. Call it once every listener of
   * the process is bound, so a process that cannot start writes nothing.
   */
  begin(): Promise<void>;
  close(): Promise<void>;
}

export async function startControl(
  runtime: Runtime,
  opts: ControlOptions,
  ctx: {
    configFile?: string;
    /** A config value to seed with instead of a file. */ source?: unknown;
    baseDir: string;
    log: Logger;
    /** The Junction's metrics, when they are on (the spend ledger reports dropped batches there). */
    metrics?: Metrics | undefined;
  },
): Promise<StartedControl> {
  const store = await openStore(opts);
  const plane = new ControlPlane({ store, runtime, baseDir: ctx.baseDir, log: ctx.log, pollMs: opts.pollMs });
  // Created before the first revision so it sees which objectives to count from the start.
  // The gates count the rollout's own requests from the records (gate-stats.ts), with metrics on or off.
  const controller = opts.rolloutController
    ? new RolloutController({ control: plane, log: ctx.log, ...opts.rolloutController })
    : undefined;
  // Counted in every process, with an admin API or not: any process's admin API shows the fleet's sum.
  const fleet = fleetTraffic(store, ctx.log, ctx.metrics, opts.fleet);
  const spend = spendLedger(runtime, store, ctx.log, ctx.metrics);
  // With PostgreSQL every replica writes its share of the fleet readout, and the admin API reads the fleet's.
  const fleetReadout =
    opts.store !== undefined && store.kind === 'postgres'
      ? fleetReadouts(opts.store, opts.readoutFlushMs, ctx.log, ctx.metrics)
      : undefined;
  const readouts = opts.readouts && fleetReadout ? { ...opts.readouts, fleet: fleetReadout.reader } : opts.readouts;
  let watch: ConfigWatch | undefined;
  let admin: Server | undefined;
  let adminUrl: string | undefined;
  let begun = false;
  try {
    // The store's latest revision, if any, is served from here on; nothing is written yet.
    await plane.start();
    if (opts.admin)
      ({ admin, adminUrl } = await listenAdmin(plane, opts.admin, ctx.log, controller, fleet, readouts, spend));
  } catch (err) {
    await spend.close();
    await fleetReadout?.close();
    await plane.close();
    throw err;
  }
  return {
    plane,
    admin,
    adminUrl,
    controller,
    observers: [
      ...(controller ? [controller.stats.observe] : []),
      fleet.stats.observe,
      spend.observe,
      ...(fleetReadout ? [fleetReadout.writer.observe] : []),
    ],
    decided: [fleet.stats.observe, ...(fleetReadout ? [fleetReadout.writer.observe] : [])],
    replySampler: controller?.stats,
    spend,
    readoutWriter: fleetReadout?.writer,
    fleet,
    async begin() {
      if (begun) return;
      begun = true;
      if (ctx.configFile !== undefined) {
        // Read again: the file may have changed since the caller validated it, and the store gets what is in it now.
        const { source, text } = loadConfigFile(ctx.configFile);
        await seed(plane, ctx.log, opts.applyConfig === true, {
          source,
          text,
          author: `file:${basename(ctx.configFile)}`,
          what: ctx.configFile,
        });
      } else if (ctx.source !== undefined) {
        await seed(plane, ctx.log, opts.applyConfig === true, {
          source: ctx.source,
          author: 'startup',
          what: 'the config given at start',
        });
      }
      // Another process seeding the same empty store may have written first (--workers): serve its
      // revision now rather than "no config loaded yet" until the next poll of the store.
      await plane.sync();
      if (opts.watch && ctx.configFile !== undefined)
        watch = watchConfigFile(plane, ctx.configFile, ctx.log, opts.onWatch);
      controller?.start();
      fleet.start();
    },
    async close() {
      await controller?.close();
      watch?.close();
      if (admin) {
        admin.closeAllConnections();
        await new Promise<void>((resolve) => admin.close(() => resolve()));
      }
      await spend.close(); // the last batch, before the store closes
      await fleetReadout?.close();
      await fleet.close();
      await plane.close();
    },
  };
}

/**
 * The config given at start goes into the store only when the store is empty,
 * or with `apply` (--apply-config) when it differs from the latest revision.
 * Otherwise the store's revision stays, and the log says so.
 */
async function seed(
  plane: ControlPlane,
  log: Logger,
  apply: boolean,
  given: { source: unknown; text?: string; author: string; what: string },
): Promise<void> {
  const latest = await plane.store.latest();
  if (latest !== undefined && !apply) {
    if (canonicalJson(latest.source) === canonicalJson(given.source)) {
      log.info({ revision: latest.number }, `${given.what} matches the store's revision ${latest.number}`);
    } else {
      log.warn(
        { revision: latest.number, author: latest.author, createdAt: latest.createdAt },
        `${given.what} differs from the store's revision ${latest.number} (by ${latest.author} at ${latest.createdAt}); ` +
          `serving revision ${latest.number} and ignoring the file: a config given at start seeds only an empty store. ` +
          'Restart with --apply-config to apply it as a new revision, or "junction apply FILE"',
      );
    }
    return;
  }
  const result = await plane.apply({
    source: given.source,
    ...(given.text !== undefined ? { text: given.text } : {}),
    author: given.author,
    message:
      apply && latest !== undefined
        ? `applied from ${given.what} at start (--apply-config)`
        : `seeded from ${given.what}`,
    onlyIfChanged: true,
    // Two processes seeding one empty store at once: the first one writes, the other writes nothing.
    onlyIfEmpty: !apply,
  });
  if (!result.unchanged) log.info({ revision: result.revision }, `${given.what} stored as revision ${result.revision}`);
}

/** This process's traffic in the fleet view: drops counted, a store that keeps refusing logged once a minute. */
function fleetTraffic(
  store: Store,
  log: Logger,
  metrics: Metrics | undefined,
  opts: ControlOptions['fleet'],
): FleetTraffic {
  let lastWarned = 0;
  const once = (fn: () => void) => {
    const now = Date.now();
    if (now - lastWarned < 60_000) return;
    lastWarned = now;
    fn();
  };
  return new FleetTraffic({
    store,
    stats: new TrafficStats(),
    ...opts,
    onDropped: (n) => metrics?.telemetry.dropped('fleet_traffic', n),
    onPublishError: (err) =>
      once(() =>
        log.warn({ err: String(err) }, 'fleet traffic: the store refused a publish; its slots wait for the next one'),
      ),
    onSkew: (skewMs) =>
      once(() =>
        log.warn(
          { skewMs },
          "fleet traffic: this process's clock is off the store's; other processes leave its traffic out until it is synchronized",
        ),
      ),
  });
}

/** The ledger of this process: tags from the live config (a client's tags JSON made once per revision), drops counted. */
function spendLedger(runtime: Runtime, store: Store, log: Logger, metrics: Metrics | undefined): SpendLedger {
  let seen: Config | undefined;
  let tags = new Map<string, string>();
  let lastWarned = 0;
  return new SpendLedger({
    addSpend: (entries) => store.addSpend(entries),
    tagsOf(client) {
      const config = runtime.current?.config;
      if (config !== seen) {
        seen = config;
        tags = new Map();
      }
      let t = tags.get(client);
      if (t === undefined) tags.set(client, (t = tagsJson(config?.clients[client]?.tags)));
      return t;
    },
    onDropped: (n) => metrics?.telemetry.dropped('spend_ledger', n),
    onFlushError(err) {
      // Every 5 s while the store is down: one line a minute says so.
      const now = Date.now();
      if (now - lastWarned < 60_000) return;
      lastWarned = now;
      log.warn({ err: String(err) }, 'spend ledger: the store refused a batch; it is kept for the next flush');
    },
  });
}

async function listenAdmin(
  plane: ControlPlane,
  opts: AdminOptions,
  log: Logger,
  controller: RolloutController | undefined,
  traffic: FleetTraffic,
  readouts: ReadoutLogs | undefined,
  spend: SpendLedger,
): Promise<{ admin?: Server; adminUrl?: string }> {
  if (!opts.token && !opts.insecure) {
    log.warn(
      {},
      'admin API off: set JUNCTION_ADMIN_TOKEN (or pass --insecure-admin on a trusted network) to change the config over HTTP',
    );
    return {};
  }
  if (!opts.token) {
    log.warn(
      {},
      'INSECURE ADMIN API: --insecure-admin lets anyone who reaches the admin port change the routing config; use JUNCTION_ADMIN_TOKEN outside development',
    );
  }
  const admin = createAdminServer({
    control: plane,
    auth: opts.token ? bearerAuth(opts.token) : NO_AUTH,
    log,
    controller,
    traffic,
    readouts,
    spend,
    tls: opts.tls,
    // The name it is bound to, when it is a name, is one it answers for.
    allowedHosts: [...(opts.allowedHosts ?? []), opts.host ?? '127.0.0.1'],
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    admin.once('error', reject);
    admin.listen(opts.port ?? DEFAULT_ADMIN_PORT, host, () => resolve());
  });
  const { port } = admin.address() as AddressInfo;
  return { admin, adminUrl: listenerUrl(opts.tls, host, port) };
}

/** The fleet readout of this process: its writer (drops counted; a store that keeps refusing logged once a minute) and the admin API's reader. */
function fleetReadouts(url: string, flushMs: number | undefined, log: Logger, metrics: Metrics | undefined) {
  let lastWarned = 0;
  const writer = new FleetReadoutWriter({
    url,
    flushMs,
    onDropped: (n) => metrics?.telemetry.dropped('fleet_readout', n),
    onFlushError(err) {
      const now = Date.now();
      if (now - lastWarned < 60_000) return;
      lastWarned = now;
      log.warn(
        { err: String(err) },
        'fleet readout: the store refused a batch; it is kept (within its bound) for the next flush',
      );
    },
  });
  const reader = new FleetReadoutReader(url);
  return {
    writer,
    reader,
    async close() {
      await writer.close();
      await reader.close();
    },
  };
}
