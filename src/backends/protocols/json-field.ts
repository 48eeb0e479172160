// Replaces one top-level string field of a JSON object in place, leaving every
// other byte as the caller sent it: re-serializing would renormalize numbers
// (precision of large integers such as `seed`), spacing and escapes that the
// backend should see untouched. JSON's structural characters are ASCII and
// never occur inside a UTF-8 multi-byte sequence, so scanning bytes is safe.

const QUOTE = 0x22,
  BACKSLASH = 0x5c,
  COLON = 0x3a,
  COMMA = 0x2c;
const OPEN_OBJ = 0x7b,
  CLOSE_OBJ = 0x7d,
  OPEN_ARR = 0x5b,
  CLOSE_ARR = 0x5d;

/** Index just past the closing quote of the string starting at `start` (a quote), or -1. */
function stringEnd(raw: Buffer, start: number): number {
  for (let i = start + 1; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

function skipSpace(raw: Buffer, i: number): number {
  while (i < raw.length && (raw[i] === 0x20 || raw[i] === 0x0a || raw[i] === 0x0d || raw[i] === 0x09)) i++;
  return i;
}

/**
 * Byte spans `[start, end)` (quotes included) of the string values of every
 * top-level `key` in a JSON object. Keys written with escapes are not matched.
 */
export function topLevelStringSpans(raw: Buffer, key: string): Array<[number, number]> {
  const wanted = Buffer.from(`"${key}"`);
  const spans: Array<[number, number]> = [];
  let depth = 0;
  let expectKey = false;
  for (let i = skipSpace(raw, 0); i < raw.length; i++) {
    const c = raw[i]!;
    if (c === QUOTE) {
      const end = stringEnd(raw, i);
      if (end === -1) return spans;
      if (depth === 1 && expectKey) {
        expectKey = false;
        const colon = skipSpace(raw, end);
        if (raw[colon] !== COLON) return spans;
        const value = skipSpace(raw, colon + 1);
        if (end - i === wanted.length && raw.subarray(i, end).equals(wanted) && raw[value] === QUOTE) {
          const valueEnd = stringEnd(raw, value);
          if (valueEnd === -1) return spans;
          spans.push([value, valueEnd]);
          i = valueEnd - 1;
        } else {
          i = colon;
        }
        continue;
      }
      i = end - 1;
    } else if (c === OPEN_OBJ || c === OPEN_ARR) {
      depth++;
      expectKey = depth === 1 && c === OPEN_OBJ;
    } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
      depth--;
    } else if (c === COMMA && depth === 1) {
      expectKey = true;
    }
  }
  return spans;
}

/** The body with its one top-level string `key` set to `value`, or undefined when it has not exactly one. */
export function replaceTopLevelString(raw: Buffer, key: string, value: string): Buffer | undefined {
  const spans = topLevelStringSpans(raw, key);
  if (spans.length !== 1) return undefined;
  const [start, end] = spans[0]!;
  return Buffer.concat([raw.subarray(0, start), Buffer.from(JSON.stringify(value)), raw.subarray(end)]);
}
