// The control plane of one process: the store is the truth, the runtime serves
// it. A change is validated and built (backends ready) before it is stored as
// revision N+1, so the store never holds a config this process cannot serve;
// then it is swapped in. Every process converges on the store's latest
// revision: at once on its own applies, on a NOTIFY from PostgreSQL, and on a
// periodic check that catches whatever a notification missed (and other
// processes on SQLite).
import { ConfigError } from '../config/issues.js';
import { validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import type { Logger } from '../call/hooks.js';
import type { Runtime } from '../runtime/runtime.js';
import { configDiff } from './config-diff.js';
import { editText } from './text-edit.js';
import {
  RevisionConflict,
  sameRevision,
  type RevisionDraft,
  type RevisionNotes,
  type Store,
  type StoredRevision,
} from './store.js';

/** Tries of an edit whose revision other processes keep moving past (each try reads, validates and builds). */
const EDIT_ATTEMPTS = 10;

export interface ControlPlaneOptions {
  store: Store;
  runtime: Runtime;
  /** Relative paths in configs (model files) resolve against this folder. */
  baseDir: string;
  log: Logger;
  /** Safety-net check of the store's latest revision; default 1 s for SQLite, 5 s for PostgreSQL. */
  pollMs?: number;
}

export interface ChangeRequest {
  source: unknown;
  author: string;
  message: string;
  /** Seeding and watch: no new revision when the source equals the latest one. */
  onlyIfChanged?: boolean;
  /** Seeding: no new revision when the store has one already (checked again in the store's transaction). */
  onlyIfEmpty?: boolean;
  /** The text `source` was parsed from (YAML or JSON as submitted), kept in the revision for editors. */
  text?: string;
  /** Overridden safety checks to record in the revision (acknowledged experiments, a forced rollout's reason). */
  notes?: RevisionNotes;
}

export interface ChangeResult {
  /** The live revision after the change. */
  revision: number;
  /** True when nothing was written (same config as the latest revision). */
  unchanged: boolean;
  diff: string[];
}

export class ControlPlane {
  readonly store: Store;
  readonly runtime: Runtime;
  private readonly baseDir: string;
  private readonly log: Logger;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** A stored revision this process could not build; not retried until a newer one exists. */
  private failed = 0;
  private closed = false;

  constructor(private readonly opts: ControlPlaneOptions) {
    this.store = opts.store;
    this.runtime = opts.runtime;
    this.baseDir = opts.baseDir;
    this.log = opts.log;
  }

  /** Serves the latest stored revision and keeps following the store. */
  async start(): Promise<void> {
    await this.sync();
    this.store.subscribe(() => void this.sync());
    const every = this.opts.pollMs ?? (this.store.kind === 'postgres' ? 5000 : 1000);
    this.timer = setInterval(() => void this.sync(), every);
    this.timer.unref();
  }

  get liveNumber(): number {
    return this.runtime.current?.number ?? 0;
  }

  /** Validation and the diff against the latest revision, changing nothing. */
  async dryRun(source: unknown): Promise<{ diff: string[]; revision: number }> {
    validateConfig(source);
    const latest = await this.store.latest();
    return { diff: configDiff(latest?.source, source), revision: latest?.number ?? 0 };
  }

  apply(change: ChangeRequest): Promise<ChangeResult> {
    const config = validateConfig(change.source);
    return this.serial(() => this.applyNow(change, config));
  }

  /**
   * A change computed from the latest stored source (rollout actions, the
   * rollout controller, keys), read and applied in one serialized step so that
   * two edits in this process never build on the same stale source; across
   * processes the store's compare-and-set (`ifLatest`) refuses an edit of a
   * revision another process has moved past, and the edit is computed again
   * from the newer one.
   */
  edit({
    edit,
    ...change
  }: Omit<ChangeRequest, 'source'> & { edit: (latest: unknown, number: number) => unknown }): Promise<ChangeResult> {
    return this.serial(async () => {
      for (let attempt = 1; ; attempt++) {
        const latest = await this.store.latest();
        if (!latest) throw new JunctionError('not_ready', 'no config stored yet; apply one first: junction apply FILE');
        const source = edit(latest.source, latest.number);
        // The author's text, edited where the config changed: comments and order survive Junction's edits too.
        const text = latest.text === undefined ? undefined : editText(latest.text, latest.source, source);
        try {
          return await this.applyNow(
            { ...change, source, ifLatest: latest.number, ...(text !== undefined ? { text } : {}) },
            validateConfig(source),
          );
        } catch (err) {
          if (!(err instanceof RevisionConflict)) throw err;
          if (attempt >= EDIT_ATTEMPTS)
            throw new JunctionError(
              'overloaded',
              `the config changed ${attempt} times while this change was being made; nothing was stored, try again`,
            );
        }
      }
    });
  }

  private async applyNow(
    change: ChangeRequest & Pick<RevisionDraft, 'ifLatest'>,
    config: Config,
  ): Promise<ChangeResult> {
    const latest = await this.store.latest();
    const same = latest !== undefined && sameRevision(latest.source, latest.text, change);
    if ((change.onlyIfChanged && same) || (change.onlyIfEmpty && latest !== undefined)) {
      await this.catchUp();
      return { revision: this.liveNumber, unchanged: true, diff: [] };
    }
    const diff = configDiff(latest?.source, change.source);
    const number = (latest?.number ?? 0) + 1;
    const prepared = await this.prepare(config, number, change.source);
    let stored: StoredRevision | undefined;
    try {
      stored = await this.store.append(change);
    } catch (err) {
      await prepared.retire();
      throw err;
    }
    if (stored?.number === number) {
      await this.runtime.activate(prepared);
      this.log.info({ revision: number, author: stored.author, message: stored.message }, 'config revision live');
      return { revision: number, unchanged: false, diff };
    }
    // Another process stored a revision meanwhile, so ours got another number (or was no change after all).
    await prepared.retire();
    if (stored) await this.bringUp(stored, true);
    else await this.catchUp();
    return { revision: this.liveNumber, unchanged: stored === undefined, diff: stored ? diff : [] };
  }

  /** Builds the revision off the hot path; a config that cannot be served is refused here, before it is stored. */
  private async prepare(config: Config, number: number, source: unknown) {
    try {
      return await this.runtime.prepare(config, { number, source, baseDir: this.baseDir });
    } catch (err) {
      const issues = err instanceof ConfigError ? err.issues : undefined;
      const why = issues ? issues.map((i) => `${i.path}: ${i.message}`).join('; ') : (err as Error).message;
      throw new JunctionError(
        'invalid_request',
        `config cannot be served (${why}); nothing was stored, revision ${this.liveNumber} stays live`,
        { issues },
      );
    }
  }

  async rollback(number: number, author: string, message?: string): Promise<ChangeResult> {
    const target = await this.store.get(number);
    if (!target) throw new JunctionError('not_found', `no revision ${number}; list them with "junction revisions"`);
    return this.apply({
      source: target.source,
      author,
      message: message ?? `rollback to revision ${number}`,
      ...(target.text !== undefined ? { text: target.text } : {}),
      onlyIfChanged: true,
    });
  }

  /** Moves this process to the store's latest revision if it is behind. Never throws. */
  sync(): Promise<void> {
    return this.serial(() => this.catchUp());
  }

  private async catchUp(): Promise<void> {
    if (this.closed) return; // a late notification while shutting down
    try {
      if ((await this.store.latestNumber()) <= Math.max(this.liveNumber, this.failed)) return;
      const latest = await this.store.latest();
      if (latest) await this.bringUp(latest, false);
    } catch (err) {
      this.log.error({ err: String(err) }, 'control plane: cannot read the store; serving the current revision');
    }
  }

  private async bringUp(rev: StoredRevision, rethrow: boolean): Promise<void> {
    if (rev.number <= this.liveNumber) return;
    try {
      const config = validateConfig(rev.source);
      await this.runtime.apply(config, { number: rev.number, source: rev.source, baseDir: this.baseDir });
      this.log.info({ revision: rev.number, author: rev.author, message: rev.message }, 'config revision live');
    } catch (err) {
      this.failed = Math.max(this.failed, rev.number);
      const why = err instanceof Error ? err.message : String(err);
      this.log.error(
        { revision: rev.number, err: why },
        `revision ${rev.number} cannot be served; revision ${this.liveNumber} stays live`,
      );
      if (rethrow) {
        throw new JunctionError(
          'invalid_request',
          `revision ${rev.number} was stored but cannot be served (${why}); revision ${this.liveNumber} stays live: fix the config and apply again, or roll back`,
        );
      }
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.chain;
    await this.store.close();
  }
}
