// For the few routes whose protocol makes Junction read the body (decide,
// the OpenAI `model` field). Bounded, and malformed input is the caller's error.
import type { IncomingMessage } from 'node:http';
import { RequestBody } from '../call/body.js';
import { JunctionError } from '../errors.js';

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<{ raw: Buffer; value: unknown }> {
  const declared = req.headers['content-length'];
  const raw = await RequestBody.streaming(req, maxBytes, undefined, declared === undefined ? undefined : Number(declared)).readAll();
  try {
    return { raw, value: JSON.parse(raw.toString('utf8')) };
  } catch (err) {
    throw new JunctionError('invalid_request', `body is not valid JSON: ${(err as Error).message}`);
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
