import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Vitest keeps its results cache (the order it runs files in: slowest first) here, not in
  // node_modules/.vite: node_modules may be shared with other checkouts.
  cacheDir: '.cache/vite',
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real servers on ephemeral ports; files run in parallel.
    pool: 'forks',
    // Measured on a 2-core machine (docs/architecture.md, under "The request path"): most files
    // wait on sockets, timers and child processes rather than compute, so one worker more than the
    // cores (vitest's default is one fewer) keeps the CPUs busy. A worker runs one file at a time.
    maxWorkers: availableParallelism() + 1,
    // A worker runs its files one after another in one module graph instead of loading src/ and
    // its dependencies again for each of the 117 files: that reload was most of the suite's CPU
    // time. Sound here because src/ has no module-level mutable state (eslint.config.js,
    // `moduleState`): every test builds its own Junction, servers and stores. A test that changes
    // process state (env, fake timers, spies) puts it back in its own after-hooks.
    isolate: false,
    // ...and each file starts on real timers, whatever the file before it left (test/support/setup.ts).
    setupFiles: ['test/support/setup.ts'],
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
