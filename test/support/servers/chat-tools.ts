// Tool calls for the test servers, deterministic: a call whose last user text
// names a tool (or that forces one) is answered with calls to it, their
// arguments made from the tool's JSON schema. The OpenAI server streams them
// as OpenAI does (the id and name in a call's first chunk, then its arguments
// in pieces, each chunk naming the call by `index`); the Anthropic server
// (./anthropic.ts) uses the same choice and arguments.
import type { ServerResponse } from 'node:http';

type Json = Record<string, unknown>;

/** A message's text: a string, or its text parts joined with spaces. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Json[])
    .filter((p) => p.type === 'text' && typeof p.text === 'string')
    .map((p) => p.text as string)
    .join(' ');
}

/** Arguments that satisfy a (simple) JSON schema, from the caller's text: strings get its last word. */
export function exampleInput(schema: unknown, text: string): Json {
  const properties = (schema as { properties?: Record<string, { type?: string; enum?: unknown[] }> })?.properties;
  const lastWord =
    text
      .split(/\s+/)
      .filter(Boolean)
      .at(-1)
      ?.replace(/[^\p{L}\p{N}_-]/gu, '') ?? '';
  const out: Json = {};
  for (const [name, p] of Object.entries(properties ?? {})) {
    if (Array.isArray(p.enum) && p.enum.length > 0) out[name] = p.enum[0];
    else if (p.type === 'number' || p.type === 'integer') out[name] = 42;
    else if (p.type === 'boolean') out[name] = true;
    else if (p.type === 'array') out[name] = [];
    else if (p.type === 'object') out[name] = {};
    else out[name] = lastWord;
  }
  return out;
}

export interface ToolSpec {
  name: string;
  schema: unknown;
}

/**
 * Which tools a call asks for: the forced one, else every tool its text names (the first only when
 * parallel calls are off), else — when a tool is required — the first; none when tools are off.
 */
export function chosenTools(
  tools: ToolSpec[],
  text: string,
  choice: { mode: 'auto' | 'none' | 'required' | 'named'; name?: string },
  parallel: boolean,
): ToolSpec[] {
  if (tools.length === 0 || choice.mode === 'none') return [];
  if (choice.mode === 'named') return tools.filter((t) => t.name === choice.name).slice(0, 1);
  const named = tools.filter((t) => new RegExp(`\\b${t.name}\\b`).test(text));
  const picked = named.length > 0 ? named : choice.mode === 'required' ? tools.slice(0, 1) : [];
  return parallel ? picked : picked.slice(0, 1);
}

/** The chat tool calls for a chat request, or undefined when it gets a text answer. */
export function toolCallsFor(body: Json, messages: Array<{ role?: string; content?: unknown }>): Json[] | undefined {
  if (!Array.isArray(body.tools) || body.tools.length === 0) return undefined;
  const last = messages.at(-1);
  if (last?.role !== 'user') return undefined; // after tool results: a text answer
  const tools = (body.tools as Array<{ function?: { name?: string; parameters?: unknown } }>).map((t) => ({
    name: String(t.function?.name),
    schema: t.function?.parameters,
  }));
  const c = body.tool_choice as string | { function?: { name?: string } } | undefined;
  const choice =
    typeof c === 'object'
      ? { mode: 'named' as const, name: c.function?.name }
      : { mode: c === 'none' ? ('none' as const) : c === 'required' ? ('required' as const) : ('auto' as const) };
  const text = contentText(last.content);
  const picked = chosenTools(tools, text, choice, body.parallel_tool_calls !== false);
  if (picked.length === 0) return undefined;
  const stamp = messages.length;
  return picked.map((t, i) => ({
    id: `call_${stamp}_${i}`,
    type: 'function',
    function: { name: t.name, arguments: JSON.stringify(exampleInput(t.schema, text)) },
  }));
}

/** Streams tool calls as OpenAI does, then the finish chunk, the usage chunk when asked, and [DONE]. */
export function streamToolCalls(
  res: ServerResponse,
  meta: { id: string; created: number; model: string },
  calls: Json[],
  body: Json,
  usage: Json,
): void {
  const chunk = (choices: Json[], extra: Json = {}) =>
    `data: ${JSON.stringify({ ...meta, object: 'chat.completion.chunk', choices, ...extra })}\n\n`;
  const delta = (d: Json, finish: string | null = null) => chunk([{ index: 0, delta: d, finish_reason: finish }]);
  res.write(delta({ role: 'assistant', content: null }));
  calls.forEach((call, index) => {
    const fn = call.function as { name: string; arguments: string };
    res.write(
      delta({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: fn.name, arguments: '' } }] }),
    );
    const half = Math.ceil(fn.arguments.length / 2);
    for (const piece of [fn.arguments.slice(0, half), fn.arguments.slice(half)])
      if (piece !== '') res.write(delta({ tool_calls: [{ index, function: { arguments: piece } }] }));
  });
  res.write(delta({}, 'tool_calls'));
  if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true)
    res.write(chunk([], { usage }));
  res.end('data: [DONE]\n\n');
}
