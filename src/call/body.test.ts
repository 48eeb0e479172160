import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RequestBody, bodyLimits, type BodyGuard } from './body.js';

/** A request-like stream: a socket whose byte count the slow-body rule reads. */
function incoming(): PassThrough & { socket: { bytesRead: number }; complete: boolean } {
  return Object.assign(new PassThrough(), { socket: { bytesRead: 0 }, complete: false });
}

function guard(opts: Parameters<typeof bodyLimits>[0] = {}): BodyGuard & { owner: EventEmitter } {
  return { limits: bodyLimits(opts), owner: new EventEmitter() };
}

describe('RequestBody.buffered (every small request body)', () => {
  it('reads the whole body, counts it against the shared budget and gives it back when the request is over', async () => {
    const src = incoming();
    const g = guard({ maxBufferedBytes: 1000 });
    const read = RequestBody.buffered(src, 100, 'o', 11, g);
    expect(g.limits.memory.inUse).toBe(11); // the declared length is held at once
    src.write('hello ');
    src.end('world');
    expect((await read).open()).toEqual(Buffer.from('hello world'));
    expect(g.limits.rates.size).toBe(0); // no longer watched for its rate
    g.owner.emit('close');
    expect(g.limits.memory.inUse).toBe(0);
  });

  it("a caller that hangs up mid-body (Node's 'aborted' error) is client_closed, not an internal error", async () => {
    const src = incoming();
    const read = RequestBody.streaming(src, 100, 'o', 50).readAll();
    src.write('half');
    src.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    await expect(read).rejects.toMatchObject({ code: 'client_closed' });
  });

  it('a declared length past the bound is refused before anything is read', () => {
    expect(() => RequestBody.streaming(incoming(), 100, undefined, 101)).toThrow(
      expect.objectContaining({ code: 'payload_too_large' }),
    );
  });

  it('an undeclared body past maxBodyBytes is 413, and past the shared budget 503 overloaded', async () => {
    const big = incoming();
    const tooLarge = RequestBody.buffered(big, 8, 'o');
    big.write('0123456789');
    await expect(tooLarge).rejects.toMatchObject({ code: 'payload_too_large' });

    const src = incoming();
    const g = guard({ maxBufferedBytes: 5 });
    const overloaded = RequestBody.buffered(src, 100, 'o', undefined, g);
    src.write('0123456789');
    await expect(overloaded).rejects.toMatchObject({ code: 'overloaded' });
  });

  it('a caller that leaves mid-upload is client_closed, its side failed, and its share of the budget comes back at once', async () => {
    const src = incoming();
    const g = guard();
    const body = RequestBody.streaming(src, 100, 'o', 10, g);
    const read = body.readAll();
    src.write('01234');
    src.destroy();
    await expect(read).rejects.toMatchObject({ code: 'client_closed' });
    expect(body.failed).toBe(true);
    expect(g.limits.memory.inUse).toBe(0); // before the request's own close
  });

  it('a caller already gone (it left while admission was awaited) is client_closed at once, nothing taken', async () => {
    const src = incoming();
    src.destroy();
    await new Promise((r) => setImmediate(r)); // its 'close' has fired
    const g = guard();
    await expect(RequestBody.buffered(src, 100, 'o', 10, g)).rejects.toMatchObject({ code: 'client_closed' });
    expect(g.limits.memory.inUse).toBe(0);

    const answered = guard();
    Object.assign(answered.owner, { closed: true }); // the response closed first
    await expect(RequestBody.buffered(incoming(), 100, 'o', 10, answered)).rejects.toMatchObject({
      code: 'client_closed',
    });
    expect(answered.limits.memory.inUse).toBe(0);
  });

  it('a body arriving fast enough is not cut, however long it takes', async () => {
    const src = incoming();
    const g = guard({ minBodyBytesPerSecond: 10, bodyGraceMs: 0 });
    const read = RequestBody.buffered(src, 1000, 'o', 6, g);
    for (let i = 0; i < 3; i++) {
      src.socket.bytesRead += 100; // well above 10 bytes/s
      src.write('ab');
      await new Promise((r) => setTimeout(r, 60)); // a sweep (every 50 ms here) judges it each time
      expect(g.limits.rates.size).toBe(1); // still watched, not cut (the next test: the same sweep cuts a slow one)
    }
    src.end();
    expect((await read).open()).toEqual(Buffer.from('ababab'));
  });

  it('a body slower than the minimum rate is cut with 408 once the grace has passed', async () => {
    const src = incoming();
    const g = guard({ minBodyBytesPerSecond: 1_000_000, bodyGraceMs: 0 });
    const read = RequestBody.buffered(src, 100, 'o', 10, g);
    src.write('0'); // then nothing more: the sweep judges it
    await expect(read).rejects.toMatchObject({ code: 'request_timeout' });
    expect(g.limits.rates.size).toBe(0);
  });
});
