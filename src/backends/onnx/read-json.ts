// The request body as JSON, for in-process backends that must read it. Uses
// the face's parse when it already made one (OpenAI `model`).
import type { Call } from '../../call/types.js';
import { JunctionError } from '../../errors.js';

export async function readJsonBody(call: Call): Promise<Record<string, unknown>> {
  if (call.parsedBody !== undefined) return call.parsedBody;
  const raw = await call.body.readAll();
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new JunctionError('invalid_request', `request body is not valid JSON: ${(err as Error).message}`, { objective: call.objective.name });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new JunctionError('invalid_request', 'request body must be a JSON object', { objective: call.objective.name });
  }
  return value as Record<string, unknown>;
}
