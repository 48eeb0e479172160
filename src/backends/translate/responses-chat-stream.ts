// A streamed chat completion (`data: {chunk}` … `data: [DONE]`) as the
// Responses API's typed events, OpenAI's way: `event: <type>` + `data: {type,
// sequence_number, …}`, from response.created to response.completed (or
// response.incomplete), and no [DONE]. A state machine over chunks: at most
// one output item is open at a time (a message with its text or refusal
// part, or a function call); a new kind of content closes it, as OpenAI's own
// streams do, and the finish_reason closes the last one. The terminal event
// waits for [DONE], because usage comes in a chunk of its own after the
// finish_reason.
//
// What the chunks say is checked, not trusted: bad JSON, a tool call that was
// never opened with a name, or that changes its id or name, or resumes after
// another part began, more answer after the finish_reason, a second choice,
// an upstream error chunk, an event over the SSE bound, a stream cut before
// [DONE], an answer past MAX_HELD_BYTES. Any of them ends the caller's stream
// with an `error` event and then errors the Transform with the JunctionError
// (`upstream_error`; the frame, event-translator.ts, does both), so the
// request is recorded as failed with its code. The error event carries code
// and message both at its top level (as the API reference documents it) and
// inside `error` (as OpenAI sends it): the official `openai` SDK throws on the
// nested form, which is how its stream (and LangChain's over it) surfaces the
// failure; the AI SDK reads either. A `response.failed` is not sent as well: the openai
// SDK yields it as an ordinary event, and the AI SDK would report the one
// failure twice.
import type { JunctionError } from '../../errors.js';
import { EventTranslator } from './event-translator.js';
import {
  answeringModel,
  argumentsText,
  brokenUpstream,
  callItemId,
  createdAt,
  ending,
  fallbackCallId,
  functionCallItem,
  isObject,
  logprobsOf,
  messageId,
  messageItem,
  outputText,
  refusalPart,
  responseObject,
  responsesUsage,
  type ItemStatus,
  type Json,
} from './responses-chat-answer.js';
import { MAX_EVENT_BYTES, sseEvent, type SseEvent } from './sse.js';

/**
 * The text and arguments held for the done events and response.completed (the
 * Responses API repeats the whole answer there); past this the upstream is
 * broken, not a buffer that grows with it. Far above any model's answer.
 */
const MAX_HELD_BYTES = 16 * MAX_EVENT_BYTES;

type PartType = 'output_text' | 'refusal';

interface OpenMessage {
  readonly kind: 'message';
  readonly index: number;
  readonly id: string;
  readonly parts: unknown[];
  part: { readonly type: PartType; text: string; readonly logprobs: unknown[] } | undefined;
}

interface OpenCall {
  readonly kind: 'call';
  readonly index: number;
  readonly id: string;
  readonly callId: string;
  /** The id the upstream gave, if it gave one. */
  readonly upstreamId: string | undefined;
  readonly name: string;
  args: string;
}

export class ChatToResponsesEvents extends EventTranslator {
  private seq = 0;
  private created: number | undefined;
  private model = '';
  /** Every output item as last written: in progress while open, done once closed. */
  private readonly items: unknown[] = [];
  private open: OpenMessage | OpenCall | undefined;
  /** Chat tool-call index → its call (open or closed). */
  private readonly calls = new Map<number, OpenCall>();
  private finishReason: unknown = undefined;
  private usage: Json | null = null;
  private held = 0;
  private done = false;

  protected override errorEvent(err: JunctionError): string {
    const error = { type: 'server_error', code: err.code, message: err.message, param: null };
    const event = {
      type: 'error',
      sequence_number: this.seq++,
      code: err.code,
      message: err.message,
      param: null,
      error,
    };
    return sseEvent(event, 'error');
  }

  protected override onEnd(): void {
    if (this.done) return;
    throw this.broken(
      this.created === undefined
        ? 'the upstream stream ended before its first chunk'
        : 'the upstream stream ended without [DONE]: it was cut',
    );
  }

  private broken(message: string): JunctionError {
    return brokenUpstream(message, this.ctx);
  }

  private send(type: string, fields: Json): void {
    this.out(sseEvent({ type, sequence_number: this.seq++, ...fields }, type));
  }

  protected override onEvent({ data }: SseEvent): void {
    // After [DONE] nothing counts (the openai SDK reads no further either); an empty event is a keep-alive.
    if (this.done || data === '') return;
    this.onData(data);
  }

  private onData(data: string): void {
    if (data === '[DONE]') return this.onDone();
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      throw this.broken(`the upstream sent a chunk that is not JSON: ${data.slice(0, 120)}`);
    }
    if (!isObject(chunk)) throw this.broken('the upstream sent a chunk that is not a JSON object');
    if (chunk.error != null || chunk.object === 'error') throw this.broken(`the upstream failed: ${errorText(chunk)}`);
    if (this.created === undefined) this.start(chunk);
    // The last usage seen counts (vLLM's continuous_usage_stats puts one in every chunk).
    if (chunk.usage != null) this.usage = responsesUsage(chunk.usage);
    if (chunk.choices == null) return;
    if (!Array.isArray(chunk.choices)) throw this.broken('the upstream sent a chunk whose "choices" is not a list');
    for (const choice of chunk.choices as unknown[]) this.onChoice(choice);
  }

  private start(chunk: Json): void {
    this.created = createdAt(chunk.created);
    this.model = answeringModel(chunk.model, this.ctx);
    this.send('response.created', { response: this.response('in_progress') });
    this.send('response.in_progress', { response: this.response('in_progress') });
  }

  private onChoice(choice: unknown): void {
    if (!isObject(choice)) throw this.broken('the upstream sent a choice that is not an object');
    if ((choice.index ?? 0) !== 0) throw this.broken('the upstream answered more than one choice');
    const delta = isObject(choice.delta) ? choice.delta : {};
    const text = typeof delta.content === 'string' ? delta.content : '';
    const refusal = typeof delta.refusal === 'string' ? delta.refusal : '';
    const calls: unknown[] = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
    if (
      this.finishReason !== undefined &&
      (text !== '' || refusal !== '' || calls.length > 0 || choice.finish_reason != null)
    )
      throw this.broken('the upstream sent more of its answer after the finish_reason');
    if (text !== '') this.piece('output_text', text, logprobsOf(choice.logprobs));
    if (refusal !== '') this.piece('refusal', refusal, []);
    calls.forEach((call, position) => this.callDelta(call, position));
    if (choice.finish_reason != null) {
      this.finishReason = choice.finish_reason;
      this.closeOpen(ending(choice.finish_reason).status);
    }
  }

  private onDone(): void {
    if (this.finishReason === undefined)
      throw this.broken('the upstream ended its stream ([DONE]) without a finish_reason');
    const end = ending(this.finishReason);
    const type = end.status === 'completed' ? 'response.completed' : 'response.incomplete';
    this.send(type, { response: this.response(end.status, end.reason) });
    this.done = true;
  }

  private response(status: 'in_progress' | ItemStatus, reason: ReturnType<typeof ending>['reason'] = null): Json {
    const final = status !== 'in_progress';
    return responseObject(this.ctx, {
      createdAt: this.created!,
      model: this.model,
      status,
      output: final ? this.items : [],
      usage: final ? this.usage : null,
      incompleteReason: reason,
    });
  }

  /** Text or refusal for the open message (opened, and its part switched, as needed). */
  private piece(type: PartType, delta: string, logprobs: unknown[]): void {
    let m = this.open;
    if (m?.kind !== 'message') {
      this.closeOpen('completed');
      m = this.openMessage();
    }
    if (m.part !== undefined && m.part.type !== type) this.closePart(m);
    const at = { item_id: m.id, output_index: m.index, content_index: m.parts.length };
    if (m.part === undefined) {
      m.part = { type, text: '', logprobs: [] };
      this.send('response.content_part.added', { ...at, part: type === 'refusal' ? refusalPart('') : outputText('') });
    }
    m.part.text += delta;
    this.hold(delta);
    if (type === 'refusal') return this.send('response.refusal.delta', { ...at, delta });
    m.part.logprobs.push(...logprobs);
    this.send('response.output_text.delta', { ...at, delta, logprobs });
  }

  private hold(text: string): void {
    this.held += text.length;
    if (this.held > MAX_HELD_BYTES) throw this.broken(`the upstream's answer exceeds ${MAX_HELD_BYTES} bytes`);
  }

  private openMessage(): OpenMessage {
    const index = this.items.length;
    const m: OpenMessage = { kind: 'message', index, id: messageId(this.ctx, index), parts: [], part: undefined };
    const item = messageItem(m.id, 'in_progress', []);
    this.items.push(item);
    this.send('response.output_item.added', { output_index: index, item });
    this.open = m;
    return m;
  }

  private closePart(m: OpenMessage): void {
    const p = m.part!;
    const at = { item_id: m.id, output_index: m.index, content_index: m.parts.length };
    const part = p.type === 'refusal' ? refusalPart(p.text) : outputText(p.text, p.logprobs);
    if (p.type === 'refusal') this.send('response.refusal.done', { ...at, refusal: p.text });
    else this.send('response.output_text.done', { ...at, text: p.text, logprobs: p.logprobs });
    this.send('response.content_part.done', { ...at, part });
    m.parts.push(part);
    m.part = undefined;
  }

  private callDelta(delta: unknown, position: number): void {
    if (!isObject(delta)) throw this.broken('the upstream sent a tool-call delta that is not an object');
    const chatIndex = typeof delta.index === 'number' ? delta.index : position;
    const fn = isObject(delta.function) ? delta.function : {};
    const id = typeof delta.id === 'string' && delta.id !== '' ? delta.id : undefined;
    const name = typeof fn.name === 'string' && fn.name !== '' ? fn.name : undefined;
    let call = this.calls.get(chatIndex);
    if (call === undefined) {
      if (name === undefined)
        throw this.broken(`the upstream sent a delta for tool call ${chatIndex}, which no delta opened with a name`);
      this.closeOpen('completed');
      const index = this.items.length;
      const callId = id ?? fallbackCallId(this.ctx, index);
      call = { kind: 'call', index, id: callItemId(this.ctx, index), callId, upstreamId: id, name, args: '' };
      this.calls.set(chatIndex, call);
      const item = functionCallItem(call.id, 'in_progress', callId, name, '');
      this.items.push(item);
      this.send('response.output_item.added', { output_index: index, item });
      this.open = call;
    } else if (call !== this.open) {
      throw this.broken(`the upstream went back to tool call ${chatIndex} after another part of its answer began`);
    } else if (
      (id !== undefined && call.upstreamId !== undefined && id !== call.upstreamId) ||
      (name ?? call.name) !== call.name
    ) {
      throw this.broken(`the upstream changed the id or name of tool call ${chatIndex} mid-call`);
    }
    const piece = argumentsText(fn.arguments);
    if (piece === '') return;
    call.args += piece;
    this.hold(piece);
    this.send('response.function_call_arguments.delta', { item_id: call.id, output_index: call.index, delta: piece });
  }

  private closeOpen(status: ItemStatus): void {
    const o = this.open;
    if (o === undefined) return;
    this.open = undefined;
    let item;
    if (o.kind === 'message') {
      if (o.part !== undefined) this.closePart(o);
      item = messageItem(o.id, status, o.parts);
    } else {
      item = functionCallItem(o.id, status, o.callId, o.name, o.args);
      this.send('response.function_call_arguments.done', {
        item_id: o.id,
        output_index: o.index,
        name: o.name,
        arguments: o.args,
      });
    }
    this.items[o.index] = item;
    this.send('response.output_item.done', { output_index: o.index, item });
  }
}

/** What an upstream error chunk says: OpenAI's `{error: {message}}`, vLLM's flat `{object: "error", message}`, TGI's `{error: "…"}`. */
export function errorText(body: Json): string {
  const e = body.error;
  if (typeof e === 'string') return e;
  if (isObject(e) && typeof e.message === 'string') return e.message;
  if (typeof body.message === 'string') return body.message;
  return JSON.stringify(body).slice(0, 200);
}
