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
  const parts: Buffer[] = [stringField(MODEL_NAME, name)];
  if (version !== '') parts.push(stringField(MODEL_VERSION, version));
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
  return Buffer.concat(parts);
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
  let length = 0;
  let scale = 1;
  for (let i = 1; i < head.length && i < 6; i++) {
    const b = head[i]!;
    length += (b & 0x7f) * scale;
    if (b < 0x80) return i + 1 + length <= head.length ? head.toString('utf8', i + 1, i + 1 + length) : undefined;
    scale *= 128;
  }
  return head.length < 6 ? undefined : null; // a length of more than 5 bytes is no model name
}
