// What of a config may be shown to a data-plane caller (the snapshot, decide,
// explain, /metrics): no client list (names, key digests, globs, limits), no
// header values (they may be tokens), and endpoint URLs without userinfo or
// query (`?api_key=…`). The admin API, behind its own token, shows the source.

/** `http://user:pass@host:8000/v1?key=x` → `http://host:8000/v1`; anything unparsable → `(redacted)`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const written = url.split(/[?#]/)[0]!;
    return `${u.protocol}//${u.host}${u.pathname === '/' && !written.endsWith('/') ? '' : u.pathname}`;
  } catch {
    return '(redacted)';
  }
}

/** URL userinfo (`user:pass@`) is refused by validation: credentials go in `headers`, from the environment or a file. */
export function hasUserinfo(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

const REDACTED = '(redacted)';

/**
 * A parsed backend fit for the snapshot (SPEC §10): endpoints without userinfo
 * or query, header values and TLS files hidden. What remains says that the
 * target needs credentials (header names, an empty `tls`, a query shown as
 * `?(redacted)`), so an SDK or proxy leaves such targets to Junction
 * (backends/protocols/direct.ts).
 */
export function publicBackend<B extends { type: string }>(backend: B): B {
  const b = { ...backend } as Record<string, unknown>;
  if (Array.isArray(b.endpoints))
    b.endpoints = (b.endpoints as string[]).map((url) =>
      url.includes('?') ? `${redactUrl(url)}?${REDACTED}` : redactUrl(url),
    );
  if (isRecord(b.headers)) b.headers = Object.fromEntries(Object.keys(b.headers).map((k) => [k, REDACTED]));
  if (b.tls !== undefined) b.tls = {};
  if (isRecord(b.health) && typeof b.health.path === 'string')
    b.health = { ...b.health, path: b.health.path.split('?')[0] };
  return b as B;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
