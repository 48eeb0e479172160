// What one process gathers for the fleet readout between two flushes (issue
// 28, item 2), keyed so that a key seen again only adds to its entry: each
// unit's earliest exposure per experiment, each cell's counts and latency
// histogram, each unit's feedback sums. Plain data, so a batch that failed to
// reach the store can be sent again as it was.
import { LATENCY_BUCKETS } from '../readout/latency-buckets.js';

export interface ExposureEntry {
  experiment: string;
  unit: string;
  objective: string;
  cell: string;
  revision: number;
  /** ms since the epoch of the exposure. */
  at: number;
  /** The unit was seen in another cell too (in this batch). */
  several: boolean;
}

export interface CellEntry {
  experiment: string;
  objective: string;
  cell: string;
  revision: number;
  target: string;
  balance: string;
  exposures: number;
  served: number;
  errors: number;
  latency: number[];
  ttft: number[];
}

export interface FeedbackEntry {
  objective: string;
  unit: string;
  metric: string;
  sum: number;
  count: number;
}

/** Feedback for a request this process did not see: parked in the store until the replica that served it resolves it. */
export interface PendingFeedbackEntry {
  requestId: string;
  metric: string;
  sum: number;
  count: number;
}

export class ReadoutBatch {
  readonly exposures = new Map<string, ExposureEntry>();
  readonly cells = new Map<string, CellEntry>();
  readonly feedback = new Map<string, FeedbackEntry>();
  readonly pending = new Map<string, PendingFeedbackEntry>();

  get size(): number {
    return this.exposures.size + this.cells.size + this.feedback.size + this.pending.size;
  }

  /** The earliest exposure of a unit wins its cell; another cell marks the unit as having seen several. */
  addExposure(e: ExposureEntry, key: string): void {
    const old = this.exposures.get(key);
    if (old === undefined) {
      this.exposures.set(key, e);
      return;
    }
    const several = old.several || e.several || old.cell !== e.cell;
    if (e.at < old.at) this.exposures.set(key, { ...e, several });
    else old.several = several;
  }

  cell(key: string, make: () => Omit<CellEntry, 'exposures' | 'served' | 'errors' | 'latency' | 'ttft'>): CellEntry {
    let c = this.cells.get(key);
    if (c === undefined) {
      c = {
        ...make(),
        exposures: 0,
        served: 0,
        errors: 0,
        latency: new Array<number>(LATENCY_BUCKETS).fill(0),
        ttft: new Array<number>(LATENCY_BUCKETS).fill(0),
      };
      this.cells.set(key, c);
    }
    return c;
  }

  addFeedback(objective: string, unit: string, metric: string, value: number): void {
    const key = `${objective}\u0001${unit}\u0001${metric}`;
    const f = this.feedback.get(key);
    if (f === undefined) this.feedback.set(key, { objective, unit, metric, sum: value, count: 1 });
    else {
      f.sum += value;
      f.count++;
    }
  }

  addPending(requestId: string, metric: string, value: number): void {
    const key = `${requestId}\u0001${metric}`;
    const f = this.pending.get(key);
    if (f === undefined) this.pending.set(key, { requestId, metric, sum: value, count: 1 });
    else {
      f.sum += value;
      f.count++;
    }
  }
}
