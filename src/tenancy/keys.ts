// API keys. Only the SHA-256 digest of a key is ever stored (config `clients:`)
// or compared; the key itself exists in the caller's hands and in the one
// `authorization` header, which is never forwarded, logged or recorded.
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

/** The key from `authorization: Bearer <key>`, or undefined when absent or malformed. */
export function bearerKey(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth !== 'string' || auth.length < 8 || auth.length > 512) return undefined;
  if (auth.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const key = auth.slice(7).trim();
  return key === '' ? undefined : key;
}
