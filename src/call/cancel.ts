// A call's abort, without Node's EventTarget. Every request needs one (the
// caller leaving, a deadline, a hedge that lost must all stop the upstream
// call), but an AbortController costs each request an EventTarget, and
// undici's listener on it another add/remove through EventTarget's machinery:
// together about a tenth of Junction's own CPU per proxied request when
// profiled. This is the part of AbortSignal the call path uses, which undici
// accepts as a signal too (it needs `aborted`, `reason` and the two listener
// methods).

/** What code on the call path reads of an abort: a structural subset of AbortSignal, which satisfies it too. */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** AbortController's job for one call: `abort(reason)` once; listeners run once, in order. */
export class Cancellation implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<() => void> | undefined;

  /** The signal side, for symmetry with AbortController (it is this object). */
  get signal(): CancelSignal {
    return this;
  }

  /** Also aborted when `parent` aborts (with its reason): an attempt under its call. */
  static under(parent: CancelSignal): Cancellation {
    const child = new Cancellation();
    if (parent.aborted) child.abort(parent.reason);
    else parent.addEventListener('abort', () => child.abort(parent.reason), { once: true });
    return child;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        listener();
      } catch {
        // A listener that throws must not stop the others, nor reach whoever aborted
        // (a socket's 'close' handler, a timer): there it would end the process.
      }
    }
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return; // like AbortSignal: an aborted signal never fires again
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.listeners;
    if (listeners === undefined) return;
    const i = listeners.indexOf(listener);
    if (i !== -1) listeners.splice(i, 1);
  }
}
