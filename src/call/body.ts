// A request body. It streams through once, untouched, counted against
// maxBodyBytes; when a policy may send it again (retry, hedge, fallback,
// shadow) the objective asks for a buffered body instead, bounded by the same
// limit. Junction never parses it here.
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { JunctionError } from '../errors.js';

export class RequestBody {
  private streamed = false;

  private constructor(
    private readonly source: Readable | null,
    private readonly buffer: Buffer | null,
    private readonly maxBytes: number,
    private readonly objective: string | undefined,
  ) {}

  /**
   * Streams the caller's body through once. With a declared content-length
   * within the limit there is nothing to count (Node's parser enforces the
   * length), so the socket stream goes upstream as it is.
   */
  static streaming(source: Readable, maxBytes: number, objective?: string, declaredLength?: number): RequestBody {
    if (declaredLength !== undefined && declaredLength > maxBytes) {
      throw new JunctionError('payload_too_large', `content-length ${declaredLength} exceeds maxBodyBytes (${maxBytes} bytes)`, { objective });
    }
    return new RequestBody(source, null, declaredLength === undefined ? maxBytes : Infinity, objective);
  }

  /** Reads the caller's body into memory (bounded), so it can be sent more than once. */
  static async buffered(source: Readable, maxBytes: number, objective?: string): Promise<RequestBody> {
    const body = new RequestBody(source, null, maxBytes, objective);
    return RequestBody.of(await body.readAll());
  }

  /** A body that arrived whole (a gRPC message), held to the same limit. */
  static whole(buffer: Buffer, maxBytes: number, objective?: string): RequestBody {
    if (buffer.length > maxBytes) {
      throw new JunctionError('payload_too_large', `message of ${buffer.length} bytes exceeds maxBodyBytes (${maxBytes} bytes)`, { objective });
    }
    return RequestBody.of(buffer);
  }

  static of(buffer: Buffer): RequestBody {
    return new RequestBody(null, buffer, Infinity, undefined);
  }


  get replayable(): boolean {
    return this.buffer !== null;
  }

  /** The bytes to send upstream. A streaming body can be opened once. */
  open(): Readable | Buffer {
    if (this.buffer !== null) return this.buffer;
    if (this.streamed) throw new Error('RequestBody: a streaming body can only be sent once');
    this.streamed = true;
    const source = this.source!;
    if (this.maxBytes === Infinity) return source;
    const limited = new ByteLimit(this.maxBytes, this.objective);
    source.once('error', (err) => limited.destroy(err));
    return source.pipe(limited);
  }

  /** The whole body in memory, for the few places that must read it. */
  async readAll(): Promise<Buffer> {
    if (this.buffer !== null) return this.buffer;
    const chunks: Buffer[] = [];
    for await (const chunk of this.open() as Readable) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
}

class ByteLimit extends Transform {
  private seen = 0;
  constructor(private readonly maxBytes: number, private readonly objective: string | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) {
      done(new JunctionError('payload_too_large', `body exceeds maxBodyBytes (${this.maxBytes} bytes)`, { objective: this.objective }));
      return;
    }
    done(null, chunk);
  }
}
