import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Reply } from '../call/types.js';
import { testCall } from '../../test/support/call.js';
import { deadline } from './deadline.js';

describe('deadline policy', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers deadline_exceeded on time, and closes a reply that arrives after it', async () => {
    let answer!: (r: Reply) => void;
    const late = new Promise<Reply>((r) => {
      answer = r;
    }); // a backend that ignores the abort
    const pending = deadline(() => late)(testCall({ deadline: performance.now() + 50 }));
    const outcome = expect(pending).rejects.toMatchObject({ code: 'deadline_exceeded' });
    await vi.advanceTimersByTimeAsync(60);
    await outcome;
    const body = new Readable({ read() {} });
    answer({ status: 200, headers: {}, body });
    await late;
    await Promise.resolve();
    expect(body.destroyed).toBe(true);
  });

  it('passes a timely reply through untouched', async () => {
    const body = new Readable({ read() {} });
    const reply = await deadline(async () => ({ status: 200, headers: {}, body }))(
      testCall({ deadline: performance.now() + 50 }),
    );
    expect(reply.body).toBe(body);
    expect(body.destroyed).toBe(false);
  });
});
