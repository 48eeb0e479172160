// The one interface of a balancer (SPEC §14 `balance`): given the replicas, a
// predicate saying which may take this call, and what is known of the call
// (its prompt's prefix key, its adapter), pick one and say why. Balancers
// read replicas, never change them (prefix.ts keeps its own index), allocate
// nothing per pick, and take their randomness as an input, so each is tested
// alone (balance/*.test.ts) and measured alone (bench/pick.ts).
import type { LoadReport } from '../replica.js';

/** What a balancer reads of a replica. */
export interface Candidate {
  readonly outstanding: number;
  /** Its `outstanding` when the last load report arrived. */
  readonly outstandingAtReport: number;
  readonly load: LoadReport | undefined;
  readonly adapters: ReadonlySet<string> | undefined;
  /** Its place in consistent-hashing order. */
  readonly hash: number;
  /** Left the set (discovery): never picked, forgotten by the prefix index. */
  readonly removed: boolean;
}

/** What is known of one call. One object per endpoint set, overwritten for each call (no allocation). */
export interface PickInput {
  now: number;
  random: () => number;
  /** Chain hashes of the prompt's leading blocks (prefix balancing); `prefixBlocks` of them are set. */
  readonly prefix: Uint32Array;
  prefixBlocks: number;
  /** The pick reason when there is no prefix key: `fallback-no-key`, `fallback-streamed-body`, … */
  noKey: string;
  /** The LoRA adapter the call asks for (adapter balancing). */
  adapter: string | undefined;
  /** A load report older than this is not used. */
  maxAgeMs: number;
}

export function newPickInput(blocks = 64): PickInput {
  return {
    now: 0,
    random: Math.random,
    prefix: new Uint32Array(blocks),
    prefixBlocks: 0,
    noKey: 'fallback-no-key',
    adapter: undefined,
    maxAgeMs: Infinity,
  };
}

export interface Balancer {
  readonly name: string;
  /** The replica for this call, or undefined when none may take it; `reason` says why the last one was picked. */
  pick<C extends Candidate>(list: readonly C[], ok: (c: C) => boolean, input: PickInput): C | undefined;
  /** Why the last pick chose what it did (a constant string: no allocation). */
  reason: string;
}

/** The bounded-load capacity of consistent hashing: ceil((1+ε)·(outstanding+1)/replicas). */
export function loadBound(totalOutstanding: number, replicas: number, epsilon: number): number {
  return Math.ceil(((1 + epsilon) * (totalOutstanding + 1)) / Math.max(1, replicas));
}
