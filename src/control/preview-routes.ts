// POST /admin/config/preview (SPEC §18): the proposed config as the body (YAML
// or JSON, as PUT /admin/config takes it); `?window=15m` or `?sample=N` picks
// the logged decisions replayed, `?revision=N` the revision compared against
// (default: the live one). A config that does not validate gets PUT's 400 and
// its issues. Changes nothing.
import { MAX_CONFIG_BYTES, readAdminBody } from './admin-body.js';
import { loadConfigText } from '../config/load.js';
import { JunctionError } from '../errors.js';
import { writeJson } from '../http/reply.js';
import type { AdminContext, AdminRoute } from './admin-route.js';
import { expandLogFiles } from '../readout/log-files.js';
import { previewChange, type PreviewParams } from './preview-run.js';

/** The preview parameters of a request's query (PUT /admin/config reads `window` and `sample` too). */
export function previewParams(query: URLSearchParams): PreviewParams {
  return {
    window: query.get('window') ?? undefined,
    sample: query.get('sample') ?? undefined,
    revision: query.get('revision') ?? undefined,
  };
}

/** The decision-log files this process writes, with the files the rotation moved them into (oldest first). */
export function decisionLogs(ctx: Pick<AdminContext, 'readouts'>): readonly string[] {
  return expandLogFiles(ctx.readouts?.decisions ?? []).files;
}

export const previewRoute: AdminRoute = {
  method: 'POST',
  pattern: '/admin/config/preview',
  async handle(ctx) {
    const raw = await readAdminBody(ctx.req, MAX_CONFIG_BYTES);
    if (raw.length === 0)
      throw new JunctionError('invalid_request', 'send the proposed config as the request body (YAML or JSON)');
    // Every problem with its line and column, as PUT /admin/config and `junction validate` report them.
    const { source } = loadConfigText(raw.toString('utf8'), 'body');
    writeJson(ctx.res, 200, await previewChange(ctx.control, decisionLogs(ctx), source, previewParams(ctx.query)));
  },
};
