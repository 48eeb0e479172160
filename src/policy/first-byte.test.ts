import { PassThrough, type Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Call, Reply } from '../call/types.js';
import { Cancellation } from '../call/cancel.js';
import { awaitFirstByte } from './first-byte.js';

const call = {
  objective: { name: 'o' },
  target: { id: 'm@1' },
  signal: new Cancellation(),
} as unknown as Call;

function replyWith(body: Readable): () => Promise<Reply> {
  return () => Promise.resolve({ status: 200, headers: {}, body });
}

async function readAll(body: Readable): Promise<string> {
  let s = '';
  for await (const chunk of body) s += String(chunk);
  return s;
}

describe('awaitFirstByte', () => {
  it('a reply whose first chunk is already buffered starts at once, and the chunk is still there', async () => {
    const body = new PassThrough();
    body.write('{"a":');
    const reply = await awaitFirstByte(replyWith(body))(call);
    expect(reply.body).toBe(body);
    body.end('1}');
    expect(await readAll(body)).toBe('{"a":1}');
  });

  it('a reset of a started reply before anyone reads it is heard, not an uncaught error ending the process', async () => {
    const body = new PassThrough();
    body.write('{"a":');
    await awaitFirstByte(replyWith(body))(call);
    expect(body.listenerCount('error')).toBeGreaterThan(0); // someone hears it
    body.destroy(new Error('reset')); // vitest fails the run on an unhandled 'error'
    await new Promise((r) => setImmediate(r));
    expect(body.destroyed).toBe(true);
  });

  it('waits for the first chunk and puts it back unread', async () => {
    const body = new PassThrough();
    const started = awaitFirstByte(replyWith(body))(call);
    let done = false;
    void started.then(() => {
      done = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    body.write('first ');
    await started;
    body.end('second');
    expect(await readAll(body)).toBe('first second');
  });

  it('a body broken before its first byte is a failed attempt (upstream_error)', async () => {
    const body = new PassThrough();
    const started = awaitFirstByte(replyWith(body))(call);
    await new Promise((r) => setImmediate(r)); // waiting on the first byte by now
    body.destroy(new Error('reset'));
    await expect(started).rejects.toMatchObject({ code: 'upstream_error' });
  });

  it('a body closed without a byte or an error, before or while waiting, is a failed attempt too', async () => {
    const closing = new PassThrough();
    const started = awaitFirstByte(replyWith(closing))(call);
    await new Promise((r) => setImmediate(r));
    closing.destroy();
    await expect(started).rejects.toMatchObject({ code: 'upstream_error' });

    const closed = new PassThrough();
    closed.destroy();
    await new Promise((r) => setImmediate(r)); // 'close' has fired already
    await expect(awaitFirstByte(replyWith(closed))(call)).rejects.toMatchObject({ code: 'upstream_error' });
  });

  it('a body that ends empty has started (an empty answer is an answer)', async () => {
    const empty = new PassThrough();
    const started = awaitFirstByte(replyWith(empty))(call);
    empty.end();
    await expect(started).resolves.toMatchObject({ status: 200 });
  });

  it('a chunk buffered by a body that then broke is not a started reply', async () => {
    const body = new PassThrough();
    body.write('{"a":');
    body.destroy(); // headers, a first chunk and a reset in one read
    await expect(awaitFirstByte(replyWith(body))(call)).rejects.toMatchObject({ code: 'upstream_error' });
  });
});
