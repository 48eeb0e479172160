// gRPC's length-prefixed messages on an HTTP/2 stream, read so that nothing
// is buffered before it may be: the 5-byte prefix first (a declared length
// over the limit is refused before one byte of the message is read), then
// the message's first bytes (its model name names the objective, whose
// maxBodyBytes may be tighter), then a reservation of the declared length
// from the data plane's shared memory budget, and only then the rest, copied
// once into a buffer of exactly that length. Compressed messages are inflated
// as a stream under the same limits, each inflated chunk taken from the budget.
//
// The pieces are separate (`parsePrefix`, `MessagePrefix`, `Reservation`) so
// that a pass-through reader (gRPC proxied to a gRPC backend as a stream, its
// messages never copied whole) can be built from them; this file reads the one
// request message of a unary call.
import type { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { BodyLimits, MemoryBudget } from '../../call/body-limits.js';
import { JunctionError } from '../../errors.js';

export const PREFIX_BYTES = 5;

/** How many first bytes of a message are looked at for its model name before giving up on finding it early. */
const PEEK_BYTES = 4096;

export interface MessagePrefix {
  compressed: boolean;
  /** The message's declared length in bytes. */
  length: number;
}

/** The 5-byte prefix at `at`: a compression flag (0 or 1) and a big-endian length. */
export function parsePrefix(buf: Buffer, at = 0): MessagePrefix {
  const flag = buf[at]!;
  if (flag > 1) throw new JunctionError('invalid_request', `gRPC message flag ${flag} is neither 0 nor 1`);
  return { compressed: flag === 1, length: buf.readUInt32BE(at + 1) };
}

/** The prefix for a message of `length` bytes, uncompressed. */
export function prefixOf(length: number): Buffer {
  const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
  prefix[0] = 0;
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

/** Bytes a call holds of the shared budget; given back once, whatever ends the call. */
export class Reservation {
  private held = 0;
  constructor(private readonly budget: MemoryBudget | undefined) {}

  get bytes(): number {
    return this.held;
  }

  take(n: number, objective: string | undefined): void {
    if (this.budget === undefined) return;
    if (!this.budget.take(n)) {
      throw new JunctionError('overloaded', 'too many request messages are being read at once; retry shortly', {
        objective,
        retryAfterSeconds: 1,
      });
    }
    this.held += n;
  }

  release(): void {
    this.budget?.give(this.held);
    this.held = 0;
  }
}

export type Encoding = 'identity' | 'gzip' | 'deflate';

export interface MessageLimits {
  /** The listener's largest message (compressed or inflated). */
  maxBytes: number;
  /**
   * Given the message's first bytes (inflated, when compressed), its limit
   * and the objective it names: `undefined` while more bytes are needed.
   */
  limitFor(
    head: Buffer,
    complete: boolean,
  ): { maxBytes: number; objective: string | undefined; streamable?: boolean; readOn?: boolean } | undefined;
  /**
   * Stop once the limit is known, when `limitFor` said the message may be
   * streamed and more of it is still to come: the reader resolves with an
   * OpenMessage, the rest left on the (paused) stream. (`readOn`: the limit
   * is known and is checked now, but the first bytes do not yet say whether
   * the message may be streamed: read on, up to the peek size.)
   */
  open?: boolean;
  reservation: Reservation;
  encoding: Encoding;
  /** A message arriving slower than the data plane's minimum body rate is cut (408), as an HTTP body is. */
  rates?: BodyLimits | undefined;
}

function tooLarge(length: number, maxBytes: number, objective: string | undefined, what = 'message'): JunctionError {
  return new JunctionError(
    'payload_too_large',
    `${what} of ${length} bytes exceeds ${objective === undefined ? 'the listener' : "the objective's"} limit (${maxBytes} bytes)`,
    { objective },
  );
}

const truncated = () => new JunctionError('invalid_request', 'the request message ended before its declared length');

/** A message whose first bytes are read and whose rest is still on its stream, paused. */
export interface OpenMessage {
  /** The declared length. */
  length: number;
  /** The bytes read so far (the model reference and a little more). */
  head: Buffer;
  objective: string | undefined;
}

/**
 * The one request message of a unary call, read off `stream` (paused until
 * now, so nothing of it was buffered beyond HTTP/2's flow-control window).
 * Rejects with a JunctionError; what was taken from the budget stays in the
 * reservation until the caller releases it.
 */
export function readUnaryMessage(stream: Readable, limits: MessageLimits): Promise<Buffer | OpenMessage> {
  return new Promise<Buffer | OpenMessage>((resolve, reject) => {
    const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
    let prefixGot = 0;
    let declared: MessagePrefix | undefined;
    /** Message bytes held before the limit was decided (at most PEEK_BYTES and one chunk). */
    let early: Buffer[] | undefined = [];
    let earlyLength = 0;
    let message: Buffer | undefined;
    let got = 0;
    let objective: string | undefined;
    let bytesRead = 0;
    let settled = false;

    const finish = (err: JunctionError | undefined, opened?: OpenMessage) => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onClose);
      stream.off('error', onClose);
      unwatch?.();
      if (opened !== undefined) {
        stream.pause(); // the rest stays under HTTP/2 flow control until the call reads it
        resolve(opened);
        return;
      }
      if (err !== undefined) {
        reject(err);
        return;
      }
      if (declared === undefined) {
        reject(new JunctionError('invalid_request', 'the call carried no request message'));
        return;
      }
      const bytes = message ?? Buffer.alloc(0);
      if (!declared.compressed) {
        resolve(bytes);
        return;
      }
      inflated(bytes, limits, objective).then(resolve, reject);
    };

    /** The limit is known (or the message is whole): check the declared length, reserve it, allocate. */
    const decide = (limit: number) => {
      const length = declared!.length;
      if (length > limit)
        throw tooLarge(length, limit, objective, declared!.compressed ? 'compressed message' : 'message');
      limits.reservation.take(length, objective);
      message = Buffer.allocUnsafe(length);
      for (const part of early!) {
        part.copy(message, got);
        got += part.length;
      }
      early = undefined;
    };

    const onData = (chunk: Buffer) => {
      bytesRead += chunk.length;
      try {
        let at = 0;
        if (declared === undefined) {
          const n = Math.min(PREFIX_BYTES - prefixGot, chunk.length);
          chunk.copy(prefix, prefixGot, 0, n);
          prefixGot += n;
          at = n;
          if (prefixGot < PREFIX_BYTES) return;
          declared = parsePrefix(prefix);
          if (declared.length > limits.maxBytes) throw tooLarge(declared.length, limits.maxBytes, undefined);
          // A compressed message's name is inside what is inflated: the listener's limit holds for now.
          if (declared.compressed || declared.length === 0) decide(limits.maxBytes);
        }
        if (at === chunk.length) return;
        const rest = at === 0 ? chunk : chunk.subarray(at);
        const room = declared.length - got - earlyLength;
        if (rest.length > room) throw new JunctionError('invalid_request', 'a unary call carries one request message');
        if (message !== undefined) {
          rest.copy(message, got);
          got += rest.length;
          return;
        }
        early!.push(rest);
        earlyLength += rest.length;
        const complete = earlyLength === declared.length;
        const head = early!.length === 1 ? early![0]! : Buffer.concat(early!, earlyLength);
        early = [head];
        const found = limits.limitFor(head, complete || earlyLength >= PEEK_BYTES);
        if (found === undefined) return;
        objective = found.objective;
        const limit = Math.min(found.maxBytes, limits.maxBytes);
        if (found.readOn === true && limits.open === true && !complete && earlyLength < PEEK_BYTES) {
          if (declared.length > limit) throw tooLarge(declared.length, limit, objective);
          return;
        }
        if (limits.open === true && found.streamable === true && !complete) {
          if (declared.length > limit) throw tooLarge(declared.length, limit, objective);
          finish(undefined, { length: declared.length, head, objective });
          return;
        }
        earlyLength = 0;
        decide(limit);
      } catch (err) {
        finish(err as JunctionError);
      }
    };
    const onEnd = () => {
      if (declared === undefined) {
        finish(prefixGot === 0 ? undefined : truncated());
        return;
      }
      if (message === undefined) {
        // The stream ended inside the first bytes: decide on what came (the whole message, or a truncated one).
        try {
          const found = limits.limitFor(early![0] ?? Buffer.alloc(0), true);
          objective = found?.objective;
          decide(Math.min(found?.maxBytes ?? limits.maxBytes, limits.maxBytes));
        } catch (err) {
          finish(err as JunctionError);
          return;
        }
      }
      finish(got === declared.length ? undefined : truncated());
    };
    const onClose = () =>
      finish(new JunctionError('client_closed', 'the caller left before its request message arrived'));
    const unwatch = watchMessageRate(
      limits.rates,
      () => bytesRead,
      () => objective,
      (err) => finish(err),
    );
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onClose);
    stream.on('error', onClose);
  });
}

/**
 * A compressed message inflated as a stream: every inflated chunk is taken
 * from the budget, and inflating stops at the limit (the listener's, then the
 * objective's once the first bytes name it), so a small message that would
 * inflate to gigabytes costs at most the limit and one chunk.
 */
function inflated(bytes: Buffer, limits: MessageLimits, objective: string | undefined): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const z = limits.encoding === 'gzip' ? createGunzip() : createInflate();
    const chunks: Buffer[] = [];
    let size = 0;
    let limit = limits.maxBytes;
    let decided = false;
    let failed = false;
    const fail = (err: JunctionError) => {
      if (failed) return;
      failed = true;
      z.destroy();
      reject(err);
    };
    z.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (!decided) {
        const head = chunks.length === 0 ? chunk : Buffer.concat([...chunks, chunk]);
        const found = limits.limitFor(head, size >= PEEK_BYTES);
        if (found !== undefined) {
          decided = true;
          objective = found.objective;
          limit = Math.min(limit, found.maxBytes);
        }
      }
      if (size > limit) {
        fail(tooLarge(size, limit, objective, 'inflated message'));
        return;
      }
      try {
        limits.reservation.take(chunk.length, objective);
      } catch (err) {
        fail(err as JunctionError);
        return;
      }
      chunks.push(chunk);
    });
    z.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    z.on('error', (err) =>
      fail(
        new JunctionError('invalid_request', `the compressed message is not valid ${limits.encoding}: ${err.message}`),
      ),
    );
    z.end(bytes);
  });
}

/**
 * Watches a message's bytes (as `bytesRead` counts them) against the data
 * plane's minimum body rate, as an HTTP body is watched; `onSlow` gets the
 * 408 to end the call with. Returns the unwatch, or undefined when no rate
 * is set.
 */
export function watchMessageRate(
  rates: BodyLimits | undefined,
  bytesRead: () => number,
  objective: () => string | undefined,
  onSlow: (err: JunctionError) => void,
): (() => void) | undefined {
  if (rates === undefined) return undefined;
  return rates.rates.watch(
    // The rate watch reads a byte count and whether the body is complete: this message's.
    {
      socket: {
        get bytesRead() {
          return bytesRead();
        },
      },
      complete: false,
      readableEnded: false,
    } as unknown as Readable,
    () =>
      onSlow(
        new JunctionError(
          'request_timeout',
          `the request message arrived slower than ${rates.minBytesPerSecond} bytes/s`,
          {
            objective: objective(),
          },
        ),
      ),
  );
}
