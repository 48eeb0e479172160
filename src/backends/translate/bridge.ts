// Where a call meets a target that does not speak the caller's API: the
// caller's operation is translated to one the target does speak (a Responses
// call to a chat-only server, a Messages call to a chat server, a chat call
// to an `anthropic` target), sent, and the answer translated back — a whole
// answer re-encoded, a stream translated event by event as it flows. A
// target that speaks the caller's API never comes here: the lookup is one
// property read per call, and only bridged calls parse their bodies.
import { RequestBody } from '../../call/body.js';
import { readJsonBody } from '../../call/json-body.js';
import type { Call, HeaderMap, Operation, Reply, Send } from '../../call/types.js';
import { withCall } from '../../call/types.js';
import { JunctionError } from '../../errors.js';
import { chatToMessages, messagesToChat } from './anthropic-chat.js';
import { responsesToChat } from './responses-chat.js';
import type { Translation, TranslationContext } from './translation.js';

/** Every translation, tried in this order for an operation the target does not speak. */
const TRANSLATIONS: readonly Translation[] = [responsesToChat, messagesToChat, chatToMessages];

/** A whole answer read to be translated: far above any chat completion; past it the upstream is broken. */
export const MAX_TRANSLATED_ANSWER = 16 * 1024 * 1024;

export type Bridges = Readonly<Partial<Record<Operation, Translation>>>;

/** For a target that speaks the operations `speaks` accepts: the translation each other operation needs, if one exists. */
export function bridgesFor(speaks: (operation: Operation) => boolean): Bridges | undefined {
  const bridges: Partial<Record<Operation, Translation>> = {};
  let any = false;
  for (const t of TRANSLATIONS) {
    if (!speaks(t.from) && speaks(t.to) && bridges[t.from] === undefined) {
      bridges[t.from] = t;
      any = true;
    }
  }
  return any ? bridges : undefined;
}

/** `send`, with the calls it cannot take as they are translated on the way. */
export function bridged(send: Send, bridges: Bridges): Send {
  return (call) => {
    const t = bridges[call.operation];
    return t === undefined ? send(call) : translated(send, t, call);
  };
}

async function translated(send: Send, t: Translation, call: Call): Promise<Reply> {
  const request = await readJsonBody(call);
  const ctx: TranslationContext = { objective: call.objective.name, requestId: call.requestId, request };
  // The caller's `model` stays: the backend rewrites it to its own served name, as for any call.
  const body = { ...t.request(request, ctx), model: request.model };
  const bytes = Buffer.from(JSON.stringify(body));
  const headers: HeaderMap = {
    ...call.headers,
    'content-type': 'application/json',
    'content-length': String(bytes.length),
  };
  delete headers['content-encoding'];
  const reply = await send(withCall(call, { operation: t.to, body: RequestBody.of(bytes), parsedBody: body, headers }));
  return answer(reply, t, ctx, call);
}

async function answer(reply: Reply, t: Translation, ctx: TranslationContext, call: Call): Promise<Reply> {
  const ok = reply.status >= 200 && reply.status < 300;
  const events = String(reply.headers['content-type'] ?? '').startsWith('text/event-stream');
  if (ok && events && reply.body !== null && !Buffer.isBuffer(reply.body)) {
    const upstream = reply.body;
    const out = t.stream(ctx);
    // A caller gone (or a cut reply) destroys `out`; the upstream goes with it.
    out.once('close', () => {
      if (!upstream.readableEnded) upstream.destroy();
    });
    // A broken upstream ends the translator's input: it sees the stream cut mid-answer and writes the
    // caller's own error event, then errors (recorded upstream_error).
    upstream.once('error', () => out.end());
    upstream.pipe(out);
    return { ...reply, headers: eventStreamHeaders(reply.headers), body: out, endsWithErrorEvent: true };
  }
  const raw = await wholeAnswer(reply.body, call);
  if (!ok) {
    const shaped = t.error?.(reply.status, raw, ctx);
    return shaped === undefined ? { ...reply, body: raw } : json(reply, shaped);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new JunctionError('upstream_error', `${call.target.id} answered ${t.to} with a body that is not JSON`, {
      objective: call.objective.name,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new JunctionError('upstream_error', `${call.target.id} answered ${t.to} with JSON that is not an object`, {
      objective: call.objective.name,
    });
  }
  return json(reply, t.response(parsed as Record<string, unknown>, ctx));
}

function json(reply: Reply, value: unknown): Reply {
  const body = Buffer.from(JSON.stringify(value));
  return {
    ...reply,
    headers: {
      ...withoutFraming(reply.headers),
      'content-type': 'application/json',
      'content-length': String(body.length),
    },
    body,
  };
}

function eventStreamHeaders(headers: HeaderMap): HeaderMap {
  return {
    ...withoutFraming(headers),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  };
}

/** The upstream's framing and encoding describe bytes that are no longer the ones sent. */
function withoutFraming(headers: HeaderMap): HeaderMap {
  const out = { ...headers };
  delete out['content-length'];
  delete out['content-encoding'];
  delete out['transfer-encoding'];
  delete out.etag;
  return out;
}

/** A whole answer, bounded: a body past MAX_TRANSLATED_ANSWER is a broken upstream, not a buffer. */
async function wholeAnswer(body: Reply['body'], call: Call): Promise<Buffer> {
  if (body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > MAX_TRANSLATED_ANSWER) {
      body.destroy();
      throw new JunctionError(
        'upstream_error',
        `${call.target.id} answered with more than ${MAX_TRANSLATED_ANSWER} bytes`,
        {
          objective: call.objective.name,
        },
      );
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, size);
}
