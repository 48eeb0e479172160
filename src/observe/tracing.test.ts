import { describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Call, Reply, Send } from '../call/types.js';
import { inChildSpan, traceAttempts, withTracer } from './tracing.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

function fakeCall(trace: Call['trace']): Call {
  return { objective: { name: 'cw' }, target: { id: 'ranker@6' }, headers: {}, trace } as unknown as Call;
}

describe('inChildSpan', () => {
  it("nests attempts under a policy's span (a fallback) and sends the attempt as the backend's parent", async () => {
    const root = provider.getTracer('test').startSpan('request');
    const seen: Call[] = [];
    const backend: Send = async (call) => {
      seen.push(call);
      return { status: 200, headers: {}, body: null } satisfies Reply;
    };
    const attempt = traceAttempts(backend);
    await inChildSpan(
      fakeCall(trace.setSpan(withTracer(ROOT_CONTEXT, provider.getTracer('junction')), root)),
      'fallback ranker@5',
      { 'junction.reason': 'error' },
      attempt,
    );
    root.end();

    const spans = exporter.getFinishedSpans();
    const fallback = spans.find((s) => s.name === 'fallback ranker@5')!;
    const upstream = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    expect(fallback.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(upstream.parentSpanContext?.spanId).toBe(fallback.spanContext().spanId);
    expect(seen[0]!.headers.traceparent).toBe(`00-${root.spanContext().traceId}-${upstream.spanContext().spanId}-01`);
  });

  it('ends the span as an error when the wrapped send throws, and rethrows', async () => {
    exporter.reset();
    const root = provider.getTracer('test').startSpan('request');
    const failing: Send = () => {
      throw new Error('boom');
    };
    await expect(
      inChildSpan(
        fakeCall(trace.setSpan(withTracer(ROOT_CONTEXT, provider.getTracer('junction')), root)),
        'shadow',
        {},
        failing,
      ),
    ).rejects.toThrow('boom');
    expect(exporter.getFinishedSpans()[0]!.status.code).toBe(2);
  });

  it('costs nothing without a trace context: the same call goes straight through', async () => {
    const call = fakeCall(undefined);
    let got: Call | undefined;
    await inChildSpan(call, 'x', {}, async (c) => {
      got = c;
      return { status: 200, headers: {}, body: null };
    });
    expect(got).toBe(call);
  });
});
