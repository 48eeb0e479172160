// SPEC §3 bucketing, portable to any language:
//   bucket = uint32_big_endian(sha256(utf8(salt + ":" + unit))[0..4]) mod 10000
import { createHash } from 'node:crypto';

export const BUCKETS = 10_000;

export function bucketOf(salt: string, unit: string): number {
  const digest = createHash('sha256').update(`${salt}:${unit}`, 'utf8').digest();
  return digest.readUInt32BE(0) % BUCKETS;
}
