import { describe, expect, it } from 'vitest';
import { endRecord, newRecord } from './record.js';

describe('the one "request ended" record', () => {
  const started = () => Object.assign(newRecord('r', 'POST', '/v1/objectives/o', 0), { status: 200 });

  it('a reply handed whole to the socket keeps the status it was written with', () => {
    expect(endRecord(started(), { writableFinished: true, headersSent: true, statusCode: 200 }, 5)).toMatchObject({
      status: 200,
      errorCode: undefined,
      end: 5,
    });
  });

  it('a caller gone before the end is client_closed, whatever went out first', () => {
    expect(endRecord(started(), { writableFinished: false, headersSent: true, statusCode: 200 }, 5)).toMatchObject({
      status: 499,
      errorCode: 'client_closed',
    });
    const early = newRecord('r', 'POST', '/', 0); // nothing written: the response's default 200 is never read
    expect(endRecord(early, { writableFinished: false, headersSent: false, statusCode: 200 }, 5)).toMatchObject({
      status: 499,
      errorCode: 'client_closed',
    });
  });

  it("a cut reply ends with the cut's code", () => {
    const r = started();
    r.cut = 'upstream_error';
    expect(endRecord(r, { writableFinished: false, headersSent: true, statusCode: 200 }, 5)).toMatchObject({
      status: 502,
      errorCode: 'upstream_error',
    });
  });
});
