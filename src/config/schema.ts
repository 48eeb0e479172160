// The one definition of Junction's config. TypeScript types are inferred from it,
// `schema/junction.schema.json` is generated from it (npm run schema), and
// docs/config.md describes it. Semantic checks that a schema cannot express
// (targets exist, weights sum to 100, …) live in validate.ts.
import { z } from 'zod';
import { INTERFACES } from './interfaces.js';
import { PROTOCOL_NAMES, PROTOCOLS } from './protocols/index.js';
import { hasUserinfo } from './redact.js';
import {
  FRAMING_HEADERS,
  HEADER_NAME,
  headerValueProblem,
  JUNCTION_HEADERS,
  MAX_FREE_FORM_DEPTH,
  SAFE_ID,
  SAFE_ID_RULE,
  tooDeep,
} from './safe-text.js';

export const OBJECTIVE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const NAME_PART = '[A-Za-z0-9][A-Za-z0-9._-]*';
/** A model or version name: what a target ref is made of, and what may be written into headers, labels and the nginx export. */
export const TARGET_NAME = new RegExp(`^${NAME_PART}$`);
export const TARGET_REF = new RegExp(`^${NAME_PART}@${NAME_PART}$`);

const target = z
  .string()
  .regex(TARGET_REF, 'expected a target "model@version", e.g. "ranker@7"')
  .describe('A target: "model@version".');
const percent = z.number().min(0).max(100);
const trafficClass = z.enum(['live', 'test', 'synthetic']);
/** The traffic classes of SPEC §2.1, for every place that reads one from a caller. */
export const TRAFFIC_CLASSES: readonly TrafficClass[] = trafficClass.options;
export function isTrafficClass(value: unknown): value is TrafficClass {
  return typeof value === 'string' && (TRAFFIC_CLASSES as readonly string[]).includes(value);
}

export const ModelClass = z.enum(['scorer', 'classifier', 'generator', 'embedder', 'other']);
export const Interface = z.enum(INTERFACES);
/** The wire protocols are declared in protocols/, one file each; the enum is their names. */
export const Protocol = z.enum(PROTOCOL_NAMES);
/** Every scheme some protocol takes; validation then checks each endpoint against its own protocol's. */
const ENDPOINT_SCHEMES = new RegExp(
  `^(${[...new Set(Object.values(PROTOCOLS).flatMap((p) => p.schemes))].join('|')})$`,
);

const OnnxBackend = z.strictObject({
  type: z.literal('onnx'),
  path: z.string().min(1).describe('Path of the .onnx file, relative to the config file.'),
  maxBatch: z.int().min(1).max(4096).default(1).describe('Largest batch merged by dynamic batching (1 = off).'),
  maxDelayMs: z.number().min(0).max(1000).default(0).describe('Longest a request waits for others to join its batch.'),
  inputs: z.record(z.string(), z.string()).optional().describe('Request field → model input name, when they differ.'),
  outputs: z
    .record(z.string(), z.string())
    .optional()
    .describe('Model output name → response field, when they differ.'),
  labels: z.array(z.string()).optional().describe('Class labels, for classifiers: top-k answers name them.'),
  tokenizer: z
    .string()
    .optional()
    .describe('For generators: path of the tokenizer (vocabulary) file, relative to the config file.'),
  contextLength: z.int().min(1).optional().describe("For generators: the model's context window in tokens."),
});

/** How a backend picks the replica for each call (SPEC §14); `p2c` is the default. */
export const BALANCERS = ['p2c', 'least-load', 'prefix', 'adapter'] as const;
export type Balance = (typeof BALANCERS)[number];
export const BalanceSchema = z.enum(BALANCERS);
/** Presets of replica metric names for load reports (backends/load/presets.ts). */
export const LOAD_PRESETS = ['vllm', 'sglang', 'tgi', 'triton'] as const;
/** A Prometheus metric name, optionally with one label matcher: `name` or `name{label="value"}`. */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"\})?$/;
const metricName = z.string().regex(METRIC_NAME, 'expected a Prometheus metric name, e.g. "vllm:num_requests_waiting"');

const LoadReports = z
  .strictObject({
    metrics: z
      .strictObject({
        path: z
          .string()
          .regex(/^\/[\x21-\x7e]*$/, 'expected an absolute path, e.g. "/metrics"')
          .default('/metrics')
          .describe("Path of each replica's Prometheus page, on the endpoint's origin."),
        intervalMs: z.int().min(100).max(600_000).default(1000).describe('How often each replica is scraped.'),
        timeoutMs: z.int().min(10).max(60_000).default(1000).describe('Longest a scrape may take.'),
        port: z
          .int()
          .min(1)
          .max(65_535)
          .optional()
          .describe("Port of the metrics page when it is not the endpoint's (Triton: 8002; gRPC endpoints)."),
        maxAgeMs: z
          .int()
          .min(100)
          .optional()
          .describe('A report older than this is ignored (default three scrape intervals).'),
        preset: z
          .enum(LOAD_PRESETS)
          .optional()
          .describe("The server's metric names: vllm, sglang, tgi or triton (default vllm when no names are given)."),
        names: z
          .strictObject({
            queue: metricName.optional().describe('Gauge of requests waiting.'),
            running: metricName.optional().describe('Gauge of requests running.'),
            kvCache: metricName.optional().describe('Gauge of KV-cache use, 0..1.'),
          })
          .optional()
          .describe("Metric names overriding the preset's."),
      })
      .optional()
      .describe("Scrape each replica's Prometheus page for its queue, running requests and KV-cache use."),
    orca: z
      .boolean()
      .default(false)
      .describe('Read the ORCA endpoint-load-metrics header of every reply (TEXT and JSON forms).'),
  })
  .describe('How replicas report their load, for least-load, prefix and adapter balancing.');

const HttpBackend = z.strictObject({
  type: z.literal('http'),
  protocol: Protocol.default('raw'),
  endpoints: z
    .array(
      z
        .url({
          protocol: ENDPOINT_SCHEMES,
          error: 'expected an http:// or https:// URL, e.g. "http://10.0.0.7:8000" (grpc:// or grpcs:// for oip-grpc)',
        })
        .refine(
          (u) => !hasUserinfo(u),
          'credentials in an endpoint URL are refused (they would show in errors, metrics and the snapshot); send them with `headers`, e.g. authorization: "Bearer ${env:TOKEN}"',
        ),
    )
    .min(1)
    .describe(
      'Base URLs of the replicas serving this version (for raw: the full URL; for oip-grpc: grpc://host:port, or grpcs:// with TLS); https:// and grpcs:// ones use `tls`.',
    ),
  headers: z
    .record(z.string().regex(HEADER_NAME, 'expected an HTTP header name'), z.string())
    .superRefine((headers, ctx) => checkHeaders(headers, ctx, 'upstream'))
    .optional()
    .describe(
      'Headers sent on every upstream call (health checks too; oip-grpc: as metadata). Values may hold secrets: ${env:NAME} or ${file:PATH}, resolved when a revision is applied and never shown.',
    ),
  tls: z
    .strictObject({
      ca: z
        .string()
        .optional()
        .describe("PEM file of the CAs to trust for the endpoints' certificates (default: the public CAs)."),
      cert: z.string().optional().describe('Client certificate (PEM file), for mutual TLS.'),
      key: z.string().optional().describe('Client key (PEM file), for mutual TLS.'),
      servername: z
        .string()
        .optional()
        .describe('Server name (SNI) to expect, when it differs from the endpoint host.'),
    })
    .optional()
    .describe('TLS settings for https:// and grpcs:// endpoints; files relative to the config file.'),
  model: z
    .string()
    .optional()
    .describe("The backend's own name for the model (oip, openai, tfserving); default the model name."),
  version: z.string().optional().describe("The backend's own version (oip, tfserving); default the version key."),
  maxConcurrency: z.int().min(1).optional().describe('Outstanding requests allowed per endpoint.'),
  connections: z
    .int()
    .min(1)
    .max(4096)
    .default(128)
    .describe('Keep-alive connections per endpoint (oip-grpc: HTTP/2 channels, at most 16).'),
  health: z
    .strictObject({
      path: z
        .string()
        .regex(/^\/[\x21-\x7e]*$/, 'expected an absolute path, e.g. "/ready" (visible ASCII, no spaces)')
        .optional()
        .describe("Readiness path; default the protocol's own."),
      intervalMs: z.int().min(100).default(5000),
      timeoutMs: z.int().min(10).default(1000),
    })
    .optional(),
  ejection: z
    .strictObject({
      consecutiveFailures: z.int().min(1).default(5),
      baseEjectionMs: z.int().min(10).default(10000),
      maxEjectedPercent: z.number().min(0).max(100).default(50),
    })
    .optional(),
  balance: BalanceSchema.optional().describe(
    'How each call picks a replica (default p2c): p2c (two random, fewer outstanding wins), least-load (reported load), prefix (prompt-prefix affinity with bounded load), adapter (LoRA adapter affinity).',
  ),
  discovery: z
    .strictObject({
      intervalMs: z.int().min(100).max(3_600_000).default(5000).describe('How often each name is re-resolved.'),
      maxAddresses: z
        .int()
        .min(1)
        .max(4096)
        .default(256)
        .describe('Addresses kept per name; a longer answer is cut (and counted).'),
    })
    .optional()
    .describe(
      'Discovery: every endpoint whose host is a DNS name (not an IP address) is resolved, and each of its A/AAAA addresses is a replica (a Kubernetes headless Service), re-resolved every intervalMs.',
    ),
  load: LoadReports.optional(),
  prefix: z
    .strictObject({
      blockChars: z.int().min(16).max(65_536).default(1024).describe('Bytes of the prompt per hashed block.'),
      blocks: z
        .int()
        .min(1)
        .max(64)
        .default(64)
        .describe('Leading blocks hashed (a chain: each hash covers those before).'),
      epsilon: z
        .number()
        .min(0.01)
        .max(10)
        .default(0.25)
        .describe('Bounded load: no replica takes more than (1+epsilon) x the mean outstanding.'),
      maxEntries: z.int().min(64).max(1_000_000).default(65_536).describe('Prefix chains remembered (LRU).'),
    })
    .optional()
    .describe('Settings of balance: prefix.'),
  adapter: z
    .strictObject({
      epsilon: z
        .number()
        .min(0.01)
        .max(10)
        .default(0.25)
        .describe(
          'A replica holding the adapter takes calls up to (1+epsilon) x the mean outstanding, then it spills.',
        ),
      path: z
        .string()
        .regex(/^\/[\x21-\x7e]*$/, 'expected an absolute path')
        .default('/v1/models')
        .describe('Where each replica lists its models and LoRA adapters (vLLM: entries with a parent).'),
    })
    .optional()
    .describe('Settings of balance: adapter (adapters are polled on the load interval).'),
});

export const Backend = z.discriminatedUnion('type', [OnnxBackend, HttpBackend]);

/** Money per call (SPEC §16): what a version costs, per million tokens of each kind and per request. */
export const Price = z
  .strictObject({
    inputPerMTok: z.number().min(0).max(1e6).default(0).describe('Per million prompt tokens not read from a cache.'),
    outputPerMTok: z.number().min(0).max(1e6).default(0).describe('Per million completion tokens.'),
    cachedInputPerMTok: z
      .number()
      .min(0)
      .max(1e6)
      .optional()
      .describe("Per million prompt tokens read from the server's prompt cache (default: the input price)."),
    perRequest: z.number().min(0).max(1e6).default(0).describe('Per request, whatever its tokens.'),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'a three-letter currency code (ISO 4217), e.g. USD')
      .default('USD'),
  })
  .describe('What a call to this version costs; cost is counted per request from the usage it reports (SPEC §16).');

/** Tokens per minute (SPEC §16): reserved at admission from what the request says, settled with the real usage. */
const tpm = z
  .number()
  .positive()
  .max(1e12)
  .describe('Tokens per minute (prompt + completion), reserved at admission and settled with the usage reported.');

/** A spend budget over a calendar window in the configured time zone (SPEC §16). */
export const Budget = z.strictObject({
  per: z.enum(['day', 'month']).describe('The calendar window, in `timeZone`.'),
  max: z.number().min(0).max(1e15).describe('The most the window may spend (0: nothing).'),
  unit: z
    .string()
    .regex(/^(tokens|[A-Z]{3})$/, "`tokens`, or a three-letter currency code matching the targets' prices")
    .describe('`tokens`, or the currency of the prices.'),
  warnAt: z
    .number()
    .gt(0)
    .max(1)
    .default(0.8)
    .describe('Share of `max` past which answers carry x-junction-budget-warning (a soft threshold).'),
});

/** A budget shared by every client carrying all the given tags. */
export const TagBudget = Budget.extend({
  tag: z
    .record(z.string().regex(SAFE_ID, `tag names are ${SAFE_ID_RULE}`), z.string().min(1).max(128))
    .refine((t) => Object.keys(t).length > 0, 'name at least one tag')
    .describe('Every client whose tags include all of these shares the budget.'),
});

export const Version = z.strictObject({
  backend: Backend,
  price: Price.optional(),
  metadata: z
    .record(z.string(), z.unknown())
    .superRefine(boundedDepth)
    .optional()
    .describe(`Free-form: owner, training run, metrics (at most ${MAX_FREE_FORM_DEPTH} levels deep).`),
});

export const Model = z.strictObject({
  class: ModelClass.default('other'),
  description: z.string().optional(),
  versions: z.record(z.string(), Version),
});

const When = z.strictObject({
  context: z
    .record(z.string(), z.union([z.string(), z.array(z.string()).min(1)]))
    .optional()
    .describe('Every key must be present with one of the listed values.'),
  trafficClass: z.union([trafficClass, z.array(trafficClass).min(1)]).optional(),
});

const Rule = z.strictObject({
  id: z
    .string()
    .regex(SAFE_ID, `rule ids are ${SAFE_ID_RULE}`)
    .optional()
    .describe("Name shown in x-decision (default: the rule's index)."),
  when: When,
  use: target,
});

/**
 * What a cell or a rollout candidate sends its units to: a target, or a target
 * with the balancer that picks its replicas (SPEC §14: a balancer as an
 * experiment arm). Routing carries the balance on the outcome; the backend
 * uses it instead of its own `balance` for calls of that arm.
 */
const targetUse = z
  .union([
    target,
    z.strictObject({
      target,
      balance: z.enum(BALANCERS).describe("The balancer for this arm's calls, instead of the backend's own balance."),
    }),
  ])
  .describe(
    'A target "model@version", or { target, balance } to send the units to that target picked by another balancer.',
  );

const Experiment = z.strictObject({
  id: z.string().regex(SAFE_ID, `experiment ids are ${SAFE_ID_RULE}`),
  when: When.optional(),
  population: z.number().describe('Share of units in the experiment, in (0, 1].'),
  salt: z.string().optional().describe('Bucketing salt; default the experiment id.'),
  cells: z.record(z.string(), z.strictObject({ weight: percent, use: targetUse })),
});

const Rollout = z.strictObject({
  candidate: targetUse,
  percent: percent.default(0),
  salt: z
    .string()
    .optional()
    .describe(
      'Bucketing salt; default "{objective}:{candidate}" (for a { target, balance } candidate: "{objective}:{target} balance={balance}").',
    ),
  state: z.enum(['running', 'paused']).default('running'),
  steps: z.array(percent).optional().describe('Percent steps the controller walks through.'),
  holdSeconds: z.int().min(1).optional(),
  gates: z
    .strictObject({
      minRequests: z.int().min(1).default(500),
      maxErrorRate: z.number().min(0).max(1).optional(),
      maxP99Ratio: z.number().min(1).optional(),
      maxErrorRateIncrease: z
        .number()
        .min(0)
        .max(1)
        .optional()
        .describe(
          "Largest tolerated increase of the candidate's error rate over the baseline's, judged by a sequential test (always-valid p < 0.05), not a fixed threshold.",
        ),
      minShadowAgreement: z
        .number()
        .min(0)
        .max(1)
        .optional()
        .describe(
          'Smallest share of shadow comparisons (a shadow of the candidate with compare set) that agree; needs minRequests comparisons.',
        ),
      maxTtftRatio: z
        .number()
        .min(1)
        .optional()
        .describe(
          "Generators: largest p99 time to first token (first body byte) of the candidate over the baseline's.",
        ),
      maxScoreDrift: z
        .number()
        .min(0)
        .optional()
        .describe(
          "Scorers and classifiers: largest population stability index of the candidate's output scores against the baseline's (0.1 small, 0.25 large).",
        ),
      scoreSample: z
        .number()
        .min(0)
        .max(1)
        .optional()
        .describe('Share of replies read for maxScoreDrift (default 0.1), after they are sent, off the request path.'),
    })
    .optional(),
});

const Shadow = z.strictObject({
  use: target,
  percent: percent,
  compare: z.enum(['exact', 'numeric', 'topk-overlap']).optional(),
  tolerance: z
    .number()
    .min(0)
    .optional()
    .describe(
      'numeric: largest absolute difference that still agrees (default 1e-6); topk-overlap: share of the top k that may differ (default 0).',
    ),
  k: z.int().min(1).optional().describe('For compare: topk-overlap, how many leading items are compared (default 10).'),
});

/** Node's longest timer delay (2^31 − 1 ms, ~24.8 days): the bound of every policy budget. */
const MAX_TIMER_MS = 2_147_483_647;

export const Policy = z.strictObject({
  timeoutMs: z
    .int()
    .min(1)
    // A timer's longest delay: past it Node fires after 1 ms, which would cut every call at once.
    .max(MAX_TIMER_MS)
    .default(30000)
    .describe('Budget until the reply starts (status and first body byte), fallbacks included.'),
  replyTimeoutMs: z
    .int()
    .min(1)
    .max(MAX_TIMER_MS)
    .optional()
    .describe(
      "Budget for the whole reply, body included, from the request's arrival (default: the larger of timeoutMs and 60000). A reply cut by it ends visibly.",
    ),
  idempotent: z.boolean().default(false).describe('Safe to send twice: enables retries and hedging.'),
  retries: z.int().min(0).max(10).default(0),
  retryBudget: z.number().min(0).max(1).default(0.2).describe('Retries allowed as a share of live requests.'),
  hedgeAfterMs: z.int().min(1).optional(),
  maxBodyBytes: z
    .int()
    .min(1)
    .default(10 * 1024 * 1024),
  maxConcurrency: z
    .int()
    .min(1)
    .optional()
    .describe('Calls in flight for this objective; beyond it (and the queue) 503 overloaded.'),
  maxQueue: z
    .int()
    .min(0)
    .max(10000)
    .default(0)
    .describe('Calls that may wait for a slot (bounded by their deadline).'),
  fallback: z.array(target).default([]),
  static: z
    .strictObject({
      status: z
        .int()
        .min(200, 'a static answer is a final response: status 200-599 (1xx are interim responses)')
        .max(599)
        .default(200),
      headers: z
        .record(z.string(), z.string())
        .superRefine((headers, ctx) => checkHeaders(headers, ctx, 'response'))
        .optional()
        .describe(
          "Response headers; not framing or hop-by-hop ones (content-length, transfer-encoding, connection, …) nor Junction's own (x-model, x-decision, x-request-id, x-fallback, x-error-code).",
        ),
      body: z
        .unknown()
        .superRefine(boundedDepth)
        .optional()
        .describe(`A string (sent as text) or JSON, at most ${MAX_FREE_FORM_DEPTH} levels deep.`),
    })
    .superRefine((s, ctx) => {
      if (s.body !== undefined && NO_CONTENT.has(s.status))
        ctx.addIssue({
          code: 'custom',
          path: ['body'],
          message: `a ${s.status} answer has no body; remove body or pick another status`,
        });
    })
    .optional()
    .describe('Answer of last resort when every target failed.'),
});

/** Statuses whose response has no content (RFC 9110 §15.3.5, §15.3.6, §15.4.5). */
const NO_CONTENT: ReadonlySet<number> = new Set([204, 205, 304]);

/** Free-form JSON nested no deeper than MAX_FREE_FORM_DEPTH (a deeper one would overflow recursive walks). */
function boundedDepth(value: unknown, ctx: z.RefinementCtx): void {
  const at = tooDeep(value);
  if (at === undefined) return;
  ctx.addIssue({
    code: 'custom',
    message: `nested more than ${MAX_FREE_FORM_DEPTH} levels deep (at ${at.slice(0, 4).map(String).join('.')}…); flatten it`,
  });
}

/**
 * Header maps written on the wire: valid names and values, no name twice (any
 * case), and no framing or hop-by-hop header (a content-length that does not
 * match the body desyncs keep-alive); a response may not set Junction's own.
 * Upstream values are checked outside their ${env:}/${file:} references, which
 * are checked when resolved (backends/secrets.ts).
 */
function checkHeaders(headers: Record<string, string>, ctx: z.RefinementCtx, side: 'upstream' | 'response'): void {
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const issue = (message: string) => ctx.addIssue({ code: 'custom', path: [name], message });
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) {
      issue("expected an HTTP header name (letters, digits and !#$%&'*+.^_`|~-)");
      continue;
    }
    const twice = seen.get(lower);
    if (twice !== undefined) issue(`the same header as "${twice}" (header names ignore case); keep one`);
    seen.set(lower, name);
    if (FRAMING_HEADERS.has(lower))
      issue(
        `${lower} frames the message or belongs to one connection: Junction sets it, configuring it would break the framing; remove it`,
      );
    else if (side === 'response' && JUNCTION_HEADERS.has(lower))
      issue(`${lower} is written by Junction on every answer; remove it`);
    const literal = side === 'upstream' ? value.replace(/\$\{(env|file):[^}]+\}/g, '') : value;
    const problem = headerValueProblem(literal);
    if (problem !== undefined)
      issue(`a header value may hold visible ASCII, spaces and tabs only; this one has ${problem}`);
  }
}

export const Objective = z.strictObject({
  interface: Interface.default('json'),
  description: z.string().optional(),
  default: target,
  methods: z.array(z.enum(['POST', 'PUT', 'GET'])).default(['POST', 'PUT']),
  allowOverride: z.boolean().default(false),
  overrideTargets: z
    .array(target)
    .default([])
    .describe(
      'Targets an override on this objective may name besides the ones it routes, shadows or falls back to (a version not yet in use, opened for testing).',
    ),
  policy: Policy.default(Policy.parse({})),
  pins: z.record(z.string(), target).default({}),
  rules: z.array(Rule).default([]),
  experiments: z.array(Experiment).default([]),
  rollout: Rollout.optional(),
  shadow: z.array(Shadow).default([]),
  observability: z
    .strictObject({
      decisionLogSample: z.number().min(0).max(1).default(1),
    })
    .default({ decisionLogSample: 1 }),
  rateLimit: z
    .strictObject({ tpm })
    .optional()
    .describe(
      'Tokens per minute for the whole objective, every client together (shared across replicas with serve --redis).',
    ),
  cache: z
    .strictObject({
      ttlSeconds: z
        .number()
        .positive()
        .max(30 * 24 * 3600)
        .describe('How long a cached answer is served.'),
      maxBytes: z
        .int()
        .min(1)
        .max(64 * 1024 * 1024)
        .default(65536)
        .describe('Largest answer kept (a larger one is not cached).'),
      scope: z
        .enum(['client', 'shared'])
        .default('client')
        .describe(
          '`client`: a client only ever gets answers cached for its own calls; `shared`: every client shares them.',
        ),
      cacheable: z
        .boolean()
        .default(false)
        .describe(
          'OIP and JSON objectives: their answers are deterministic and may be cached (LLM calls are cached only when deterministic: embeddings, temperature 0 or a seed).',
        ),
    })
    .optional()
    .describe('A response cache keyed on the routed target and the normalized request (SPEC §16).'),
});

export const Client = z.strictObject({
  keySha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the hex SHA-256 digest of the key (junction keys new)'),
  objectives: z.array(z.string()).default(['*']).describe('Objective name globs this client may call.'),
  rateLimit: z
    .strictObject({
      rps: z.number().positive().optional().describe('Sustained requests per second.'),
      burst: z.number().min(1).optional().describe('Largest burst (default max(1, rps)).'),
      tpm: tpm.optional(),
    })
    .refine((l) => l.rps !== undefined || l.tpm !== undefined, 'give rps, tpm or both')
    .refine((l) => l.burst === undefined || l.rps !== undefined, 'burst belongs to rps: give rps too')
    .optional()
    .describe('Per client, local to each replica, or shared across replicas with serve --redis.'),
  tags: z
    .record(z.string().regex(SAFE_ID, `tag names are ${SAFE_ID_RULE}`), z.string().min(1).max(128))
    .refine((t) => Object.keys(t).length <= 8, 'at most 8 tags (each one is a metric label)')
    .default({})
    .describe('Team, project, …: spend is reported per tag and tag budgets apply (at most 8).'),
  budgets: z.array(Budget).default([]).describe('Spend budgets of this client.'),
  maxConcurrency: z.int().min(1).optional().describe('Requests in flight for this client; beyond it 503 overloaded.'),
  priority: z
    .enum(['critical', 'default', 'sheddable'])
    .default('default')
    .describe('Under overload sheddable traffic is refused first, critical last.'),
  allowOverride: z.boolean().default(false),
});

export const Config = z.strictObject({
  $schema: z.string().optional(),
  models: z.record(z.string(), Model).default({}),
  objectives: z.record(z.string(), Objective).default({}),
  clients: z.record(z.string(), Client).default({}),
  budgets: z.array(TagBudget).default([]).describe('Budgets shared by the clients carrying the given tags.'),
  timeZone: z
    .string()
    .default('UTC')
    .refine(validTimeZone, 'an IANA time zone, e.g. Europe/Amsterdam')
    .describe('Where budget days and months begin and end.'),
  spend: z
    .strictObject({
      onRedisDown: z
        .enum(['open', 'closed'])
        .default('open')
        .describe(
          'With serve --redis down: `open` keeps counting locally (a budget may overshoot), `closed` refuses calls a budget covers.',
        ),
    })
    .default({ onRedisDown: 'open' }),
  decisionLog: z
    .strictObject({
      context: z
        .strictObject({
          keep: z
            .union([z.literal('all'), z.array(z.string())])
            .default([])
            .describe(
              "Context keys logged besides those the objective's rules and experiments read (always logged, so a preview can replay them), or `all`.",
            ),
          never: z
            .array(z.string())
            .default([])
            .describe('Context keys never logged, whoever reads them (personal data): wins over keep and the rules.'),
        })
        .default({ keep: [], never: [] }),
    })
    .optional()
    .describe(
      "Which x-context-* keys the decision log writes (SPEC §18). Default: only the keys the objective's rules and experiments read.",
    ),
  auth: z
    .strictObject({
      anonymous: z
        .boolean()
        .default(false)
        .describe('Serve requests without an API key even when clients are configured.'),
    })
    .optional(),
});

export type Config = z.output<typeof Config>;
export type ConfigInput = z.input<typeof Config>;
export type ModelConfig = z.output<typeof Model>;
export type VersionConfig = z.output<typeof Version>;
export type BackendConfig = z.output<typeof Backend>;
export type OnnxBackendConfig = z.output<typeof OnnxBackend>;
export type HttpBackendConfig = z.output<typeof HttpBackend>;
export type ObjectiveConfig = z.output<typeof Objective>;
export type PolicyConfig = z.output<typeof Policy>;
export type RuleConfig = z.output<typeof Rule>;
export type WhenConfig = z.output<typeof When>;
export type ExperimentConfig = z.output<typeof Experiment>;
export type RolloutConfig = z.output<typeof Rollout>;
/** A cell's `use` or a rollout's `candidate`: `model@version` or `{ target, balance }` (read with armTarget, armBalance, armLabel below). */
export type TargetUse = z.output<typeof targetUse>;

// Every reader of a cell's `use` or a rollout's `candidate` goes through these
// (routing may import nothing of config but this file), so both forms mean the
// same everywhere.

/** The target an arm (a cell's `use`, a rollout's `candidate`) sends its units to. */
export function armTarget(use: TargetUse): string {
  return typeof use === 'string' ? use : use.target;
}

/** The balancer the arm names, or undefined when the target's backend picks with its own. */
export function armBalance(use: TargetUse): Balance | undefined {
  return typeof use === 'string' ? undefined : use.balance;
}

/**
 * The arm's one name wherever arms are told apart (gate series, rollout
 * status, the default rollout salt): `chat@1` for a plain target,
 * `chat@1 balance=prefix` with a balancer. A target ref has no space, so the
 * two forms never collide.
 */
export function armLabel(use: TargetUse): string {
  return typeof use === 'string' ? use : armName(use.target, use.balance);
}

/** `armLabel` from its parts. */
export function armName(target: string, balance: Balance | undefined): string {
  return balance === undefined ? target : `${target} balance=${balance}`;
}
export type ShadowConfig = z.output<typeof Shadow>;
export type ClientConfig = z.output<typeof Client>;
export type PriceConfig = z.output<typeof Price>;
export type BudgetConfig = z.output<typeof Budget>;
export type TagBudgetConfig = z.output<typeof TagBudget>;
export type CacheConfig = NonNullable<ObjectiveConfig['cache']>;
export type DecisionLogConfig = NonNullable<Config['decisionLog']>;

/** Whether Intl knows the zone (budgets' calendar windows are computed in it). */
function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
export type { InterfaceName } from './interfaces.js';
export type ModelClassName = z.output<typeof ModelClass>;
export type TrafficClass = z.output<typeof trafficClass>;
