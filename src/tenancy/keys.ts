// API keys. Only the SHA-256 digest of a key is ever stored (config `clients:`)
// or compared; the key itself exists in the caller's hands and in the
// `authorization` header (or `x-api-key`, as Anthropic's clients send it),
// which are never forwarded, logged or recorded.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const KEY_PREFIX = 'jk_';

/** A new random key: 256 bits, URL-safe. */
export function newKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function keyDigest(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The header Anthropic's clients send their key in; read as a bearer token is, never forwarded. */
export const API_KEY_HEADER = 'x-api-key';

/** The key from `authorization: Bearer <key>`, else from `x-api-key: <key>`; undefined when absent or malformed. */
export function bearerKey(headers: IncomingHttpHeaders): string | undefined {
  const apiKey = headers[API_KEY_HEADER];
  if (headers.authorization === undefined && typeof apiKey === 'string') {
    const key = apiKey.trim();
    return key === '' || key.length > 505 ? undefined : key;
  }
  const auth = headers.authorization;
  if (typeof auth !== 'string' || auth.length < 8 || auth.length > 512) return undefined;
  if (auth.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const key = auth.slice(7).trim();
  return key === '' ? undefined : key;
}
