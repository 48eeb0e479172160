// SPEC §3 bucketing, portable to any language:
//   bucket = uint32_big_endian(sha256(utf8(salt + ":" + unit))[0..4]) mod 10000
// The one-shot crypto.hash with hex output is about 3.5× faster than
// createHash().digest() here (no Hash object, no Buffer); the first 8 hex
// digits are the big-endian first four bytes.
import { hash } from 'node:crypto';

export const BUCKETS = 10_000;

export function bucketOf(salt: string, unit: string): number {
  return parseInt(hash('sha256', `${salt}:${unit}`, 'hex').slice(0, 8), 16) % BUCKETS;
}
