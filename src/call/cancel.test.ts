import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import { Cancellation } from './cancel.js';

describe('Cancellation', () => {
  it('aborts once: listeners run in order, once, with the first reason kept', () => {
    const c = new Cancellation();
    const seen: string[] = [];
    c.addEventListener('abort', () => seen.push(`a:${String(c.reason)}`));
    const removed = () => seen.push('removed');
    c.addEventListener('abort', removed);
    c.addEventListener('abort', () => seen.push('b'));
    c.removeEventListener('abort', removed);
    c.abort('first');
    c.abort('second');
    expect(c.aborted).toBe(true);
    expect(c.reason).toBe('first');
    expect(seen).toEqual(['a:first', 'b']);
    c.addEventListener('abort', () => seen.push('late'));
    expect(seen).toEqual(['a:first', 'b']);
  });

  it('a listener that throws neither stops the others nor reaches whoever aborted', () => {
    const c = new Cancellation();
    let after = false;
    c.addEventListener('abort', () => {
      throw new Error('bug');
    });
    c.addEventListener('abort', () => {
      after = true;
    });
    expect(() => c.abort('x')).not.toThrow();
    expect(after).toBe(true);
  });

  it('a child is aborted with its parent (and at once under an aborted one); aborting it leaves the parent alone', () => {
    const parent = new Cancellation();
    const child = Cancellation.under(parent);
    const sibling = Cancellation.under(parent);
    sibling.abort('superseded');
    expect(parent.aborted).toBe(false);
    parent.abort('caller gone');
    expect(child.aborted).toBe(true);
    expect(child.reason).toBe('caller gone');
    expect(sibling.reason).toBe('superseded');
    expect(Cancellation.under(parent).reason).toBe('caller gone');
    expect(Cancellation.under(AbortSignal.abort('native')).reason).toBe('native');
  });

  it('undici takes it as a request signal: aborting it ends a call in flight with the reason', async () => {
    const server = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const c = new Cancellation();
      const sent = pool.request({ path: '/', method: 'GET', signal: c });
      setImmediate(() => c.abort(new Error('the caller went away')));
      await expect(sent).rejects.toThrow('the caller went away');
    } finally {
      await pool.destroy();
      server.closeAllConnections();
      server.close();
    }
  });
});
