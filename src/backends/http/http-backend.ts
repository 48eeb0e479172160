// A version served by remote HTTP endpoints. The body streams to the picked
// endpoint untouched; the response streams back; protocol specifics are only
// the path, the readiness check and, for openai, the `model` field (see
// ../protocols/).
import { PROTOCOLS, type ProtocolDeclaration } from '../../config/protocols/index.js';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { Call, Reply } from '../../call/types.js';
import { ConfigError, type ConfigIssue } from '../../config/issues.js';
import type { HttpBackendConfig } from '../../config/schema.js';
import { JunctionError } from '../../errors.js';
import { abortError } from '../../call/abort-reason.js';
import { redactUrl } from '../../config/redact.js';
import { NO_TELEMETRY, type Telemetry } from '../../observe/telemetry.js';
import type { Target } from '../../routing/types.js';
import { HTTP_WIRES } from '../protocols/index.js';
import type { WireProtocol } from '../protocols/types.js';
import { resolveHeaders } from '../secrets.js';
import { loadTlsOptions } from '../tls.js';
import type { Backend } from '../types.js';
import { Endpoint, EndpointSet, endpointOptions, HEALTH_DEFAULTS } from './endpoints.js';
import { splitEndpoints, startDiscovery } from '../discovery.js';
import type { Balance } from '../../config/schema.js';
import { makeBalancer, PREFIX_DEFAULTS } from '../balance/index.js';
import { prefixKey, promptField } from '../balance/prefix-key.js';
import { loadReporter, reportMaxAge, type RemoteOptions } from '../load/setup.js';
import { servedModel } from '../protocols/names.js';
import { HealthChecker } from './health-check.js';

export function createHttpBackend(
  target: Target,
  cfg: HttpBackendConfig,
  baseDir = process.cwd(),
  telemetry: Telemetry = NO_TELEMETRY,
  options: RemoteOptions = {},
): Backend {
  const found = HTTP_WIRES[cfg.protocol];
  // backends/registry.ts sends only HTTP-transport protocols here.
  if (!found) throw new Error(`protocol "${cfg.protocol}" is not carried over HTTP`);
  const protocol: WireProtocol = found;
  // Secrets and certificates are read now, at apply time: a missing one refuses the revision.
  const at = `models.${target.model}.versions.${target.version}.backend`;
  const issues: ConfigIssue[] = [];
  // The protocol's own required headers (Anthropic's version), unless the backend's configured ones set them.
  const declared: ProtocolDeclaration = PROTOCOLS[cfg.protocol];
  const extraHeaders = {
    ...declared.headers,
    ...resolveHeaders(cfg.headers, `${at}.headers`, baseDir, issues),
  };
  const tls = loadTlsOptions(cfg.tls, `${at}.tls`, baseDir, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  const hasExtraHeaders = Object.keys(extraHeaders).length > 0;
  // With `discovery`, endpoints naming a DNS name are resolved (discovery.ts); the others are replicas as written.
  const { names, fixed } = splitEndpoints(cfg);
  const endpointOpts = endpointOptions(cfg, tls);
  const set = new EndpointSet(
    fixed,
    endpointOpts,
    (e, healthy) => telemetry.endpointHealthy(target.id, e.address, healthy),
    undefined,
    undefined,
    (name) => makeBalancer(name, cfg),
  );
  for (const e of set.endpoints) telemetry.endpointOpened(target.id, e.address);
  const discovering = startDiscovery(set, names, cfg, {
    backend: target.id,
    telemetry,
    logger: options.logger,
    dnsServers: options.dnsServers,
    // An https replica found by address still expects the certificate of the name.
    open: (url, host) =>
      new Endpoint(
        url,
        endpointOpts.connections,
        url.startsWith('https:') ? { ...tls, servername: tls?.servername ?? host } : tls,
      ),
    label: (e) => e.address,
  });
  const discovery = discovering?.discovery;
  const discovered = discovering?.started;

  // A configured path is absolute on the endpoint's origin (what an operator
  // would curl); the protocol's own path follows the endpoint's base path.
  const protocolHealth = protocol.healthPath(cfg, target);
  const checker =
    cfg.health?.path !== undefined || protocolHealth !== undefined
      ? new HealthChecker(set, {
          path: (e) => cfg.health?.path ?? upstreamPath(e.basePath, protocolHealth!),
          intervalMs: cfg.health?.intervalMs ?? HEALTH_DEFAULTS.intervalMs,
          timeoutMs: cfg.health?.timeoutMs ?? HEALTH_DEFAULTS.timeoutMs,
          healthy:
            cfg.health?.path === undefined && protocol.healthy
              ? protocol.healthy.bind(protocol)
              : (status) => status >= 200 && status < 300,
          headers: extraHeaders,
        })
      : undefined;
  checker?.start();

  // The model's part of every path (escaped names, the version's form), made once per applied revision.
  const modelBase = protocol.modelBase(cfg, target);

  // Replica picking (SPEC §14): the backend's balancer, or the one a cell names for this target.
  const defaultBalance: Balance = cfg.balance ?? 'p2c';
  const reporter = loadReporter(target, cfg, set, extraHeaders, tls, telemetry, options.logger);
  reporter?.start();
  const orca = cfg.load?.orca === true ? reporter : undefined;
  const blockChars = cfg.prefix?.blockChars ?? PREFIX_DEFAULTS.blockChars;
  const blocks = cfg.prefix?.blocks ?? PREFIX_DEFAULTS.blocks;
  const adapterName = servedModel(cfg, target);
  set.input.maxAgeMs = reportMaxAge(cfg);

  async function send(call: Call): Promise<Reply> {
    const rewritten = protocol.rewriteBody ? await protocol.rewriteBody(call, cfg) : undefined;
    const path = protocol.path(call, cfg, modelBase);
    const now = performance.now();
    const balance =
      call.target.id === call.outcome.target.id ? (call.outcome.balance ?? defaultBalance) : defaultBalance;
    if (balance === 'prefix') {
      const field = promptField(call.operation);
      // The key is read only from bytes already in memory: a streamed body is never read ahead.
      const raw = rewritten ?? (call.body.replayable ? (call.body.open() as Buffer) : undefined);
      const input = set.input;
      input.prefixBlocks =
        field !== undefined && raw !== undefined ? prefixKey(raw, field, blockChars, blocks, input.prefix) : 0;
      input.noKey =
        field === undefined ? 'fallback-no-key' : raw === undefined ? 'fallback-streamed-body' : 'prefix-short';
    } else if (balance === 'adapter') set.input.adapter = adapterName;
    const endpoint = set.pickOrRefuse(now, target.id, call.objective.name, balance);
    const reason = set.reason;
    telemetry.picked(target.id, reason);
    const record = call.record;
    // A shadow copy shares the live call's record: the record names the live call's replica only.
    if (record !== undefined && call.headers['x-shadow-of'] === undefined) {
      record.endpoint = endpoint.address;
      record.pick = reason;
    }
    const remaining = Math.max(1, Math.floor(call.deadline - now));
    // The call's headers are shared with whatever is sent after this attempt (a fallback to another
    // target, a retry, a shadow copy): this target's credentials, and a rewritten body's length,
    // go on a copy of its own. Only the two stamped below, which every backend overwrites, go on
    // the call's object, sparing the common case a copy.
    let headers = call.headers;
    if (rewritten !== undefined || hasExtraHeaders) {
      headers = { ...call.headers };
      if (rewritten !== undefined) headers['content-length'] = String(rewritten.length);
      // Configured headers (credentials) win over the caller's, whose authorization never reaches here.
      for (const name in extraHeaders) headers[name] = extraHeaders[name];
    }
    headers['x-request-id'] = call.requestId;
    headers['x-deadline-ms'] = String(remaining);
    const hasBody = call.method !== 'GET' && call.method !== 'HEAD';
    endpoint.outstanding++;
    let response;
    try {
      response = await endpoint.pool.request({
        path: upstreamPath(endpoint.basePath, path),
        method: call.method,
        headers,
        body: hasBody ? (rewritten ?? call.body.open()) : null,
        signal: call.signal,
        headersTimeout: remaining,
        // An idle backstop between body chunks; the whole reply's budget is http/reply.ts's guard.
        bodyTimeout: Math.max(1, Math.floor(call.replyDeadline - now)),
      });
    } catch (err) {
      endpoint.outstanding--;
      throw upstreamFailure(err, call, target, () => set.failure(endpoint, performance.now()));
    }
    if (response.statusCode >= 500) set.failure(endpoint, performance.now());
    else set.success(endpoint);
    if (orca !== undefined) orca.orca(endpoint, response.headers['endpoint-load-metrics']);
    const body = response.body as unknown as Readable;
    const whole = wholeBody(body, response.headers['content-length']);
    if (whole !== undefined) {
      endpoint.outstanding--;
      return { status: response.statusCode, headers: response.headers, body: whole };
    }
    body.on('close', () => {
      endpoint.outstanding--;
    }); // 'close' comes once
    return { status: response.statusCode, headers: response.headers, body };
  }

  return {
    send,
    healthy: () => set.anyAvailable(performance.now()),
    replicas: () => set.views(performance.now()),
    discovery: () => discovery?.views() ?? [],
    ready: () => discovered ?? Promise.resolve(),
    endpoint: () => redactUrl(cfg.endpoints[0]!),
    close: async () => {
      discovery?.stop();
      checker?.stop();
      await reporter?.stop();
      await set.close();
      for (const e of set.endpoints) telemetry.endpointClosed(target.id, e.address);
    },
  };
}

/**
 * The reply's body when all of it came in the read that brought its headers
 * (a small answer almost always does: undici has pushed every byte before the
 * request's promise settles), else undefined. Handed over as one Buffer — the
 * same bytes, uncopied when they came in one chunk — it goes to the caller in
 * one write, without a pipe, a reply timer or per-chunk listeners.
 */
function wholeBody(body: Readable, contentLength: string | string[] | undefined): Buffer | undefined {
  if (typeof contentLength !== 'string' || body.readableLength === 0) return undefined;
  if (body.readableLength !== Number(contentLength)) return undefined; // more to come: it streams
  return body.read() as Buffer;
}

function upstreamPath(base: string, rest: string): string {
  const path = base + rest;
  return path.charCodeAt(0) === 47 /* / */ ? path : `/${path}`;
}

/**
 * undici errors about the request Junction was asked to send, not about the
 * endpoint: another endpoint would refuse it the same way, so they never count
 * against an endpoint's health.
 */
const REQUEST_SIDE: ReadonlySet<string> = new Set([
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_INVALID_ARG',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

function upstreamFailure(err: unknown, call: Call, target: Target, countFailure: () => void): JunctionError {
  const objective = call.objective.name;
  if (err instanceof JunctionError) return err; // e.g. payload_too_large from the body stream
  if (call.signal.aborted) return abortError(call.signal.reason, objective, `call to ${target.id} aborted`);
  if (call.body.failed) {
    // The caller's body broke (it left mid-upload): the endpoint did nothing wrong.
    return new JunctionError('client_closed', `the request body was cut before it was sent to ${target.id}`, {
      objective,
      cause: err,
    });
  }
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new JunctionError('deadline_exceeded', `${target.id} did not answer within the deadline`, {
      objective,
      cause: err,
    });
  }
  if (code !== undefined && REQUEST_SIDE.has(code)) {
    return new JunctionError(
      'invalid_request',
      `the request cannot be sent to ${target.id}: ${(err as Error).message}`,
      { objective, cause: err },
    );
  }
  countFailure();
  // The reply names the target and the kind of failure, never the endpoint's address (logs keep the cause).
  return new JunctionError('upstream_error', `${target.id} failed${code ? ` (${code})` : ''}`, {
    objective,
    cause: err,
  });
}
