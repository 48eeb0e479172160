// The CLI's contract (SPEC §7): output a user can act on, exit 0 / 1 / 2.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureOutput } from './support/output.js';
import { main } from '../src/cli/main.js';

const io = captureOutput();

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

describe('junction serve', () => {
  it('exits 1 with one line, not an internal error, when its config cannot be served', async () => {
    const data = mkdtempSync(join(tmpdir(), 'junction-serve-'));
    expect(
      await main([
        'serve',
        '--config',
        fixture('missing-model.yaml'),
        '--data',
        data,
        '--port',
        '0',
        '--admin-port',
        '0',
      ]),
    ).toBe(1);
    expect(io.err).toMatch(/models\.ranker\.versions\.9\.backend\.path: cannot load ONNX model/);
    expect(io.err).not.toContain('internal error');
  });
});

describe('junction validate', () => {
  it('exits 0 on a valid file', async () => {
    expect(await main(['validate', fixture('valid.yaml')])).toBe(0);
    expect(io.out).toMatch(/valid \(1 objective, 2 targets\)/);
  });

  it('exits 1 naming every problem by path', async () => {
    expect(await main(['validate', fixture('invalid.yaml')])).toBe(1);
    expect(io.err).toContain('objectives.o-exp.experiments[0].cells: weights sum to 90, expected 100');
    expect(io.err).toContain(
      'objectives.o-exp.experiments[0].cells.B.use: model "ranker" has no version "7" (versions: 6)',
    );
  });

  it('opens every ONNX model the config names: the quickstart validates', async () => {
    const quickstart = new URL('../examples/quickstart.yaml', import.meta.url).pathname;
    expect(await main(['validate', quickstart])).toBe(0);
    expect(io.out).toMatch(/valid \(4 objectives, \d+ targets\)/);
  });

  it('exits 1 naming a model file that is missing, by its config path', async () => {
    expect(await main(['validate', fixture('missing-model.yaml')])).toBe(1);
    expect(io.err).toMatch(/models\.ranker\.versions\.9\.backend\.path: cannot load ONNX model .*no-such-model\.onnx/);
    expect(io.err).not.toMatch(/versions\.6/);
  });

  it('exits 1 on a missing file or a missing argument', async () => {
    expect(await main(['validate', '/nonexistent.yaml'])).toBe(1);
    expect(io.err).toMatch(/cannot read \/nonexistent\.yaml/);
    expect(await main(['validate'])).toBe(1);
  });
});

describe('junction explain', () => {
  it('prints the decision and the trail for a unit and context', async () => {
    expect(
      await main([
        'explain',
        fixture('valid.yaml'),
        'continue-watching-ranking',
        '--unit',
        'u1',
        '--context',
        'country=BR',
      ]),
    ).toBe(0);
    expect(io.out).toMatch(/continue-watching-ranking → ranker@7 {2}\(rule=rule:latam\)/);
    expect(io.out).toMatch(/✓ rule +latam +matched/);
  });

  it('--json is machine-readable', async () => {
    expect(await main(['explain', fixture('valid.yaml'), 'continue-watching-ranking', '--unit', 'u1', '--json'])).toBe(
      0,
    );
    const parsed = JSON.parse(io.out);
    expect(parsed.trail[0]).toMatchObject({
      step: 'rule',
      id: 'latam',
      matched: false,
      reason: 'context.country absent',
    });
  });

  it('exits 1 for an unknown objective or a bad flag', async () => {
    expect(await main(['explain', fixture('valid.yaml'), 'nope'])).toBe(1);
    expect(io.err).toMatch(/no objective "nope".*objectives: continue-watching-ranking/);
    expect(await main(['explain', fixture('valid.yaml'), 'continue-watching-ranking', '--bogus'])).toBe(1);
  });
});

describe('junction', () => {
  it('exits 1 on an unknown command', async () => {
    expect(await main(['frobnicate'])).toBe(1);
    expect(io.err).toMatch(/unknown command "frobnicate"/);
  });
});
