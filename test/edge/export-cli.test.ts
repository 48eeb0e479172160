// `junction export nginx` as a command: flags checked with a one-line fix, the
// file written whole, and --watch on a config file rewriting it and running
// the reload command when the file changes.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../support/output.js';

const CLI = fileURLToPath(new URL('../support/junction-cli.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'junction-export-'));
const yaml = (port: number) =>
  `models:\n  m:\n    versions:\n      "1": { backend: { type: http, endpoints: ["http://127.0.0.1:${port}/score"] } }\nobjectives:\n  o: { default: m@1 }\n`;
const base = ['export', 'nginx', '--listen', '127.0.0.1:8090', '--junction', 'http://127.0.0.1:8080'];

describe('junction export nginx', () => {
  const output = captureOutput();

  it('refuses missing or conflicting flags with what to do', async () => {
    const file = join(dir, 'a.yaml');
    writeFileSync(file, yaml(9001));
    expect(await main(['export', 'envoy'])).toBe(1);
    expect(await main([...base])).toBe(1);
    expect(output.err).toContain('exactly one of --config FILE or --admin URL');
    expect(await main(['export', 'nginx', '--config', file, '--junction', 'http://x'])).toBe(1);
    expect(output.err).toContain('--listen ADDR:PORT is required');
    expect(await main([...base, '--config', file, '--watch'])).toBe(1);
    expect(output.err).toContain('--watch needs --out FILE');
    expect(await main([...base, '--config', file, '--out', join(dir, 'x.conf'), '--reload', 'true'])).toBe(1);
    expect(await main([...base, '--config', file, '--grpc-listen', '127.0.0.1:8090'])).toBe(1);
    expect(output.err).toContain('--grpc-listen needs its own address');
  });

  it('prints to stdout, or writes --out', async () => {
    const file = join(dir, 'b.yaml');
    writeFileSync(file, yaml(9002));
    expect(await main([...base, '--config', file])).toBe(0);
    expect(output.out).toContain('server 127.0.0.1:9002;');
    expect(output.out).not.toContain('http2');
    expect(await main([...base, '--config', file, '--grpc-listen', '127.0.0.1:8091'])).toBe(0);
    expect(output.out).toContain('listen 127.0.0.1:8091 http2;');
    const out = join(dir, 'b.conf');
    expect(await main([...base, '--config', file, '--out', out])).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain(`from config file ${file}.`);
  });
});

it('--watch on a config file rewrites the output and runs --reload when the file changes', async () => {
  const file = join(dir, 'w.yaml');
  const out = join(dir, 'w.conf');
  const marker = join(dir, 'reloaded');
  writeFileSync(file, yaml(9003));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, ...base, '--config', file, '--out', out, '--watch', '--reload', `touch ${marker}`],
    { stdio: 'ignore' },
  );
  try {
    // The child starts from source (tsx): on a loaded machine that alone can take seconds, so the
    // waits below end on the file's appearance, not on a count of sleeps.
    await expect.poll(() => existsSync(out), { timeout: 50_000, interval: 25 }).toBe(true);
    expect(readFileSync(out, 'utf8')).toContain('server 127.0.0.1:9003;');
    writeFileSync(file, yaml(9004));
    await expect.poll(() => existsSync(marker), { timeout: 50_000, interval: 25 }).toBe(true);
    expect(readFileSync(out, 'utf8')).toContain('server 127.0.0.1:9004;');
  } finally {
    child.kill('SIGTERM');
  }
}, 120_000);
