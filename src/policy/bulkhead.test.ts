import { once } from 'node:events';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { JunctionError } from '../errors.js';
import { Bulkhead, releaseWhenDone } from './bulkhead.js';

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: JunctionError) => e.code,
  );

describe('bulkhead', () => {
  it('refuses at once with overloaded beyond its limit and queue (never hangs)', async () => {
    const b = new Bulkhead(2, 0, 'test');
    await b.acquire();
    await b.acquire();
    expect(await code(b.acquire())).toBe('overloaded');
  });

  it('queues up to maxQueue and hands a freed slot to the first waiter', async () => {
    const b = new Bulkhead(1, 1, 'test');
    const release = await b.acquire();
    const waiting = b.acquire();
    expect(b.queued).toBe(1);
    expect(await code(b.acquire())).toBe('overloaded');
    release();
    const second = await waiting;
    expect(b.inflight).toBe(1);
    second();
    expect(b.inflight).toBe(0);
  });

  it('a lowered limit holds: freed slots pass to waiters only once in-flight is under it', async () => {
    const b = new Bulkhead(4, 4, 'test');
    const held = await Promise.all([b.acquire(), b.acquire(), b.acquire(), b.acquire()]);
    const waiting = [b.acquire(), b.acquire()];
    b.setLimits(1, 4);
    const seen: number[] = [];
    for (const release of held) {
      release();
      seen.push(b.inflight);
    }
    expect(seen).toEqual([3, 2, 1, 1]); // the last release admits one waiter: at the new limit, not above it
    expect(b.queued).toBe(1);
    (await waiting[0]!)();
    expect(b.inflight).toBe(1);
    (await waiting[1]!)();
    expect(b.inflight).toBe(0);
  });

  it('a release called twice frees one slot', async () => {
    const b = new Bulkhead(1, 0, 'test');
    const release = await b.acquire();
    release();
    release();
    expect(b.inflight).toBe(0);
  });

  it('sheddable traffic is refused first: it may use only part of the slots and never queues', async () => {
    const b = new Bulkhead(4, 2, 'test');
    for (let i = 0; i < 3; i++) await b.acquire('sheddable');
    expect(await code(b.acquire('sheddable'))).toBe('overloaded');
    expect(await code(b.acquire('default'))).toBe('ok');
  });

  it('critical traffic is refused last: dequeued first, and takes a queued non-critical place when full', async () => {
    const b = new Bulkhead(1, 2, 'test');
    const release = await b.acquire('default');
    const order: string[] = [];
    const d1 = b.acquire('default').then(
      (r) => {
        order.push('d1');
        return r;
      },
      (e: JunctionError) => {
        order.push(`d1:${e.code}`);
      },
    );
    const d2 = b.acquire('default').then(
      (r) => {
        order.push('d2');
        return r;
      },
      (e: JunctionError) => {
        order.push(`d2:${e.code}`);
      },
    );
    const c = b.acquire('critical').then((r) => {
      order.push('c');
      return r;
    });
    await d2; // evicted to make room for the critical call
    expect(order).toEqual(['d2:overloaded']);
    release();
    const rc = await c;
    expect(order).toEqual(['d2:overloaded', 'c']);
    rc();
    const r1 = await d1;
    (r1 as () => void)();
    expect(order).toEqual(['d2:overloaded', 'c', 'd1']);
    expect(await code(new Bulkhead(1, 0, 't').acquire('critical'))).toBe('ok');
  });

  it('a queued call whose signal aborts leaves the queue', async () => {
    const b = new Bulkhead(1, 1, 'test');
    await b.acquire();
    const ac = new AbortController();
    const waiting = b.acquire('default', ac.signal);
    ac.abort(new JunctionError('deadline_exceeded', 'late'));
    expect(await code(waiting)).toBe('deadline_exceeded');
    expect(b.queued).toBe(0);
  });

  it('holds the slot until a streamed body is closed', async () => {
    const b = new Bulkhead(1, 0, 'test');
    const body = Readable.from(['a', 'b']);
    releaseWhenDone(body, await b.acquire());
    expect(b.inflight).toBe(1);
    body.resume();
    await once(body, 'close');
    expect(b.inflight).toBe(0);
  });
});
