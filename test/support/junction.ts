// Starts a real Junction on an ephemeral port for a test, from a config value.
import { startJunction, type Junction, type JunctionOptions } from '../../src/app.js';

export async function junctionWith(config: unknown, opts: Partial<JunctionOptions> = {}): Promise<Junction> {
  return startJunction({ port: 0, config, ...opts });
}

export const httpVersion = (url: string, extra: Record<string, unknown> = {}) => ({
  backend: { type: 'http', endpoints: [url], ...extra },
});
