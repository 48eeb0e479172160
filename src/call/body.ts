// A request body. It streams through once, untouched, counted against
// maxBodyBytes; when a policy may send it again (retry, hedge, fallback,
// shadow) the objective asks for a buffered body instead, bounded by the same
// limit. Junction never parses it here. With a guard (the data plane's body
// limits and the response that owns the request), a body that arrives too
// slowly is cut (408) and what is buffered counts against one shared budget.
import type { EventEmitter } from 'node:events';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { JunctionError } from '../errors.js';
import { watchBodyRate, type BodyLimits } from './body-limits.js';

export { bodyLimits, type BodyLimits, type BodyLimitOptions } from './body-limits.js';

export interface BodyGuard {
  limits: BodyLimits;
  /** Emits 'close' when the request is over (its ServerResponse): buffered bytes are given back then. */
  owner: EventEmitter & { readonly closed?: boolean };
}

export class RequestBody {
  private streamed = false;
  private sourceFailed = false;

  private constructor(
    private readonly source: Readable | null,
    private readonly buffer: Buffer | null,
    private readonly maxBytes: number,
    private readonly objective: string | undefined,
    private readonly guard: BodyGuard | undefined,
    private readonly declaredLength: number | undefined,
  ) {}

  /**
   * Streams the caller's body through once. With a declared content-length
   * within the limit there is nothing to count (Node's parser enforces the
   * length), so the socket stream goes upstream as it is once it has arrived.
   */
  static streaming(
    source: Readable,
    maxBytes: number,
    objective?: string,
    declaredLength?: number,
    guard?: BodyGuard,
  ): RequestBody {
    if (declaredLength !== undefined && declaredLength > maxBytes) {
      throw new JunctionError(
        'payload_too_large',
        `content-length ${declaredLength} exceeds maxBodyBytes (${maxBytes} bytes)`,
        { objective },
      );
    }
    return new RequestBody(
      source,
      null,
      declaredLength === undefined ? maxBytes : Infinity,
      objective,
      guard,
      declaredLength,
    );
  }

  /** Reads the caller's body into memory (bounded), so it can be sent more than once. */
  static buffered(
    source: Readable,
    maxBytes: number,
    objective?: string,
    declaredLength?: number,
    guard?: BodyGuard,
  ): Promise<RequestBody> {
    let body: RequestBody;
    try {
      body = RequestBody.streaming(source, maxBytes, objective, declaredLength, guard);
    } catch (err) {
      return Promise.reject(err); // as from an async function: the caller awaits, it never catches
    }
    // `then`, not an async function: every small request body comes this way.
    return body.readAll().then(heldBody);
  }

  /** A body that arrived whole (a gRPC message), held to the same limit. */
  static whole(buffer: Buffer, maxBytes: number, objective?: string): RequestBody {
    if (buffer.length > maxBytes) {
      throw new JunctionError(
        'payload_too_large',
        `message of ${buffer.length} bytes exceeds maxBodyBytes (${maxBytes} bytes)`,
        { objective },
      );
    }
    return RequestBody.of(buffer);
  }

  static of(buffer: Buffer): RequestBody {
    return new RequestBody(null, buffer, Infinity, undefined, undefined, undefined);
  }

  /** Bytes in the body when known: a buffered body's, or the declared length of a streaming one. */
  get length(): number | undefined {
    return this.buffer !== null ? this.buffer.length : this.declaredLength;
  }

  /**
   * Set by the gRPC face on a ModelInfer message it streams: the body is the
   * message after its leading model reference (fields 1 and 2), which the
   * face read to route it, still arriving; `length` is its size. A gRPC
   * backend sends its own reference, then these bytes as they come.
   */
  afterModelRef = false;

  /**
   * Set by the gRPC face on every ModelInfer body: its caller reads gRPC
   * framing and trailers, so a gRPC backend may hand back its reply as a
   * stream (an HTTP caller that sends protobuf gets the message whole).
   */
  grpcCaller = false;

  get replayable(): boolean {
    return this.buffer !== null;
  }

  /** The caller's side of the body failed (it left mid-upload, or sent it too slowly): no endpoint's fault. */
  get failed(): boolean {
    return this.sourceFailed;
  }

  /** The bytes to send upstream. A streaming body can be opened once. */
  open(): Readable | Buffer {
    if (this.buffer !== null) return this.buffer;
    if (this.streamed) throw new Error('RequestBody: a streaming body can only be sent once');
    this.streamed = true;
    const source = this.source!;
    const markFailed = () => {
      this.sourceFailed = true;
    };
    source.once('aborted', markFailed);
    source.once('error', markFailed);
    const limits = this.guard?.limits;
    const stopWatching =
      limits === undefined
        ? undefined
        : watchBodyRate(source, limits, () => {
            this.sourceFailed = true;
            const err = new JunctionError(
              'request_timeout',
              `the request body arrived slower than ${limits.minBytesPerSecond} bytes/s`,
              { objective: this.objective },
            );
            // Called from a timer, never synchronously: `limited` below is set by then.
            source.unpipe(limited);
            limited.destroy(err);
          });
    // Nothing to count and nothing to watch: the socket stream goes as it is.
    if (this.maxBytes === Infinity && stopWatching === undefined) return source;
    const limited = new ByteLimit(this.maxBytes, this.objective);
    source.once('error', (err) => limited.destroy(err));
    if (stopWatching !== undefined) limited.once('close', stopWatching);
    return source.pipe(limited);
  }

  /**
   * The whole body in memory, for the few places that must read it; counted
   * against the shared budget. Read straight off the source with three
   * listeners (no Transform, no async iterator): every small request body
   * comes this way, so it is on the hot path.
   */
  async readAll(): Promise<Buffer> {
    if (this.buffer !== null) return this.buffer;
    if (this.streamed) throw new Error('RequestBody: a streaming body can only be sent once');
    this.streamed = true;
    const source = this.source!;
    // The caller is gone already (it left while admission was awaited): its 'close' has fired,
    // and will not again, so neither the body's end nor the budget's return would ever come.
    const callerLeft = () =>
      new JunctionError('client_closed', 'the caller left before its body arrived', { objective: this.objective });
    if ((source.destroyed && !source.readableEnded) || this.guard?.owner.closed === true) {
      this.sourceFailed = true;
      throw callerLeft();
    }
    const memory = this.guard?.limits.memory;
    let held = 0;
    const overloaded = () =>
      new JunctionError('overloaded', 'too many request bodies are being read at once; retry shortly', {
        objective: this.objective,
        retryAfterSeconds: 1,
      });
    if (memory !== undefined) this.guard!.owner.on('close', () => memory.give(held)); // 'close' comes once
    const declared = this.declaredLength;
    const counted = declared !== undefined;
    if (memory !== undefined && declared !== undefined) {
      if (!memory.take(declared)) throw overloaded();
      held = declared;
    }
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = (err: Error | undefined) => {
        source.off('data', onData);
        source.off('end', onEnd);
        source.off('error', onError);
        source.off('close', onClose);
        unwatch?.();
        if (err === undefined) {
          resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
        } else {
          this.sourceFailed =
            err instanceof JunctionError ? err.code !== 'payload_too_large' && err.code !== 'overloaded' : true;
          // Nothing of a failed body is kept: its share of the budget goes back now, not at the request's end.
          memory?.give(held);
          held = 0;
          reject(err);
        }
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.maxBytes) {
          finish(
            new JunctionError('payload_too_large', `body exceeds maxBodyBytes (${this.maxBytes} bytes)`, {
              objective: this.objective,
            }),
          );
          return;
        }
        if (memory !== undefined && !counted) {
          if (!memory.take(chunk.length)) {
            finish(overloaded());
            return;
          }
          held += chunk.length;
        }
        chunks.push(chunk);
      };
      const onEnd = () => finish(undefined);
      // The request stream fails only on the caller's side (Node's 'aborted' ECONNRESET when it hangs up mid-body).
      const onError = (err: Error) => finish(err instanceof JunctionError ? err : callerLeft());
      // Closed before its end: the caller left mid-upload.
      const onClose = () => finish(callerLeft());
      const limits = this.guard?.limits;
      const unwatch = limits?.rates.watch(source, () =>
        finish(
          new JunctionError(
            'request_timeout',
            `the request body arrived slower than ${limits.minBytesPerSecond} bytes/s`,
            { objective: this.objective },
          ),
        ),
      );
      if (source.readableEnded) {
        finish(undefined);
        return;
      }
      source.on('data', onData);
      // `on`, not `once`: finish() takes all four off together, and `once` would allocate a wrapper each.
      source.on('end', onEnd);
      source.on('error', onError);
      source.on('close', onClose);
    });
  }
}

/** A body read whole into memory (`RequestBody.of`, as a plain function for `then`). */
function heldBody(buffer: Buffer): RequestBody {
  return RequestBody.of(buffer);
}

class ByteLimit extends Transform {
  private seen = 0;
  constructor(
    private readonly maxBytes: number,
    private readonly objective: string | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) {
      done(
        new JunctionError('payload_too_large', `body exceeds maxBodyBytes (${this.maxBytes} bytes)`, {
          objective: this.objective,
        }),
      );
      return;
    }
    done(null, chunk);
  }
}
