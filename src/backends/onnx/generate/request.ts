// The OpenAI chat/completions and completions requests, read and checked for
// what the in-process generator honours (docs/models.md lists it).
import { JunctionError } from '../../../errors.js';

export type GenerationKind = 'chat' | 'completion';

export interface GenerationRequest {
  kind: GenerationKind;
  /** Text the model continues. */
  prompt: string;
  /** Echoed in the response, as OpenAI does. */
  model: string;
  maxTokens: number;
  temperature: number;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
  seed: number | undefined;
}

export const MAX_TOKENS_LIMIT = 4096;
const DEFAULT_MAX_TOKENS = 256;

function invalid(message: string): JunctionError {
  return new JunctionError('invalid_request', message);
}

function text(content: unknown, at: string): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part, i) => {
        const p = part as { type?: unknown; text?: unknown };
        // text (chat), input_text / output_text (the Responses API's user and assistant parts)
        if (
          (p?.type !== 'text' && p?.type !== 'input_text' && p?.type !== 'output_text') ||
          typeof p.text !== 'string'
        ) {
          throw invalid(`${at}[${i}]: only text parts ({"type":"text","text":…}) are supported`);
        }
        return p.text;
      })
      .join('');
  }
  throw invalid(`${at} must be a string or a list of text parts`);
}

/**
 * The chat prompt in the format the quickstart model was trained on
 * ("Q: …\nA: …\n" lines); system messages are left out, the model never saw any.
 */
function chatPrompt(messages: unknown): string {
  if (!Array.isArray(messages) || messages.length === 0)
    throw invalid('"messages" must be a non-empty list of {role, content}');
  let prompt = '';
  messages.forEach((m, i) => {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    const body = text(content, `messages[${i}].content`)
      .replace(/\s*\n\s*/g, ' ')
      .trim();
    if (role === 'user') prompt += `Q: ${body}\n`;
    else if (role === 'assistant') prompt += `A: ${body}\n`;
    else if (role !== 'system' && role !== 'developer' && role !== 'tool')
      throw invalid(`messages[${i}].role ${JSON.stringify(role)} is not a chat role`);
  });
  return `${prompt}A: `;
}

/**
 * `servedModel` is what the answer's `model` field says: the name of the model
 * that answered, as its backend serves it (here Junction's model name) — the
 * same field a proxied backend fills with its own served name. The client's
 * objective is what it asked for; x-model names the exact version.
 */
export function readGenerationRequest(
  body: Record<string, unknown>,
  kind: GenerationKind,
  servedModel: string,
): GenerationRequest {
  refuseUnhonoured(body);
  const prompt = kind === 'chat' ? chatPrompt(body.messages) : completionPrompt(body.prompt);
  const n = body.n ?? 1;
  if (n !== 1) throw invalid('"n" must be 1: the in-process generator returns one choice');

  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_TOKENS;
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > MAX_TOKENS_LIMIT) {
    throw invalid(`"max_tokens" must be an integer from 1 to ${MAX_TOKENS_LIMIT}, got ${JSON.stringify(maxTokens)}`);
  }
  const temperature = body.temperature ?? 1;
  if (typeof temperature !== 'number' || !(temperature >= 0 && temperature <= 2)) {
    throw invalid(`"temperature" must be a number from 0 to 2, got ${JSON.stringify(temperature)}`);
  }
  let stop: string[] = [];
  if (typeof body.stop === 'string') stop = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length <= 4 && body.stop.every((s) => typeof s === 'string'))
    stop = body.stop;
  else if (body.stop !== undefined && body.stop !== null)
    throw invalid('"stop" must be a string or a list of up to 4 strings');
  stop = stop.filter((s) => s !== '');
  // A chat answer is one line of the training text: the newline ends it.
  if (kind === 'chat') stop.push('\n');

  const seed = body.seed;
  if (seed !== undefined && seed !== null && (typeof seed !== 'number' || !Number.isInteger(seed)))
    throw invalid('"seed" must be an integer');
  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
  return {
    kind,
    prompt,
    model: servedModel,
    maxTokens,
    temperature,
    stop,
    stream: body.stream === true,
    includeUsage: streamOptions?.include_usage === true,
    seed: typeof seed === 'number' ? seed : undefined,
  };
}

/**
 * Tools and structured output are refused, not ignored: the character model
 * only continues text, and an answer ending in "stop" would tell the caller
 * its tools or schema had been considered.
 */
function refuseUnhonoured(body: Record<string, unknown>): void {
  const tools = body.tools ?? body.functions;
  if (tools != null && !(Array.isArray(tools) && tools.length === 0))
    throw invalid(
      '"tools": the in-process generator cannot call tools; send this objective\'s tool use to a backend that can',
    );
  const choice = body.tool_choice ?? body.function_call;
  if (choice != null && choice !== 'none')
    throw invalid(
      `"tool_choice" ${JSON.stringify(choice)}: the in-process generator calls no tools, so only "none" is honoured`,
    );
  const format = body.response_format as { type?: unknown } | null | undefined;
  if (format != null && format.type !== 'text')
    throw invalid(
      `"response_format" ${JSON.stringify(format.type)}: the in-process generator cannot hold its output to JSON or a schema`,
    );
}

function completionPrompt(prompt: unknown): string {
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') return prompt[0];
  throw invalid('"prompt" must be a string (one prompt per request)');
}
