// For the few routes whose protocol makes Junction read the body (decide,
// the OpenAI `model` field): bounded per request and against the data plane's
// shared budget, slow bodies cut. Called only once the caller's key was
// checked; what the bytes mean is call/json-body.ts's job.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestBody } from '../call/body.js';
import { continueBody } from './boundary.js';
import type { BodyLimits } from '../call/body.js';

export async function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
  bodies: BodyLimits | undefined,
): Promise<Buffer> {
  const declared = req.headers['content-length'];
  const guard = bodies === undefined ? undefined : { limits: bodies, owner: res };
  const body = RequestBody.streaming(
    req,
    maxBytes,
    undefined,
    declared === undefined ? undefined : Number(declared),
    guard,
  );
  continueBody(req, res);
  return body.readAll();
}
