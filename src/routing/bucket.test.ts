import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bucketOf } from './bucket.js';

// Vectors computed here independently of bucket.ts: hex digest → first 8 hex
// digits → integer → mod 10000 (SPEC §3), so a change of byte order, encoding
// or separator in the implementation is caught.
function reference(salt: string, unit: string): number {
  const hex = createHash('sha256')
    .update(Buffer.from(`${salt}:${unit}`, 'utf8'))
    .digest('hex');
  return parseInt(hex.slice(0, 8), 16) % 10000;
}

describe('bucketOf', () => {
  it('matches the SPEC formula on fixed vectors', () => {
    // Literal values computed outside Node: `printf 'cw-42:user-1' | sha256sum` → 37dbf586… → 0x37dbf586 mod 10000.
    expect(bucketOf('cw-42', 'user-1')).toBe(0x37dbf586 % 10000);
    expect(bucketOf('continue-watching-ranking:ranker@7', 'user-1')).toBe(0xb33e7322 % 10000);
    expect(bucketOf('cw-42', 'user-1')).toBe(reference('cw-42', 'user-1'));
    expect(bucketOf('continue-watching-ranking:ranker@7', 'user-1')).toBe(
      reference('continue-watching-ranking:ranker@7', 'user-1'),
    );
    expect(bucketOf('s', 'ünïcødé-ユーザー')).toBe(reference('s', 'ünïcødé-ユーザー'));
  });

  it('agrees with the reference on many units', () => {
    for (let i = 0; i < 2000; i++) expect(bucketOf('exp', `u${i}`)).toBe(reference('exp', `u${i}`));
  });

  it('stays within [0, 10000)', () => {
    for (let i = 0; i < 1000; i++) {
      const b = bucketOf('x', String(i));
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(10000);
    }
  });
});
