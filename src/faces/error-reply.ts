// The one place a JunctionError becomes an HTTP response, in the shape each
// face's clients can read (SPEC §2.5). The stable code is always in
// x-error-code; Junction's own shape also carries it in the body.
import type { ServerResponse } from 'node:http';
import type { JunctionError } from '../errors.js';

export type Face = 'junction' | 'openai' | 'oip';

const OPENAI_TYPES: Partial<Record<string, string>> = {
  invalid_request: 'invalid_request_error',
  payload_too_large: 'invalid_request_error',
  objective_not_found: 'invalid_request_error',
  unauthorized: 'authentication_error',
  forbidden: 'permission_error',
  override_forbidden: 'permission_error',
  rate_limited: 'rate_limit_error',
};

export function errorBody(err: JunctionError, face: Face, requestId: string): string {
  switch (face) {
    case 'openai':
      return JSON.stringify({
        error: { message: err.message, type: OPENAI_TYPES[err.code] ?? 'server_error', code: err.code },
      });
    case 'oip':
      return JSON.stringify({ error: err.message });
    default:
      return JSON.stringify({
        error: { code: err.code, message: err.message, objective: err.objective, requestId, issues: err.issues },
      });
  }
}

export function writeError(
  res: ServerResponse,
  err: JunctionError,
  face: Face,
  requestId: string,
  extraHeaders?: Record<string, string>,
): void {
  if (res.headersSent) {
    // Mid-stream: the status is gone; cut the stream so the client sees it broke.
    res.destroy(err);
    return;
  }
  const body = errorBody(err, face, requestId);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    'x-error-code': err.code,
    ...extraHeaders,
  };
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = Math.max(1, Math.ceil(err.retryAfterSeconds));
  res.writeHead(err.status, headers);
  res.end(body);
}
