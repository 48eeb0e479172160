import { describe, expect, it } from 'vitest';
import type { Send } from '../call/types.js';
import { JunctionError } from '../errors.js';
import { ok, target, testCall } from '../../test/support/call.js';
import { fallback } from './fallback.js';

describe('fallback policy', () => {
  it('tries each target in order and names the one that answered', async () => {
    const tried: string[] = [];
    const send: Send = async (call) => {
      tried.push(call.target.id);
      if (call.target.id === 'm@1') throw new JunctionError('no_healthy_backend', 'ejected');
      if (call.target.id === 'm@2') return ok('', 500);
      return ok('from 3');
    };
    const reply = await fallback({ targets: [target('m@2'), target('m@3')] })(send)(testCall());
    expect(tried).toEqual(['m@1', 'm@2', 'm@3']);
    expect(reply.fallback).toBe('m@3');
  });

  it('does not try the decided target twice when it is also listed as a fallback', async () => {
    const tried: string[] = [];
    const send: Send = async (call) => {
      tried.push(call.target.id);
      return ok('', 503);
    };
    const reply = await fallback({ targets: [target('m@1'), target('m@2')] })(send)(testCall());
    expect(tried).toEqual(['m@1', 'm@2']);
    expect(reply).toMatchObject({ status: 503, fallback: 'm@2' });
  });

  it("the caller's own errors do not fall back", async () => {
    let n = 0;
    const send: Send = async () => {
      n++;
      throw new JunctionError('payload_too_large', 'big');
    };
    await expect(
      fallback({ targets: [target('m@2')], static: { status: 200, body: {} } })(send)(testCall()),
    ).rejects.toMatchObject({ code: 'payload_too_large' });
    expect(n).toBe(1);
  });

  it('no fallback once the budget is spent', async () => {
    let n = 0;
    const send: Send = async () => {
      n++;
      throw new JunctionError('upstream_error', 'x');
    };
    const call = testCall({ deadline: 0 });
    await expect(
      fallback({ targets: [target('m@2')], static: { status: 200, body: {} } })(send)(call),
    ).rejects.toMatchObject({ code: 'upstream_error' });
    expect(n).toBe(1);
  });

  it('a static answer of last resort, text or JSON', async () => {
    const send: Send = async () => {
      throw new JunctionError('upstream_error', 'x');
    };
    const text = await fallback({ targets: [], static: { status: 203, body: 'sorry', headers: { 'x-a': '1' } } })(send)(
      testCall(),
    );
    expect(text).toMatchObject({
      status: 203,
      fallback: 'static',
      headers: { 'content-type': 'text/plain; charset=utf-8', 'x-a': '1' },
    });
    expect((text.body as Buffer).toString()).toBe('sorry');
  });
});
