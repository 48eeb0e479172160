import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { accessLog, createLogger, errorLog } from './logger.js';
import { newRecord } from './record.js';

function capture() {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  stream.on('data', (c: Buffer) => {
    for (const l of c.toString().split('\n')) if (l) lines.push(JSON.parse(l));
  });
  return { log: createLogger({ level: 'info', destination: stream }), lines };
}

function failed() {
  const r = newRecord('req-9', 'POST', '/v1/objectives/cw', 0);
  r.objective = 'cw';
  r.started = true;
  r.status = 502;
  r.errorCode = 'upstream_error';
  r.end = 12.3456;
  return r;
}

describe('logs', () => {
  it('access log: one JSON line per request with id, route, status and duration', async () => {
    const { log, lines } = capture();
    accessLog(log)(failed());
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request',
      service: 'junction',
      requestId: 'req-9',
      method: 'POST',
      path: '/v1/objectives/cw',
      status: 502,
      objective: 'cw',
      error: 'upstream_error',
      durationMs: 12.346,
    });
  });

  it("error log: Junction's own 5xx errors are warnings with request id and objective; others are quiet", async () => {
    const { log, lines } = capture();
    const observe = errorLog(log);
    observe(failed());
    const ok = newRecord('req-1', 'POST', '/v1/objectives/cw', 0);
    ok.status = 200;
    observe(ok);
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      requestId: 'req-9',
      objective: 'cw',
      code: 'upstream_error',
      status: 502,
    });
  });
});
