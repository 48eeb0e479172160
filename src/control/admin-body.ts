// The body of an admin request, read whole (a config, a key's fields): a
// declared content-length over the route's bound is refused before one byte is
// read, as the data plane refuses one; a body without one is counted as it comes.
import type { IncomingMessage } from 'node:http';
import { RequestBody } from '../call/body.js';

/** Configs (PUT /admin/config, the preview, a rollback's message) may be this large. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export function readAdminBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  const length = declared === undefined ? undefined : Number(declared); // Node's parser has checked it is a number
  return RequestBody.streaming(req, maxBytes, undefined, length).readAll();
}
