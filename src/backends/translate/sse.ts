// Server-sent events for the translations: an incremental parser over the
// bytes an upstream streams (any chunking, CRLF or LF, comments ignored) and
// the writer of one event. Bounded: an event larger than MAX_EVENT_BYTES is a
// protocol error, never a buffer that grows with a broken upstream.
import { StringDecoder } from 'node:string_decoder';
import { JunctionError } from '../../errors.js';

/** One event: its `event:` name ('' when it had none) and its `data:` lines joined with '\n'. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** Far above any chat chunk or Messages event; a single event past it is a broken upstream. */
export const MAX_EVENT_BYTES = 1024 * 1024;

/** Feeds bytes in, hands complete events out, in order. */
export class SseParser {
  private pending = '';
  private event = '';
  private data: string[] = [];
  private held = 0;
  /** A character split between two chunks is decoded once whole, never as two replacement characters. */
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly objective?: string) {}

  /** The events the chunk completes (an event ends at a blank line). */
  push(chunk: Buffer | string): SseEvent[] {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const out: SseEvent[] = [];
    let start = 0;
    for (let nl = this.pending.indexOf('\n', start); nl !== -1; nl = this.pending.indexOf('\n', start)) {
      const end = nl > start && this.pending.charCodeAt(nl - 1) === 13 /* \r */ ? nl - 1 : nl;
      this.line(this.pending.slice(start, end), out);
      start = nl + 1;
    }
    this.pending = this.pending.slice(start);
    if (this.pending.length + this.held > MAX_EVENT_BYTES) {
      throw new JunctionError('upstream_error', `the upstream sent an event larger than ${MAX_EVENT_BYTES} bytes`, {
        objective: this.objective,
      });
    }
    return out;
  }

  /** Whether bytes of an unfinished event are held (the stream was cut mid-event when it ends now). */
  get midEvent(): boolean {
    return this.pending.trim() !== '' || this.data.length > 0 || this.event !== '';
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0 || this.event !== '') out.push({ event: this.event, data: this.data.join('\n') });
      this.event = '';
      this.data = [];
      this.held = 0;
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) return; // a comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.held += value.length;
    } else if (field === 'event') this.event = value;
    // id and retry mean nothing to a translation
  }
}

/** One event's bytes: `event: name` when named, then its data (one `data:` line per line). */
export function sseEvent(data: unknown, event?: string): string {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  const head = event === undefined ? '' : `event: ${event}\n`;
  return `${head}data: ${text.includes('\n') ? text.split('\n').join('\ndata: ') : text}\n\n`;
}
