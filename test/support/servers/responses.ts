// The OpenAI Responses API (POST /v1/responses) as OpenAI documents it, for
// the openai test server: a `response` object, or with `"stream": true` typed
// server-sent events (`event: <type>` + `data: {…, "type", "sequence_number"}`)
// from response.created to response.completed, with no `[DONE]` sentinel.
// The "model" echoes the last user input word by word; usage counts words.
import type { ServerResponse } from 'node:http';

let counter = 0;

type InputPart = { type?: string; text?: string };
type InputMessage = { role?: string; content?: string | InputPart[] };

/** The text of the last user input: `input` is a string or a list of messages. */
function lastUserText(input: unknown): string | undefined {
  if (typeof input === 'string') return input;
  if (!Array.isArray(input)) return undefined;
  const messages = (input as InputMessage[]).filter((m) => m.role === 'user');
  const content = messages.at(-1)?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .filter((p) => p.type === 'input_text')
      .map((p) => p.text ?? '')
      .join(' ');
  return undefined;
}

export interface ResponsesOptions {
  /** Awaited after the first text delta of a stream, when set. */
  gate?: Promise<void> | undefined;
  onAborted?: (() => void) | undefined;
}

export async function answerResponses(
  res: ServerResponse,
  body: Record<string, unknown>,
  model: string,
  opts: ResponsesOptions = {},
): Promise<void> {
  const text = lastUserText(body.input);
  if (text === undefined) {
    const err = JSON.stringify({
      error: {
        message: "Missing required parameter: 'input'.",
        type: 'invalid_request_error',
        param: 'input',
        code: 'missing_required_parameter',
      },
    });
    res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(err) });
    res.end(err);
    return;
  }
  const words = text.split(/\s+/).filter(Boolean);
  const id = `resp_${++counter}`;
  const itemId = `msg_${counter}`;
  const created = 1_700_000_000;
  const usage = {
    input_tokens: words.length,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: words.length,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 2 * words.length,
  };
  const part = (t: string) => ({ type: 'output_text', text: t, annotations: [], logprobs: [] });
  const item = (status: string, content: unknown[]) => ({
    id: itemId,
    type: 'message',
    status,
    role: 'assistant',
    content,
  });
  const response = (status: string, output: unknown[], u: unknown) => ({
    id,
    object: 'response',
    created_at: created,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: false,
    temperature: body.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: u,
    user: null,
    metadata: {},
  });
  const full = words.join(' ');

  if (body.stream !== true) {
    const out = JSON.stringify(response('completed', [item('completed', [part(full)])], usage));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
    res.end(out);
    return;
  }

  let seq = 0;
  const event = (type: string, fields: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.once('close', () => {
    if (!res.writableFinished) opts.onAborted?.();
  });
  res.write(event('response.created', { response: response('in_progress', [], null) }));
  res.write(event('response.in_progress', { response: response('in_progress', [], null) }));
  res.write(event('response.output_item.added', { output_index: 0, item: item('in_progress', []) }));
  res.write(
    event('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: part('') }),
  );
  for (let i = 0; i < words.length; i++) {
    res.write(
      event('response.output_text.delta', {
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        delta: (i === 0 ? '' : ' ') + words[i],
        logprobs: [],
      }),
    );
    if (i === 0 && opts.gate) await opts.gate;
  }
  res.write(
    event('response.output_text.done', {
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      text: full,
      logprobs: [],
    }),
  );
  res.write(
    event('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part: part(full) }),
  );
  res.write(event('response.output_item.done', { output_index: 0, item: item('completed', [part(full)]) }));
  res.end(event('response.completed', { response: response('completed', [item('completed', [part(full)])], usage) }));
}
