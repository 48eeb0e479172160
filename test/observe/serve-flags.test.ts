// `junction serve --decision-log`: a path that cannot be written is the user's error (exit 1), found at startup.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

let err = '';
beforeEach(() => {
  err = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err += String(s);
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

it('serve --decision-log to an unwritable path exits 1 saying what to fix', async () => {
  const config = new URL('../fixtures/valid.yaml', import.meta.url).pathname;
  expect(
    await main(['serve', '--config', config, '--port', '0', '--decision-log', '/nonexistent/dir/decisions.jsonl']),
  ).toBe(1);
  expect(err).toContain('--decision-log: cannot write /nonexistent/dir/decisions.jsonl');
});
