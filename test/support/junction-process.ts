// A real Junction process (the CLI from source), for tests of several replicas
// and --workers. Resolves once it prints its "serving" line.
import { spawn, type ChildProcess } from 'node:child_process';
import { clearTimeout as realClearTimeout, setTimeout as realSetTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('./junction-cli.ts', import.meta.url));

export interface JunctionProcess {
  child: ChildProcess;
  url: string;
  adminUrl: string | undefined;
  /** Everything it wrote to stderr (logs), for failure messages. */
  stderr(): string;
  /** Everything it wrote to stdout so far (the "serving" line). */
  stdout(): string;
  stop(): Promise<void>;
}

export function spawnJunction(
  args: string[],
  env: Record<string, string> = {},
  readyTimeoutMs = 30_000,
): Promise<JunctionProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    // node:timers' own setTimeout: no fake clock (a leaked one) can stop this deadline.
    const timer = realSetTimeout(() => {
      void stop();
      reject(new Error(`junction did not start in time:\n${out}\n${err}`));
    }, readyTimeoutMs);
    child.once('exit', (code) => {
      realClearTimeout(timer);
      reject(new Error(`junction exited with ${code} before serving:\n${out}\n${err}`));
    });
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /serving (https?:\/\/[^\s,]+)(?:, admin (https?:\/\/[^\s]+))?/.exec(out);
      if (!m) return;
      realClearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, url: m[1]!, adminUrl: m[2], stderr: () => err, stdout: () => out, stop });
    });
  });
}
