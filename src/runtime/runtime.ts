// Holds the live revision and swaps it atomically. A new revision is fully
// built (backends ready, pipelines composed) before the swap, so requests never
// see a half-applied config; the old one drains and is released.
import type { Config } from '../config/schema.js';
import { BackendCache } from './backend-cache.js';
import { Revision, type RevisionMeta } from './revision.js';

export type RevisionListener = (next: Revision, previous: Revision | undefined) => void;

export class Runtime {
  private live: Revision | undefined;
  private readonly cache = new BackendCache();
  private readonly listeners: RevisionListener[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  get current(): Revision | undefined {
    return this.live;
  }

  onRevision(listener: RevisionListener): void {
    this.listeners.push(listener);
  }

  /** Builds and swaps in a revision. Applies are serialized; a failed build changes nothing. */
  apply(config: Config, meta: RevisionMeta): Promise<Revision> {
    const run = this.queue.then(async () => {
      const next = await Revision.build(config, meta, this.cache);
      const previous = this.live;
      this.live = next;
      for (const l of this.listeners) l(next, previous);
      if (previous) await previous.retire();
      return next;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    const last = this.live;
    this.live = undefined;
    if (last) await last.retire();
  }
}
