// Requests to the Anthropic stand-in (./anthropic.ts) checked as the Messages
// API checks them, with its messages: no unknown top-level fields, required
// `model` and `max_tokens`, sampling ranges, tools and tool_choice, thinking
// budgets, turns that start with user and alternate, known and well-formed
// content blocks, tool_result blocks first in their turn and answering
// exactly the tool_use blocks of the turn before.
export type Json = Record<string, unknown>;
export type Block = Json & { type: string };
export type Turn = { role: string; content: string | Block[] };

const TOP_LEVEL = new Set([
  'model',
  'messages',
  'max_tokens',
  'system',
  'metadata',
  'stop_sequences',
  'stream',
  'temperature',
  'top_p',
  'top_k',
  'tools',
  'tool_choice',
  'thinking',
  'service_tier',
  'output_config',
]);
const BLOCK_TYPES = new Set(['text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking']);

export class Invalid extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}
export const invalid = (message: string) => new Invalid(400, 'invalid_request_error', message);

function checkBlock(block: unknown, role: string, at: string): Block {
  if (typeof block !== 'object' || block === null || typeof (block as Json).type !== 'string')
    throw invalid(`${at}: Input should be a valid content block`);
  const b = block as Block;
  if (!BLOCK_TYPES.has(b.type))
    throw invalid(`${at}.type: Input tag '${b.type}' does not match any of the expected tags`);
  if (b.type === 'text' && (typeof b.text !== 'string' || b.text === ''))
    throw invalid(`${at}: text content blocks must be non-empty`);
  if ((b.type === 'tool_use' || b.type === 'thinking' || b.type === 'redacted_thinking') && role !== 'assistant')
    throw invalid(`${at}: ${b.type} blocks are only allowed in assistant messages`);
  if (b.type === 'tool_result' && role !== 'user')
    throw invalid(`${at}: tool_result blocks are only allowed in user messages`);
  if (b.type === 'tool_use') {
    if (typeof b.id !== 'string' || !/^[a-zA-Z0-9_-]+$/.test(b.id))
      throw invalid(`${at}.id: String should match pattern '^[a-zA-Z0-9_-]+$'`);
    if (typeof b.name !== 'string') throw invalid(`${at}.name: Field required`);
    if (typeof b.input !== 'object' || b.input === null || Array.isArray(b.input))
      throw invalid(`${at}.input: Input should be a valid dictionary`);
  }
  if (b.type === 'image') {
    const source = b.source as Json | undefined;
    if (source?.type !== 'base64' && source?.type !== 'url')
      throw invalid(`${at}.source: Input should be a valid source`);
  }
  return b;
}

/** The request checked as the Messages API checks it; throws Invalid. */
export function check(body: Json, models: readonly string[]): { turns: Turn[] } {
  for (const key of Object.keys(body)) if (!TOP_LEVEL.has(key)) throw invalid(`${key}: Extra inputs are not permitted`);
  if (typeof body.model !== 'string') throw invalid('model: Field required');
  if (body.max_tokens === undefined) throw invalid('max_tokens: Field required');
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1)
    throw invalid('max_tokens: Input should be greater than or equal to 1');
  if (!Array.isArray(body.messages)) throw invalid('messages: Field required');
  if (body.messages.length === 0) throw invalid('messages: at least one message is required');
  if (body.system !== undefined && typeof body.system !== 'string') {
    if (!Array.isArray(body.system) || (body.system as Json[]).some((b) => b.type !== 'text'))
      throw invalid('system: Input should be a valid string or a list of text blocks');
  }
  for (const [field, max] of [
    ['temperature', 1],
    ['top_p', 1],
  ] as const) {
    const v = body[field];
    if (v !== undefined && (typeof v !== 'number' || v < 0 || v > max))
      throw invalid(`${field}: Input should be less than or equal to ${max}`);
  }
  if (body.stop_sequences !== undefined && !Array.isArray(body.stop_sequences))
    throw invalid('stop_sequences: Input should be a valid list');
  const tools = (body.tools ?? []) as Json[];
  if (!Array.isArray(tools)) throw invalid('tools: Input should be a valid list');
  tools.forEach((t, i) => {
    if (typeof t.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(t.name))
      throw invalid(`tools.${i}.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`);
    if (typeof t.input_schema !== 'object' || (t.input_schema as Json).type !== 'object')
      throw invalid(`tools.${i}.input_schema: Input schema must have type 'object'`);
  });
  const choice = body.tool_choice as Json | undefined;
  if (choice !== undefined) {
    if (tools.length === 0 && choice.type !== 'none')
      throw invalid('tool_choice: tool_choice may only be specified while providing tools');
    if (!['auto', 'any', 'tool', 'none'].includes(String(choice.type)))
      throw invalid('tool_choice.type: Invalid value');
    if (choice.type === 'tool' && !tools.some((t) => t.name === choice.name))
      throw invalid(`tool_choice.name: Tool '${String(choice.name)}' not found in tools`);
  }
  const thinking = body.thinking as Json | undefined;
  if (thinking?.type === 'enabled') {
    const budget = thinking.budget_tokens;
    if (typeof budget !== 'number' || budget < 1024)
      throw invalid('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
    if (budget >= body.max_tokens) throw invalid('`max_tokens` must be greater than `thinking.budget_tokens`');
  }
  if (!models.includes(body.model)) throw new Invalid(404, 'not_found_error', `model: ${body.model}`);

  const turns = body.messages as Turn[];
  let pending: string[] = []; // tool_use ids of the assistant turn before, awaiting their results
  turns.forEach((turn, i) => {
    const at = `messages.${i}`;
    if (turn.role !== 'user' && turn.role !== 'assistant')
      throw invalid(`${at}.role: Input should be 'user' or 'assistant'`);
    if (i === 0 && turn.role !== 'user') throw invalid('messages: first message must use the "user" role');
    if (i > 0 && turns[i - 1]!.role === turn.role)
      throw invalid(
        `messages: roles must alternate between "user" and "assistant", but found multiple "${turn.role}" roles in a row`,
      );
    if (typeof turn.content === 'string') {
      if (turn.content === '' && !(turn.role === 'assistant' && i === turns.length - 1))
        throw invalid(`${at}: user messages must have non-empty content`);
    } else if (!Array.isArray(turn.content) || turn.content.length === 0) {
      throw invalid(`${at}.content: Input should be a valid string or a non-empty list`);
    }
    const blocks =
      typeof turn.content === 'string'
        ? []
        : turn.content.map((b, j) => checkBlock(b, turn.role, `${at}.content.${j}`));
    if (turn.role === 'user') {
      const results = blocks.filter((b) => b.type === 'tool_result');
      const firstOther = blocks.findIndex((b) => b.type !== 'tool_result');
      if (firstOther !== -1 && blocks.slice(firstOther).some((b) => b.type === 'tool_result'))
        throw invalid(`${at}: tool_result blocks must come before any other content`);
      for (const r of results)
        if (!pending.includes(String(r.tool_use_id)))
          throw invalid(
            `${at}.content: unexpected tool_use_id found in tool_result blocks: ${String(r.tool_use_id)}. Each tool_result block must have a corresponding tool_use block in the previous message.`,
          );
      const missing = pending.filter((id) => !results.some((r) => r.tool_use_id === id));
      if (missing.length > 0)
        throw invalid(
          `messages.${i}: tool_use ids were found without tool_result blocks immediately after: ${missing.join(', ')}`,
        );
      pending = [];
    } else {
      pending = blocks.filter((b) => b.type === 'tool_use').map((b) => String(b.id));
    }
  });
  return { turns };
}
