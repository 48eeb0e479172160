// The prefix key of a call (SPEC §14 `prefix`): chain hashes of the leading
// blocks of the prompt, read from body bytes already in memory, never parsed.
// The prompt is the value of one top-level field: `messages` for chat (the
// system prompt and the turns so far, as the caller serialized them), `prompt`
// for completions, `input` for the Responses API. Block i's hash continues
// block i-1's (a 32-bit multiply-xorshift over the bytes), so two prompts share their first k
// hashes exactly when they share their first k blocks. Only whole blocks
// count: a prompt shorter than one block has no key (prefill of so little
// costs little).
//
// The last message is not cut out: its bytes extend the chain past what an
// earlier turn sent, so they never match another conversation (the longest
// match stops where the conversations differ), and hashing them lets the
// first turn be remembered, where the replica that served it holds it.

/** The field that carries the prompt, per operation of the OpenAI API (undefined: no key). */
export function promptField(operation: string): string | undefined {
  switch (operation) {
    case 'chat/completions':
    case 'invoke':
      return 'messages';
    case 'completions':
      return 'prompt';
    case 'responses':
      return 'input';
    default:
      return undefined;
  }
}

const QUOTE = 0x22,
  BACKSLASH = 0x5c,
  COLON = 0x3a,
  COMMA = 0x2c,
  OPEN_OBJ = 0x7b,
  CLOSE_OBJ = 0x7d,
  OPEN_ARR = 0x5b,
  CLOSE_ARR = 0x5d;

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index past the string whose quote is at `i` (or raw.length when it never ends). */
function skipString(raw: Buffer, i: number): number {
  const n = raw.length;
  for (i++; i < n; i++) {
    const c = raw[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return n;
}

function sameBytes(raw: Buffer, at: number, name: string): boolean {
  for (let k = 0; k < name.length; k++) if (raw[at + k] !== name.charCodeAt(k)) return false;
  return true;
}

/**
 * Where the value of the top-level key `name` (written plainly, without
 * escapes) starts in the JSON object `raw`, or -1. A scan that stops there:
 * it reads only the bytes before the value, never throws, and gives -1 on
 * anything that is not a JSON object (the protocol's own reader has checked
 * the bodies it rewrites; this one only needs to find a key).
 */
export function topLevelValueStart(raw: Buffer, name: string): number {
  const n = raw.length;
  let i = 0;
  while (isSpace(raw[i])) i++;
  if (raw[i] !== OPEN_OBJ) return -1;
  i++;
  let depth = 1;
  let expectKey = true;
  while (i < n) {
    const c = raw[i]!;
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === QUOTE) {
      const end = skipString(raw, i);
      if (expectKey && depth === 1) {
        let j = end;
        while (isSpace(raw[j])) j++;
        if (raw[j] !== COLON) return -1;
        j++;
        while (isSpace(raw[j])) j++;
        if (end - i - 2 === name.length && sameBytes(raw, i + 1, name)) return j < n ? j : -1;
        expectKey = false;
        i = j;
        continue;
      }
      i = end;
      continue;
    }
    if (c === OPEN_OBJ || c === OPEN_ARR) depth++;
    else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
      depth--;
      if (depth === 0) return -1;
    } else if (c === COMMA && depth === 1) expectKey = true;
    i++;
  }
  return -1;
}

/**
 * Fills `out` with the chain hashes of the whole `blockChars`-byte blocks of
 * the value of `field` (at most `blocks`, and `out.length`); returns how many.
 * The hash reads four bytes a step (a multiply-xorshift over little-endian
 * words, then the block's odd bytes one by one): under 1 ns a byte (bench/pick.ts:
 * 48 µs for the 64 KiB the default key covers), about half a byte-wise FNV's time.
 */
export function prefixKey(raw: Buffer, field: string, blockChars: number, blocks: number, out: Uint32Array): number {
  const start = topLevelValueStart(raw, field);
  if (start < 0) return 0;
  const max = Math.min(blocks, out.length, Math.floor((raw.length - start) / blockChars));
  let h = 0x811c9dc5 | 0;
  let i = start;
  for (let b = 0; b < max; b++) {
    const end = i + blockChars;
    const words = end - ((end - i) & 3);
    for (; i < words; i += 4) {
      h = Math.imul(h ^ (raw[i]! | (raw[i + 1]! << 8) | (raw[i + 2]! << 16) | (raw[i + 3]! << 24)), 0x01000193);
      h ^= h >>> 15;
    }
    for (; i < end; i++) h = Math.imul(h ^ raw[i]!, 0x01000193);
    out[b] = h >>> 0;
  }
  return max;
}
