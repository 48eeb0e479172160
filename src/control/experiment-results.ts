// GET /admin/experiments/{id}/results (SPEC §12): the readout of one
// experiment from the logs this process writes, with the live config's cell
// order and weights. The same readout as `junction analyze --json`.
import { existsSync } from 'node:fs';
import { JunctionError } from '../errors.js';
import { writeJson } from '../faces/reply.js';
import { readExperiments } from '../readout/readout.js';
import type { AdminRoute } from './admin-routes.js';

export interface ReadoutLogs {
  decisions: string[];
  feedback: string[];
}

export const experimentResultsRoute: AdminRoute = {
  method: 'GET',
  pattern: '/admin/experiments/:id/results',
  async handle({ control, readouts, res, params }) {
    const id = params.id!;
    const decisions = (readouts?.decisions ?? []).filter((f) => existsSync(f));
    if (decisions.length === 0) {
      throw new JunctionError(
        'not_found',
        'no decision log to read: start junction serve with --decision-log FILE (a file, not stdout), or run junction analyze on your copies of the logs',
      );
    }
    const config = control.runtime.current?.config;
    const known = Object.values(config?.objectives ?? {}).some((o) => o.experiments.some((e) => e.id === id));
    const readout = await readExperiments(
      { decisions, feedback: (readouts?.feedback ?? []).filter((f) => existsSync(f)), experiment: id },
      config,
    );
    const experiment = readout.experiments[0];
    if (!experiment && !known)
      throw new JunctionError('not_found', `no experiment "${id}" in the live config or the decision log`);
    writeJson(res, 200, { version: readout.version, methods: readout.methods, experiment: experiment ?? null });
  },
};
