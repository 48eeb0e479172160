// A bulkhead: at most `limit` calls in flight, a small bounded queue, and an
// immediate 503 overloaded beyond it (never a hang), so one slow model or one
// noisy tenant cannot take every socket. Priorities decide who is refused
// first: sheddable calls may only use part of the slots and never queue;
// critical calls are dequeued first and may take a queued call's place.
import type { CancelSignal } from '../call/cancel.js';
import type { Readable } from 'node:stream';
import type { Policy } from '../call/types.js';
import type { ClientConfig } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import { NO_TELEMETRY, type Telemetry } from '../observe/telemetry.js';

export type Priority = ClientConfig['priority'];

/** Share of the slots sheddable traffic may use: the rest is headroom for the others. */
export const SHEDDABLE_SHARE = 0.75;

interface Waiter {
  priority: Priority;
  grant: (release: () => void) => void;
  refuse: (err: unknown) => void;
}

export class Bulkhead {
  inflight = 0;
  private readonly queue: Waiter[] = [];
  private sheddableLimit: number;

  constructor(
    public limit: number,
    public maxQueue: number,
    private readonly name: string,
  ) {
    this.sheddableLimit = Math.max(1, Math.floor(limit * SHEDDABLE_SHARE));
  }

  /**
   * New limits for the calls to come (a config revision changed them). Calls in
   * flight keep their slots; a raised limit admits queued calls at once; a
   * smaller queue refuses no one already waiting.
   */
  setLimits(limit: number, maxQueue: number): void {
    this.limit = limit;
    this.maxQueue = maxQueue;
    this.sheddableLimit = Math.max(1, Math.floor(limit * SHEDDABLE_SHARE));
    while (this.inflight < this.limit && this.queue.length > 0) this.queue.shift()!.grant(this.take());
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Resolves with the release function once a slot is held; rejects with `overloaded`. */
  acquire(priority: Priority = 'default', signal?: CancelSignal): Promise<() => void> {
    if (priority === 'sheddable') {
      return this.inflight < this.sheddableLimit
        ? Promise.resolve(this.take())
        : Promise.reject(this.overloaded('shed'));
    }
    if (this.inflight < this.limit && this.queue.length === 0) return Promise.resolve(this.take());
    if (this.queue.length >= this.maxQueue && !(priority === 'critical' && this.evictOne())) {
      return Promise.reject(this.overloaded('full'));
    }
    return new Promise((grant, refuse) => {
      const waiter: Waiter = { priority, grant, refuse };
      if (priority === 'critical') {
        const firstOther = this.queue.findIndex((w) => w.priority !== 'critical');
        this.queue.splice(firstOther === -1 ? this.queue.length : firstOther, 0, waiter);
      } else {
        this.queue.push(waiter);
      }
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.queue.indexOf(waiter);
          if (i !== -1) {
            this.queue.splice(i, 1);
            refuse(signal.reason);
          }
        },
        { once: true },
      );
    });
  }

  private take(): () => void {
    this.inflight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inflight--;
      // After setLimits lowered the limit, freed slots are not handed on until in-flight is under it.
      if (this.inflight < this.limit && this.queue.length > 0) this.queue.shift()!.grant(this.take());
    };
  }

  /** Drops the newest non-critical waiter to make room for a critical one. */
  private evictOne(): boolean {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const w = this.queue[i]!;
      if (w.priority !== 'critical') {
        this.queue.splice(i, 1);
        w.refuse(this.overloaded('preempted by critical traffic'));
        return true;
      }
    }
    return false;
  }

  private overloaded(why: string): JunctionError {
    return new JunctionError(
      'overloaded',
      `${this.name} is at its concurrency limit (${this.limit} in flight, ${this.queue.length} queued: ${why})`,
    );
  }
}

/** Holds a slot until the reply's body has been fully sent (or failed), not just until headers. */
export function releaseWhenDone(body: Readable | Buffer | null, release: () => void): void {
  if (body === null || Buffer.isBuffer(body)) release();
  else if (body.destroyed || body.readableEnded) release();
  else body.once('close', release);
}

/** The bulkhead as a policy of the send contract. */
export function bulkhead(b: Bulkhead, telemetry: Telemetry = NO_TELEMETRY): Policy {
  return (next) => async (call) => {
    let release: () => void;
    try {
      release = await b.acquire(call.priority, call.signal);
    } catch (err) {
      const shed = call.priority === 'sheddable';
      telemetry.rejection(call.objective.name, call.client ?? 'anonymous', shed ? 'shed' : 'overloaded');
      throw err instanceof JunctionError && err.objective === undefined
        ? new JunctionError(err.code, err.message, { objective: call.objective.name })
        : err;
    }
    try {
      const reply = await next(call);
      releaseWhenDone(reply.body, release);
      return reply;
    } catch (err) {
      release();
      throw err;
    }
  };
}
