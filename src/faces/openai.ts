// The OpenAI-compatible face (SPEC §2.2): POST /v1/chat/completions,
// /v1/completions, /v1/embeddings and /v1/responses (the Responses API). The body's `model` names the objective, so
// this is the one face that reads the body before routing; it goes on as the
// same bytes (RequestBody.of) and the backend rewrites only `model`. Errors
// take OpenAI's shape; responses, SSE included, stream back through invoke.
// `model` is the one body field this face reads: `stream` and the rest are
// read by the backend (or the in-process model) alone.
import { RequestBody } from '../call/body.js';
import type { Operation } from '../call/types.js';
import { JunctionError } from '../errors.js';
import { callerOf } from './decide-api.js';
import { invoke } from './invoke.js';
import { readBody } from './read-body.js';
import { stringValue, topLevelFields } from '../backends/protocols/json-field.js';
import { writeJson } from './reply.js';
import type { Route, RouteContext } from './route.js';
import type { Revision } from '../runtime/revision.js';

/**
 * The objective (and so its maxBodyBytes) is only known once the body is read:
 * this bounds the read; the objective's own limit is checked right after.
 */
export const OPENAI_MAX_BODY = 16 * 1024 * 1024;

async function handle(ctx: RouteContext, operation: Operation): Promise<void> {
  const { dp, req, res, record, query } = ctx;
  // The key first: nothing is read for a caller who may call nothing.
  callerOf(dp, req, record);
  const raw = await readBody(req, res, OPENAI_MAX_BODY, dp);
  const objective = modelField(raw);
  const limit = dp.runtime.current?.objectives.get(objective)?.compiled.config.policy.maxBodyBytes;
  if (limit !== undefined && raw.length > limit) {
    throw new JunctionError('payload_too_large', `body of ${raw.length} bytes exceeds maxBodyBytes (${limit} bytes)`, {
      objective,
    });
  }
  await invoke(dp, req, res, record, { face: 'openai', operation, objective, query, body: RequestBody.of(raw) });
}

/** The body fields this face reads. */
const MODEL: readonly string[] = ['model'];

/**
 * The top-level `model` string, found by the one strict scan of the bytes
 * (json-field.ts), never by parsing the whole document: a deeply nested body
 * costs one linear pass. A body that is not JSON, or names `model` twice (escaped
 * or not) or in another case, is refused there, so the objective routed on is
 * the model every backend parser reads. Only the backend that needs the document
 * (an in-process model) parses it, after admission.
 */
function modelField(raw: Buffer): string {
  const name = stringValue(raw, topLevelFields(raw, MODEL)[0]);
  if (name !== undefined && name !== '') return name;
  throw new JunctionError(
    'invalid_request',
    'body must be a JSON object naming the objective in one top-level "model" string',
  );
}

function route(path: string, operation: Operation): Route {
  // Admitted by invoke, per objective, once the body names it (the key is checked before the read).
  return {
    methods: ['POST'],
    pattern: path,
    face: 'openai',
    admission: 'invoke',
    handle: (ctx) => handle(ctx, operation),
  };
}

/** OpenAI clients list models first: here the models are the objectives of interface openai. */
function modelEntry(name: string) {
  return { id: name, object: 'model', created: 0, owned_by: 'junction' };
}

function openaiObjective(rev: Revision | undefined, name: string): boolean {
  return rev?.objectives.get(name)?.compiled.interface === 'openai';
}

export const openaiRoutes: Route[] = [
  route('/v1/chat/completions', 'chat/completions'),
  route('/v1/completions', 'completions'),
  route('/v1/embeddings', 'embeddings'),
  // What current OpenAI SDKs and the Vercel AI SDK call by default; streamed as typed SSE events.
  route('/v1/responses', 'responses'),
  {
    methods: ['GET'],
    pattern: '/v1/models',
    face: 'openai',
    admission: 'open', // OpenAI clients list models before anything else, as they always could
    handle({ dp, res }) {
      const rev = dp.runtime.current;
      const names = rev ? [...rev.objectives.keys()].filter((n) => openaiObjective(rev, n)) : [];
      writeJson(res, 200, { object: 'list', data: names.map(modelEntry) });
    },
  },
  {
    methods: ['GET'],
    pattern: '/v1/models/:model',
    face: 'openai',
    admission: 'open',
    handle({ dp, res, params }) {
      const name = params.model!;
      if (!openaiObjective(dp.runtime.current, name)) {
        throw new JunctionError('objective_not_found', `no objective "${name}" with interface openai`, {
          objective: name,
        });
      }
      writeJson(res, 200, modelEntry(name));
    },
  },
];
