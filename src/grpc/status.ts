// gRPC status codes and their HTTP meaning, in one place: the face answers
// Junction's errors with a gRPC status (and x-error-code), and the gRPC
// backend reports a backend's status as the HTTP-like status the policies and
// metrics read (5xx: fallback and retry may try elsewhere).
import { status as Status } from '@grpc/grpc-js';
import type { ErrorCode } from '../errors.js';

export { Status };

/** Junction's error codes as gRPC statuses (docs/errors.md has the table). */
export const STATUS_OF_ERROR: Readonly<Record<ErrorCode, Status>> = {
  invalid_request: Status.INVALID_ARGUMENT,
  unauthorized: Status.UNAUTHENTICATED,
  forbidden: Status.PERMISSION_DENIED,
  override_forbidden: Status.PERMISSION_DENIED,
  objective_not_found: Status.NOT_FOUND,
  not_found: Status.NOT_FOUND,
  rollout_refused: Status.FAILED_PRECONDITION,
  method_not_allowed: Status.UNIMPLEMENTED,
  experiment_break_unacknowledged: Status.FAILED_PRECONDITION,
  payload_too_large: Status.RESOURCE_EXHAUSTED,
  rate_limited: Status.RESOURCE_EXHAUSTED,
  token_limit_exceeded: Status.RESOURCE_EXHAUSTED,
  budget_exceeded: Status.RESOURCE_EXHAUSTED,
  upstream_error: Status.UNAVAILABLE,
  overloaded: Status.UNAVAILABLE,
  no_healthy_backend: Status.UNAVAILABLE,
  not_ready: Status.UNAVAILABLE,
  deadline_exceeded: Status.DEADLINE_EXCEEDED,
  request_timeout: Status.DEADLINE_EXCEEDED,
  client_closed: Status.CANCELLED,
  internal: Status.INTERNAL,
};

/** An HTTP status (a backend's, or a static fallback's) as the nearest gRPC status. */
export function statusOfHttp(http: number): Status {
  if (http < 400) return Status.OK;
  switch (http) {
    case 400:
      return Status.INVALID_ARGUMENT;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.NOT_FOUND;
    case 409:
      return Status.ABORTED;
    case 413:
    case 429:
      return Status.RESOURCE_EXHAUSTED;
    case 499:
      return Status.CANCELLED;
    case 501:
      return Status.UNIMPLEMENTED;
    case 502:
    case 503:
      return Status.UNAVAILABLE;
    case 504:
      return Status.DEADLINE_EXCEEDED;
    default:
      return http < 500 ? Status.FAILED_PRECONDITION : Status.INTERNAL;
  }
}

/** A backend's gRPC status as an HTTP status, for policies, metrics and the HTTP faces. */
export function httpOfStatus(code: Status): number {
  switch (code) {
    case Status.OK:
      return 200;
    case Status.INVALID_ARGUMENT:
    case Status.OUT_OF_RANGE:
    case Status.FAILED_PRECONDITION:
      return 400;
    case Status.UNAUTHENTICATED:
      return 401;
    case Status.PERMISSION_DENIED:
      return 403;
    case Status.NOT_FOUND:
      return 404;
    case Status.ALREADY_EXISTS:
    case Status.ABORTED:
      return 409;
    case Status.RESOURCE_EXHAUSTED:
      return 429;
    case Status.CANCELLED:
      return 499;
    case Status.UNIMPLEMENTED:
      return 501;
    case Status.UNAVAILABLE:
      return 503;
    case Status.DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}
