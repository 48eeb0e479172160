import { describe, expect, it } from 'vitest';
import { LineBatch } from './line-batch.js';

const text = (chunks: Array<{ bytes: Buffer }>): string => chunks.map((c) => c.bytes.toString('utf8')).join('');

describe('LineBatch', () => {
  it('hands out every line, in order, as UTF-8 with a newline each, across chunks', () => {
    const batch = new LineBatch();
    const want: string[] = [];
    for (let i = 0; i < 2000; i++) {
      // Mostly short ASCII, sometimes non-ASCII, now and then a line larger than a chunk.
      const line =
        i % 500 === 7 ? `{"big":"${'x'.repeat(200_000)}"}` : `{"i":${i},"s":"é☃\ud83d\ude00 ${'y'.repeat(i % 300)}"}`;
      batch.add(line);
      want.push(line);
    }
    expect(batch.lines).toBe(2000);
    const chunks = batch.take();
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.reduce((n, c) => n + c.lines, 0)).toBe(2000);
    expect(chunks.reduce((n, c) => n + c.bytes.length, 0)).toBe(Buffer.byteLength(want.join('\n') + '\n'));
    expect(text(chunks)).toBe(want.join('\n') + '\n');
    for (const c of chunks) expect(c.bytes.toString().split('\n').filter(Boolean)).toHaveLength(c.lines);
    expect([batch.lines, batch.bytes, batch.take()]).toEqual([0, 0, []]);
  });

  it('never writes again into bytes it handed out: a sink may keep them', () => {
    const batch = new LineBatch();
    batch.add('first');
    const [handed] = batch.take();
    const copy = Buffer.from(handed!.bytes);
    for (let i = 0; i < 5000; i++) batch.add(`line ${i}`); // fills the rest of that chunk and more
    expect(handed!.bytes.equals(copy)).toBe(true);
    expect(text(batch.take())).toBe(Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join(''));
  });
});
