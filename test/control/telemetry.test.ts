// The control plane reports the live revision and rollout percents through the
// telemetry interface (observe/telemetry.ts), whatever exports them.
import { afterAll, describe, expect, it } from 'vitest';
import { startJunction } from '../../src/app.js';
import { installTelemetry, NO_TELEMETRY } from '../../src/observe/telemetry.js';
import { twoTargets } from './configs.js';

afterAll(() => installTelemetry(NO_TELEMETRY));

describe('control plane telemetry', () => {
  it('reports junction_config_revision and rollout percents on every revision', async () => {
    const events: string[] = [];
    installTelemetry({
      ...NO_TELEMETRY,
      configRevision: (n) => events.push(`revision ${n}`),
      rolloutPercent: (o, c, p) => events.push(`rollout ${o} ${c} ${p}`),
    });
    const j = await startJunction({
      config: twoTargets('http://127.0.0.1:9', 'http://127.0.0.1:9'), port: 0,
      control: { data: ':memory:' }, log: { error() {}, warn() {}, info() {} },
    });
    try {
      const src = (extra: Record<string, unknown>) => twoTargets('http://127.0.0.1:9', 'http://127.0.0.1:9', 'm@1', extra);
      await j.control!.plane.apply({ source: src({ rollout: { candidate: 'm@2', percent: 5 } }), author: 't', message: '' });
      await j.control!.plane.apply({ source: src({}), author: 't', message: '' });
      expect(events).toEqual(['revision 1', 'revision 2', 'rollout cw m@2 5', 'revision 3', 'rollout cw m@2 0']);
    } finally {
      await j.close();
    }
  });
});
