// Real Redis for tests: REDIS_URL (default the standard local port). When it is
// absent, tests skip with a one-line reason; under JUNCTION_REQUIRE_SERVICES=1 the
// run fails instead, so CI cannot go green by skipping.
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function redisAvailable(url = REDIS_URL): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 500,
  });
  r.on('error', () => undefined);
  let ok: boolean;
  try {
    await r.connect();
    await r.ping();
    ok = true;
  } catch {
    ok = false;
  } finally {
    r.disconnect();
  }
  if (!ok && process.env.JUNCTION_REQUIRE_SERVICES === '1')
    throw new Error(`Redis required (JUNCTION_REQUIRE_SERVICES=1) but not reachable at ${url}`);
  return ok;
}

export function redisSuite(ok: boolean, what: string): string {
  return ok ? what : `${what} (skipped: no Redis at ${REDIS_URL}; set REDIS_URL)`;
}
