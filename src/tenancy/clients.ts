// The configured clients, indexed by key digest, rebuilt once per config
// revision (never per request). Per-client concurrency slots outlive
// revisions so a config change does not reset what is in flight.
import type { ClientConfig, Config } from '../config/schema.js';
import { Bulkhead } from '../policy/bulkhead.js';
import { globMatcher, type NameMatcher } from './globs.js';
import { overrideScope, scopeFor, type OverrideScope } from './override-scope.js';
import type { Admission } from '../call/hooks.js';
import type { InterfaceName } from '../config/schema.js';

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
  /** The admission of a caller without a client, per interface: built here, not per request. */
  openAdmission(iface: InterfaceName): Admission;
}

export class ClientRegistry {
  private config: Config | undefined;
  private index: ClientIndex = indexOf(false, true, new Map(), new Map());
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
    return indexOf(
      byDigest.size > 0,
      config.auth?.anonymous === true || byDigest.size === 0,
      byDigest,
      overrideScope(config, () => true),
    );
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

function indexOf(
  authOn: boolean,
  anonymous: boolean,
  byDigest: ReadonlyMap<string, Client>,
  /** What an override may name for a caller without a client (auth off, or anonymous): any objective's targets. */
  openOverrides: OverrideScope,
): ClientIndex {
  const open = new Map<InterfaceName, Admission>();
  return {
    authOn,
    anonymous,
    byDigest,
    openAdmission(iface) {
      let a = open.get(iface);
      if (a === undefined) {
        a = Object.freeze({ mayOverride: false, overrideTargets: scopeFor(openOverrides, iface) });
        open.set(iface, a);
      }
      return a;
    },
  };
}
