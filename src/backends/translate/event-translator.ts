// The frame of a stream translation: upstream SSE bytes in (sse.ts parses
// them, bounded), the caller's event bytes out, and one way to fail. A
// subclass is the state machine of one pair of APIs: it handles each event
// and says at the end whether the stream was complete, throwing a
// JunctionError (`upstream_error`) for anything its upstream's API does not
// allow. On a failure the caller's stream gets its API's error event and the
// Transform then errors with that JunctionError — only once the error event
// has been read out, so whoever reads the Transform (pipeline, pipe, async
// iteration) sees the event before the error; nothing after it is passed on.
import { Transform, type TransformCallback } from 'node:stream';
import { JunctionError, toJunctionError } from '../../errors.js';
import { SseParser, type SseEvent } from './sse.js';
import type { TranslationContext } from './translation.js';

export abstract class EventTranslator extends Transform {
  private readonly parser: SseParser;
  private failure: JunctionError | undefined;

  constructor(protected readonly ctx: TranslationContext) {
    super();
    this.parser = new SseParser(ctx.objective);
  }

  /** One upstream event: write the caller's events for it (`this.out`), or throw. */
  protected abstract onEvent(event: SseEvent): void;
  /** The upstream ended cleanly between events: throw if its stream was incomplete. */
  protected abstract onEnd(): void;
  /** The caller's API's error event, carrying a message. */
  protected abstract errorEvent(err: JunctionError): string;

  /** Writes caller-side bytes. */
  protected out(text: string): void {
    this.push(text);
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.failure === undefined) {
      try {
        for (const event of this.parser.push(chunk)) this.onEvent(event);
      } catch (err) {
        this.fail(err);
      }
    }
    done(); // after a failure the rest is read and dropped until the error is out
  }

  override _flush(done: TransformCallback): void {
    if (this.failure !== undefined) return; // the stream errors instead of ending
    try {
      if (this.parser.midEvent) throw new JunctionError('upstream_error', 'the upstream stream was cut mid-event');
      this.onEnd();
    } catch (err) {
      this.fail(err);
      return;
    }
    done();
  }

  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    if (this.failure !== undefined) this.settle();
    return chunk;
  }

  private fail(err: unknown): void {
    const failure = toJunctionError(err);
    const withObjective =
      failure.objective === undefined && failure.code === 'upstream_error'
        ? new JunctionError('upstream_error', failure.message, { objective: this.ctx.objective })
        : failure;
    this.failure = withObjective;
    this.push(this.errorEvent(withObjective));
    this.settle();
  }

  /** Errors the Transform once the caller has read everything before and including the error event. */
  private settle(): void {
    process.nextTick(() => {
      if (this.failure !== undefined && this.readableLength === 0 && !this.destroyed) this.destroy(this.failure);
    });
  }
}
