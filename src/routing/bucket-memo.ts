// A bounded memo of buckets, for callers whose units decide again and again
// (an SDK in a service: one user's session makes many decisions). A bucket is
// a pure function of (salt, unit), so a remembered one is the computed one,
// whatever the revision. Bucketing (the SHA-256 and its string work) was 68 %
// of the SDK's decide in a CPU profile; a hit is two Map lookups.
//
// Bounded like quick-lru: two generations of at most capacity/2 entries each;
// a hit in the old one is copied into the young one, and when the young one is
// full it becomes the old one and the previous old one is dropped whole. That
// keeps every pair used within the last capacity/2 insertions, costs nothing
// on a young hit (a true LRU on a Map pays a delete and a set per hit), and
// evicts in O(1). Keys are nested (salt, then unit): no key string is built.
//
// Admitted on the second sighting (TinyLFU's "doorkeeper"): a first sighting
// only sets a bit chosen by digest bytes 4–6, which the SHA-256 computed
// anyway. Units that never come back (all-distinct traffic) then cost a bit
// test instead of a Map insert, a retained string and a generation's garbage:
// And it steps aside when it does not pay: a miss still costs two Map probes
// (measured ~0.3 µs on this VM, more than half a SHA-256), so once it has
// seen `capacity` lookups (a cold memo misses everything), whenever fewer than
// a third of a window's lookups hit, 15 of 16 lookups go straight to the hash
// and the 16th keeps measuring (and admitting), until hits come back.
//
// Owned by whoever passes it to decide(): never shared between instances.
import { bucketOf, bucketOfDigest, digestOf } from './bucket.js';

/** Lookups through the memo between two decisions to step aside or not. */
const WINDOW = 1024;

/** The smallest memo that remembers anything (the doorkeeper needs a generation of this many marks). */
const MIN_CAPACITY = 64;

export class BucketMemo {
  /** Lookups answered from the memo. */
  hits = 0;
  /** Lookups through the memo that computed the bucket. */
  misses = 0;
  /** Lookups sent straight to the hash while the memo stepped aside. */
  bypassed = 0;
  private bypass = false;
  private sample = 0;
  private windowLookups = 0;
  private windowHits = 0;
  private young = new Map<string, Map<string, number>>();
  private old = new Map<string, Map<string, number>>();
  private youngSize = 0;
  private readonly generation: number;
  private readonly seen: Uint32Array;
  private readonly seenMask: number;
  private marks = 0;

  /** `capacity`: buckets kept at most, (salt, unit) pairs over both generations. */
  constructor(readonly capacity: number) {
    // Below a few dozen pairs the doorkeeper is cleared after nearly every mark and admits
    // nothing (a memo of 2 or 3 never answered): such a memo is no memo, so it is refused.
    if (!Number.isInteger(capacity) || capacity < MIN_CAPACITY)
      throw new RangeError(
        `bucket memo capacity must be an integer ≥ ${MIN_CAPACITY} (0 turns the memo off), got ${capacity}`,
      );
    this.generation = Math.floor(capacity / 2);
    // 4 bits per remembered pair, a power of two (2^5..2^24), cleared after
    // `generation` marks: at most 1 in 8 bits set, so ≤ ~12 % of first
    // sightings are admitted by mistake.
    const bits = 2 ** Math.min(24, Math.max(5, Math.ceil(Math.log2(capacity * 4))));
    this.seen = new Uint32Array(bits / 32);
    this.seenMask = bits - 1;
  }

  bucketOf(salt: string, unit: string): number {
    if (this.bypass && (++this.sample & 15) !== 0) {
      this.bypassed++;
      return bucketOf(salt, unit);
    }
    if (++this.windowLookups === WINDOW) {
      this.bypass = this.hits + this.misses >= this.capacity && this.windowHits * 3 < WINDOW;
      this.windowLookups = 0;
      this.windowHits = 0;
    }
    const units = this.young.get(salt);
    if (units !== undefined) {
      const hit = units.get(unit);
      if (hit !== undefined) {
        this.hits++;
        this.windowHits++;
        return hit;
      }
    }
    const old = this.old.get(salt)?.get(unit);
    if (old !== undefined) {
      this.hits++;
      this.windowHits++;
      this.admit(units, salt, unit, old);
      return old;
    }
    this.misses++;
    const d = digestOf(salt, unit);
    const bucket = bucketOfDigest(d);
    const bit = ((d.charCodeAt(4) << 16) | (d.charCodeAt(5) << 8) | d.charCodeAt(6)) & this.seenMask;
    const flag = 1 << (bit & 31);
    if ((this.seen[bit >>> 5]! & flag) === 0) {
      this.seen[bit >>> 5]! |= flag;
      if (++this.marks >= this.generation) {
        this.seen.fill(0);
        this.marks = 0;
      }
      return bucket;
    }
    this.admit(units, salt, unit, bucket);
    return bucket;
  }

  /** Buckets held now (≤ capacity). */
  get size(): number {
    let n = 0;
    for (const units of this.young.values()) n += units.size;
    for (const units of this.old.values()) n += units.size;
    return n;
  }

  private admit(units: Map<string, number> | undefined, salt: string, unit: string, bucket: number): void {
    if (units === undefined) this.young.set(salt, (units = new Map<string, number>()));
    units.set(unit, bucket);
    if (++this.youngSize >= this.generation) {
      this.old = this.young;
      this.young = new Map();
      this.youngSize = 0;
    }
  }
}
