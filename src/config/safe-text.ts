// What config text may end up as: a response header (x-decision, x-fallback, a
// static reply's headers), an upstream header (a backend's `headers`, secrets
// included), a metric label. Validation refuses anything that would make such a
// header unsendable (Node and undici throw on CR, LF, NUL and non-Latin-1; gRPC
// metadata takes printable ASCII only) or change the framing of a response, and
// bounds how deep free-form JSON (metadata, a static body) may nest, so no
// recursive walk of a config (JSON.stringify, the diff) can overflow the stack.

/**
 * Ids written into `x-decision` and metric labels: rule ids, experiment ids,
 * cell names, client names. Visible ASCII without spaces, quotes, `=` or `,`
 * (x-decision is `key=value` pairs separated by spaces).
 */
export const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.~:@/+-]{0,127}$/;
export const SAFE_ID_RULE =
  '[A-Za-z0-9][A-Za-z0-9_.~:@/+-]*, at most 128 characters (it is written into response headers and metric labels)';

/** An HTTP field name (RFC 9110 token). */
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** What a header value may hold: visible ASCII, spaces and tabs (no CR, LF, NUL or other control characters, no non-ASCII). */
export const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/** Headers that frame the message or belong to one connection: a configured value would desync keep-alive framing. */
export const FRAMING_HEADERS: ReadonlySet<string> = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
]);

/** Response headers Junction writes itself (SPEC §2.1); config may not set or duplicate them. */
export const JUNCTION_HEADERS: ReadonlySet<string> = new Set([
  'x-model',
  'x-decision',
  'x-request-id',
  'x-fallback',
  'x-error-code',
]);

/** Deepest nesting of free-form JSON in a config (version metadata, a static body), in objects and arrays. */
export const MAX_FREE_FORM_DEPTH = 32;

/**
 * Says what is wrong with `text` as a header value, without quoting it: e.g.
 * `a line feed (\n) at character 12`; undefined when valid. For a secret pass
 * `where: false` (its position would tell something of the secret).
 */
export function headerValueProblem(text: string, where = true): string | undefined {
  if (HEADER_VALUE.test(text)) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 9 || (c >= 0x20 && c <= 0x7e)) continue;
    return where ? `${describeChar(c)} at character ${i + 1}` : describeChar(c);
  }
  return undefined;
}

function describeChar(c: number): string {
  if (c === 0x0a) return 'a line feed (\\n)';
  if (c === 0x0d) return 'a carriage return (\\r)';
  if (c === 0) return 'a NUL';
  if (c < 0x20 || c === 0x7f) return `a control character (U+${c.toString(16).padStart(4, '0').toUpperCase()})`;
  return `a non-ASCII character (U+${c.toString(16).padStart(4, '0').toUpperCase()})`;
}

/**
 * The path (relative to `value`) of the first object or array nested deeper
 * than `limit` levels, or undefined. Iterative and bounded by the limit, so it
 * is safe on any input, however deep (or cyclic).
 */
export function tooDeep(value: unknown, limit = MAX_FREE_FORM_DEPTH): PropertyKey[] | undefined {
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: v, path } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (path.length >= limit) return path;
    if (Array.isArray(v)) v.forEach((item, i) => stack.push({ value: item, path: [...path, i] }));
    else
      for (const key of Object.keys(v))
        stack.push({ value: (v as Record<string, unknown>)[key], path: [...path, key] });
  }
  return undefined;
}
