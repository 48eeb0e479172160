// GET /v1/config/snapshot (SPEC §10): what deciding needs, with an ETag naming
// the revision, and `?wait=SECONDS` with If-None-Match to long-poll until a
// newer revision is live here (on PostgreSQL replicas: within the store's
// NOTIFY, well under a second) or the wait ends (304). A long-poll holds one of
// its client's concurrency slots while it waits (the data plane admitted it),
// and a process holds at most `maxLongPolls` at once (503 beyond).
import { junctionFace } from './objectives.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/schema.js';
import { publicBackend } from '../config/redact.js';
import { JunctionError } from '../errors.js';
import type { Revision } from '../runtime/revision.js';
import { writeJson } from '../http/reply.js';
import type { Route } from './types.js';

/** Longest a long-poll is held: below common proxy idle timeouts (60 s). */
export const MAX_WAIT_SECONDS = 55;
/** Long-polls one process holds at once, by default: each is a socket and a waiter. */
export const DEFAULT_MAX_LONG_POLLS = 1000;
/** Bumped when the snapshot's shape changes incompatibly; SDKs refuse formats they do not know. */
export const SNAPSHOT_FORMAT = 1;

export interface Snapshot {
  format: number;
  revision: number;
  /** A valid Junction config holding only what deciding and calling need. */
  config: Pick<Config, 'models' | 'objectives'>;
}

export function snapshotEtag(revision: number): string {
  return `"rev-${revision}"`;
}

/** The revision an If-None-Match names (`"rev-N"`, weak or not, first of a list), or undefined. */
export function revisionOfEtag(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['if-none-match'];
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(?:W\/)?"rev-(\d{1,15})"/.exec(value);
  return m ? Number(m[1]) : undefined;
}

/**
 * The revision's config minus everything that is not routing: no clients (key
 * digests), no auth section, and endpoint URLs without userinfo, so the
 * snapshot can be handed to every SDK and proxy.
 */
export function snapshotOf(rev: Revision): Snapshot {
  const models: Config['models'] = {};
  for (const [name, model] of Object.entries(rev.config.models)) {
    const versions: Config['models'][string]['versions'] = {};
    for (const [v, version] of Object.entries(model.versions)) {
      const backend = publicBackend(version.backend);
      versions[v] = { backend, metadata: version.metadata };
    }
    models[name] = { class: model.class, description: model.description, versions };
  }
  return { format: SNAPSHOT_FORMAT, revision: rev.number, config: { models, objectives: rev.config.objectives } };
}

function waitSeconds(query: string): number {
  const raw = new URLSearchParams(query).get('wait');
  if (raw === null) return 0;
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n) || n < 0)
    throw new JunctionError('invalid_request', 'wait must be a number of seconds ≥ 0');
  return Math.min(n, MAX_WAIT_SECONDS);
}

/** The snapshot route, with its own count of long-polls held (one per data-plane server). */
export function snapshotRoutes(opts: { maxLongPolls?: number | undefined } = {}): Route[] {
  const maxLongPolls = opts.maxLongPolls ?? DEFAULT_MAX_LONG_POLLS;
  let held = 0;
  return [
    {
      methods: ['GET'],
      pattern: '/v1/config/snapshot',
      face: junctionFace,
      // With clients configured the snapshot needs a key, like decide (SPEC §10): the data plane admitted the caller
      // (key, one unit of rate, a concurrency slot held while the long-poll waits) before this runs.
      async handle({ dp, req, res, query }) {
        const wait = waitSeconds(query);
        const live = dp.runtime.current;
        if (live === undefined && wait === 0) throw new JunctionError('not_ready', 'no config loaded yet');
        const have = revisionOfEtag(req.headers);
        // Without an ETag there is nothing to be newer than, unless no config is loaded yet.
        const after = have ?? (live === undefined ? 0 : undefined);
        let rev = live;
        if (after !== undefined && (rev === undefined || rev.number <= after)) {
          // The caller has this revision (or a newer one, from another replica): wait for a newer one.
          if (wait > 0 && held >= maxLongPolls) {
            throw new JunctionError(
              'overloaded',
              `this process holds ${maxLongPolls} snapshot long-polls already; retry, or poll without wait`,
              { retryAfterSeconds: 1 },
            );
          }
          const hangUp = new AbortController();
          res.once('close', () => hangUp.abort());
          held++;
          try {
            rev = await dp.runtime.nextRevision(after, wait * 1000, hangUp.signal);
          } finally {
            held--;
          }
          if (res.destroyed) return;
          if (rev === undefined && have !== undefined) {
            const current = dp.runtime.current;
            res.writeHead(304, current ? { etag: snapshotEtag(current.number) } : {});
            res.end();
            return;
          }
        }
        if (rev === undefined) throw new JunctionError('not_ready', 'no config loaded yet');
        writeJson(res, 200, snapshotOf(rev), { etag: snapshotEtag(rev.number), 'cache-control': 'no-cache' });
      },
    },
  ];
}
