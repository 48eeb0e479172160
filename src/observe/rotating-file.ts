// A log file that rotates by size and age and keeps rotated files for a while
// (`serve --log-rotate size=256MB,age=1h --log-retain 7d`, SPEC §19): the sink
// the decision and feedback logs write to when rotation is on.
//
// The scheme is "rename, then create": the live file is renamed to
// FILE.<UTC stamp>[.seq] and a new FILE is opened. Log shippers follow a file
// by its identity, not its name, so a rename loses nothing: Fluent Bit's tail
// input keeps reading a rotated file for `rotate_wait` (5 s by default) and
// then takes the new FILE; Vector's file source and the OpenTelemetry
// Collector's filelog receiver know a file by a fingerprint of its first bytes,
// which a rename keeps. copytruncate, the other common scheme, loses whatever
// is written between the copy and the truncate, so it is not offered.
//
// Lines are never split across files and none is lost in the switch: the
// decision log hands this sink runs of whole lines, each run is written with one
// write(2), and a rotation happens only between runs, after the writes to the
// old file have completed (every step runs on one promise chain).
//
// Several processes (`serve --workers N`) append to the same FILE, as they do
// without rotation (O_APPEND: each run lands whole). Before each run a process
// checks that FILE is still the file it holds open; if another process has
// rotated it, it reopens FILE instead of rotating again. The size bound is the
// file's real size, whoever wrote it. A rotated name is reserved with an
// exclusive create before the rename, so two processes rotating at the same
// instant never rename over each other's file (at worst one rotates a file the
// other has just created: a small extra file, no line lost).
import { fstatSync, openSync, readdirSync, statSync } from 'node:fs';
import { close, fstat, open, readdir, rename, stat, unlink, writev } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';

const openP = promisify(open);
const closeP = promisify(close);
const fstatP = promisify(fstat);
const statP = promisify(stat);
const renameP = promisify(rename);
const unlinkP = promisify(unlink);
const readdirP = promisify(readdir);
const writevP = promisify(writev);

export interface RotationPolicy {
  /** Rotate before a write would take the live file past this many bytes. */
  maxBytes?: number | undefined;
  /** Rotate once the live file is this old (from its creation: the filesystem's birth time, else when it was opened). */
  maxAgeMs?: number | undefined;
  /** Delete rotated files rotated longer ago than this (the stamp in their name); never the live file. */
  retainMs?: number | undefined;
}

export interface RotatingFileOptions extends RotationPolicy {
  /** The clock (epoch ms); injected by tests. */
  now?: () => number;
  /** How often the age bound, a rotation by another process and retention are checked without a write (default 1 s; 0: never, tests call `check()`). */
  checkEveryMs?: number;
  /** Told when a rotation or a retention sweep fails: lines keep going to the live file. */
  onRotateError?: (err: Error) => void;
  /** Told the bytes the log holds on disk (live + rotated files) after each rotation and retention sweep. */
  onMeasured?: (diskBytes: number) => void;
}

/** A rotation that failed (a read-only folder, no space for the new file) is tried again after this long; lines keep going to the live file meanwhile. */
const RETRY_ROTATION_MS = 60_000;

/** Retention sweeps run on every this many checks (and after each rotation). */
const SWEEP_EVERY_CHECKS = 60;

/** `FILE.20261203T190929Z` or `FILE.20261203T190929Z.2`: the stamp is when the file was rotated, in UTC. */
export function rotatedName(file: string, at: number, seq = 0): string {
  const stamp = new Date(at)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return seq === 0 ? `${file}.${stamp}` : `${file}.${stamp}.${seq}`;
}

/** Matches the names `rotatedName` gives a file called `base` (no folder); group 1 is the stamp. */
export function rotatedPattern(base: string): RegExp {
  return new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d{8}T\\d{6}Z)(?:\\.\\d+)?$`);
}

/** The instant a rotated stamp names (`20261203T190929Z`). */
function stampTime(stamp: string): number {
  return Date.parse(
    `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`,
  );
}

function code(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

export class RotatingFile extends Writable {
  /** Bytes the log held on disk when opened (live + rotated files): the `--log-max-bytes` cap counts from it. */
  readonly diskBytes: number;
  private fd: number;
  private ino: number;
  private bornAt: number;
  private chain: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly dir: string;
  private readonly rotated: RegExp;
  private readonly timer: NodeJS.Timeout | undefined;
  private checks = 0;
  /** After a failed rotation, none is tried before this (epoch ms): a read-only folder must not warn every batch. */
  private retryAt = 0;
  private stopped = false;

  /** Opens FILE for appending, synchronously, so a bad path fails at startup. */
  constructor(
    readonly path: string,
    private readonly opts: RotatingFileOptions = {},
  ) {
    // A batch of the decision log is taken whole (see openDecisionLog).
    super({ highWaterMark: 256 * 1024 });
    this.now = opts.now ?? Date.now;
    this.dir = dirname(path);
    this.rotated = rotatedPattern(basename(path));
    this.fd = openSync(path, 'a');
    const st = fstatSync(this.fd);
    this.ino = st.ino;
    this.bornAt = this.birth(st.birthtimeMs);
    let bytes = st.size;
    for (const name of readdirSync(this.dir)) {
      if (!this.rotated.test(name)) continue;
      try {
        bytes += statSync(join(this.dir, name)).size;
      } catch {
        // deleted meanwhile (another process's retention)
      }
    }
    this.diskBytes = bytes;
    const every = opts.checkEveryMs ?? 1000;
    if (every > 0) {
      this.timer = setInterval(() => void this.check(), every);
      this.timer.unref(); // the log never keeps a process alive
    }
    if (opts.retainMs !== undefined) void this.enqueue(() => this.sweep()); // sweep() reports its own failures
  }

  /** When the file began: its birth time when the filesystem keeps one (a restarted process keeps its file's age), else now. */
  private birth(birthtimeMs: number): number {
    const now = this.now();
    return birthtimeMs > 0 && birthtimeMs < now ? birthtimeMs : now;
  }

  /** Runs `step` after every step queued before it: writes, rotations and sweeps never overlap. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step);
    this.chain = next.catch(() => undefined);
    return next;
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
    this.enqueue(() => this.writeRun(buffers)).then(() => cb(), cb);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.enqueue(() => this.writeRun([chunk])).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.stop();
    this.enqueue(() => closeP(this.fd)).then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.stopped) {
      this.stop();
      // Queued: a write still running finishes on an open descriptor.
      void this.enqueue(() => closeP(this.fd).catch(() => undefined));
    }
    cb(err);
  }

  private stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /**
   * Checks the bounds without writing: the age bound, a rotation by another
   * process (then FILE is reopened), and, now and then, retention. The timer
   * calls it; tests call it on their own clock.
   */
  check(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.enqueue(async () => {
      const size = await this.follow();
      let swept = false;
      if (size > 0 && this.aged() && this.now() >= this.retryAt) swept = await this.rotate();
      if (!swept && this.opts.retainMs !== undefined && ++this.checks % SWEEP_EVERY_CHECKS === 0) await this.sweep();
    }).catch((err: unknown) => this.opts.onRotateError?.(err as Error));
  }

  private aged(): boolean {
    return this.opts.maxAgeMs !== undefined && this.now() - this.bornAt >= this.opts.maxAgeMs;
  }

  /** One run of whole lines into the live file, rotating first when it is due. */
  private async writeRun(buffers: Buffer[]): Promise<void> {
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    const size = await this.follow();
    const max = this.opts.maxBytes;
    // An empty file is never rotated: a run larger than the bound gets a file of its own.
    const due = (max !== undefined && size + bytes > max) || this.aged();
    if (size > 0 && due && this.now() >= this.retryAt) await this.rotate();
    let written = (await writevP(this.fd, buffers)).bytesWritten;
    // A regular file takes the whole run in one call; should it not, the rest follows (same file: no rotation between).
    while (written < bytes) {
      const rest = Buffer.concat(buffers).subarray(written);
      written += (await writevP(this.fd, [rest])).bytesWritten;
    }
  }

  /**
   * The live file's size, after making sure the descriptor is FILE's: when
   * another process rotated it (or it was deleted), FILE is (re)opened.
   */
  private async follow(): Promise<number> {
    let st;
    try {
      st = await statP(this.path);
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err;
    }
    if (st !== undefined && st.ino === this.ino) return st.size;
    return this.reopen();
  }

  /** Opens FILE afresh (creating it) and closes the old descriptor, whose writes have all completed. */
  private async reopen(): Promise<number> {
    const fd = await openP(this.path, 'a');
    const st = await fstatP(fd);
    const old = this.fd;
    this.fd = fd;
    this.ino = st.ino;
    this.bornAt = this.birth(st.birthtimeMs);
    await closeP(old);
    return st.size;
  }

  /**
   * Renames FILE to its rotated name and opens a new FILE; returns whether
   * retention ran. A failure leaves lines going to the current file.
   */
  private async rotate(): Promise<boolean> {
    const at = this.now();
    let target: string | undefined;
    let renamed = false;
    try {
      target = await this.reserve(at);
      await renameP(this.path, target);
      renamed = true;
    } catch (err) {
      // ENOENT: another process rotated FILE a moment ago; our placeholder goes, and we follow theirs.
      if (target !== undefined) await unlinkP(target).catch(() => undefined);
      if (code(err) !== 'ENOENT') {
        this.retryAt = at + RETRY_ROTATION_MS;
        this.opts.onRotateError?.(err as Error);
        return false;
      }
    }
    await this.reopen();
    if (renamed) this.emit('rotate', target);
    await this.sweep();
    return true;
  }

  /** A rotated name nobody has: created empty and exclusively, so a rename never replaces another process's file. */
  private async reserve(at: number): Promise<string> {
    for (let seq = 0; ; seq++) {
      const name = rotatedName(this.path, at, seq);
      try {
        await closeP(await openP(name, 'wx'));
        return name;
      } catch (err) {
        if (code(err) !== 'EEXIST' || seq >= 10_000) throw err;
      }
    }
  }

  /** Deletes rotated files past the retain bound, then tells the owner what the log holds on disk. */
  private async sweep(): Promise<void> {
    const now = this.now();
    const retain = this.opts.retainMs;
    let bytes = 0;
    try {
      for (const name of await readdirP(this.dir)) {
        const m = this.rotated.exec(name);
        if (m === null) continue;
        const file = join(this.dir, name);
        try {
          if (retain !== undefined && now - stampTime(m[1]!) > retain) await unlinkP(file);
          else bytes += (await statP(file)).size;
        } catch (err) {
          if (code(err) !== 'ENOENT') throw err; // another process's retention got there first
        }
      }
      bytes += (await fstatP(this.fd)).size;
    } catch (err) {
      this.opts.onRotateError?.(err as Error);
      return;
    }
    this.opts.onMeasured?.(bytes);
  }
}
