// One balancer per backend and balance name (SPEC §14): made once when the
// backend is built; a cell naming another balancer for the same target
// (`use: { target, balance }`) gets its own from the same backend.
import type { Balance, HttpBackendConfig } from '../../config/schema.js';
import { AdapterBalancer } from './adapter.js';
import { LeastLoadBalancer } from './least-load.js';
import { P2cBalancer } from './p2c.js';
import { PrefixBalancer } from './prefix.js';
import type { Balancer } from './types.js';

export const PREFIX_DEFAULTS = { blockChars: 1024, blocks: 64, epsilon: 0.25, maxEntries: 65_536 } as const;
export const ADAPTER_DEFAULTS = { epsilon: 0.25, path: '/v1/models' } as const;

export function makeBalancer(name: Balance, cfg: HttpBackendConfig): Balancer {
  switch (name) {
    case 'p2c':
      return new P2cBalancer();
    case 'least-load':
      return new LeastLoadBalancer();
    case 'prefix':
      return new PrefixBalancer(
        cfg.prefix?.epsilon ?? PREFIX_DEFAULTS.epsilon,
        cfg.prefix?.maxEntries ?? PREFIX_DEFAULTS.maxEntries,
      );
    case 'adapter':
      return new AdapterBalancer(cfg.adapter?.epsilon ?? ADAPTER_DEFAULTS.epsilon);
  }
}

export type { Balancer, Candidate, PickInput } from './types.js';
export { newPickInput } from './types.js';
