// The configured clients, indexed by key digest, rebuilt once per config
// revision (never per request). Per-client concurrency slots outlive
// revisions so a config change does not reset what is in flight.
import type { ClientConfig, Config } from '../config/schema.js';
import { Bulkhead } from '../policy/bulkhead.js';
import { globMatcher, type NameMatcher } from './globs.js';
import { overrideScope, type OverrideScope } from './override-scope.js';

export interface Client {
  readonly name: string;
  readonly config: ClientConfig;
  readonly mayCall: NameMatcher;
  readonly slots: Bulkhead | undefined;
  /** The targets this client's overrides may name, per interface. */
  readonly overrides: OverrideScope;
}

export interface ClientIndex {
  /** Auth is on as soon as one client is configured. */
  readonly authOn: boolean;
  /** `auth.anonymous: true`: requests without a key are served, as nobody in particular. */
  readonly anonymous: boolean;
  readonly byDigest: ReadonlyMap<string, Client>;
  /** What an override may name for a caller without a client (auth off, or anonymous): any objective's targets. */
  readonly openOverrides: OverrideScope;
}

export class ClientRegistry {
  private config: Config | undefined;
  private index: ClientIndex = { authOn: false, anonymous: true, byDigest: new Map(), openOverrides: new Map() };
  private readonly slots = new Map<string, Bulkhead>();

  /** The index for this config, rebuilt only when the config object changes. */
  indexFor(config: Config): ClientIndex {
    if (config !== this.config) {
      this.config = config;
      this.index = this.build(config);
    }
    return this.index;
  }

  private build(config: Config): ClientIndex {
    const byDigest = new Map<string, Client>();
    for (const [name, c] of Object.entries(config.clients)) {
      const mayCall = globMatcher(c.objectives);
      byDigest.set(c.keySha256, {
        name,
        config: c,
        mayCall,
        slots: this.slotsFor(name, c.maxConcurrency),
        overrides: overrideScope(config, mayCall),
      });
    }
    for (const name of this.slots.keys()) if (!(name in config.clients)) this.slots.delete(name);
    return {
      authOn: byDigest.size > 0,
      anonymous: config.auth?.anonymous === true || byDigest.size === 0,
      byDigest,
      openOverrides: overrideScope(config, () => true),
    };
  }

  private slotsFor(name: string, limit: number | undefined): Bulkhead | undefined {
    if (limit === undefined) {
      this.slots.delete(name);
      return undefined;
    }
    let b = this.slots.get(name);
    if (b === undefined) {
      // Fail fast per client (no queue): a tenant over its cap waits in its own retry loop, not in ours.
      b = new Bulkhead(limit, 0, `client "${name}"`);
      this.slots.set(name, b);
    } else {
      // Same instance, new limit: calls in flight keep counting against it.
      b.setLimits(limit, 0);
    }
    return b;
  }
}
