// `serve --log-rotate` through a real Junction: requests' decision lines go
// through the real observer into a file rotated every few KB. Every request's
// line is in exactly one file, whole; a reader that follows the file the way
// a log shipper does (by inode: re-open on rename, as `tail -F`, Fluent Bit,
// Vector and the OTel filelog receiver do) sees every line too; and
// --log-max-bytes caps the live and rotated files together.
import { closeSync, fstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction } from '../../src/app.js';
import { openLogFile } from '../../src/observe/rotating-log.js';
import { rotatedPattern } from '../../src/observe/rotating-file.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream('ranker');
});
afterAll(async () => {
  await upstream?.close();
});

/** The live file and every file it was rotated into, oldest first. */
function logFiles(dir: string, base = 'decisions.jsonl'): string[] {
  const pattern = rotatedPattern(base);
  const rotated = readdirSync(dir)
    .filter((n) => pattern.test(n))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return [...rotated, base].map((n) => join(dir, n));
}

/**
 * Follows `path` as a log shipper does: reads its descriptor to the end; when
 * the name points to another file (a rotation), reads the old descriptor to
 * its end and opens the new file. `until` says when the writer is done.
 */
async function follow(path: string, until: () => boolean): Promise<string> {
  let fd = openSync(path, 'r');
  let ino = fstatSync(fd).ino;
  let pos = 0;
  let text = '';
  const buf = Buffer.alloc(64 * 1024);
  const drain = () => {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) return;
      pos += n;
      text += buf.subarray(0, n).toString('utf8');
    }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const done = until(); // read before draining: whatever was written before it is read below
    drain();
    let now: number | undefined;
    try {
      now = statSync(path).ino;
    } catch {
      // between the rename and the create: the next pass sees the new file
    }
    if (now !== undefined && now !== ino) {
      drain(); // the writer finished with the old file before renaming it
      closeSync(fd);
      fd = openSync(path, 'r');
      ino = fstatSync(fd).ino;
      pos = 0;
      continue;
    }
    if (done) break;
    if (Date.now() > deadline) throw new Error('follower: the writer never finished');
    await new Promise((r) => setTimeout(r, 1)); // poll, as shippers do (inotify aside)
  }
  closeSync(fd);
  return text;
}

describe('decision log rotated by size through a real Junction', () => {
  it('every request has exactly one whole line across all the files, and a follower by inode sees them all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-rotation-'));
    const file = join(dir, 'decisions.jsonl');
    const backend = { type: 'http', endpoints: [upstream.url] };
    const junction = await startJunction({
      listen: false,
      decisionLog: file,
      logRotation: { maxBytes: 8 * 1024 },
      config: {
        models: { ranker: { versions: { '6': { backend } } } },
        objectives: { cw: { default: 'ranker@6' } },
      },
    });
    let closed = false;
    const followed = follow(file, () => closed);
    const N = 1000;
    // 10 at a time: several requests end in each 10 ms batch, and batches land between rotations.
    for (let i = 0; i < N; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, k) =>
          junction.inject({
            method: 'POST',
            url: '/v1/objectives/cw',
            headers: { 'x-request-id': `req-${i + k}`, 'x-unit-id': `u-${i + k}` },
            body: '{}',
          }),
        ),
      );
    }
    await junction.close(); // drains the log into the file
    closed = true;

    const files = logFiles(dir);
    expect(files.length).toBeGreaterThan(10); // ~450-byte lines, 8 KB files: many rotations
    const ids = new Set<string>();
    for (const path of files) {
      const text = readFileSync(path, 'utf8');
      if (text === '') continue;
      expect(text.endsWith('\n')).toBe(true); // no line split across files
      for (const line of text.slice(0, -1).split('\n')) {
        const id = (JSON.parse(line) as { requestId: string }).requestId;
        expect(ids.has(id)).toBe(false);
        ids.add(id);
      }
    }
    expect(ids.size).toBe(N);

    const seen = (await followed).split('\n').filter((l) => l !== '');
    expect(seen).toHaveLength(N);
    expect(new Set(seen.map((l) => (JSON.parse(l) as { requestId: string }).requestId)).size).toBe(N);
  }, 120_000); // a thousand requests and the follower's polling, on a loaded machine
});

describe('--log-max-bytes with rotation', () => {
  const line = (i: number) =>
    JSON.stringify({ time: '2026-12-03T10:00:00.000Z', requestId: `r-${i}`, pad: 'x'.repeat(80) });

  it('caps the live file and its rotated files together', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-rotation-cap-'));
    const file = join(dir, 'decisions.jsonl');
    const log = openLogFile(file, { sampleRate: () => 1, maxFileBytes: 3000, rotation: { maxBytes: 1000 } });
    const verdicts: string[] = [];
    for (let i = 0; i < 40; i++) {
      verdicts.push(log.appendAll([line(i)]));
      await log.drained();
    }
    await log.close();
    // Lines are taken until the next would pass 3000 bytes over all the files, then refused.
    const written = verdicts.indexOf('full');
    expect(written).toBeGreaterThan(0);
    expect(verdicts.slice(written)).toEqual(Array(40 - written).fill('full'));
    const files = logFiles(dir);
    expect(files.length).toBeGreaterThanOrEqual(2); // the live file alone holds less than the cap
    const total = files.reduce((sum, f) => sum + statSync(f).size, 0);
    expect(total).toBeLessThanOrEqual(3000);
    expect(total + Buffer.byteLength(line(written)) + 1).toBeGreaterThan(3000);
    expect(files.reduce((n, f) => n + readFileSync(f, 'utf8').split('\n').length - 1, 0)).toBe(written);
  });

  it('takes lines again once retention has deleted old rotated files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-rotation-retain-'));
    const file = join(dir, 'decisions.jsonl');
    writeFileSync(join(dir, 'decisions.jsonl.20200101T000000Z'), 'x'.repeat(5000)); // years old
    const log = openLogFile(file, {
      sampleRate: () => 1,
      maxFileBytes: 3000,
      rotation: { maxBytes: 1000, retainMs: 7 * 86_400_000 },
    });
    // At open the log holds 5000 bytes on disk: full. Retention's first sweep deletes the old file.
    expect(log.appendAll([line(0)])).toBe('full');
    const deadline = Date.now() + 10_000;
    while (log.isFull && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(log.isFull).toBe(false);
    expect(log.appendAll([line(1)])).toBe('written');
    await log.close();
    expect(readFileSync(file, 'utf8')).toBe(`${line(1)}\n`);
    expect(readdirSync(dir)).toEqual(['decisions.jsonl']);
  });
});
