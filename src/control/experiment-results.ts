// GET /admin/experiments/{id}/results (SPEC §12): the readout of one
// experiment from the logs this process writes, with the live config's cell
// order and weights. The same readout as `junction analyze --json`, but run by
// the Junction's readout runner (readout/runner.ts): DuckDB within a memory
// limit on one thread, one readout at a time, a bounded queue (503 overloaded
// past it), identical requests sharing one run, a time limit.
import { existsSync } from 'node:fs';
import { JunctionError } from '../errors.js';
import { writeJson } from '../http/reply.js';
import { readExperimentsOn } from '../readout/readout.js';
import type { AdminRoute, ReadoutLogs } from './admin-route.js';

export type { ReadoutLogs };

export const experimentResultsRoute: AdminRoute = {
  method: 'GET',
  pattern: '/admin/experiments/:id/results',
  async handle({ control, readouts, res, params }) {
    const id = params.id!;
    const decisions = (readouts?.decisions ?? []).filter((f) => existsSync(f));
    if (!readouts || decisions.length === 0) {
      throw new JunctionError(
        'not_found',
        'no decision log to read: start junction serve with --decision-log FILE (a file, not stdout), or run junction analyze on your copies of the logs',
      );
    }
    const live = control.runtime.current;
    const config = live?.config;
    const known = Object.values(config?.objectives ?? {}).some((o) => o.experiments.some((e) => e.id === id));
    const feedback = readouts.feedback.filter((f) => existsSync(f));
    // Everything the answer depends on: requests with the same key share one run (and its cached result).
    const key = JSON.stringify([id, live?.number ?? null, decisions, feedback]);
    const readout = await readExperimentsOn(readouts.runner, key, { decisions, feedback, experiment: id }, config);
    const experiment = readout.experiments[0];
    if (!experiment && !known)
      throw new JunctionError('not_found', `no experiment "${id}" in the live config or the decision log`);
    writeJson(res, 200, { version: readout.version, methods: readout.methods, experiment: experiment ?? null });
  },
};
