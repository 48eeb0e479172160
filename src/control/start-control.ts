// Starts the control plane of one process: store → control plane (seeded from
// the config file, following the store) → admin API → file watch → rollout controller.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from '../call/hooks.js';
import { listenerUrl, type ListenerTls } from '../faces/listener.js';
import { createMetrics, type Metrics } from '../observe/metrics.js';
import type { Observer } from '../observe/record.js';
import type { ReplySampler } from '../faces/reply-sample.js';
import type { Runtime } from '../runtime/runtime.js';
import { bearerAuth, NO_AUTH } from './admin-auth.js';
import { createAdminServer } from './admin-server.js';
import { applyConfigFile, watchConfigFile, type ConfigWatch, type WatchOutcome } from './config-watch.js';
import { ControlPlane } from './control-plane.js';
import { openStore } from './open-store.js';
import { RolloutController, type RolloutControllerOptions } from './rollout-controller.js';
import { TrafficStats } from './traffic-stats.js';
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
}

export interface ControlOptions {
  /** postgres:// URL of a shared store … */
  store?: string;
  /** … or the SQLite data folder (default ./junction-data; `:memory:` for tests). */
  data?: string;
  /** Re-apply the config file when it changes. */
  watch?: boolean;
  admin?: AdminOptions;
  pollMs?: number;
  /** Walk gated rollouts through their steps (serve turns it on). */
  rolloutController?: Omit<RolloutControllerOptions, 'control' | 'log' | 'liveCounts'>;
  /** The logs GET /admin/experiments/{id}/results reads (serve passes --decision-log and --feedback-log). */
  readouts?: ReadoutLogs;
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
  /** Request observers the data plane must call (the controller's gate statistics, the console's traffic). */
  observers: Observer[];
  /** Observers of routing-only decisions (POST /v1/decide): the console counts them as exposures. */
  decided: Observer[];
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
    /** The Junction's metrics, when they are on: the rollout gates read the same series as /metrics. */
    metrics?: Metrics | undefined;
  },
): Promise<StartedControl> {
  const store = await openStore(opts);
  const plane = new ControlPlane({ store, runtime, baseDir: ctx.baseDir, log: ctx.log, pollMs: opts.pollMs });
  // Created before the first revision so it sees which objectives to count from the start.
  // With metrics off there is no /metrics to agree with: the gates count on metrics of their own, fed by the same end observer.
  const ownMetrics = opts.rolloutController && ctx.metrics === undefined ? createMetrics() : undefined;
  const metrics = ctx.metrics ?? ownMetrics;
  const controller =
    opts.rolloutController && metrics
      ? new RolloutController({
          control: plane,
          log: ctx.log,
          liveCounts: metrics.liveCounts,
          ...opts.rolloutController,
        })
      : undefined;
  // Counted only where the admin API can show it.
  const traffic = opts.admin ? new TrafficStats() : undefined;
  let watch: ConfigWatch | undefined;
  let admin: Server | undefined;
  let adminUrl: string | undefined;
  try {
    if (ctx.configFile !== undefined) await applyConfigFile(plane, ctx.configFile, `seeded from ${ctx.configFile}`);
    else if (ctx.source !== undefined)
      await plane.apply({ source: ctx.source, author: 'startup', message: 'initial config', onlyIfChanged: true });
    await plane.start();
    if (opts.watch && ctx.configFile !== undefined)
      watch = watchConfigFile(plane, ctx.configFile, ctx.log, opts.onWatch);
    if (opts.admin)
      ({ admin, adminUrl } = await listenAdmin(plane, opts.admin, ctx.log, controller, traffic, opts.readouts));
    controller?.start();
  } catch (err) {
    watch?.close();
    await plane.close();
    throw err;
  }
  return {
    plane,
    admin,
    adminUrl,
    controller,
    observers: [
      // Only objectives under rollout: the gates read nothing else of these metrics, and nobody scrapes them.
      ...(ownMetrics && controller
        ? [
            ((r) => {
              if (r.outcome !== undefined && controller.stats.tracks(r.outcome.objective)) ownMetrics.end(r);
            }) satisfies Observer,
          ]
        : []),
      ...(controller ? [controller.stats.observe] : []),
      ...(admin && traffic ? [traffic.observe] : []),
    ],
    decided: admin && traffic ? [traffic.observe] : [],
    replySampler: controller?.stats,
    async close() {
      await controller?.close();
      watch?.close();
      if (admin) {
        admin.closeAllConnections();
        await new Promise<void>((resolve) => admin.close(() => resolve()));
      }
      await plane.close();
    },
  };
}

async function listenAdmin(
  plane: ControlPlane,
  opts: AdminOptions,
  log: Logger,
  controller: RolloutController | undefined,
  traffic: TrafficStats | undefined,
  readouts: ReadoutLogs | undefined,
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
    tls: opts.tls,
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    admin.once('error', reject);
    admin.listen(opts.port ?? DEFAULT_ADMIN_PORT, host, () => resolve());
  });
  const { port } = admin.address() as AddressInfo;
  return { admin, adminUrl: listenerUrl(opts.tls, host, port) };
}
