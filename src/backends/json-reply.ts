// Replies computed in-process (ONNX models, a gRPC answer decoded for an HTTP caller): a JSON body in a Buffer, length known.
import type { Reply } from '../call/types.js';

export function jsonReply(value: unknown, status = 200): Reply {
  const body = Buffer.from(JSON.stringify(value));
  return { status, headers: { 'content-type': 'application/json', 'content-length': String(body.length) }, body };
}
