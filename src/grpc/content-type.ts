// How a call or reply says it carries a message of the gRPC service rather
// than JSON: the gRPC face marks ModelInfer calls with gRPC's own content type,
// and the gRPC backend marks its replies the same way.
import type { HeaderMap } from '../call/types.js';

export const GRPC_CONTENT_TYPE = 'application/grpc';

export function carriesGrpc(message: { headers: HeaderMap }): boolean {
  const type = message.headers['content-type'];
  return typeof type === 'string' && type.startsWith(GRPC_CONTENT_TYPE);
}
