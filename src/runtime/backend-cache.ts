// Backends outlive revisions: an apply that leaves a version's backend config
// unchanged keeps its connection pools (or ONNX session) instead of rebuilding
// them. Reference counted; a backend closes when no live revision uses it.
import { createBackend, type BackendContext } from '../backends/registry.js';
import type { Backend } from '../backends/types.js';
import type { Target } from '../routing/types.js';

interface Entry {
  backend: Promise<Backend>;
  refs: number;
}

/** What a revision adds to the Junction's own services: where its relative paths resolve. */
export type RevisionScope = Pick<BackendContext, 'baseDir'>;

export class BackendCache {
  private readonly entries = new Map<string, Entry>();

  /** @param services the Junction's telemetry sink and ONNX sessions, given to every backend it builds */
  constructor(private readonly services: Omit<BackendContext, 'baseDir'>) {}

  private static key(target: Target, ctx: RevisionScope): string {
    return `${target.id}\u0000${ctx.baseDir}\u0000${JSON.stringify(target.backend)}`;
  }

  async acquire(target: Target, ctx: RevisionScope): Promise<Backend> {
    const key = BackendCache.key(target, ctx);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { backend: createBackend(target, { ...this.services, baseDir: ctx.baseDir }), refs: 0 };
      this.entries.set(key, entry);
      entry.backend.catch(() => this.entries.delete(key));
    }
    entry.refs++;
    return entry.backend;
  }

  async release(target: Target, ctx: RevisionScope): Promise<void> {
    const key = BackendCache.key(target, ctx);
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    if (--entry.refs > 0) return;
    this.entries.delete(key);
    await (await entry.backend).close();
  }

  /** The Junction's telemetry sink (the policies report to it too). */
  get telemetry(): BackendContext['telemetry'] {
    return this.services.telemetry;
  }

  get size(): number {
    return this.entries.size;
  }
}
