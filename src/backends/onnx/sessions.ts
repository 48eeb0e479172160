// ONNX Runtime sessions, one per model file (per Junction) however many targets name it.
// Created when a revision is built (never per request), reference counted,
// and released when the last backend using the file closes. A file that is
// missing or not a valid model refuses the apply with the config path.
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ConfigError } from '../../config/issues.js';
import { Batcher } from './batcher.js';

export interface SharedSession {
  readonly session: ort.InferenceSession;
  readonly file: string;
  /**
   * The batcher for these settings, shared by every holder that asks for the
   * same ones: concurrent requests from targets naming one file merge too.
   */
  batcher(maxBatch: number, maxDelayMs: number): Batcher;
  /** Drops this holder's reference; the session is released with the last one. */
  release(): Promise<void>;
}

interface Entry {
  session: Promise<ort.InferenceSession>;
  refs: number;
  batchers: Map<string, Batcher>;
}

const OPTIONS: ort.InferenceSession.SessionOptions = {
  // Small models on shared cores: one thread per run, and concurrency comes
  // from dynamic batching and libuv's pool, not from intra-op threads.
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
};

/** The sessions one Junction has open (two Junctions in a process load a model each: they share nothing). */
export class OnnxSessions {
  private readonly open = new Map<string, Entry>();

  /**
   * @param file the path as written in the config
   * @param configPath where it was written, e.g. `models.ranker.versions.6.backend.path`
   */
  async acquire(file: string, baseDir: string, configPath: string): Promise<SharedSession> {
    const open = this.open;
    const resolved = resolve(baseDir, file);
    let entry = open.get(resolved);
    if (entry === undefined) {
      entry = { session: ort.InferenceSession.create(resolved, OPTIONS), refs: 0, batchers: new Map() };
      open.set(resolved, entry);
    }
    entry.refs++;
    let session: ort.InferenceSession;
    try {
      session = await entry.session;
    } catch (err) {
      if (--entry.refs === 0 && open.get(resolved) === entry) open.delete(resolved);
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new ConfigError([
        {
          path: configPath,
          message: `cannot load ONNX model ${resolved}: ${reason}; check the file exists and is a valid .onnx model`,
        },
      ]);
    }
    let released = false;
    const { batchers } = entry;
    return {
      session,
      file: resolved,
      batcher(maxBatch, maxDelayMs) {
        const key = `${maxBatch}/${maxDelayMs}`;
        let b = batchers.get(key);
        if (b === undefined) {
          b = new Batcher((feeds) => session.run(feeds), maxBatch, maxDelayMs);
          batchers.set(key, b);
        }
        return b;
      },
      async release() {
        if (released) return;
        released = true;
        if (--entry.refs > 0) return;
        if (open.get(resolved) === entry) open.delete(resolved);
        await session.release();
      },
    };
  }

  /** Files with a session open, resolved (for tests and diagnostics). */
  get files(): string[] {
    return [...this.open.keys()];
  }
}
