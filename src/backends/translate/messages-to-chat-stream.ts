// A chat-completions stream (`data: {chunk}` … `data: [DONE]`) as the
// Messages events Anthropic sends: message_start; per content block a
// content_block_start, its deltas (text_delta, input_json_delta) and a
// content_block_stop, one block at a time with consecutive indexes; a ping
// after the first block opens; message_delta with the stop reason and usage;
// message_stop. Chat carries usage only at its end (include_usage, which the
// request asks for), so message_start says 0 input tokens and message_delta
// carries the whole usage, which the Anthropic SDKs take as the final count.
import {
  broken,
  callerModel,
  errorMessage,
  isObject,
  messageId,
  parseJson,
  toolInput,
  toolUseId,
  type Json,
} from './anthropic-wire.js';
import { EventTranslator } from './event-translator.js';
import { anthropicError, messagesUsage, stopOf, stopSequenceHit } from './messages-to-chat.js';
import { MAX_EVENT_BYTES, sseEvent, type SseEvent } from './sse.js';
import type { JunctionError } from '../../errors.js';

/** A tool call's arguments are held to check they are JSON when the block closes; past this, the upstream is broken. */
const MAX_ARGUMENT_BYTES = 4 * MAX_EVENT_BYTES;

type Open = { kind: 'text'; index: number } | { kind: 'tool'; index: number; call: number; name: string; args: string };

export class ChatToMessagesEvents extends EventTranslator {
  private started = false;
  private done = false;
  private blocks = 0;
  private open: Open | undefined;
  /** Chat tool-call index → whether its block is still open. */
  private readonly calls = new Map<number, boolean>();
  private finish: unknown = undefined;
  private stopSequence: string | undefined;
  private usage: unknown = undefined;

  protected override errorEvent(err: JunctionError): string {
    return sseEvent(anthropicError('api_error', err.message), 'error');
  }

  protected override onEvent({ event, data }: SseEvent): void {
    if (event === 'error')
      // some servers name their error events (llama.cpp)
      throw broken(this.ctx, `the upstream failed mid-stream: ${errorMessage(parseJson(data)) ?? data.slice(0, 200)}`);
    if (data === '') return;
    if (this.done) throw broken(this.ctx, 'the chat stream went on after data: [DONE]');
    if (data === '[DONE]') return this.finishMessage();
    const chunk = parseJson(data);
    if (!isObject(chunk)) throw broken(this.ctx, `a chat stream chunk is not a JSON object: ${data.slice(0, 200)}`);
    if (chunk.error !== undefined || chunk.object === 'error')
      throw broken(this.ctx, `the upstream failed mid-stream: ${errorMessage(chunk) ?? 'no message'}`);
    this.start();
    if (isObject(chunk.usage)) this.usage = chunk.usage;
    if (!Array.isArray(chunk.choices)) {
      if (isObject(chunk.usage)) return;
      throw broken(this.ctx, 'a chat stream chunk has neither choices nor usage');
    }
    for (const choice of chunk.choices as unknown[]) {
      if (!isObject(choice)) throw broken(this.ctx, 'a chat stream choice is not an object');
      if (choice.index === undefined || choice.index === 0) this.choice(choice);
    }
  }

  // message_stop waits for the upstream's end (right after [DONE]): data after [DONE] is then an
  // error the caller sees, never something after a message it was told had stopped.
  protected override onEnd(): void {
    if (!this.done) throw broken(this.ctx, 'the chat stream ended without data: [DONE]');
    this.out(sseEvent({ type: 'message_stop' }, 'message_stop'));
  }

  private choice(choice: Json): void {
    const delta = isObject(choice.delta) ? choice.delta : {};
    const text = delta.content;
    const calls = Array.isArray(delta.tool_calls) ? (delta.tool_calls as unknown[]) : [];
    if (this.finish !== undefined && ((typeof text === 'string' && text !== '') || calls.length > 0))
      throw broken(this.ctx, 'the chat stream sent content after its finish_reason');
    if (typeof text === 'string' && text !== '') this.text(text);
    for (const call of calls) this.toolCall(call);
    if (choice.finish_reason != null) {
      this.finish = choice.finish_reason;
      this.stopSequence = stopSequenceHit(choice, this.ctx);
      this.closeBlock();
    }
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    const message = {
      id: messageId(this.ctx),
      type: 'message',
      role: 'assistant',
      model: callerModel(this.ctx),
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: messagesUsage(undefined),
    };
    this.out(sseEvent({ type: 'message_start', message }, 'message_start'));
  }

  private openBlock(block: Json): number {
    this.closeBlock();
    const index = this.blocks++;
    this.out(sseEvent({ type: 'content_block_start', index, content_block: block }, 'content_block_start'));
    if (index === 0) this.out(sseEvent({ type: 'ping' }, 'ping'));
    return index;
  }

  private delta(index: number, delta: Json): void {
    this.out(sseEvent({ type: 'content_block_delta', index, delta }, 'content_block_delta'));
  }

  private text(text: string): void {
    if (this.open?.kind !== 'text') this.open = { kind: 'text', index: this.openBlock({ type: 'text', text: '' }) };
    this.delta(this.open.index, { type: 'text_delta', text });
  }

  private toolCall(call: unknown): void {
    if (!isObject(call)) throw broken(this.ctx, 'a chat stream tool call is not an object');
    const n = typeof call.index === 'number' ? call.index : 0;
    const fn = isObject(call.function) ? call.function : {};
    const state = this.calls.get(n);
    if (state === undefined) {
      if (typeof fn.name !== 'string' || fn.name === '')
        throw broken(this.ctx, `the chat stream's tool call ${n} began without a function name`);
      const id = typeof call.id === 'string' && call.id !== '' ? call.id : toolUseId(this.ctx, n);
      const index = this.openBlock({ type: 'tool_use', id, name: fn.name, input: {} });
      this.open = { kind: 'tool', index, call: n, name: fn.name, args: '' };
      this.calls.set(n, true);
    } else if (!state || this.open?.kind !== 'tool' || this.open.call !== n) {
      // Messages blocks cannot interleave, and a closed block cannot take more input.
      throw broken(this.ctx, `the chat stream sent arguments for tool call ${n} after another block began`);
    }
    const args = fn.arguments;
    if (typeof args === 'string' && args !== '' && this.open?.kind === 'tool') {
      this.open.args += args;
      if (this.open.args.length > MAX_ARGUMENT_BYTES)
        throw broken(this.ctx, `the arguments of tool call ${this.open.name} exceed ${MAX_ARGUMENT_BYTES} bytes`);
      this.delta(this.open.index, { type: 'input_json_delta', partial_json: args });
    }
  }

  private closeBlock(): void {
    const open = this.open;
    if (open === undefined) return;
    this.open = undefined;
    if (open.kind === 'tool') {
      this.calls.set(open.call, false);
      if (toolInput(open.args) === undefined)
        throw broken(
          this.ctx,
          `the arguments of tool call ${open.name} are not a JSON object: ${open.args.slice(0, 200)}`,
        );
    }
    this.out(sseEvent({ type: 'content_block_stop', index: open.index }, 'content_block_stop'));
  }

  private finishMessage(): void {
    this.start();
    this.closeBlock();
    this.done = true;
    const [stopReason, stopSequence] = stopOf(this.finish, this.stopSequence, this.calls.size > 0);
    this.out(
      sseEvent(
        {
          type: 'message_delta',
          delta: { stop_reason: stopReason, stop_sequence: stopSequence },
          usage: messagesUsage(this.usage),
        },
        'message_delta',
      ),
    );
  }
}
