// The data plane's shapes, in one file so the routes, the faces and the
// server that assembles them import them without forming a circle: what a
// route is handed (the DataPlane: the live runtime and the hooks the assembly
// wires in), what a route is, and what a face is — as data, the way
// config/protocols/ declares wire protocols. The invoke path reads a face's
// fields and never its name; adding a face is one file declaring a Face and
// its line in faces/index.ts (docs/architecture.md, "Adding a face").
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AdmitAsk, AdmittedCaller, Admission, Caller, Logger, TokenLimitState } from '../call/hooks.js';
import type { BodyLimits } from '../call/body.js';
import type { Reply } from '../call/types.js';
import type { InterfaceName } from '../config/interfaces.js';
import type { ErrorBody } from '../http/error-reply.js';
import type { Params } from '../http/router.js';
import type { DecisionLog } from '../observe/decision-log.js';
import type { Observer, RequestRecord, StartObserver } from '../observe/record.js';
import type { ReplySampler } from '../observe/reply-sample.js';
import type { BucketMemo } from '../routing/bucket-memo.js';
import type { CompiledObjective } from '../routing/types.js';
import type { Runtime } from '../runtime/runtime.js';

export type { AdmittedCaller, Admission, Caller, Logger, Params };

export interface DataPlane {
  runtime: Runtime;
  /** Junction's version, for server metadata (OIP `GET /v2`, gRPC ServerMetadata). */
  version?: string;
  /** Authenticates and admits a request for an objective, filling record.client; throws (or rejects) with a JunctionError to refuse. */
  admit?: (
    req: { headers: IncomingHttpHeaders },
    objective: CompiledObjective,
    record: RequestRecord,
    ask?: AdmitAsk,
  ) => Admission | undefined | Promise<Admission | undefined>;
  /**
   * The key check alone, for what must be refused before a body is read or
   * anything is disclosed (decide, explain, snapshot, /metrics, the OpenAI face):
   * throws 401 when clients are configured and the key is missing or unknown.
   */
  authenticate?: (req: { headers: IncomingHttpHeaders }) => Caller;
  /**
   * Admits a request to a route that invokes no objective (Route.admission
   * `caller`, the default) by the client's limits: key, one unit of rate, a
   * concurrency slot the data plane gives back when the response closes.
   * Without it, such routes get the key check alone (`authenticate`).
   */
  admitCaller?: (req: { headers: IncomingHttpHeaders }, record: RequestRecord) => Promise<AdmittedCaller>;
  /** Bounds on reading request bodies: the slowest acceptable rate and the memory all buffered bodies may hold. */
  bodies?: BodyLimits;
  observers: Observer[];
  /**
   * Told of each decision POST /v1/decide makes, one record per item (via
   * `decide`, no backend call): the decision log's exposures. Request observers
   * (metrics, gate statistics) are not told: a decision served no request.
   */
  decided?: Observer[];
  /**
   * The decision log (one of `decided`), when there is one: POST /v1/exposures
   * hands it a batch's lines all or none, to answer how many were written.
   */
  decisionLog?: DecisionLog;
  /** Run by the invoke path once the objective is known (in-flight gauges, request spans). */
  onStart?: StartObserver[];
  log?: Logger;
  /**
   * Buckets of units seen again (returning users decide again and again): a
   * bucket is a pure function of salt and unit, so a remembered one is the
   * computed one; the memo steps aside when units do not repeat.
   */
  buckets?: BucketMemo;
  /** Keeps copies of sampled replies (the rollout gates' output scores). */
  replySampler?: ReplySampler | undefined;
  /** Extra routes (protocol faces, /metrics) added by other modules. */
  routes?: Route[];
}

export interface RouteContext {
  dp: DataPlane;
  req: IncomingMessage;
  res: ServerResponse;
  record: RequestRecord;
  params: Params;
  /** Query string with its `?`, or ''. */
  query: string;
  /** The caller the data plane admitted (routes admitted as `caller`); OPEN_ADMITTED on other routes. */
  caller: AdmittedCaller;
}

/**
 * How the data plane admits a request to a route, before its handler runs
 * (docs/security.md):
 * - `caller` (the default: a route that says nothing gets it): the client's key,
 *   one unit of its rate and one of its concurrency slots, held until the
 *   response closes; a handler takes more units for a batch's items
 *   (`ctx.caller.take`) once it has counted them.
 * - `invoke`: the handler calls an objective through faces/invoke.ts, whose
 *   admission (`DataPlane.admit`) applies the same limits per objective.
 * - `open`: nothing is checked; only routes that say whether the process serves
 *   (health, readiness, the list of OpenAI models). test/tenancy/every-route.test.ts
 *   walks every registered route and pins this list.
 */
export type RouteAdmission = 'caller' | 'invoke' | 'open';

export interface Route {
  methods: readonly string[];
  /** `/v1/objectives/:objective`; `:name` matches one non-empty segment. */
  pattern: string;
  /** Error shape for failures on this route. */
  face: Face;
  /** How a request is admitted before `handle` runs; `caller` when absent. */
  admission?: RouteAdmission;
  handle(ctx: RouteContext): Promise<void> | void;
}

export interface Face {
  /** Its name in docs, logs and `junction_requests_total{face}`-style labels. */
  readonly name: string;
  /**
   * The objective interface it serves (a call to an objective of another
   * interface is refused, naming the endpoint that serves it); undefined:
   * every interface, with the objective's own `methods` (Junction's endpoint).
   */
  readonly interface: InterfaceName | undefined;
  /** How a request names its objective: a path segment, or the body's top-level `model` string. */
  readonly objectiveFrom: 'path' | 'model-field';
  /** Its error body (SPEC §2.5); the stable code also goes in x-error-code. */
  readonly errorBody: ErrorBody;
  /** Written last into a streamed reply cut by its budget, in the face's own wire format (SPEC §3). */
  readonly cutEvent?: string;
  /** Reads token usage on the side of a reply, in the face's own answer shape (LLM faces). */
  readonly readUsage?: (body: Reply['body'], record: RequestRecord) => void;
  /**
   * Headers telling the caller its token limit (tpm), on answers and on
   * token_limit_exceeded refusals, in the face's own names (OpenAI's
   * x-ratelimit-*-tokens); absent: the face reports none.
   */
  readonly tokenLimitHeaders?: (tokens: TokenLimitState) => Record<string, string>;
  /** Its routes (a function: a route names its face, declared first). */
  routes(): Route[];
}
