// An Open Inference Protocol v2 server standing in for Triton / KServe /
// MLServer (none can run here), written from the public specs: health, model
// metadata and readiness, `infer` with JSON or binary tensors (Triton's binary
// tensor data extension: `Inference-Header-Content-Length`, raw little-endian
// tensors after the JSON), and Triton's `generate` / `generate_stream` (SSE).
// It serves Triton's classic `simple` model: INPUT0, INPUT1 INT32 [1,16] →
// OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 − INPUT1.
import type { ServerResponse } from 'node:http';
import { startUpstream, type Upstream } from '../upstream.js';

export interface OipServerOptions {
  /** Served model name → versions. Default `{ simple: ['1'] }`. */
  models?: Record<string, string[]>;
  /** Readiness answers: Triton's empty 200, or KServe/MLServer's `{"ready": …}` JSON. */
  readyStyle?: 'empty' | 'json';
}

export interface OipServer extends Upstream {
  /** Model readiness (server readiness follows it). */
  ready: boolean;
  /** generate_stream awaits this between its first and second events, when set. */
  streamGate: Promise<void> | undefined;
}

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown;
  parameters?: Record<string, unknown>;
}
interface InferRequest {
  id?: string;
  inputs: Tensor[];
  outputs?: Array<{ name: string; parameters?: Record<string, unknown> }>;
  parameters?: Record<string, unknown>;
}

const SIMPLE_META = {
  platform: 'junction_test',
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16] },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16] },
  ],
  outputs: [
    { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16] },
    { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16] },
  ],
};

const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer|\/generate|\/generate_stream)?$/;

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function flat(data: unknown): number[] {
  return Array.isArray(data) ? data.flatMap(flat) : [Number(data)];
}

/** Splits a request body into its JSON header and the binary tensors after it. */
function parseInfer(
  body: Buffer,
  headerLength: string | undefined,
): { request: InferRequest; tensors: Map<string, Int32Array> } {
  const jsonLength = headerLength === undefined ? body.length : Number(headerLength);
  const request = JSON.parse(body.subarray(0, jsonLength).toString('utf8')) as InferRequest;
  const tensors = new Map<string, Int32Array>();
  let offset = jsonLength;
  for (const input of request.inputs) {
    if (input.datatype !== 'INT32') throw new Error(`input ${input.name}: expected INT32, got ${input.datatype}`);
    const size = input.parameters?.binary_data_size;
    if (typeof size === 'number') {
      const bytes = body.subarray(offset, offset + size);
      if (bytes.length !== size)
        throw new Error(`input ${input.name}: binary data shorter than binary_data_size ${size}`);
      offset += size;
      const values = new Int32Array(size / 4);
      for (let i = 0; i < values.length; i++) values[i] = bytes.readInt32LE(i * 4);
      tensors.set(input.name, values);
    } else {
      tensors.set(input.name, Int32Array.from(flat(input.data)));
    }
  }
  if (offset !== body.length) throw new Error(`${body.length - offset} unexpected bytes after the tensors`);
  return { request, tensors };
}

function infer(
  res: ServerResponse,
  model: string,
  version: string,
  body: Buffer,
  headerLength: string | undefined,
): void {
  let parsed;
  try {
    parsed = parseInfer(body, headerLength);
  } catch (err) {
    json(res, 400, { error: (err as Error).message });
    return;
  }
  const { request, tensors } = parsed;
  const a = tensors.get('INPUT0');
  const b = tensors.get('INPUT1');
  if (!a || !b || a.length !== 16 || b.length !== 16) {
    json(res, 400, { error: 'expected INPUT0 and INPUT1, INT32 [1,16]' });
    return;
  }
  const results: Record<string, Int32Array> = {
    OUTPUT0: a.map((x, i) => x + b[i]!),
    OUTPUT1: a.map((x, i) => x - b[i]!),
  };
  const wanted = request.outputs ?? [{ name: 'OUTPUT0' }, { name: 'OUTPUT1' }];
  const allBinary = request.parameters?.binary_data_output === true;
  const binaries: Buffer[] = [];
  const outputs = wanted.map(({ name, parameters }) => {
    const values = results[name] ?? new Int32Array(0);
    const out: Tensor = { name, datatype: 'INT32', shape: [1, 16] };
    if (allBinary || parameters?.binary_data === true) {
      const bytes = Buffer.alloc(values.length * 4);
      values.forEach((v, i) => bytes.writeInt32LE(v, i * 4));
      binaries.push(bytes);
      out.parameters = { binary_data_size: bytes.length };
    } else {
      out.data = Array.from(values);
    }
    return out;
  });
  const header = Buffer.from(JSON.stringify({ model_name: model, model_version: version, id: request.id, outputs }));
  if (binaries.length === 0) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': header.length });
    res.end(header);
    return;
  }
  const whole = Buffer.concat([header, ...binaries]);
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'inference-header-content-length': header.length,
    'content-length': whole.length,
  });
  res.end(whole);
}

export async function startOipServer(opts: OipServerOptions = {}): Promise<OipServer> {
  const models = opts.models ?? { simple: ['1'] };
  const readyStyle = opts.readyStyle ?? 'empty';
  const up = await startUpstream('oip');
  const server = up as OipServer;
  server.ready = true;
  server.streamGate = undefined;

  const readyAnswer = (res: ServerResponse, ready: boolean, name?: string) => {
    // Triton: empty 200 when ready, 400 when not; KServe/MLServer: JSON with `ready`.
    if (readyStyle === 'json') json(res, 200, name === undefined ? { ready } : { name, ready });
    else {
      res.writeHead(ready ? 200 : 400, { 'content-length': 0 });
      res.end();
    }
  };

  up.handle(async (req, res, body) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/v2/health/live') return readyAnswer(res, true);
    if (req.method === 'GET' && path === '/v2/health/ready') return readyAnswer(res, server.ready);
    if (req.method === 'GET' && path === '/v2') {
      return json(res, 200, { name: 'oip-test', version: '2', extensions: ['binary_tensor_data', 'generate'] });
    }
    const m = MODEL_PATH.exec(path);
    if (!m) return json(res, 404, { error: `no route ${req.method} ${path}` });
    const [, name, requested, action = ''] = m;
    const versions = models[name!];
    const version = requested ?? versions?.at(-1);
    if (!versions || !versions.includes(version!)) {
      return json(res, 404, {
        error: `Request for unknown model: '${name}' version ${requested ?? '(latest)'} is not found`,
      });
    }
    if (req.method === 'GET' && action === '') return json(res, 200, { name, versions, ...SIMPLE_META });
    if (req.method === 'GET' && action === '/ready') return readyAnswer(res, server.ready, name);
    if (req.method !== 'POST') return json(res, 405, { error: `${req.method} not allowed` });
    if (action === '/infer')
      return infer(res, name!, version!, body, req.headers['inference-header-content-length'] as string | undefined);
    const { text_input: text } = JSON.parse(body.toString('utf8')) as { text_input?: string };
    if (typeof text !== 'string') return json(res, 400, { error: 'text_input is required' });
    const words = text.toUpperCase().split(' ');
    if (action === '/generate')
      return json(res, 200, { model_name: name, model_version: version, text_output: words.join(' ') });
    // generate_stream: one SSE event per word.
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    for (let i = 0; i < words.length; i++) {
      res.write(`data: ${JSON.stringify({ model_name: name, model_version: version, text_output: words[i] })}\n\n`);
      if (i === 0 && server.streamGate) await server.streamGate;
    }
    res.end();
  });
  return server;
}

/** A Triton binary-extension request for `simple`: JSON header, then INPUT0 and INPUT1 as raw INT32 LE. */
export function binaryInferRequest(input0: number[], input1: number[]): { body: Buffer; headerLength: number } {
  const tensor = (values: number[]) => {
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => b.writeInt32LE(v, i * 4));
    return b;
  };
  const t0 = tensor(input0);
  const t1 = tensor(input1);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', parameters: { binary_data_size: t0.length } },
        { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', parameters: { binary_data_size: t1.length } },
      ],
      outputs: [
        { name: 'OUTPUT0', parameters: { binary_data: true } },
        { name: 'OUTPUT1', parameters: { binary_data: true } },
      ],
    }),
  );
  return { body: Buffer.concat([header, t0, t1]), headerLength: header.length };
}
