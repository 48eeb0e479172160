// Why a call was aborted, as its own type: an abort is not an HTTP error, and
// the code a request ends with is decided from this reason in one place
// (`abortError`), not borrowed from whoever aborted it.
import { JunctionError, type ErrorCode } from '../errors.js';

export type AbortKind =
  /** The caller went away. */
  | 'client_closed'
  /** `timeoutMs` passed before the reply started. */
  | 'start_deadline'
  /** `replyTimeoutMs` passed before the reply ended. */
  | 'reply_deadline'
  /** Another attempt (a hedge) answered first: this one is not needed. */
  | 'superseded';

export class AbortReason extends Error {
  constructor(
    readonly kind: AbortKind,
    message: string,
  ) {
    super(message);
    this.name = 'AbortReason';
  }
}

const CODES: Readonly<Record<AbortKind, ErrorCode>> = {
  client_closed: 'client_closed',
  start_deadline: 'deadline_exceeded',
  reply_deadline: 'deadline_exceeded',
  superseded: 'deadline_exceeded',
};

/** The error an aborted call fails with, for the one place that answers it. */
export function abortError(reason: unknown, objective: string, fallbackMessage: string): JunctionError {
  if (reason instanceof JunctionError) return reason;
  if (reason instanceof AbortReason) return new JunctionError(CODES[reason.kind], reason.message, { objective });
  return new JunctionError('deadline_exceeded', fallbackMessage, { objective });
}
