// The request body as a JSON object, for the backends that must read it (in-process
// ONNX, the OpenAI `model` rewrite). Uses the face's parse when it already made one.
import { JunctionError } from '../errors.js';
import type { Call } from './types.js';

export async function readJsonBody(call: Call): Promise<Record<string, unknown>> {
  if (call.parsedBody !== undefined) return call.parsedBody;
  return parseJsonObject(await call.body.readAll(), call.objective.name);
}

/** Bytes → a JSON object, or 400 invalid_request saying what is wrong. */
export function parseJsonObject(raw: Buffer, objective: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new JunctionError('invalid_request', `request body is not valid JSON: ${(err as Error).message}`, { objective });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new JunctionError('invalid_request', 'request body must be a JSON object', { objective });
  }
  return value as Record<string, unknown>;
}
