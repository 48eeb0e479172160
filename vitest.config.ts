import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real servers on ephemeral ports; files run in parallel.
    pool: 'forks',
    // A floor, not a goal: the suite as of the first release (92 % of lines) minus a
    // small margin, stricter for the pure routing core and the policies.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.test.ts'],
      reporter: ['text-summary'],
      thresholds: {
        lines: 88,
        branches: 75,
        'src/routing/**': { lines: 95, branches: 85 },
        'src/policy/**': { lines: 88, branches: 75 },
      },
    },
  },
});
