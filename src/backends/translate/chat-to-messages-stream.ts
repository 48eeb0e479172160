// A Messages stream (`event: <type>` + `data: {…}`, message_start …
// message_stop) as the chat.completion.chunk stream OpenAI sends: a first
// chunk with the role, one chunk per text or tool-argument delta (each
// tool_use block a tool call with the next chat index, its id and name in its
// first chunk), a last chunk with the finish_reason, the usage chunk when
// the caller asked (stream_options.include_usage), and `data: [DONE]`.
// Event order is checked as Anthropic's streaming reference states it (one
// message_start first, blocks opened, filled and closed one at a time in
// index order, message_stop last); unknown event types are skipped, as that
// reference asks of clients, but an unknown content block type is an error.
import { type JunctionError } from '../../errors.js';
import {
  broken,
  callerModel,
  completionId,
  count,
  errorMessage,
  isObject,
  parseJson,
  toolInput,
  type Json,
} from './anthropic-wire.js';
import { chatUsage, finishReason } from './chat-to-messages.js';
import { EventTranslator } from './event-translator.js';
import { MAX_EVENT_BYTES, sseEvent, type SseEvent } from './sse.js';

const MAX_ARGUMENT_BYTES = 4 * MAX_EVENT_BYTES;

type Open =
  | { kind: 'text' | 'thinking' | 'redacted'; index: number }
  | { kind: 'tool'; index: number; call: number; name: string; args: string };

const USAGE_FIELDS = ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens'];

export class MessagesToChatChunks extends EventTranslator {
  private started = false;
  private stopped = false;
  private blocks = 0;
  private calls = 0;
  private open: Open | undefined;
  private stopReason: unknown = null;
  private readonly usage: Json = {};
  private readonly created = Math.floor(Date.now() / 1000);

  protected override errorEvent(err: JunctionError): string {
    return sseEvent({ error: { message: err.message, type: 'server_error', code: err.code } });
  }

  // `[DONE]` waits for the upstream's end (right after message_stop): an event after message_stop is
  // then an error the caller sees, never something after a stream it was told had ended.
  protected override onEnd(): void {
    if (!this.stopped) throw broken(this.ctx, 'the Messages stream ended without message_stop');
    this.out('data: [DONE]\n\n');
  }

  protected override onEvent({ event, data }: SseEvent): void {
    const e = parseJson(data);
    if (!isObject(e) || typeof e.type !== 'string')
      throw broken(this.ctx, `a Messages event is not a JSON object with a type: ${data.slice(0, 200)}`);
    if (event !== '' && event !== e.type) throw broken(this.ctx, `event ${event} carries data of type ${e.type}`);
    if (e.type === 'ping') return;
    if (e.type === 'error') {
      const type = isObject(e.error) && typeof e.error.type === 'string' ? e.error.type : 'error';
      throw broken(this.ctx, `the upstream failed mid-stream (${type}): ${errorMessage(e) ?? 'no message'}`);
    }
    if (this.stopped) throw broken(this.ctx, `${e.type} after message_stop`);
    if (e.type === 'message_start') return this.start(e);
    if (!this.started) throw broken(this.ctx, `${e.type} before message_start`);
    switch (e.type) {
      case 'content_block_start':
        return this.blockStart(e);
      case 'content_block_delta':
        return this.blockDelta(e);
      case 'content_block_stop':
        return this.blockStop(e);
      case 'message_delta':
        if (this.open !== undefined) throw broken(this.ctx, `message_delta inside content block ${this.open.index}`);
        if (isObject(e.delta) && e.delta.stop_reason !== undefined) this.stopReason = e.delta.stop_reason;
        this.addUsage(e.usage);
        return;
      case 'message_stop':
        return this.stop();
      default:
      // Anthropic may add event types; its reference asks clients to pass over those they do not know.
    }
  }

  private chunk(delta: Json, finish: string | null = null): void {
    const choice = { index: 0, delta, logprobs: null, finish_reason: finish };
    this.out(sseEvent(this.shell([choice])));
  }

  private shell(choices: Json[]): Json {
    const model = callerModel(this.ctx);
    return { id: completionId(this.ctx), object: 'chat.completion.chunk', created: this.created, model, choices };
  }

  private addUsage(usage: unknown): void {
    if (!isObject(usage)) return;
    for (const field of USAGE_FIELDS) if (typeof usage[field] === 'number') this.usage[field] = count(usage[field]);
  }

  private start(e: Json): void {
    if (this.started) throw broken(this.ctx, 'a second message_start');
    if (!isObject(e.message)) throw broken(this.ctx, 'message_start without a message');
    this.started = true;
    this.addUsage(e.message.usage);
    this.chunk({ role: 'assistant', content: '' });
  }

  private blockStart(e: Json): void {
    if (this.open !== undefined)
      throw broken(this.ctx, `content_block_start for index ${String(e.index)} inside block ${this.open.index}`);
    if (e.index !== this.blocks)
      throw broken(this.ctx, `content_block_start for index ${String(e.index)}, expected ${this.blocks}`);
    const index = this.blocks++;
    const block = isObject(e.content_block) ? e.content_block : {};
    switch (block.type) {
      case 'text':
        this.open = { kind: 'text', index };
        if (typeof block.text === 'string' && block.text !== '') this.chunk({ content: block.text });
        return;
      case 'thinking':
        this.open = { kind: 'thinking', index };
        if (typeof block.thinking === 'string' && block.thinking !== '')
          this.chunk({ reasoning_content: block.thinking });
        return;
      case 'redacted_thinking':
        this.open = { kind: 'redacted', index };
        return;
      case 'tool_use': {
        if (typeof block.id !== 'string' || typeof block.name !== 'string')
          throw broken(this.ctx, `tool_use block ${index} without an id or a name`);
        // The block opens with `input: {}` and fills by input_json_delta; an input given whole is sent whole.
        const given = isObject(block.input) && Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : '';
        const call = this.calls++;
        this.open = { kind: 'tool', index, call, name: block.name, args: given };
        const fn = { name: block.name, arguments: given };
        this.chunk({ tool_calls: [{ index: call, id: block.id, type: 'function', function: fn }] });
        return;
      }
      default:
        throw broken(this.ctx, `a content block of unknown type ${String(block.type)}`);
    }
  }

  private blockDelta(e: Json): void {
    const open = this.open;
    if (open === undefined || e.index !== open.index)
      throw broken(this.ctx, `content_block_delta for index ${String(e.index)}, which is not open`);
    const delta = isObject(e.delta) ? e.delta : {};
    const kind = `${String(delta.type)} in a ${open.kind} block`;
    if (delta.type === 'text_delta' && open.kind === 'text') {
      if (typeof delta.text === 'string' && delta.text !== '') this.chunk({ content: delta.text });
    } else if (delta.type === 'thinking_delta' && open.kind === 'thinking') {
      if (typeof delta.thinking === 'string' && delta.thinking !== '')
        this.chunk({ reasoning_content: delta.thinking });
    } else if (delta.type === 'input_json_delta' && open.kind === 'tool') {
      const part = delta.partial_json;
      if (typeof part !== 'string') throw broken(this.ctx, 'input_json_delta without partial_json');
      if (part === '') return;
      open.args += part;
      if (open.args.length > MAX_ARGUMENT_BYTES)
        throw broken(this.ctx, `the input of tool_use ${open.name} exceeds ${MAX_ARGUMENT_BYTES} bytes`);
      this.chunk({ tool_calls: [{ index: open.call, function: { arguments: part } }] });
    } else if (
      !(delta.type === 'signature_delta' && open.kind === 'thinking') &&
      !(delta.type === 'citations_delta' && open.kind === 'text')
    ) {
      throw broken(this.ctx, `unexpected content_block_delta: ${kind}`);
    }
  }

  private blockStop(e: Json): void {
    const open = this.open;
    if (open === undefined || e.index !== open.index)
      throw broken(this.ctx, `content_block_stop for index ${String(e.index)}, which is not open`);
    this.open = undefined;
    if (open.kind === 'tool' && toolInput(open.args) === undefined)
      throw broken(this.ctx, `the input of tool_use ${open.name} is not a JSON object: ${open.args.slice(0, 200)}`);
  }

  private stop(): void {
    if (this.open !== undefined) throw broken(this.ctx, `message_stop inside content block ${this.open.index}`);
    this.stopped = true;
    this.chunk({}, finishReason(this.stopReason));
    const options = this.ctx.request.stream_options;
    if (isObject(options) && options.include_usage === true)
      this.out(sseEvent({ ...this.shell([]), usage: chatUsage(this.usage) }));
  }
}
