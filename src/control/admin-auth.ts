// Bearer-token check for the admin API. Digests are compared in constant time
// so response timing says nothing about how much of a guess was right.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { JunctionError } from '../errors.js';

export type AdminAuth = (req: IncomingMessage) => void;

export function bearerAuth(token: string): AdminAuth {
  const want = createHash('sha256').update(token).digest();
  return (req) => {
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header) : null;
    if (!m)
      throw new JunctionError('unauthorized', 'the admin API needs "authorization: Bearer <JUNCTION_ADMIN_TOKEN>"');
    const got = createHash('sha256').update(m[1]!.trim()).digest();
    if (!timingSafeEqual(got, want)) throw new JunctionError('unauthorized', 'wrong admin token');
  };
}

/** `--insecure-admin`: anyone who reaches the port may change the config. */
export const NO_AUTH: AdminAuth = () => undefined;
