// Lines waiting for one write to the decision log's sink, already as bytes.
// Each line is encoded into the batch's buffer the moment it is appended, so
// its string dies young instead of surviving garbage collections for the
// 10 ms of a batch, the byte cap counts real bytes, and the sink is handed
// bytes it need not encode again. CPU is about even with joining the strings
// at flush time: V8 flattens a concatenated line to encode it whenever that
// happens (profiled: the flush fell from 3.4 to 1.2 µs a request, the append
// grew by 1.3 µs; docs/performance.md).

/** Large enough for one flush (64 KiB) and under glibc's mmap threshold (128 KiB), so a chunk is a cheap malloc. */
const CHUNK_BYTES = 96 * 1024;

/** A run of whole lines, newline-terminated, ready to hand to a sink. */
export interface LineChunk {
  bytes: Buffer;
  lines: number;
}

export class LineBatch {
  /** Bytes waiting, across chunks. */
  bytes = 0;
  /** Lines waiting, across chunks. */
  lines = 0;
  private chunk: Buffer | undefined;
  private used = 0;
  private chunkLines = 0;
  private full: LineChunk[] = [];

  add(line: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 for 2).
    const most = line.length * 3 + 1;
    if (this.chunk === undefined || this.used + most > this.chunk.length) {
      this.seal();
      this.chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, most));
    }
    const n = this.chunk.write(line, this.used, 'utf8');
    this.chunk[this.used + n] = 0x0a;
    this.used += n + 1;
    this.chunkLines++;
    this.bytes += n + 1;
    this.lines++;
  }

  /**
   * Everything waiting, in order; the batch is empty after. Bytes handed out
   * are never written again (a sink may keep what it is handed): later lines
   * go to the unused rest of the chunk, or to a new one.
   */
  take(): LineChunk[] {
    this.seal();
    const out = this.full;
    this.full = [];
    this.bytes = 0;
    this.lines = 0;
    return out;
  }

  private seal(): void {
    if (this.chunk === undefined || this.chunkLines === 0) return;
    this.full.push({ bytes: this.chunk.subarray(0, this.used), lines: this.chunkLines });
    this.chunk = this.chunk.length - this.used >= CHUNK_BYTES / 2 ? this.chunk.subarray(this.used) : undefined;
    this.used = 0;
    this.chunkLines = 0;
  }
}
