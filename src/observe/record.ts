// What one request did, filled in by the invoke path as it goes and handed to
// every observer (metrics, decision log, access log) once it ends. One record,
// many readers: nothing on the hot path is measured twice.
import type { TrafficClass } from '../config/schema.js';
import type { ErrorCode } from '../errors.js';
import type { Outcome } from '../routing/types.js';

export interface RequestRecord {
  requestId: string;
  /** performance.now() when the request arrived. */
  start: number;
  /** performance.now() when the response started (headers written), if it did. */
  firstByte: number | undefined;
  /** performance.now() when the response ended. */
  end: number;
  objective: string | undefined;
  outcome: Outcome | undefined;
  unit: string | undefined;
  context: Readonly<Record<string, string>> | undefined;
  trafficClass: TrafficClass;
  client: string | undefined;
  status: number;
  errorCode: ErrorCode | undefined;
  /** Target id (or `static`) when a fallback answered. */
  fallback: string | undefined;
  /** Time spent waiting on the backend until its reply started, ms. */
  upstreamMs: number | undefined;
}

export type Observer = (record: RequestRecord) => void;
