// Run before every test file (vitest.config.ts `setupFiles`). Files share a
// worker's module graph (`isolate: false`), so a file must never inherit
// another's fake clock: each starts on real timers.
import { beforeAll, vi } from 'vitest';

beforeAll(() => {
  vi.useRealTimers();
});
