import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultMaxConnections, fileDescriptorLimit } from './connections.js';

describe('the default connection cap', () => {
  it('is 60 % of the soft file-descriptor limit, read from /proc/self/limits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-limits-'));
    try {
      const file = join(dir, 'limits');
      writeFileSync(
        file,
        [
          'Limit                     Soft Limit           Hard Limit           Units     ',
          'Max processes             63704                63704                processes ',
          'Max open files            1024                 4096                 files     ',
        ].join('\n'),
      );
      expect(fileDescriptorLimit(file)).toBe(1024);
      expect(defaultMaxConnections(1024)).toBe(614);
      expect(fileDescriptorLimit(join(dir, 'absent'))).toBeUndefined();
      expect(defaultMaxConnections(Number.POSITIVE_INFINITY)).toBe(10_000); // unknown or unlimited
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
