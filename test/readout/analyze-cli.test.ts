// `junction analyze` as a user runs it: files after --decisions / --feedback,
// the table, --json, --experiment, and one-line user errors with exit 1.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../support/output.js';

const io = captureOutput();
const dir = mkdtempSync(join(tmpdir(), 'junction-analyze-'));
const fixture = new URL('../fixtures/valid.yaml', import.meta.url).pathname;

const line = (i: number, cell: 'A' | 'B', trafficClass = 'live') =>
  JSON.stringify({
    time: `2026-11-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`,
    requestId: `r-${i}`,
    via: 'invoke',
    objective: 'continue-watching-ranking',
    unit: `u-${i}`,
    context: {},
    rule: 'experiment:cw-42',
    experiment: 'cw-42',
    cell,
    target: cell === 'A' ? 'ranker@6' : 'ranker@7',
    revision: 1,
    client: null,
    trafficClass,
    status: 200,
    error: null,
    latencyMs: 10,
    fallback: null,
    shadows: [],
  });
const d1 = join(dir, 'd1.jsonl');
const d2 = join(dir, 'd2.jsonl');
const fb = join(dir, 'f.jsonl');
writeFileSync(
  d1,
  `${Array.from({ length: 60 }, (_, i) => line(i, i % 2 ? 'A' : 'B')).join('\n')}\n${JSON.stringify({ time: '2026-11-01T00:01:00.000Z', event: 'rollout', objective: 'x', action: 'advance', gates: [] })}\n`,
);
writeFileSync(
  d2,
  `${Array.from({ length: 40 }, (_, i) => line(100 + i, i % 2 ? 'A' : 'B')).join('\n')}\n${line(999, 'A', 'test')}\n`,
);
writeFileSync(
  fb,
  `${Array.from({ length: 50 }, (_, i) => JSON.stringify({ time: '2026-11-01T00:00:00.000Z', requestId: `r-${i * 2}`, objective: null, unit: null, metric: 'click', value: 1 })).join('\n')}\n`,
);

describe('junction analyze', () => {
  it('prints a table for the experiments in several files', async () => {
    expect(await main(['analyze', '--decisions', d1, d2, '--feedback', fb, '--config', fixture])).toBe(0);
    expect(io.out).toMatch(/experiment cw-42 \(objective continue-watching-ranking\)/);
    expect(io.out).toMatch(/A\s+ranker@6\s+50\s+50\s+50/);
    expect(io.out).toMatch(/sample ratio: p = 1\.0000 against the configured weights/);
    expect(io.out).toMatch(/metric click/);
  });

  it('--json is the readout document', async () => {
    expect(
      await main([
        'analyze',
        '--decisions',
        d1,
        '--decisions',
        d2,
        '--feedback',
        fb,
        '--experiment',
        'cw-42',
        '--json',
      ]),
    ).toBe(0);
    const r = JSON.parse(io.out) as {
      version: number;
      experiments: Array<{
        cells: Array<{ cell: string; units: number }>;
        srm: { weights: string };
        metrics: Array<{ metric: string; cells: Array<{ mean: number }> }>;
      }>;
    };
    expect(r.version).toBe(2);
    expect(r.experiments[0]!.cells.map((c) => [c.cell, c.units])).toEqual([
      ['A', 50],
      ['B', 50],
    ]);
    expect(r.experiments[0]!.srm.weights).toBe('unknown');
    // Feedback for r-0, r-2 … r-98: the 30 even ids that exist (r-0 … r-58, all cell B) clicked; no A unit did.
    expect(r.experiments[0]!.metrics[0]!.cells.map((c) => c.mean)).toEqual([0, 30 / 50]);
  });

  it('skips a malformed line (the last line of a log still being written)', async () => {
    const partial = join(dir, 'partial.jsonl');
    writeFileSync(partial, `${line(1, 'A')}\n${line(2, 'B').slice(0, 60)}`);
    expect(await main(['analyze', '--decisions', partial, '--json'])).toBe(0);
    const r = JSON.parse(io.out) as { experiments: Array<{ cells: Array<{ cell: string; units: number }> }> };
    expect(r.experiments[0]!.cells).toEqual([expect.objectContaining({ cell: 'A', units: 1 })]);
  });

  it('takes DuckDB limits: --memory-limit, --threads, --temp-dir (more than a serving Junction allows itself)', async () => {
    const spill = join(dir, 'spill');
    expect(
      await main([
        'analyze',
        '--decisions',
        d1,
        '--json',
        '--memory-limit',
        '64MiB',
        '--threads',
        '1',
        '--temp-dir',
        spill,
      ]),
    ).toBe(0);
    expect((JSON.parse(io.out) as { experiments: unknown[] }).experiments).toHaveLength(1);
    expect(await main(['analyze', '--decisions', d1, '--threads', '0'])).toBe(1);
    expect(io.err).toMatch(/--threads must be a whole number ≥ 1 \(got 0\)/);
    expect(await main(['analyze', '--decisions', d1, '--memory-limit', 'lots'])).not.toBe(0);
  });

  it('answers --help, and exits 1 with a one-line fix on user errors', async () => {
    expect(await main(['analyze', '--help'])).toBe(0);
    expect(io.out).toMatch(/^usage: junction analyze --decisions FILE…/);
    expect(await main(['analyze'])).toBe(1);
    expect(io.err).toMatch(/give the decision log \(--decisions FILE…\) or the store \(--store postgres:\/\/…\)/);
    expect(await main(['analyze', '--decisions', join(dir, 'nope.jsonl')])).toBe(1);
    expect(io.err).toMatch(/no such file: .*nope\.jsonl/);
    expect(await main(['analyze', '--decisions', d1, '--experiment', 'other'])).toBe(1);
    expect(io.err).toMatch(/no live exposures of experiment "other"/);
  });
});
