// For faces whose body names the objective in its top-level `model` string
// (OpenAI, Anthropic): the one face kind that reads the body before routing.
// The key is checked first, the read is bounded, the objective's own limit is
// applied right after, and the same bytes go on (RequestBody.of): the backend
// rewrites only `model`, or a translation (backends/translate/) parses them
// when the target speaks another API.
import { RequestBody } from '../call/body.js';
import type { Operation } from '../call/types.js';
import { JunctionError } from '../errors.js';
import { stringValue, topLevelFields } from '../backends/protocols/json-field.js';
import { readBody } from '../http/read-body.js';
import { callerOf } from './decide-api.js';
import { invoke } from './invoke.js';
import type { Face, Route, RouteContext } from './types.js';

/**
 * The objective (and so its maxBodyBytes) is only known once the body is read:
 * this bounds the read; the objective's own limit is checked right after.
 */
export const MODEL_FIELD_MAX_BODY = 16 * 1024 * 1024;

/** The body fields these faces read. */
const MODEL: readonly string[] = ['model'];

/**
 * The top-level `model` string, found by the one strict scan of the bytes
 * (json-field.ts), never by parsing the whole document: a deeply nested body
 * costs one linear pass. A body that is not JSON, or names `model` twice (escaped
 * or not) or in another case, is refused there, so the objective routed on is
 * the model every backend parser reads.
 */
export function modelField(raw: Buffer): string {
  const name = stringValue(raw, topLevelFields(raw, MODEL)[0]);
  if (name !== undefined && name !== '') return name;
  throw new JunctionError(
    'invalid_request',
    'body must be a JSON object naming the objective in one top-level "model" string',
  );
}

async function handle(ctx: RouteContext, face: Face, operation: Operation): Promise<void> {
  const { dp, req, res, record, query } = ctx;
  // The key first: nothing is read for a caller who may call nothing.
  callerOf(dp, req, record);
  const raw = await readBody(req, res, MODEL_FIELD_MAX_BODY, dp.bodies);
  const objective = modelField(raw);
  const limit = dp.runtime.current?.objectives.get(objective)?.compiled.config.policy.maxBodyBytes;
  if (limit !== undefined && raw.length > limit) {
    throw new JunctionError('payload_too_large', `body of ${raw.length} bytes exceeds maxBodyBytes (${limit} bytes)`, {
      objective,
    });
  }
  await invoke(dp, req, res, record, { face, operation, objective, query, body: RequestBody.of(raw) });
}

/** A POST route whose body's `model` names the objective; admitted by invoke, per objective, once the body names it. */
export function modelFieldRoute(face: Face, path: string, operation: Operation): Route {
  return { methods: ['POST'], pattern: path, face, admission: 'invoke', handle: (ctx) => handle(ctx, face, operation) };
}
