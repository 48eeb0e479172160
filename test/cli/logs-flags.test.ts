// `serve --log-rotate … --log-retain …`: what they parse to, and the one-line
// errors (exit 1, naming the flag) for what they refuse, before anything starts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseLogRetain, parseLogRotate } from '../../src/cli/log-flags.js';
import { captureOutput } from '../support/output.js';

const io = captureOutput();
const config = new URL('../fixtures/valid.yaml', import.meta.url).pathname;
const log = join(mkdtempSync(join(tmpdir(), 'junction-log-flags-')), 'decisions.jsonl');

describe('--log-rotate and --log-retain', () => {
  it('parse sizes (powers of 1024, as --log-max-bytes) and durations', () => {
    expect(parseLogRotate('size=256MB,age=1h')).toEqual({ maxBytes: 256 * 1024 ** 2, maxAgeMs: 3_600_000 });
    expect(parseLogRotate('age=15m')).toEqual({ maxAgeMs: 900_000 });
    expect(parseLogRotate('size=512K')).toEqual({ maxBytes: 512 * 1024 });
    expect(parseLogRotate(' size = 1GiB ')).toEqual({ maxBytes: 1024 ** 3 });
    expect(parseLogRetain('7d')).toBe(7 * 86_400_000);
    expect(parseLogRetain('36h')).toBe(36 * 3_600_000);
  });

  const refused: Array<[string, string[], string]> = [
    ['a bound without a value', ['--log-rotate', 'size'], '--log-rotate takes size=SIZE and/or age=DURATION'],
    ['an unknown bound', ['--log-rotate', 'sz=1M'], '--log-rotate knows size and age, not "sz"'],
    ['a size that is not one', ['--log-rotate', 'size=big'], '--log-rotate size must be a size such as 256MB'],
    ['an age without a unit', ['--log-rotate', 'age=60'], '--log-rotate age must be a duration such as 1h'],
    [
      'a retain that is not a duration',
      ['--log-rotate', 'age=1h', '--log-retain', 'a week'],
      '--log-retain must be a duration',
    ],
    ['--log-retain alone', ['--log-retain', '7d'], '--log-retain deletes rotated files: give --log-rotate too'],
  ];
  for (const [what, flags, message] of refused) {
    it(`serve refuses ${what}, naming the flag`, async () => {
      const args = ['serve', '--config', config, '--port', '0', '--decision-log', log];
      expect(await main([...args, ...flags])).toBe(1);
      expect(io.err).toContain(message);
    });
  }

  it('serve refuses --log-rotate without a log file to rotate (stdout is never rotated)', async () => {
    expect(await main(['serve', '--config', config, '--port', '0', '--log-rotate', 'size=1M'])).toBe(1);
    expect(io.err).toContain('--log-rotate rotates log files: give --decision-log FILE or --feedback-log FILE');
    expect(
      await main(['serve', '--config', config, '--port', '0', '--decision-log', '-', '--log-rotate', 'size=1M']),
    ).toBe(1);
    expect(io.err).toContain('stdout is never rotated');
  });
});
