// `protocol: oip-grpc`: a version served by Triton, KServe or any server of
// the Open Inference Protocol over gRPC. A gRPC caller's ModelInfer bytes
// travel as they were sent, with only the model name and version rewritten to
// the backend's own (backend.model / backend.version); the answer's bytes come
// back untouched. An HTTP caller's OIP JSON is encoded on the way (and the
// answer decoded back), so the objective serves both faces. Replicas are
// balanced, ejected and health-checked by the same EndpointSet as HTTP ones;
// the call's deadline is the gRPC deadline.
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { readJsonBody } from '../../call/json-body.js';
import type { Call, Reply } from '../../call/types.js';
import { ConfigError } from '../../config/issues.js';
import type { HttpBackendConfig } from '../../config/schema.js';
import { abortError } from '../../call/abort-reason.js';
import { JunctionError } from '../../errors.js';
import { carriesGrpc, GRPC_CONTENT_TYPE } from '../../grpc/content-type.js';
import { loadOipGrpcService, type MethodName } from '../../grpc/service.js';
import { httpOfStatus } from '../../grpc/status.js';
import { inferRequestFromJson, type InferResponseMessage } from '../../grpc/oip-json.js';
import { binaryHeaderLength, splitBinaryRequest } from '../protocols/oip-binary.js';
import { jsonReply } from '../json-reply.js';
import { inferAnswer, inferRequestFromBinary } from './binary-tensors.js';
import { modelRefBytes, rewriteModelRef, rewrittenParts } from '../../grpc/wire.js';
import type { Readable } from 'node:stream';
import { PROTOCOLS, type Operation } from '../../config/protocols/index.js';
import { NO_TELEMETRY, type Telemetry } from '../../observe/telemetry.js';
import type { Target } from '../../routing/types.js';
import { EndpointSet, endpointOptions, HEALTH_DEFAULTS } from '../http/endpoints.js';
import type { Balance } from '../../config/schema.js';
import { makeBalancer } from '../balance/index.js';
import { loadReporter, reportMaxAge, type RemoteOptions } from '../load/setup.js';
import { servedModel, servedVersion } from '../protocols/names.js';
import { unsupported } from '../protocols/unsupported.js';
import type { Backend } from '../types.js';
import { GrpcEndpoint } from './channels.js';
import { inferStream } from './h2-infer.js';
import { splitEndpoints, startDiscovery } from '../discovery.js';
import { GrpcHealthChecker } from './health.js';
import { grpcUpstreamConfig } from './upstream-config.js';

/** Largest message either way; objectives' maxBodyBytes bound requests well below it. */
const MAX_MESSAGE = 64 * 1024 * 1024;

/** Caller headers that are HTTP's or Junction's, not metadata for the backend. */
const NOT_METADATA: ReadonlySet<string> = new Set([
  'content-type',
  'content-length',
  'accept',
  'accept-encoding',
  'user-agent',
  'x-deadline-ms',
  'host',
  'connection',
  'te',
]);

/** Each operation's RPC, as the protocol declares it (config/protocols/oip-grpc.ts): a name that is no RPC does not compile. */
const METHOD_OF: Readonly<Partial<Record<Operation, MethodName>>> = PROTOCOLS['oip-grpc'].operations;

/** What gRPC metadata accepts (grpc-js's own checks): lowercase token keys, printable ASCII values. */
const METADATA_KEY = /^[0-9a-z_.-]+$/;
const METADATA_VALUE = /^[\x20-\x7e]*$/;

export function createGrpcBackend(
  target: Target,
  cfg: HttpBackendConfig,
  baseDir: string,
  telemetry: Telemetry = NO_TELEMETRY,
  options: RemoteOptions = {},
): Backend {
  const at = `models.${target.model}.versions.${target.version}.backend`;
  cfg.endpoints.forEach((url, i) => {
    if (!/^grpcs?:\/\/[^/]+:\d+\/?$/.test(url)) {
      throw new ConfigError([
        {
          path: `${at}.endpoints.${i}`,
          message: `oip-grpc endpoints are grpc://host:port (or grpcs://host:port), not ${url}`,
        },
      ]);
    }
  });
  const service = loadOipGrpcService();
  const upstream = grpcUpstreamConfig(cfg, baseDir, at);
  const fixedHeaders = upstream.headers;
  const settings = {
    channels: cfg.connections,
    tls: upstream.tls,
    servername: cfg.tls?.servername,
    maxMessageBytes: MAX_MESSAGE,
    tlsFiles: upstream.tlsFiles,
  };
  // With `discovery`, endpoints naming a DNS name are resolved (../discovery.ts), as for HTTP backends.
  const { names, fixed } = splitEndpoints(cfg);
  const set = new EndpointSet<GrpcEndpoint>(
    fixed,
    endpointOptions(cfg),
    (e, healthy) => telemetry.endpointHealthy(target.id, e.url, healthy),
    undefined,
    (url) => new GrpcEndpoint(url, settings),
    (name) => makeBalancer(name, cfg),
  );
  // Replica picking and load reports as for HTTP backends (SPEC §14); a gRPC message has no prompt key.
  const defaultBalance: Balance = cfg.balance ?? 'p2c';
  const reporter = loadReporter(target, cfg, set, fixedHeaders, undefined, telemetry, options.logger);
  reporter?.start();
  set.input.maxAgeMs = reportMaxAge(cfg);
  set.input.prefixBlocks = 0;
  set.input.adapter = servedModel(cfg, target);
  for (const e of set.endpoints) telemetry.endpointOpened(target.id, e.url);
  const found = startDiscovery(set, names, cfg, {
    backend: target.id,
    telemetry,
    logger: options.logger,
    dnsServers: options.dnsServers,
    // A grpcs replica found by address still expects the certificate of the name.
    open: (url, host) =>
      new GrpcEndpoint(
        url,
        url.startsWith('grpcs:') ? { ...settings, servername: settings.servername ?? host } : settings,
      ),
    label: (e) => e.url,
  });
  const discovery = found?.discovery;
  const discovered = found?.started;
  const model = { name: servedModel(cfg, target), version: servedVersion(cfg, target) };
  const checker = new GrpcHealthChecker(set, service, {
    intervalMs: cfg.health?.intervalMs ?? HEALTH_DEFAULTS.intervalMs,
    timeoutMs: cfg.health?.timeoutMs ?? HEALTH_DEFAULTS.timeoutMs,
    model,
    headers: fixedHeaders,
  });
  checker.start();

  /**
   * The request message's bytes. A gRPC caller's ModelInfer is forwarded as it
   * came (name and version rewritten); an HTTP caller's OIP JSON is encoded,
   * since a JSON body has no bytes a gRPC server could take; its binary
   * tensors become raw_input_contents as they are. `header` is the HTTP
   * caller's JSON (the binary request's header), which says how to answer.
   */
  async function request(
    call: Call,
    method: MethodName,
  ): Promise<{ message: Buffer; header?: Record<string, unknown> }> {
    if (method !== 'ModelInfer')
      return { message: service.decoded[method]!.requestSerialize({ name: model.name, version: model.version }) };
    if (carriesGrpc(call)) return { message: rewriteModelRef(await call.body.readAll(), model.name, model.version) };
    const objective = call.objective.name;
    const headerLength = binaryHeaderLength(call.headers, objective);
    const [header, value] =
      headerLength === undefined
        ? await readJsonBody(call).then((json) => [json, inferRequestFromJson(json, objective)] as const)
        : await call.body.readAll().then((body) => {
            const split = splitBinaryRequest(body, headerLength, objective);
            return [split.header, inferRequestFromBinary(split, objective)] as const;
          });
    const message = service.decoded.ModelInfer!.requestSerialize({
      ...value,
      model_name: model.name,
      model_version: model.version,
    });
    return { message, header };
  }

  /** A decoded answer as the OIP JSON (or binary tensors, when asked) an HTTP caller reads. */
  function httpAnswer(method: MethodName, answer: object, call: Call, header?: Record<string, unknown>): Reply {
    if (method === 'ModelReady')
      return jsonReply({ name: model.name, ready: (answer as { ready?: boolean }).ready === true });
    if (method === 'ModelInfer') return inferAnswer(header, answer as InferResponseMessage, call.objective.name);
    return jsonReply(answer);
  }

  /** The replica for this call (SPEC §14), noted in the telemetry and the call's record. */
  function pick(call: Call, now: number): GrpcEndpoint {
    const balance =
      call.target.id === call.outcome.target.id ? (call.outcome.balance ?? defaultBalance) : defaultBalance;
    const endpoint = set.pickOrRefuse(now, target.id, call.objective.name, balance);
    const reason = set.reason;
    telemetry.picked(target.id, reason);
    // A shadow copy shares the live call's record: the record names the live call's replica only.
    if (call.record !== undefined && call.headers['x-shadow-of'] === undefined) {
      call.record.endpoint = endpoint.address;
      call.record.pick = reason;
    }
    return endpoint;
  }

  /** The backend's own model reference, as a ModelInferRequest opens with it. */
  const refBytes = modelRefBytes(model.name, model.version);
  const inferPath = service.passthrough.ModelInfer!.path;

  /**
   * A gRPC caller's ModelInfer, proxied as an HTTP/2 stream (h2-infer.ts): a
   * message the face streams goes on as it arrives behind the backend's own
   * reference; one held whole (a policy may send it again, or it came
   * compressed) goes as its rewritten parts, never joined.
   */
  async function sendStream(call: Call): Promise<Reply> {
    // The replica first: a call no replica can take leaves its body unopened.
    const now = performance.now();
    const endpoint = pick(call, now);
    const body = call.body;
    let parts: Buffer[];
    let rest: { source: Readable; length: number } | undefined;
    if (body.afterModelRef && !body.replayable) {
      parts = [refBytes];
      rest = { source: body.open() as Readable, length: body.length ?? 0 };
    } else {
      parts = rewrittenParts(await body.readAll(), model.name, model.version);
    }
    endpoint.outstanding++;
    let open = true;
    const release = () => {
      if (open) endpoint.outstanding--;
      open = false;
    };
    try {
      const reply = await inferStream(endpoint.h2, {
        path: inferPath,
        metadata: metadataRecord(call),
        timeoutMs: Math.max(1, call.deadline - now),
        parts,
        rest,
        signal: call.signal,
        onBodyError: (err) =>
          err instanceof JunctionError
            ? err
            : new JunctionError('client_closed', 'the caller left before its message arrived', {
                objective: call.objective.name,
              }),
      });
      set.success(endpoint);
      (reply.body as Readable).once('close', release);
      return reply;
    } catch (err) {
      release();
      return failure(err, call, () => set.failure(endpoint, performance.now()));
    }
  }

  async function send(call: Call): Promise<Reply> {
    const method = METHOD_OF[call.operation];
    if (method === undefined) throw unsupported('oip-grpc', call);
    if (method === 'ModelInfer' && call.body.grpcCaller) return sendStream(call);
    const { message, header } = await request(call, method);
    const now = performance.now();
    const endpoint = pick(call, now);
    const remaining = Math.max(1, Math.floor(call.deadline - now));
    const metadata = metadataFor(call);
    const m = service.passthrough[method]!;
    const asBytes = carriesGrpc(call);
    endpoint.outstanding++;
    try {
      const answer = await new Promise<Buffer | object>((resolve, reject) => {
        if (call.signal.aborted) {
          reject(call.signal.reason);
          return;
        }
        const pending = endpoint.client().makeUnaryRequest(
          m.path,
          (b: Buffer) => b,
          asBytes ? (b: Buffer) => b : service.decoded[method]!.responseDeserialize,
          message,
          metadata,
          { deadline: Date.now() + remaining },
          (err, value) => (err ? reject(err) : resolve(value as Buffer | object)),
        );
        const cancel = () => pending.cancel();
        call.signal.addEventListener('abort', cancel, { once: true });
        pending.on('status', () => call.signal.removeEventListener('abort', cancel));
      });
      set.success(endpoint);
      return Buffer.isBuffer(answer)
        ? { status: 200, headers: { 'content-type': GRPC_CONTENT_TYPE }, body: answer }
        : httpAnswer(method, answer, call, header);
    } catch (err) {
      return failure(err, call, () => set.failure(endpoint, performance.now()));
    } finally {
      endpoint.outstanding--;
    }
  }

  function metadataFor(call: Call): Metadata {
    const md = new Metadata();
    const values = metadataRecord(call);
    for (const key in values) md.set(key, values[key]!);
    return md;
  }

  /** The caller's headers that gRPC metadata may carry, the backend's own headers, and the request id. */
  function metadataRecord(call: Call): Record<string, string> {
    const md: Record<string, string> = {};
    const headers = call.headers;
    for (const key in headers) {
      const value = headers[key];
      // HTTP allows header names and values gRPC metadata refuses (md.set throws on them): those stay behind.
      if (
        typeof value === 'string' &&
        !NOT_METADATA.has(key) &&
        !key.startsWith('grpc-') &&
        !key.endsWith('-bin') &&
        METADATA_KEY.test(key) &&
        METADATA_VALUE.test(value)
      )
        md[key] = value;
    }
    for (const key in fixedHeaders) md[key] = fixedHeaders[key]!;
    md['x-request-id'] = call.requestId;
    return md;
  }

  /**
   * Ours to report as JunctionErrors: the caller gone, the deadline, the backend
   * unreachable (UNAVAILABLE: retry and fallback may go elsewhere). Any other
   * status is the backend's answer: it passes through as it came.
   */
  function failure(err: unknown, call: Call, countFailure: () => void): Reply {
    const objective = call.objective.name;
    if (call.signal.aborted) throw abortError(call.signal.reason, objective, `call to ${target.id} aborted`);
    if (err instanceof JunctionError) throw err;
    const e = err as Partial<ServiceError>;
    if (e.code === Status.DEADLINE_EXCEEDED) {
      throw new JunctionError('deadline_exceeded', `${target.id} did not answer within the deadline`, {
        objective,
        cause: err,
      });
    }
    if (e.code === undefined || e.code === Status.UNAVAILABLE || e.code === Status.CANCELLED) {
      countFailure();
      throw new JunctionError('upstream_error', `${target.id} failed: ${e.details ?? (err as Error).message}`, {
        objective,
        cause: err,
      });
    }
    const status = httpOfStatus(e.code);
    if (status >= 500) countFailure();
    const details = e.details ?? '';
    return {
      status,
      // Percent-encoded, as gRPC itself sends grpc-message: any text fits an HTTP header that way.
      headers: {
        'content-type': 'application/json',
        'grpc-status': String(e.code),
        'grpc-message': encodeURIComponent(details),
      },
      body: Buffer.from(JSON.stringify({ error: details })),
    };
  }

  return {
    send,
    healthy: () => set.anyAvailable(performance.now()),
    replicas: () => set.views(performance.now()),
    discovery: () => discovery?.views() ?? [],
    ready: () => discovered ?? Promise.resolve(),
    endpoint: () => cfg.endpoints[0],
    close: async () => {
      discovery?.stop();
      checker.stop();
      await reporter?.stop();
      await set.close();
      for (const e of set.endpoints) telemetry.endpointClosed(target.id, e.url);
    },
  };
}
