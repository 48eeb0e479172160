// Reads decision-log files line by line for a change preview: the lines of a
// time window, or the last N lines. Files are streamed in 1 MiB chunks and
// each chunk's lines handed over before the next is read, so a preview of
// millions of lines holds one chunk at a time and the event loop (the data
// plane shares it) gets a turn between chunks.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';

const CHUNK = 1024 * 1024;
/** A decision line begins `{"time":"` and its ISO 8601 time is 24 characters (`2026-12-03T19:11:13.123Z`). */
const TIME_KEY = '{"time":"';
const TIME_AT = TIME_KEY.length;
const TIME_LENGTH = 24;

export type LineSelection = { window: { from: string; to: string } } | { sample: number };

/**
 * Hands `onLine` the selected lines of `files` (oldest file first), in order.
 * A window keeps lines whose `time` falls in [from, to]; the time is compared
 * as written (ISO 8601 UTC sorts as text), so lines outside it are not even decoded.
 * Lines without a leading time are handed over and left to the replay to judge.
 */
export async function readLogLines(
  files: readonly string[],
  selection: LineSelection,
  onLine: (line: string) => void,
): Promise<void> {
  const starts = 'sample' in selection ? await tailStarts(files, selection.sample) : files.map(() => 0);
  const window = 'window' in selection ? selection.window : undefined;
  for (let i = 0; i < files.length; i++) {
    if (starts[i] === undefined) continue;
    await streamLines(files[i]!, starts[i]!, (buf, from, to) => {
      // A line outside the window is never decoded: its time is read in place (ASCII).
      if (
        window !== undefined &&
        to - from > TIME_AT + TIME_LENGTH &&
        buf.toString('latin1', from, from + TIME_AT) === TIME_KEY
      ) {
        const time = buf.toString('latin1', from + TIME_AT, from + TIME_AT + TIME_LENGTH);
        if (time < window.from || time > window.to) return;
      }
      onLine(buf.toString('utf8', from, to));
    });
  }
}

/**
 * Hands over each line of the file from `start` as a byte range of a chunk.
 * Lines are split on the newline byte, which never occurs inside a UTF-8
 * sequence, so a line is decoded once, whole (decoding whole chunks and
 * splitting the text measured twice as slow).
 */
async function streamLines(
  file: string,
  start: number,
  onLine: (buf: Buffer, from: number, to: number) => void,
): Promise<void> {
  let carry: Buffer | undefined;
  const stream = createReadStream(file, { start, highWaterMark: CHUNK });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let from = 0;
    if (carry !== undefined) {
      const nl = chunk.indexOf(0x0a);
      if (nl === -1) {
        carry = Buffer.concat([carry, chunk]);
        continue;
      }
      const line = Buffer.concat([carry, chunk.subarray(0, nl)]);
      carry = undefined;
      if (line.length > 0) onLine(line, 0, line.length);
      from = nl + 1;
    }
    for (let nl = chunk.indexOf(0x0a, from); nl !== -1; nl = chunk.indexOf(0x0a, from)) {
      if (nl > from) onLine(chunk, from, nl);
      from = nl + 1;
    }
    if (from < chunk.length) carry = Buffer.from(chunk.subarray(from));
  }
  // The last line may still be on its way to the file (the log writes in batches): a line without its newline is judged like any.
  if (carry !== undefined && carry.length > 0) onLine(carry, 0, carry.length);
}

/**
 * Where to start reading each file so that the last `n` lines of all of them
 * are read (undefined: skip the file). Reads backwards from each file's end,
 * newest file first, counting newlines.
 */
async function tailStarts(files: readonly string[], n: number): Promise<Array<number | undefined>> {
  const starts: Array<number | undefined> = files.map(() => undefined);
  let wanted = n;
  for (let i = files.length - 1; i >= 0 && wanted > 0; i--) {
    const { size } = await stat(files[i]!);
    const fd = await open(files[i]!, 'r');
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      let end = size;
      // A last line without its newline is a line too: start counting after the final newline only if there is one.
      let skipFinal = size > 0;
      let start = 0;
      let found = false;
      while (end > 0 && !found) {
        const from = Math.max(0, end - CHUNK);
        const { bytesRead } = await fd.read(buf, 0, end - from, from);
        for (let j = bytesRead - 1; j >= 0; j--) {
          if (buf[j] !== 0x0a) {
            skipFinal = false;
            continue;
          }
          if (skipFinal) {
            skipFinal = false; // the newline that ends the last line
            continue;
          }
          if (--wanted === 0) {
            start = from + j + 1;
            found = true;
            break;
          }
        }
        end = from;
      }
      // Fewer lines than wanted in this file: all of it (the first line has no newline before it).
      if (!found && size > 0) wanted--;
      starts[i] = size === 0 ? undefined : start;
    } finally {
      await fd.close();
    }
  }
  return starts;
}
