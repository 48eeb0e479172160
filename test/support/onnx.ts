// Helpers for tests of in-process ONNX targets: the repo root (model paths in
// test configs resolve against it) and a Call built by hand, for operations
// whose protocol face lives elsewhere (OIP metadata, readiness).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { Junction } from '../../src/app.js';
import { RequestBody } from '../../src/call/body.js';
import type { Call, Operation } from '../../src/call/types.js';
import type { OnnxBackend } from '../../src/backends/onnx/onnx-backend.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function backendOf(j: Junction, target: string): OnnxBackend {
  const backend = j.runtime.current?.backends.get(target);
  if (backend === undefined) throw new Error(`no backend ${target}`);
  return backend as OnnxBackend;
}

export function callFor(j: Junction, objective: string, operation: Operation, body?: unknown): Call {
  const o = j.runtime.current!.routing.objectives.get(objective)!;
  const controller = new AbortController();
  return {
    objective: o, outcome: o.default, target: o.default.target, operation,
    method: body === undefined ? 'GET' : 'POST', query: '', headers: {},
    body: RequestBody.of(Buffer.from(body === undefined ? '' : JSON.stringify(body))),
    requestId: 'test', deadline: performance.now() + 10_000,
    signal: controller.signal, abort: (reason) => controller.abort(reason),
  };
}

export async function replyJson(reply: { body: unknown }): Promise<any> {
  return JSON.parse((reply.body as Buffer).toString('utf8'));
}
