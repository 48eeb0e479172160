// GET /admin/experiments/{id}/results (SPEC §12, §19): the readout of one
// experiment. With a PostgreSQL store, over the whole fleet: every replica's
// exposures and feedback in the store's tables (fleet-readout.ts). Otherwise
// from the logs this process writes, run by the Junction's readout runner
// (readout/runner.ts: DuckDB within a memory limit on one thread, one readout
// at a time, a bounded queue, identical requests sharing one run, a time
// limit). Either way the cell weights come from the revisions the exposures
// were logged under, read from the store.
import { JunctionError } from '../errors.js';
import { writeJson } from '../http/reply.js';
import { expandLogFiles } from '../readout/log-files.js';
import { readExperimentsOn, type Readout } from '../readout/readout.js';
import { experimentCells, type RevisionCells } from '../readout/weights.js';
import type { AdminContext, AdminRoute, ReadoutLogs } from './admin-route.js';
import type { Store } from './store.js';

export type { ReadoutLogs };

export const experimentResultsRoute: AdminRoute = {
  method: 'GET',
  pattern: '/admin/experiments/:id/results',
  async handle(ctx) {
    const id = ctx.params.id!;
    const config = ctx.control.runtime.current?.config;
    const known = Object.values(config?.objectives ?? {}).some((o) => o.experiments.some((e) => e.id === id));
    const readout = ctx.readouts?.fleet ? await ctx.readouts.fleet.read(id, config) : await fromLogs(ctx, id);
    const experiment = readout.experiments[0];
    if (!experiment && !known)
      throw new JunctionError(
        'not_found',
        `no experiment "${id}" in the live config or the ${ctx.readouts?.fleet ? "store's exposures" : 'decision log'}`,
      );
    writeJson(ctx.res, 200, {
      version: readout.version,
      methods: readout.methods,
      // Whose exposures these are: every replica's (the store's tables) or this process's log files.
      source: ctx.readouts?.fleet ? 'fleet' : 'logs',
      experiment: experiment ?? null,
    });
  },
};

async function fromLogs({ control, readouts }: AdminContext, id: string): Promise<Readout> {
  // Each log with the files it was rotated into (serve --log-rotate).
  const decisions = expandLogFiles(readouts?.decisions ?? []).files;
  if (!readouts || decisions.length === 0) {
    throw new JunctionError(
      'not_found',
      'no decision log to read: start junction serve with --decision-log FILE (a file, not stdout), or run junction analyze on your copies of the logs',
    );
  }
  const live = control.runtime.current;
  const feedback = expandLogFiles(readouts.feedback).files;
  // Everything the answer depends on: requests with the same key share one run (and its cached result).
  const key = JSON.stringify([id, live?.number ?? null, decisions, feedback]);
  return readExperimentsOn(readouts.runner, key, { decisions, feedback, experiment: id }, live?.config, (revisions) =>
    storeWeights(control.store, revisions),
  );
}

/** The cell weights of each revision the store still has (a revision it lacks leaves the sample-ratio test unknown). */
export async function storeWeights(
  store: Pick<Store, 'get'>,
  revisions: readonly number[],
): Promise<(n: number) => RevisionCells | undefined> {
  const found = new Map<number, RevisionCells>();
  await Promise.all(
    revisions.map(async (n) => {
      const r = await store.get(n);
      if (r !== undefined) found.set(n, experimentCells(r.source));
    }),
  );
  return (n) => found.get(n);
}
