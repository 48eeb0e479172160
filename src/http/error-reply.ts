// The one place a failure becomes an HTTP error response, on every listener
// (data plane, admin API): the request's record notes it, an internal error is
// logged, and the body takes the shape the caller's face declares (faces/face.ts;
// SPEC §2.5). The stable code is always in x-error-code; Junction's own shape
// also carries it in the body.
import type { ServerResponse } from 'node:http';
import type { Logger } from '../call/hooks.js';
import type { JunctionError } from '../errors.js';
import { noteFailure, type FailureNote } from '../observe/record.js';

/** A face's error body for a JunctionError. */
export type ErrorBody = (err: JunctionError, requestId: string) => string;

/** Junction's own shape: `{"error":{"code","message","objective","requestId","issues"}}`. */
export const junctionErrorBody: ErrorBody = (err, requestId) =>
  JSON.stringify({
    error: { code: err.code, message: err.message, objective: err.objective, requestId, issues: err.issues },
  });

/**
 * Answers a failure: notes it on the record, logs an internal error, writes
 * the error (or cuts a reply already under way). Returns the JunctionError.
 */
export function answerError(
  res: ServerResponse,
  err: unknown,
  note: FailureNote,
  errorBody: ErrorBody,
  log: Logger | undefined,
  extraHeaders?: Record<string, string>,
): JunctionError {
  const jerr = noteFailure(note, err, log);
  writeError(res, jerr, errorBody, note.requestId, extraHeaders);
  return jerr;
}

export function writeError(
  res: ServerResponse,
  err: JunctionError,
  errorBody: ErrorBody,
  requestId: string,
  extraHeaders?: Record<string, string>,
): void {
  if (res.headersSent) {
    // Mid-stream: the status is gone; cut the stream so the client sees it broke.
    res.destroy(err);
    return;
  }
  const body = errorBody(err, requestId);
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
