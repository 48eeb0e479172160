// A TensorFlow Serving REST server standing in for the real one (which cannot
// run here), written from its REST API docs: model status
// `GET /v1/models/{name}[/versions/{v}|/labels/{l}]`, `…/metadata`, and
// `POST …:predict` in the row (`instances` → `predictions`) and columnar
// (`inputs` → `outputs`) formats. It serves TF Serving's own test model,
// `half_plus_two`: y = x / 2 + 2, elementwise.
import type { ServerResponse } from 'node:http';
import { startUpstream, type Upstream } from '../upstream.js';

export interface TfServingServer extends Upstream {
  /** While false, version states are LOADING: not AVAILABLE. */
  ready: boolean;
}

const PATH = /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+)|\/labels\/([^/:]+))?(\/metadata|:predict)?$/;

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function halfPlusTwo(x: unknown): unknown {
  return Array.isArray(x) ? x.map(halfPlusTwo) : Number(x) / 2 + 2;
}

export async function startTfServingServer(
  opts: { models?: Record<string, string[]>; labels?: Record<string, string> } = {},
): Promise<TfServingServer> {
  const models = opts.models ?? { half_plus_two: ['1', '2'] };
  const labels = opts.labels ?? { stable: '1' };
  const up = await startUpstream('tfserving');
  const server = up as TfServingServer;
  server.ready = true;

  up.handle((req, res, raw) => {
    const m = PATH.exec((req.url ?? '/').split('?')[0]!);
    if (!m) return json(res, 404, { error: 'Malformed request' });
    const [, name, byVersion, byLabel, action = ''] = m;
    const versions = models[name!];
    if (!versions) return json(res, 404, { error: `Servable not found for request: Latest(${name})` });
    const version = byVersion ?? (byLabel !== undefined ? labels[byLabel] : versions.at(-1));
    if (version === undefined || !versions.includes(version)) {
      return json(res, 404, { error: `Servable not found for request: Specific(${name}, ${byVersion ?? byLabel})` });
    }
    if (req.method === 'GET' && action === '') {
      const state = server.ready ? 'AVAILABLE' : 'LOADING';
      return json(res, 200, {
        model_version_status: [{ version, state, status: { error_code: 'OK', error_message: '' } }],
      });
    }
    if (req.method === 'GET' && action === '/metadata') {
      return json(res, 200, {
        model_spec: { name, signature_name: '', version },
        metadata: { signature_def: { signature_def: { serving_default: {} } } },
      });
    }
    if (req.method !== 'POST' || action !== ':predict') return json(res, 405, { error: 'Method not allowed' });
    let body: { instances?: unknown; inputs?: unknown };
    try {
      body = JSON.parse(raw.toString('utf8')) as typeof body;
    } catch (err) {
      return json(res, 400, { error: `JSON Parse error: ${(err as Error).message}` });
    }
    if (body.instances !== undefined) return json(res, 200, { predictions: halfPlusTwo(body.instances) });
    if (body.inputs !== undefined) return json(res, 200, { outputs: halfPlusTwo(body.inputs) });
    return json(res, 400, { error: "Missing 'instances' or 'inputs' key" });
  });
  return server;
}
