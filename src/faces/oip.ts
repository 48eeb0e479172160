// The Open Inference Protocol v2 face (SPEC §2.2; KServe, Triton, MLServer
// clients). `{objective}` stands where OIP has a model name; every model route
// goes through the shared invoke path with an OIP operation, so routing,
// decision headers and policies are those of /v1/objectives. Bodies stream
// through unparsed (binary tensors included): the model comes from the path,
// so routing never reads the JSON header of a binary body. Only the
// extension's header is checked, from the headers alone, after the key and the
// objective: a malformed `Inference-Header-Content-Length` is refused before a
// byte is sent on.
// Errors take OIP's `{"error": "..."}` shape with the code in x-error-code.
// `GET /v2` answers the server metadata, as the gRPC face's ServerMetadata does.
//
// `/v2/models/{objective}/versions/{v}/…` is an override request, subject to
// the same permission as x-model-override: it names version `v` of the
// objective's default model (`{default model}@{v}`), the nearest meaning an
// OIP client can have for "version v of this model".
import type { IncomingHttpHeaders } from 'node:http';
import type { Operation } from '../call/types.js';
import { binaryHeaderLength } from '../backends/protocols/oip-binary.js';
import { writeJson } from '../http/reply.js';
import { readiness } from './health.js';
import { invoke } from './invoke.js';
import type { DataPlane, Face, Route, RouteContext } from './types.js';

/** An OIP model version as the override target `{default model}@{version}` (also the gRPC face's model_version). */
export function versionOverride(dp: DataPlane, objective: string, version: string | undefined): string | undefined {
  if (version === undefined) return undefined;
  // Same tick as invoke: this is the revision invoke will route on.
  const o = dp.runtime.current?.objectives.get(objective);
  return o === undefined ? undefined : `${o.compiled.default.target.model}@${version}`;
}

/** A malformed `Inference-Header-Content-Length` is refused from the headers alone, before the body. */
function checkBinaryHeader(headers: IncomingHttpHeaders, objective: string): void {
  binaryHeaderLength(headers, objective);
}

function modelRoutes(suffix: string, method: 'GET' | 'POST', operation: Operation): Route[] {
  const handle = (ctx: RouteContext) =>
    invoke(ctx.dp, ctx.req, ctx.res, ctx.record, {
      face: oipFace,
      operation,
      objective: ctx.params.objective!,
      query: ctx.query,
      override: versionOverride(ctx.dp, ctx.params.objective!, ctx.params.version),
      checkHeaders: method === 'POST' ? checkBinaryHeader : undefined,
    });
  return [
    { methods: [method], pattern: `/v2/models/:objective${suffix}`, face: oipFace, admission: 'invoke', handle },
    {
      methods: [method],
      pattern: `/v2/models/:objective/versions/:version${suffix}`,
      face: oipFace,
      admission: 'invoke',
      handle,
    },
  ];
}

/** What the server supports (OIP server metadata): the binary tensor data extension. */
const EXTENSIONS: readonly string[] = ['binary_tensor_data'];

/** OIP's server metadata: the same answer over REST (`GET /v2`) and gRPC (ServerMetadata). */
export function serverMetadata(dp: Pick<DataPlane, 'version'>): {
  name: string;
  version: string;
  extensions: string[];
} {
  return { name: 'junction', version: dp.version ?? '', extensions: [...EXTENSIONS] };
}

const oipRoutes = (): Route[] => [
  {
    methods: ['GET'],
    pattern: '/v2',
    face: oipFace,
    admission: 'open', // what the server is, as its health is: no objective, nothing to disclose
    handle: ({ dp, res }) => writeJson(res, 200, serverMetadata(dp)),
  },
  {
    methods: ['GET'],
    pattern: '/v2/health/live',
    face: oipFace,
    admission: 'open',
    handle: ({ res }) => writeJson(res, 200, { live: true }),
  },
  {
    // Same verdict as /readyz: a config is loaded and every objective has a healthy backend or fallback.
    methods: ['GET'],
    pattern: '/v2/health/ready',
    face: oipFace,
    admission: 'open',
    handle: ({ dp, res }) => {
      const ready = readiness(dp.runtime.current).ready;
      writeJson(res, ready ? 200 : 503, { ready });
    },
  },
  ...modelRoutes('', 'GET', 'metadata'),
  ...modelRoutes('/ready', 'GET', 'ready'),
  ...modelRoutes('/infer', 'POST', 'infer'),
  ...modelRoutes('/generate', 'POST', 'generate'),
  ...modelRoutes('/generate_stream', 'POST', 'generate_stream'),
];

export const oipFace: Face = {
  name: 'oip',
  interface: 'oip',
  objectiveFrom: 'path',
  errorBody: (err) => JSON.stringify({ error: err.message }),
  routes: oipRoutes,
};
