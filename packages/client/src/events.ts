// What the SDK tells its host about, through the `onEvent` hook: the SDK never
// logs on its own and never throws into the caller for these.
export type ClientEvent =
  /** A snapshot was applied: decisions now use this revision. `source` says where it came from. */
  | { type: 'revision'; revision: number; source: 'server' | 'cache' }
  /** Junction could not be reached (or answered an error); the SDK keeps deciding on its last snapshot and retries in `retryInMs`. */
  | { type: 'disconnected'; error: string; retryInMs: number }
  /** Junction answers again after a `disconnected`. */
  | { type: 'reconnected' }
  /** A snapshot that failed to parse or validate: ignored whole; the previous one stays in use. */
  | { type: 'snapshot_rejected'; revision: number | undefined; error: string }
  /** The cache file could not be written (the SDK keeps working without it). */
  | { type: 'cache_error'; error: string }
  /** Exposures were dropped (buffer full or Junction refused/failed them); `total` counts every drop so far. */
  | { type: 'exposures_dropped'; count: number; total: number; reason: string };

export type EventHook = (event: ClientEvent) => void;

/** Calls the hook, never letting its failure reach the SDK's own paths. */
export function emitter(hook: EventHook | undefined): EventHook {
  if (hook === undefined) return () => undefined;
  return (event) => {
    try {
      hook(event);
    } catch {
      // The host's hook failed: nothing the SDK can do about it, and deciding must go on.
    }
  };
}
