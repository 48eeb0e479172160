// `npm start` stops on SIGTERM sent to npm itself (what a process manager, a
// container runtime or `kill $(pgrep npm)` does): npm passes the signal to its
// script's process, which must be Junction and not a shell that would die and
// leave Junction serving as an orphan. The script is `exec node …` for that.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT } from './support/onnx.js';

let npm: ChildProcess | undefined;
let descendants: number[] = [];

afterAll(() => {
  // Whatever a failed run left behind, ours only.
  for (const pid of [...descendants, npm?.pid]) {
    try {
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
});

/** The processes below `pid`, from /proc (Linux): npm's script and anything it started. */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The parent pid is the 4th field, after the command name in parentheses (which may hold spaces).
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while listing
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent !== p) continue;
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

it.skipIf(process.platform !== 'linux')(
  'SIGTERM to `npm start` stops Junction: its processes exit and its ports close',
  async () => {
    const data = mkdtempSync(join(tmpdir(), 'junction-npm-start-'));
    // The quickstart's own script; the flags after `--` replace its fixed ports (the last of a flag wins).
    npm = spawn('npm', ['start', '--', '--port', '0', '--admin-port', '0', '--grpc-port', '0', '--data', data], {
      cwd: REPO_ROOT,
      env: { ...process.env, npm_config_update_notifier: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    let npmExit: number | string | null = null;
    npm.once('exit', (code, signal) => (npmExit = code ?? signal));

    const serving = /serving https?:\/\/[^:]+:(\d+), admin https?:\/\/[^:]+:(\d+).*gRPC on port (\d+)/;
    await expect.poll(() => serving.test(out) || npmExit !== null, { timeout: 90_000, interval: 50 }).toBe(true);
    const m = serving.exec(out);
    expect(m, out).not.toBeNull();
    const ports = m!.slice(1, 4).map(Number);
    for (const port of ports) expect(await accepts(port), `port ${port}\n${out}`).toBe(true);
    descendants = descendantsOf(npm.pid!);
    expect(descendants.length, out).toBeGreaterThan(0);

    npm.kill('SIGTERM');

    // Draining an idle Junction takes well under a second; the bound is for a loaded machine.
    await expect.poll(() => descendants.filter(alive), { timeout: 30_000, interval: 50 }).toEqual([]);
    for (const port of ports) expect(await accepts(port), `port ${port} still open\n${out}`).toBe(false);
    await expect.poll(() => npmExit, { timeout: 10_000, interval: 50 }).not.toBeNull();
    expect(out).toContain('junction: SIGTERM: draining');
  },
  150_000,
);
