// The preview's log reader: a window by the lines' own times, the last N lines
// across files (a last line without its newline counts), lines across chunks.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogLines } from './preview-log.js';

const dir = mkdtempSync(join(tmpdir(), 'junction-preview-log-'));

function lineAt(minute: number, id: string): string {
  return JSON.stringify({ time: `2026-12-03T10:${String(minute).padStart(2, '0')}:00.000Z`, requestId: id, pad: 'é' });
}

async function read(files: string[], selection: Parameters<typeof readLogLines>[1]): Promise<string[]> {
  const out: string[] = [];
  await readLogLines(files, selection, (l) => out.push(l));
  return out;
}

describe('preview log reader', () => {
  it('keeps the lines whose time falls in the window, and hands over lines without a time for the replay to judge', async () => {
    const f = join(dir, 'window.jsonl');
    writeFileSync(f, [lineAt(1, 'a'), lineAt(5, 'b'), 'garbage', lineAt(9, 'c'), ''].join('\n'));
    const got = await read([f], { window: { from: '2026-12-03T10:02:00.000Z', to: '2026-12-03T10:09:00.000Z' } });
    expect(got).toEqual([lineAt(5, 'b'), 'garbage', lineAt(9, 'c')]);
  });

  it('reads the last N lines across files, newest file last, with or without a final newline', async () => {
    const old = join(dir, 'old.jsonl');
    const now = join(dir, 'now.jsonl');
    writeFileSync(old, 'o1\no2\no3\n');
    writeFileSync(now, 'n1\nn2'); // the last line is still being written: no newline yet
    expect(await read([old, now], { sample: 1 })).toEqual(['n2']);
    expect(await read([old, now], { sample: 3 })).toEqual(['o3', 'n1', 'n2']);
    expect(await read([old, now], { sample: 50 })).toEqual(['o1', 'o2', 'o3', 'n1', 'n2']);
  });

  it('reassembles lines that straddle read chunks, multi-byte characters included', async () => {
    const f = join(dir, 'big.jsonl');
    const lines = Array.from({ length: 5000 }, (_, i) => lineAt(i % 60, `r-${i}-${'x'.repeat(i % 400)}`));
    writeFileSync(f, `${lines.join('\n')}\n`);
    expect(await read([f], { sample: 5000 })).toEqual(lines);
    expect(await read([f], { sample: 1234 })).toEqual(lines.slice(-1234));
  });
});
