// `serve` without a config says how to get one in the mode it is in, and an
// admin API without a token listens on loopback only.
import { describe, expect, it } from 'vitest';
import { spawnJunction } from '../support/junction-process.js';

const base = ['serve', '--data', ':memory:', '--port', '0', '--admin-port', '0'];

// Each test starts a process from source (tsx); on a loaded shared machine that can take
// longer than vitest's 30 s default, and a test timeout would hide the process's output.
describe('serve without a config', { timeout: 90_000 }, () => {
  it('with the admin API off, says to restart with --config (not to apply)', async () => {
    const j = await spawnJunction(base, { JUNCTION_ADMIN_TOKEN: '' }, 80_000);
    try {
      expect(j.adminUrl).toBeUndefined();
      expect(j.stdout()).toMatch(/revision none yet: restart with --config FILE/);
      expect(j.stdout()).not.toMatch(/junction apply/);
    } finally {
      await j.stop();
    }
  });

  it('with --insecure-admin, serves the admin API on 127.0.0.1 only and says to apply there', async () => {
    const j = await spawnJunction([...base, '--insecure-admin'], { JUNCTION_ADMIN_TOKEN: '' }, 80_000);
    try {
      expect(j.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(j.stdout()).toContain(`revision none yet: junction apply FILE --admin ${j.adminUrl}`);
    } finally {
      await j.stop();
    }
  });
});
