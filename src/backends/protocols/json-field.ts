// The one reader of the top-level fields Junction reads or rewrites in a body
// it forwards (the OpenAI `model`), by one strict linear pass over the bytes:
// never a whole-document parse, and every byte the caller sent reaches the
// backend untouched except the value Junction sets (re-serializing would
// renormalize numbers such as a large `seed`, spacing and escapes).
//
// Junction decides on its reading of a field and the backend reads the same
// bytes with its own parser, so the two readings must not be able to differ.
// They could, on: a key written twice (JSON.parse, Python and Go keep the
// last), a key written with escapes (`"mod\u0065l"` is `model` to every
// parser), a key differing only in case (Go's encoding/json matches `MODEL`,
// `Model`… to a `model` field, and folds K/ſ to k/s) or cut at an escaped NUL
// (C-string keys: cJSON), and input a lenient parser reads and a strict one
// does not. So this pass accepts exactly what JSON.parse
// accepts, compares keys after unescaping, and refuses (400 invalid_request,
// naming the field) a body with a wanted field twice or a key that such a
// parser reads as one. Duplicates of fields Junction does not read are left
// alone: the backend sees what the caller sent and reads it as it always would.
//
// JSON's structural characters are ASCII and never occur inside a UTF-8
// multi-byte sequence (nor does Node's decoder swallow an ASCII byte after an
// invalid one), so scanning bytes agrees with parsing the decoded text.
import { isUtf8 } from 'node:buffer';
import { JunctionError } from '../../errors.js';

const QUOTE = 0x22,
  BACKSLASH = 0x5c,
  COLON = 0x3a,
  COMMA = 0x2c,
  MINUS = 0x2d,
  PLUS = 0x2b,
  DOT = 0x2e,
  ZERO = 0x30,
  NINE = 0x39;
const OPEN_OBJ = 0x7b,
  CLOSE_OBJ = 0x7d,
  OPEN_ARR = 0x5b,
  CLOSE_ARR = 0x5d;

/** The bytes `[start, end)` of a top-level field's value (a string's quotes included). */
export interface ValueSpan {
  readonly start: number;
  readonly end: number;
  /** Whether the value is a JSON string. */
  readonly isString: boolean;
}

function invalid(why: string, at: number, objective: string | undefined): JunctionError {
  return new JunctionError('invalid_request', `request body is not valid JSON: ${why} at byte ${at}`, { objective });
}

function skipSpace(raw: Buffer, i: number): number {
  let c = raw[i];
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = raw[++i];
  return i;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= ZERO && c <= NINE) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66));
}

/** Index just past the closing quote of the string whose opening quote is at `start`; throws on what JSON.parse refuses. */
function stringEnd(raw: Buffer, start: number, objective: string | undefined): number {
  const n = raw.length;
  for (let i = start + 1; i < n; i++) {
    const c = raw[i]!;
    if (c === QUOTE) return i + 1;
    if (c < 0x20) throw invalid('control character in string', i, objective);
    if (c === BACKSLASH) {
      const e = raw[++i];
      if (e === 0x75 /* u */) {
        if (!isHex(raw[i + 1]) || !isHex(raw[i + 2]) || !isHex(raw[i + 3]) || !isHex(raw[i + 4]))
          throw invalid('bad \\u escape', i - 1, objective);
        i += 4;
      } else if (
        e !== QUOTE &&
        e !== BACKSLASH &&
        e !== 0x2f /* / */ &&
        e !== 0x62 /* b */ &&
        e !== 0x66 /* f */ &&
        e !== 0x6e /* n */ &&
        e !== 0x72 /* r */ &&
        e !== 0x74 /* t */
      ) {
        throw invalid('bad escape', i - 1, objective);
      }
    }
  }
  throw invalid('unterminated string', start, objective);
}

function digitsEnd(raw: Buffer, i: number): number {
  let c = raw[i];
  while (c !== undefined && c >= ZERO && c <= NINE) c = raw[++i];
  return i;
}

/** Index just past the number starting at `start` (JSON's grammar: no leading zeros, `+`, `.5`, `1.`, NaN or hex). */
function numberEnd(raw: Buffer, start: number, objective: string | undefined): number {
  let i = raw[start] === MINUS ? start + 1 : start;
  const first = raw[i];
  if (first === ZERO) i++;
  else if (first !== undefined && first > ZERO && first <= NINE) i = digitsEnd(raw, i + 1);
  else throw invalid('bad number', start, objective);
  if (raw[i] === DOT) {
    const after = digitsEnd(raw, i + 1);
    if (after === i + 1) throw invalid('bad number', start, objective);
    i = after;
  }
  if ((raw[i]! | 0x20) === 0x65 /* e E */) {
    i++;
    if (raw[i] === PLUS || raw[i] === MINUS) i++;
    const after = digitsEnd(raw, i);
    if (after === i) throw invalid('bad number', start, objective);
    i = after;
  }
  return i;
}

function literalEnd(raw: Buffer, start: number, word: string, objective: string | undefined): number {
  for (let k = 0; k < word.length; k++) {
    if (raw[start + k] !== word.charCodeAt(k)) throw invalid('unexpected token', start, objective);
  }
  return start + word.length;
}

/** Go's encoding/json folds case (K and ſ included) when it matches a key to a field. */
function folded(s: string): string {
  return s.replace(/\u017f/g, 's').toLowerCase();
}

/**
 * Which of `fields` the key whose quotes span `[start, end)` names, as -1 when none:
 * compared after unescaping; a key equal to one only after case folding, or cut at
 * a NUL, is refused.
 */
function fieldOf(
  raw: Buffer,
  start: number,
  end: number,
  fields: readonly string[],
  objective: string | undefined,
): number {
  const len = end - start - 2;
  let plain = true;
  for (let i = start + 1; i < end - 1; i++) {
    const c = raw[i]!;
    if (c === BACKSLASH || c >= 0x80) {
      plain = false;
      break;
    }
  }
  if (plain) {
    // The common case, without allocating: ASCII bytes, no escapes.
    for (let f = 0; f < fields.length; f++) {
      const name = fields[f]!;
      if (name.length !== len) continue;
      let exact = true;
      let k = 0;
      for (; k < len; k++) {
        const c = raw[start + 1 + k]!;
        const w = name.charCodeAt(k);
        if (c === w) continue;
        exact = false;
        const lower = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
        if (lower !== w) break;
      }
      if (exact) return f;
      if (k === len) throw lookalike(raw.toString('latin1', start + 1, end - 1), name, objective);
    }
    return -1;
  }
  // Escapes or non-ASCII: unescape the key as JSON does. A key that is not UTF-8 is refused
  // rather than left to a decoder that may read an overlong form as ASCII.
  if (!isUtf8(raw.subarray(start + 1, end - 1))) throw invalid('top-level key is not UTF-8', start, objective);
  const key = JSON.parse(raw.toString('utf8', start, end)) as string;
  // A parser keeping keys as C strings (cJSON) reads `"model\u0000x"` as `model`.
  const nul = key.indexOf('\u0000');
  for (let f = 0; f < fields.length; f++) {
    const name = fields[f]!;
    if (key === name) return f;
    if (folded(key) === name || (nul !== -1 && folded(key.slice(0, nul)) === name))
      throw lookalike(key, name, objective);
  }
  return -1;
}

function lookalike(key: string, name: string, objective: string | undefined): JunctionError {
  return new JunctionError(
    'invalid_request',
    `top-level key ${JSON.stringify(key)} is not "${name}", but some servers read it as "${name}" (they fold case, or cut a key at \\u0000): write "${name}" once`,
    { objective },
  );
}

/**
 * The value of each of `fields` (lowercase names) at the top level of the JSON
 * object `raw`, in the order of `fields`, undefined where absent: one linear
 * pass, no parse. Throws 400 invalid_request when the body is not what
 * JSON.parse accepts, is not an object, or names one of `fields` twice, in
 * another case or before a NUL (keys compared after unescaping) — the only way to read these
 * fields, so no field is read without that check.
 */
export function topLevelFields(
  raw: Buffer,
  fields: readonly string[],
  objective?: string,
): Array<ValueSpan | undefined> {
  const found: Array<ValueSpan | undefined> = fields.map(() => undefined);
  // The open containers, one bit each (1: an array), 32 to a word: a body of 16 MB of `[` costs 2 MB, not 128.
  const arrays: number[] = [0];
  let depth = 0;
  let i = skipSpace(raw, 0);
  if (raw[i] !== OPEN_OBJ) {
    throw new JunctionError('invalid_request', 'request body must be a JSON object', { objective });
  }
  let field = -1; // the wanted field whose value is being scanned, at the top level
  let valueStart = 0;
  let expectKey = false;
  for (;;) {
    let c = raw[i];
    if (expectKey) {
      // After `{` or `,` in an object: a key, a colon, then its value.
      if (c !== QUOTE) throw invalid('expected a key', i, objective);
      const keyStart = i;
      const keyEnd = stringEnd(raw, keyStart, objective);
      const colon = skipSpace(raw, keyEnd);
      if (raw[colon] !== COLON) throw invalid('expected ":"', colon, objective);
      i = skipSpace(raw, colon + 1);
      if (depth === 1) {
        valueStart = i;
        field = fieldOf(raw, keyStart, keyEnd, fields, objective);
        if (field !== -1 && found[field] !== undefined) {
          throw new JunctionError(
            'invalid_request',
            `"${fields[field]}" appears twice at the top level of the body (keys are compared after unescaping): write it once`,
            { objective },
          );
        }
      }
      c = raw[i]; // its value: every path below sets expectKey again before the next turn
    }
    // A value.
    if (c === OPEN_OBJ || c === OPEN_ARR) {
      const word = depth >>> 5;
      if (word === arrays.length) arrays.push(0);
      if (c === OPEN_ARR) arrays[word]! |= 1 << (depth & 31);
      else arrays[word]! &= ~(1 << (depth & 31));
      depth++;
      i = skipSpace(raw, i + 1);
      if (raw[i] === (c === OPEN_OBJ ? CLOSE_OBJ : CLOSE_ARR)) {
        depth--;
        i++;
      } else {
        expectKey = c === OPEN_OBJ;
        continue;
      }
    } else if (c === QUOTE) {
      i = stringEnd(raw, i, objective);
    } else if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) {
      i = numberEnd(raw, i, objective);
    } else if (c === 0x74 /* t */) {
      i = literalEnd(raw, i, 'true', objective);
    } else if (c === 0x66 /* f */) {
      i = literalEnd(raw, i, 'false', objective);
    } else if (c === 0x6e /* n */) {
      i = literalEnd(raw, i, 'null', objective);
    } else {
      throw invalid(c === undefined ? 'unexpected end' : 'unexpected token', i, objective);
    }
    // After a value: close containers, or a comma and the next member.
    for (;;) {
      if (field !== -1 && depth === 1) {
        found[field] = { start: valueStart, end: i, isString: raw[valueStart] === QUOTE };
        field = -1;
      }
      i = skipSpace(raw, i);
      if (depth === 0) {
        if (i !== raw.length) throw invalid('unexpected data after the object', i, objective);
        return found;
      }
      const inArray = (arrays[(depth - 1) >>> 5]! & (1 << ((depth - 1) & 31))) !== 0;
      const d = raw[i];
      if (d === COMMA) {
        i = skipSpace(raw, i + 1);
        expectKey = !inArray;
        break;
      }
      if (d !== (inArray ? CLOSE_ARR : CLOSE_OBJ)) {
        throw invalid(d === undefined ? 'unexpected end' : 'expected "," or a closing bracket', i, objective);
      }
      depth--;
      i++;
    }
  }
}

/** A string value's text, or undefined for any other value. */
export function stringValue(raw: Buffer, span: ValueSpan | undefined): string | undefined {
  return span?.isString === true ? (JSON.parse(raw.toString('utf8', span.start, span.end)) as string) : undefined;
}

/**
 * `raw` with the top-level field `name` (whose value `span` is, from
 * topLevelFields) set to the string `value`: its value's bytes replaced, or the
 * field added first when absent; every other byte as it was.
 */
export function withTopLevelString(raw: Buffer, span: ValueSpan | undefined, name: string, value: string): Buffer {
  const encoded = Buffer.from(JSON.stringify(value));
  if (span !== undefined) {
    if (span.end - span.start === encoded.length && raw.subarray(span.start, span.end).equals(encoded)) return raw;
    return Buffer.concat([raw.subarray(0, span.start), encoded, raw.subarray(span.end)]);
  }
  const open = skipSpace(raw, 0) + 1; // topLevelFields has checked that an object opens here
  const empty = raw[skipSpace(raw, open)] === CLOSE_OBJ;
  return Buffer.concat([
    raw.subarray(0, open),
    Buffer.from(`${JSON.stringify(name)}:`),
    encoded,
    empty ? Buffer.alloc(0) : Buffer.from(','),
    raw.subarray(open),
  ]);
}
