// invoke: the decided target called directly, with the same protocol rewrite
// as the server (the wire protocols are the server's own, bundled): the path
// for oip/tfserving/openai, the openai `model` field. In-process (ONNX)
// targets only exist inside Junction, so those calls go through it with the
// routing headers, and Junction decides (the same decision, same revision).
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import { RequestBody } from '../../../src/call/body.js';
import type { RequestIds } from '../../../src/observe/request-ids.js';
import type { Call, Operation } from '../../../src/call/types.js';
import { HTTP_WIRES } from '../../../src/backends/protocols/index.js';
import { PROTOCOLS, type ProtocolDeclaration } from '../../../src/config/protocols/index.js';
import { JunctionError } from '../../../src/errors.js';
import type { CompiledObjective, Outcome } from '../../../src/routing/types.js';
import type { Decision } from './decision.js';

export type Body = string | Uint8Array | Record<string, unknown> | unknown[] | null;

export interface InvokeResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The response body stream (undici): read it with `.json()`, `.text()`, or iterate. */
  body: Dispatcher.ResponseData['body'];
  decision: Decision;
  /** true: the target's endpoint answered directly; false: Junction served it (in-process target). */
  direct: boolean;
}

export interface CallSpec {
  method: string;
  /** An Operation of src/call/types.ts (kept a string here so the published types need nothing of the server's). */
  operation: string;
  query: string;
  headers: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

export function bodyBytes(body: Body): { bytes: Buffer | null; json: boolean } {
  if (body === null || body === undefined) return { bytes: null, json: false };
  if (typeof body === 'string') return { bytes: Buffer.from(body), json: false };
  if (body instanceof Uint8Array)
    return { bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength), json: false };
  return { bytes: Buffer.from(JSON.stringify(body)), json: true };
}

/** The endpoint's origin and base path, split once per endpoint as the server's EndpointSet does. */
function splitEndpoint(endpoint: string): { origin: string; basePath: string } {
  const u = new URL(endpoint);
  return { origin: u.origin, basePath: (u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '')) + u.search };
}

export async function invokeDirect(
  o: CompiledObjective,
  outcome: Outcome,
  decision: Decision,
  endpoint: string,
  body: Body,
  spec: CallSpec,
  dispatcher: Dispatcher,
  ids: RequestIds,
): Promise<InvokeResult> {
  const backend = outcome.target.backend;
  if (backend.type !== 'http') throw new Error('invokeDirect: not a remote target');
  const protocol = HTTP_WIRES[backend.protocol];
  if (protocol === undefined) throw new JunctionError('invalid_request', `no wire protocol "${backend.protocol}"`);
  const { bytes, json } = bodyBytes(body);
  const requestId = ids.fromHeader(spec.headers['x-request-id']); // the server's rule and id format
  const controller = new AbortController();
  const call = {
    objective: o,
    outcome,
    target: outcome.target,
    operation: spec.operation as Operation,
    method: spec.method,
    query: spec.query,
    headers: {},
    body: RequestBody.of(bytes ?? Buffer.alloc(0)),
    requestId,
    deadline: Infinity,
    signal: controller.signal,
    abort: (reason: unknown) => controller.abort(reason),
  } as unknown as Call;
  const rewritten = protocol.rewriteBody ? await protocol.rewriteBody(call, backend) : undefined;
  const { origin, basePath } = splitEndpoint(endpoint);
  const path = basePath + protocol.path(call, backend);
  const headers: Record<string, string> = {
    ...(json ? { 'content-type': 'application/json' } : {}),
    // The protocol's required headers (Anthropic's version), as Junction's backend sends them.
    ...(PROTOCOLS[backend.protocol] as ProtocolDeclaration).headers,
    ...spec.headers,
    'x-request-id': requestId,
    'x-deadline-ms': String(spec.timeoutMs),
    'x-model': decision.headers['x-model'],
    'x-decision': decision.headers['x-decision'],
  };
  const hasBody = spec.method !== 'GET' && spec.method !== 'HEAD';
  let res;
  try {
    res = await request(origin + (path.charCodeAt(0) === 47 ? path : `/${path}`), {
      method: spec.method as 'POST',
      headers,
      body: hasBody ? (rewritten ?? bytes) : null,
      dispatcher,
      signal: spec.signal,
      headersTimeout: spec.timeoutMs,
      bodyTimeout: spec.timeoutMs,
    });
  } catch (err) {
    if (spec.signal?.aborted) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      throw new JunctionError('deadline_exceeded', `${outcome.target.id} did not answer within ${spec.timeoutMs} ms`, {
        objective: o.name,
        cause: err,
      });
    }
    throw new JunctionError(
      'upstream_error',
      `${outcome.target.id} failed: ${code ?? ''} ${(err as Error).message}`.trim(),
      { objective: o.name, cause: err },
    );
  }
  return { status: res.statusCode, headers: res.headers, body: res.body, decision, direct: true };
}

/** Through Junction's objective endpoint, carrying the routing inputs as headers (SPEC §2.1). */
export async function invokeViaJunction(
  url: string,
  apiKey: string | undefined,
  objective: string,
  decision: Decision,
  routing: {
    unit: string | undefined;
    context: Readonly<Record<string, string>>;
    trafficClass: string;
    override: string | undefined;
  },
  body: Body,
  spec: CallSpec,
  dispatcher: Dispatcher,
): Promise<InvokeResult> {
  const { bytes, json } = bodyBytes(body);
  const headers: Record<string, string> = { ...(json ? { 'content-type': 'application/json' } : {}), ...spec.headers };
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
  if (routing.unit !== undefined) headers['x-unit-id'] = routing.unit;
  for (const k in routing.context) headers[`x-context-${k}`] = routing.context[k]!;
  if (routing.trafficClass !== 'live') headers['x-traffic-class'] = routing.trafficClass;
  if (routing.override !== undefined) headers['x-model-override'] = routing.override;
  headers['x-deadline-ms'] = String(spec.timeoutMs);
  const res = await request(`${url}/v1/objectives/${encodeURIComponent(objective)}${spec.query}`, {
    method: spec.method as 'POST',
    headers,
    body: spec.method === 'GET' || spec.method === 'HEAD' ? null : bytes,
    dispatcher,
    signal: spec.signal,
    headersTimeout: spec.timeoutMs + 1000,
    bodyTimeout: spec.timeoutMs + 1000,
  });
  return { status: res.statusCode, headers: res.headers, body: res.body, decision, direct: false };
}
