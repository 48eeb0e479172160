// Reads decision-log files line by line for a change preview: the lines of a
// time window, or the last N lines. Files are streamed in 1 MiB chunks and
// each chunk's lines handed over before the next is read, so a preview of
// millions of lines holds one chunk at a time and the event loop (the data
// plane shares it) gets a turn between chunks.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

const CHUNK = 1024 * 1024;
/** A decision line begins `{"time":"` and its ISO 8601 time is 24 characters (`2026-12-03T19:11:13.123Z`). */
const TIME_AT = '{"time":"'.length;
const TIME_LENGTH = 24;

export type LineSelection = { window: { from: string; to: string } } | { sample: number };

/**
 * Hands `onLine` the selected lines of `files` (oldest file first), in order.
 * A window keeps lines whose `time` falls in [from, to]; the time is compared
 * as written (ISO 8601 UTC sorts as text), so lines outside it are not parsed.
 * Lines without a leading time are handed over and left to the replay to judge.
 */
export async function readLogLines(
  files: readonly string[],
  selection: LineSelection,
  onLine: (line: string) => void,
): Promise<void> {
  const starts = 'sample' in selection ? await tailStarts(files, selection.sample) : files.map(() => 0);
  const within =
    'window' in selection
      ? (line: string) => {
          if (!line.startsWith('{"time":"')) return true;
          const time = line.slice(TIME_AT, TIME_AT + TIME_LENGTH);
          return time >= selection.window.from && time <= selection.window.to;
        }
      : () => true;
  for (let i = 0; i < files.length; i++) {
    if (starts[i] === undefined) continue;
    await streamLines(files[i]!, starts[i]!, (line) => {
      if (within(line)) onLine(line);
    });
  }
}

async function streamLines(file: string, start: number, onLine: (line: string) => void): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  const stream = createReadStream(file, { start, highWaterMark: CHUNK });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = carry + decoder.write(chunk);
    let from = 0;
    for (let nl = text.indexOf('\n', from); nl !== -1; nl = text.indexOf('\n', from)) {
      if (nl > from) onLine(text.slice(from, nl));
      from = nl + 1;
    }
    carry = text.slice(from);
  }
  carry += decoder.end();
  // The last line may still be on its way to the file (the log writes in batches): a line without its newline is judged like any.
  if (carry !== '') onLine(carry);
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
