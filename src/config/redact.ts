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

/** A config source (as authored) fit for a data-plane caller: a deep copy, never the original. */
export function publicSource(source: unknown): unknown {
  if (!isRecord(source)) return source;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(source)) {
    if (k === 'clients' || k === 'auth') continue;
    out[k] = k === 'models' ? redactModels(v) : v;
  }
  return structuredClone(out);
}

function redactModels(models: unknown): unknown {
  if (!isRecord(models)) return models;
  const out: Record<string, unknown> = {};
  for (const [name, model] of Object.entries(models)) {
    if (!isRecord(model) || !isRecord(model.versions)) {
      out[name] = model;
      continue;
    }
    const versions: Record<string, unknown> = {};
    for (const [v, version] of Object.entries(model.versions)) {
      versions[v] = isRecord(version) && isRecord(version.backend) ? { ...version, backend: redactBackend(version.backend) } : version;
    }
    out[name] = { ...model, versions };
  }
  return out;
}

/**
 * A parsed backend fit for the snapshot (SPEC §10): endpoints without userinfo
 * or query, header values and TLS files hidden. What remains says that the
 * target needs credentials (header names, an empty `tls`), so an SDK or proxy
 * leaves such targets to Junction (backends/protocols/direct.ts).
 */
export function publicBackend<B extends { type: string }>(backend: B): B {
  const b = { ...backend } as Record<string, unknown>;
  if (Array.isArray(b.endpoints)) b.endpoints = (b.endpoints as string[]).map(redactUrl);
  if (isRecord(b.headers)) b.headers = Object.fromEntries(Object.keys(b.headers).map((k) => [k, REDACTED]));
  if (b.tls !== undefined) b.tls = {};
  return b as B;
}

function redactBackend(b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...b };
  if (Array.isArray(b.endpoints)) out.endpoints = b.endpoints.map((e) => (typeof e === 'string' ? redactUrl(e) : REDACTED));
  if (isRecord(b.headers)) out.headers = Object.fromEntries(Object.keys(b.headers).map((k) => [k, REDACTED]));
  if (isRecord(b.health) && typeof b.health.path === 'string') out.health = { ...b.health, path: b.health.path.split('?')[0] };
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
