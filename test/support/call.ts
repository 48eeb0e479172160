// A Call for unit tests of policies alone (no sockets): the policies only read
// these fields.
import { performance } from 'node:perf_hooks';
import { RequestBody } from '../../src/call/body.js';
import type { Call, Reply } from '../../src/call/types.js';
import type { CompiledObjective, Outcome, Target } from '../../src/routing/types.js';

export function target(id: string): Target {
  const [model, version] = id.split('@') as [string, string];
  return {
    id,
    model,
    version,
    modelClass: 'other',
    backend: { type: 'http', protocol: 'raw', endpoints: ['http://x'], connections: 1 },
    metadata: undefined,
  };
}

export function testCall(changes: Partial<Call> = {}): Call {
  const controller = new AbortController();
  const t = target('m@1');
  return {
    objective: { name: 'obj' } as CompiledObjective,
    outcome: { target: t } as Outcome,
    target: t,
    operation: 'invoke',
    method: 'POST',
    query: '',
    headers: {},
    body: RequestBody.of(Buffer.from('{}')),
    requestId: 'r',
    deadline: performance.now() + 10_000,
    replyDeadline: performance.now() + 60_000,
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    ...changes,
  };
}

export const ok = (body = 'ok', status = 200): Reply => ({ status, headers: {}, body: Buffer.from(body) });
