// The protobuf wire format, just enough to read and rewrite the model name and
// version of a ModelInferRequest (fields 1 and 2) without decoding the rest:
// every other field (tensors, raw_input_contents, parameters) is copied as the
// caller sent it, so a large request costs one copy, not a decode and an encode.
// Unknown fields survive too, so newer clients' extensions pass through.
import { JunctionError } from '../errors.js';

const VARINT = 0,
  FIXED64 = 1,
  LENGTH_DELIMITED = 2,
  FIXED32 = 5;
const MODEL_NAME = 1,
  MODEL_VERSION = 2;

export interface ModelRef {
  name: string;
  version: string;
}

function malformed(why: string): JunctionError {
  return new JunctionError('invalid_request', `ModelInferRequest is not a valid protobuf message: ${why}`);
}

/** A varint at `at`: [value, index after it]. Values past 2^53 lose precision, which only lengths and tags would care about. */
function varint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, i + 1];
    scale *= 128;
  }
  throw malformed(`truncated varint at byte ${at}`);
}

/**
 * Walks the top-level fields: calls `onModelField` for fields 1 and 2 and
 * `onOther` with the byte span of every other field, in order.
 */
function walk(
  buf: Buffer,
  onModelField: (field: number, start: number, end: number) => void,
  onOther: (start: number, end: number) => void,
): void {
  let i = 0;
  while (i < buf.length) {
    const start = i;
    const [tag, afterTag] = varint(buf, i);
    const field = Math.floor(tag / 8);
    const type = tag & 7;
    if (field === 0) throw malformed(`field number 0 at byte ${start}`);
    let end: number;
    switch (type) {
      case VARINT:
        end = varint(buf, afterTag)[1];
        break;
      case FIXED64:
        end = afterTag + 8;
        break;
      case FIXED32:
        end = afterTag + 4;
        break;
      case LENGTH_DELIMITED: {
        const [length, afterLength] = varint(buf, afterTag);
        if ((field === MODEL_NAME || field === MODEL_VERSION) && afterLength + length <= buf.length) {
          onModelField(field, afterLength, afterLength + length);
          i = afterLength + length;
          continue;
        }
        end = afterLength + length;
        break;
      }
      default:
        throw malformed(`wire type ${type} (groups) at byte ${start}`);
    }
    if (end > buf.length) throw malformed(`field ${field} runs past the end of the message`);
    onOther(start, end);
    i = end;
  }
}

/** The model name and version a ModelInferRequest names (the last occurrence wins, as in any protobuf decoder). */
export function readModelRef(buf: Buffer): ModelRef {
  const ref: ModelRef = { name: '', version: '' };
  walk(
    buf,
    (field, start, end) => {
      const value = buf.toString('utf8', start, end);
      if (field === MODEL_NAME) ref.name = value;
      else ref.version = value;
    },
    () => undefined,
  );
  return ref;
}

function stringField(field: number, value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const head: number[] = [(field << 3) | LENGTH_DELIMITED];
  let n = bytes.length;
  while (n >= 0x80) {
    head.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  head.push(n);
  return Buffer.concat([Buffer.from(head), bytes]);
}

/**
 * The same message naming `name` and `version` (an empty version is left out,
 * proto3's "not set"): new fields 1 and 2 first, then every other field's
 * bytes as they came, in their order.
 */
export function rewriteModelRef(buf: Buffer, name: string, version: string): Buffer {
  return Buffer.concat(rewrittenParts(buf, name, version));
}

/**
 * The model name from the first bytes of a ModelInferRequest still arriving:
 * a string once field 1 is whole, `undefined` while more bytes are needed,
 * `null` when the message does not start with field 1 (every encoder writes
 * fields in order, but the wire does not promise it: the name is then read
 * from the whole message).
 */
export function peekModelName(head: Buffer): string | undefined | null {
  if (head.length === 0) return undefined;
  if (head[0] !== ((MODEL_NAME << 3) | LENGTH_DELIMITED)) return null;
  const name = stringAt(head, 0);
  return name === undefined || name === null ? name : head.toString('utf8', name[0], name[1]);
}

/**
 * The string field whose tag is at `at` of `buf`, as [value start, value end]:
 * undefined while it is not whole in `buf`, null when its length takes more
 * than 5 bytes (no model name or version is that long).
 */
function stringAt(buf: Buffer, at: number): [number, number] | undefined | null {
  let length = 0;
  let scale = 1;
  for (let i = at + 1; i < buf.length && i < at + 6; i++) {
    const b = buf[i]!;
    length += (b & 0x7f) * scale;
    if (b < 0x80) return i + 1 + length <= buf.length ? [i + 1, i + 1 + length] : undefined;
    scale *= 128;
  }
  return buf.length < at + 6 ? undefined : null;
}

/** The model reference a message opens with, and where the fields after it start. */
export interface LeadingRef extends ModelRef {
  /** Bytes of fields 1 and 2 at the start: the rest of the message begins here. */
  end: number;
}

/**
 * Fields 1 (model_name) and 2 (model_version, if it follows at once) at the
 * start of a ModelInferRequest whose first bytes are `head`: undefined while
 * more bytes are needed (`complete`: `head` is the whole message), null when
 * the message does not open with field 1. What a stream proxy needs to rewrite
 * the reference as the bytes pass: every encoder writes fields in order, and
 * any later field 1 or 2 is refused by the FieldWalker below.
 */
export function peekModelRef(head: Buffer, complete: boolean): LeadingRef | undefined | null {
  if (head.length === 0) return complete ? null : undefined;
  if (head[0] !== ((MODEL_NAME << 3) | LENGTH_DELIMITED)) return null;
  const name = stringAt(head, 0);
  if (name === null) return null;
  if (name === undefined) return complete ? null : undefined;
  const ref: LeadingRef = { name: head.toString('utf8', name[0], name[1]), version: '', end: name[1] };
  if (ref.end === head.length) return complete ? ref : undefined; // field 2 may be next
  if (head[ref.end] !== ((MODEL_VERSION << 3) | LENGTH_DELIMITED)) return ref;
  const version = stringAt(head, ref.end);
  if (version === null) return null;
  if (version === undefined) return complete ? null : undefined;
  ref.version = head.toString('utf8', version[0], version[1]);
  ref.end = version[1];
  return ref;
}

/** Fields 1 and 2 naming `name` and `version` (an empty version left out): what a rewritten message opens with. */
export function modelRefBytes(name: string, version: string): Buffer {
  return version === ''
    ? stringField(MODEL_NAME, name)
    : Buffer.concat([stringField(MODEL_NAME, name), stringField(MODEL_VERSION, version)]);
}

/**
 * The parts of `buf` rewritten to name `name` and `version`, to be written in
 * order (no copy of the message: `rewriteModelRef` joins them).
 */
export function rewrittenParts(buf: Buffer, name: string, version: string): Buffer[] {
  const parts: Buffer[] = [modelRefBytes(name, version)];
  let spanStart = -1;
  let spanEnd = -1;
  walk(
    buf,
    () => undefined,
    (start, end) => {
      if (start === spanEnd) {
        spanEnd = end; // adjacent fields travel as one slice
        return;
      }
      if (spanStart !== -1) parts.push(buf.subarray(spanStart, spanEnd));
      spanStart = start;
      spanEnd = end;
    },
  );
  if (spanStart !== -1) parts.push(buf.subarray(spanStart, spanEnd));
  return parts;
}

const enum Walk {
  Tag,
  Length,
  Skip,
  Varint,
}

/**
 * The top-level fields of a message as it streams past, checked without
 * holding it: every field well formed, none of them field 1 or 2 (the
 * reference was rewritten at the start; a later one would be what the server
 * reads, as the last occurrence wins), and exactly `length` bytes in all. A
 * chunk costs a few steps per field header in it: a large tensor field is
 * skipped by its length, not looked at.
 */
export class FieldWalker {
  private seen = 0;
  private state = Walk.Tag;
  private value = 0;
  private scale = 1;
  private varintBytes = 0;
  private field = 0;
  private skip = 0;

  constructor(private readonly length: number) {}

  /** Walks one chunk; throws invalid_request on a malformed or smuggled field, or bytes past the length. */
  push(chunk: Buffer): void {
    this.seen += chunk.length;
    if (this.seen > this.length) throw malformed(`more bytes than its declared ${this.length}`);
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === Walk.Skip) {
        const take = Math.min(this.skip, n - i);
        this.skip -= take;
        i += take;
        if (this.skip === 0) this.state = Walk.Tag;
        continue;
      }
      const b = chunk[i++]!;
      this.value += (b & 0x7f) * this.scale;
      this.scale *= 128;
      if (++this.varintBytes > 10) throw malformed('a varint of more than 10 bytes');
      if (b >= 0x80) continue;
      const v = this.value;
      this.value = 0;
      this.scale = 1;
      this.varintBytes = 0;
      if (this.state === Walk.Tag) this.onTag(v);
      else if (this.state === Walk.Length) {
        this.skip = v;
        this.state = v === 0 ? Walk.Tag : Walk.Skip;
      } else this.state = Walk.Tag; // a varint field's value
    }
  }

  private onTag(tag: number): void {
    this.field = Math.floor(tag / 8);
    const type = tag & 7;
    if (this.field === 0) throw malformed('field number 0');
    if (this.field === MODEL_NAME || this.field === MODEL_VERSION)
      throw malformed(`field ${this.field} (the model reference) after the start of the message`);
    switch (type) {
      case VARINT:
        this.state = Walk.Varint;
        return;
      case FIXED64:
        this.skip = 8;
        this.state = Walk.Skip;
        return;
      case FIXED32:
        this.skip = 4;
        this.state = Walk.Skip;
        return;
      case LENGTH_DELIMITED:
        this.state = Walk.Length;
        return;
      default:
        throw malformed(`wire type ${type} (groups)`);
    }
  }

  /** The message ended: throws unless it ended on a field boundary at exactly its length. */
  end(): void {
    if (this.seen !== this.length) throw malformed(`it ended at ${this.seen} of its declared ${this.length} bytes`);
    if (this.state !== Walk.Tag || this.varintBytes !== 0) throw malformed(`field ${this.field} runs past the end`);
  }
}
