// `junction bench [--quick] [--write]`: the project's benchmark suite (bench/),
// which lives in a source checkout with its dev dependencies (tsx, wrk, nginx).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from './user-error.js';

export async function benchCommand(args: string[]): Promise<number> {
  // dist/cli/bench.js and src/cli/bench.ts both sit two levels below the checkout.
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const runner = `${root}bench/run.ts`;
  if (!existsSync(runner))
    throw new UserError('the benchmarks live in a source checkout of Junction: clone it and run "npm run bench"');
  const child = spawn(process.execPath, ['--import', 'tsx', runner, ...args], { cwd: root, stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code === 0 ? 0 : 2)));
}
