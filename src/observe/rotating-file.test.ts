// The rotating log file alone: when it rotates (size, age on an injected clock),
// what retention deletes, and that two writers of one file (serve --workers)
// neither split nor lose a line across many rotations.
import { mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RotatingFile, rotatedName, rotatedPattern, type RotatingFileOptions } from './rotating-file.js';

const open: RotatingFile[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => end(f)));
});

function fresh(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'junction-rotate-'));
  return { dir, file: join(dir, 'decisions.jsonl') };
}

function rotating(file: string, opts: RotatingFileOptions): RotatingFile {
  const f = new RotatingFile(file, { checkEveryMs: 0, ...opts });
  open.push(f);
  return f;
}

function write(f: RotatingFile, text: string): Promise<void> {
  return new Promise((resolve, reject) => f.write(Buffer.from(text), (err) => (err ? reject(err) : resolve())));
}

function end(f: RotatingFile): Promise<void> {
  return new Promise((resolve) => {
    if (f.writableEnded) return resolve();
    f.end(() => resolve());
  });
}

/** The rotated files of `file`, by name (names sort by rotation time, then sequence). */
function rotatedFiles(dir: string): string[] {
  const pattern = rotatedPattern('decisions.jsonl');
  return readdirSync(dir)
    .filter((n) => pattern.test(n))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

describe('rotation by size', () => {
  it('renames the live file before a write would take it past the bound, and keeps every line whole and in order', async () => {
    const { dir, file } = fresh();
    const f = rotating(file, { maxBytes: 100 });
    const lines = Array.from({ length: 30 }, (_, i) => `{"n":${String(i).padStart(4, '0')},"pad":"xxxxxxxxxx"}\n`); // 32 bytes each
    for (const line of lines) await write(f, line);
    await end(f);
    const rotated = rotatedFiles(dir);
    expect(rotated.length).toBe(9); // 3 lines (96 bytes) a file: 10 files, the last one live
    for (const name of rotated) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(100);
    const all = [...rotated.map((n) => join(dir, n)), file].map((p) => readFileSync(p, 'utf8')).join('');
    expect(all).toBe(lines.join(''));
  });

  it('gives a run larger than the bound a file of its own rather than splitting it', async () => {
    const { dir, file } = fresh();
    const f = rotating(file, { maxBytes: 10 });
    await write(f, 'aaaaaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbbbb\n');
    await write(f, 'c\n');
    await end(f);
    const [first] = rotatedFiles(dir);
    expect(readFileSync(join(dir, first!), 'utf8')).toBe('aaaaaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbbbb\n');
    expect(readFileSync(file, 'utf8')).toBe('c\n');
  });
});

describe('rotation by age', () => {
  it('rotates once the file is older than the bound, on the next write or check, never an empty file', async () => {
    const { dir, file } = fresh();
    let now = Date.parse('2026-12-03T10:00:00.000Z');
    const f = rotating(file, { maxAgeMs: 3_600_000, now: () => now });
    await write(f, 'one\n');
    now += 3_599_999;
    await f.check();
    expect(rotatedFiles(dir)).toEqual([]);
    now += 1;
    await f.check();
    expect(rotatedFiles(dir)).toEqual(['decisions.jsonl.20261203T110000Z']);
    expect(readFileSync(join(dir, 'decisions.jsonl.20261203T110000Z'), 'utf8')).toBe('one\n');
    // The new file is an hour old an hour later, but empty: nothing to rotate.
    now += 3_600_000;
    await f.check();
    expect(rotatedFiles(dir)).toHaveLength(1);
    await write(f, 'two\n'); // a write to a file past its age rotates first; this one is young (its age counts from its creation)
    expect(readFileSync(file, 'utf8')).toBe('two\n');
  });

  it('names a second rotation in the same second with a sequence', () => {
    expect(rotatedName('/x/d.jsonl', Date.parse('2026-12-03T10:00:00.500Z'))).toBe('/x/d.jsonl.20261203T100000Z');
    expect(rotatedName('/x/d.jsonl', Date.parse('2026-12-03T10:00:00.500Z'), 2)).toBe('/x/d.jsonl.20261203T100000Z.2');
  });
});

describe('retention', () => {
  it('deletes rotated files rotated longer ago than the bound, and nothing else', async () => {
    const { dir, file } = fresh();
    const now = Date.parse('2026-12-10T12:00:00.000Z');
    const old = ['decisions.jsonl.20261201T000000Z', 'decisions.jsonl.20261203T115959Z.3'];
    const kept = ['decisions.jsonl.20261203T120001Z', 'decisions.jsonl.20261210T110000Z'];
    const strangers = ['decisions.jsonl.bak', 'other.jsonl.20261101T000000Z', 'decisions.jsonl.20261101'];
    for (const name of [...old, ...kept, ...strangers]) writeFileSync(join(dir, name), 'x\n');
    writeFileSync(file, 'live\n');
    const measured: number[] = [];
    const f = rotating(file, { retainMs: 7 * 86_400_000, now: () => now, onMeasured: (b) => measured.push(b) });
    await f.check(); // the sweep at open is queued before it
    expect(readdirSync(dir).sort()).toEqual([...kept, ...strangers, 'decisions.jsonl'].sort());
    // What the log holds on disk: the live file and the two rotated files kept.
    expect(measured.at(-1)).toBe(5 + 2 + 2);
  });
});

describe('several writers of one file (serve --workers)', () => {
  it('a writer whose file another rotated reopens it instead of rotating again', async () => {
    const { dir, file } = fresh();
    const a = rotating(file, { maxBytes: 1000 });
    const b = rotating(file, { maxBytes: 1000 });
    await write(a, 'a1\n');
    await write(b, 'b1\n');
    renameSync(file, join(dir, 'decisions.jsonl.20261203T100000Z')); // as the other writer's rotation does
    await write(b, 'b2\n');
    await write(a, 'a2\n');
    expect(readFileSync(file, 'utf8')).toBe('b2\na2\n');
    expect(rotatedFiles(dir)).toEqual(['decisions.jsonl.20261203T100000Z']);
  });

  it('two writers, many rotations: every line lands exactly once and whole', async () => {
    const { dir, file } = fresh();
    const a = rotating(file, { maxBytes: 2048 });
    const b = rotating(file, { maxBytes: 2048 });
    const N = 2000;
    // Each writer hands over runs of 4 whole lines, one after another, as the decision log does
    // its batches; the two writers' runs interleave.
    const writer = async (f: RotatingFile, first: number) => {
      for (let i = first; i < N; i += 8) {
        await write(f, [0, 1, 2, 3].map((k) => `{"n":${i + k},"pad":"${'p'.repeat((i + k) % 50)}"}\n`).join(''));
      }
    };
    await Promise.all([writer(a, 0), writer(b, 4)]);
    await Promise.all([end(a), end(b)]);
    const files = [...rotatedFiles(dir).map((n) => join(dir, n)), file];
    expect(files.length).toBeGreaterThan(20);
    const seen = new Set<number>();
    for (const path of files) {
      const text = readFileSync(path, 'utf8');
      if (text === '') continue;
      expect(text.endsWith('\n')).toBe(true);
      for (const line of text.slice(0, -1).split('\n')) {
        const n = (JSON.parse(line) as { n: number }).n;
        expect(seen.has(n)).toBe(false);
        seen.add(n);
      }
    }
    expect(seen.size).toBe(N);
  });
});

describe('a rotation that fails', () => {
  it('keeps every line in the live file, says so once, and tries again a minute later', async () => {
    const { dir } = fresh();
    // A name of 240 characters: the file can be created, its rotated name (17 more) passes NAME_MAX (255),
    // so the rotation fails whoever runs the test (root included).
    const file = join(dir, `${'d'.repeat(234)}.jsonl`);
    let now = Date.parse('2026-12-03T10:00:00.000Z');
    const errors: Error[] = [];
    const f = rotating(file, { maxBytes: 10, now: () => now, onRotateError: (e) => errors.push(e) });
    await write(f, 'aaaaaaaa\n');
    await write(f, 'bbbbbbbb\n');
    await write(f, 'cccccccc\n');
    expect(readFileSync(file, 'utf8')).toBe('aaaaaaaa\nbbbbbbbb\ncccccccc\n');
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['ENAMETOOLONG']);
    now += 60_000;
    await write(f, 'dddddddd\n');
    expect(errors).toHaveLength(2); // tried again, a minute later
    expect(readdirSync(dir)).toEqual([`${'d'.repeat(234)}.jsonl`]);
  });
});
