// The one JSON-body parser: every place Junction must understand a whole
// request body (decide, exposures, feedback, in-process ONNX) parses it here,
// and malformed input is the caller's error (400 invalid_request saying what
// is wrong), never an internal one.
//
// JSON.parse keeps the last of a repeated key. That is sound only where
// Junction is the body's one reader: it parses the body and acts on what it
// parsed, and no other parser ever sees the bytes. A field Junction reads or
// rewrites in a body it forwards is read with topLevelFields
// (backends/protocols/json-field.ts), which refuses repeats, never here.
import { JunctionError } from '../errors.js';
import type { Call } from './types.js';

export async function readJsonBody(call: Call): Promise<Record<string, unknown>> {
  if (call.parsedBody !== undefined) return call.parsedBody;
  return parseJsonObject(await call.body.readAll(), call.objective.name);
}

/** Bytes → any JSON value, or 400 invalid_request. */
export function parseJson(raw: Buffer, objective?: string): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw new JunctionError('invalid_request', `request body is not valid JSON: ${(err as Error).message}`, {
      objective,
    });
  }
}

/** Bytes → a JSON object, or 400 invalid_request saying what is wrong. */
export function parseJsonObject(raw: Buffer, objective: string): Record<string, unknown> {
  const value = parseJson(raw, objective);
  if (!isObject(value)) throw new JunctionError('invalid_request', 'request body must be a JSON object', { objective });
  return value;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
