// Request ids: ULIDs (https://github.com/ulid/spec), as SPEC §2.1 shows them
// (`01J…`): 26 characters of Crockford base32, a 48-bit millisecond time then
// 80 random bits. They sort by time (to the millisecond), which whoever reads
// a log or a decision log wants. The random part is drawn anew for every id,
// not incremented within a millisecond (the spec's optional monotonic mode):
// feedback names a decision by its request id, so one caller's id must not
// tell another's. The time is encoded once a millisecond; the randomness comes
// from a pool refilled 256 ids at a time (as randomUUID's own cache does) and
// is encoded through a table of two-character pairs: about randomUUID's cost.
import { randomFillSync } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The two base32 characters of each 10-bit value. */
const PAIRS: readonly string[] = Array.from({ length: 1024 }, (_, i) => CROCKFORD[i >> 5]! + CROCKFORD[i & 31]!);

const TWO_40 = 2 ** 40;
const TWO_20 = 2 ** 20;
/** Random bytes per id (80 bits). */
const ID_BYTES = 10;
const POOL_IDS = 256;

/** A caller's id is kept when it is a non-empty string of at most this many characters. */
const MAX_INCOMING_LENGTH = 200;

export class RequestIds {
  private ms = -1;
  private time = '';
  private readonly pool = Buffer.alloc(ID_BYTES * POOL_IDS);
  private offset = this.pool.length;

  /** `fill` draws the random bits (tests inject it). */
  constructor(private readonly fill: (into: Buffer) => void = randomFillSync) {}

  /** The caller's `x-request-id` when it is usable, else a new id. */
  fromHeader(incoming: unknown): string {
    return typeof incoming === 'string' && incoming !== '' && incoming.length <= MAX_INCOMING_LENGTH
      ? incoming
      : this.next();
  }

  /** A new ULID for the time `now` (epoch milliseconds). */
  next(now: number = Date.now()): string {
    if (now !== this.ms) {
      this.ms = now;
      this.time = encode50(now);
    }
    if (this.offset === this.pool.length) {
      this.fill(this.pool);
      this.offset = 0;
    }
    const at = this.offset;
    this.offset += ID_BYTES;
    return this.time + encode40(this.pool.readUIntBE(at, 5)) + encode40(this.pool.readUIntBE(at + 5, 5));
  }
}

/** 8 characters for a value below 2^40. */
function encode40(n: number): string {
  const top = Math.floor(n / TWO_20); // 20 bits each half: exact in a double, then in 32-bit ints
  const bottom = n - top * TWO_20;
  return PAIRS[top >> 10]! + PAIRS[top & 1023]! + PAIRS[bottom >> 10]! + PAIRS[bottom & 1023]!;
}

/** 10 characters for a value below 2^50 (a millisecond time: below 2^48 until the year 10889). */
function encode50(n: number): string {
  const top = Math.floor(n / TWO_40);
  return PAIRS[top]! + encode40(n - top * TWO_40);
}
