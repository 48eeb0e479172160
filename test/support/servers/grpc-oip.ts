// A real gRPC model server for tests, speaking the Open Inference Protocol
// v2 service from the repository's .proto as Triton does (Triton itself cannot
// run here): unknown models and versions are NOT_FOUND, readiness per model
// and version, ModelInfer answers an identity model (each input comes back as
// OUTPUT{i}, raw contents as raw contents). It keeps the exact bytes of every
// ModelInfer message it received, its metadata and its deadline, and can be
// told to fail or stall.
import { Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { loadOipGrpcService } from '../../../src/grpc/service.js';

export interface Received {
  method: string;
  /** ModelInfer: the message bytes exactly as they arrived. */
  bytes?: Buffer;
  request: Record<string, unknown>;
  metadata: Record<string, string>;
  /** Milliseconds left until the caller's gRPC deadline when the call arrived (Infinity: none). */
  deadlineMs: number;
}

export interface GrpcModelServer {
  address: string;
  url: string;
  received: Received[];
  /** ModelInfer calls the caller cancelled before the answer (by their id). */
  cancelled: string[];
  ready: boolean;
  /** The next `times` ModelInfer calls fail with `code`. */
  failNext(code: status, times?: number, message?: string): void;
  /** Every ModelInfer waits this long before answering. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startGrpcModelServer(
  models: Record<string, string[]>,
  port = 0,
  creds = ServerCredentials.createInsecure(),
  host = '127.0.0.1',
): Promise<GrpcModelServer> {
  const service = loadOipGrpcService();
  const decodeInfer = (bytes: Buffer) => service.decodeInferRequest(bytes);
  const encodeInfer = (value: object) => service.encodeInferResponse(value);
  const server = new Server({
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  let failures: { code: status; left: number; message: string } | undefined;
  const state = { ready: true, delayMs: 0 };
  const received: Received[] = [];
  const cancelled: string[] = [];

  const note = (
    method: string,
    call: ServerUnaryCall<unknown, unknown>,
    request: Record<string, unknown>,
    bytes?: Buffer,
  ) => {
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) if (typeof v === 'string') metadata[k] = v;
    const d = call.getDeadline();
    const at = typeof d === 'number' ? d : d.getTime();
    received.push({ method, bytes, request, metadata, deadlineMs: at - Date.now() });
  };
  const known = (name: string, version: string) =>
    models[name] !== undefined && (version === '' || models[name].includes(version));
  const notFound = (name: string, version: string) => ({
    code: status.NOT_FOUND,
    details: `Request for unknown model: '${name}'${version === '' ? '' : ` version ${version}`} is not found`,
    metadata: new Metadata(),
  });

  const impl = {
    ServerLive: (_c: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => cb(null, { live: true }),
    ServerReady: (c: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
      note('ServerReady', c, {});
      cb(null, { ready: state.ready });
    },
    ServerMetadata: (_c: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) =>
      cb(null, { name: 'test-triton', version: '2.0', extensions: [] }),
    ModelReady: (c: ServerUnaryCall<{ name: string; version: string }, unknown>, cb: sendUnaryData<unknown>) => {
      note('ModelReady', c, c.request);
      const { name, version } = c.request;
      if (!known(name, version)) return cb(notFound(name, version));
      cb(null, { ready: state.ready });
    },
    ModelMetadata: (c: ServerUnaryCall<{ name: string; version: string }, unknown>, cb: sendUnaryData<unknown>) => {
      note('ModelMetadata', c, c.request);
      const { name, version } = c.request;
      if (!known(name, version)) return cb(notFound(name, version));
      cb(null, {
        name,
        versions: models[name],
        platform: 'test_identity',
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: ['-1', '16'] }],
        outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: ['-1', '16'] }],
      });
    },
    ModelInfer: (c: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
      const req = decodeInfer(c.request);
      note('ModelInfer', c, req as unknown as Record<string, unknown>, c.request);
      c.once('cancelled', () => cancelled.push(req.id));
      const answer = () => {
        // A delayed call its caller cancelled gets no answer, and must not use up a failure
        // that a later test injected (its timer may fire during that test).
        if (c.cancelled) return;
        if (failures !== undefined && failures.left > 0) {
          failures.left--;
          return cb({ code: failures.code, details: failures.message, metadata: new Metadata() });
        }
        if (!known(req.model_name, req.model_version)) return cb(notFound(req.model_name, req.model_version));
        cb(
          null,
          encodeInfer({
            model_name: req.model_name,
            model_version: req.model_version || models[req.model_name]!.at(-1),
            id: req.id,
            outputs: req.inputs.map((t, i) => ({
              name: `OUTPUT${i}`,
              datatype: t.datatype,
              shape: t.shape,
              contents: t.contents ?? undefined,
            })),
            raw_output_contents: req.raw_input_contents,
          }),
        );
      };
      if (state.delayMs > 0) setTimeout(answer, state.delayMs);
      else answer();
    },
  };
  // ModelInfer in bytes (to keep what arrived), everything else decoded as any server would.
  server.addService({ ...service.decoded, ModelInfer: service.passthrough.ModelInfer! }, impl);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  const address = `${host}:${bound}`;
  return {
    address,
    url: `${creds._isSecure() ? 'grpcs' : 'grpc'}://${address}`,
    received,
    cancelled,
    get ready() {
      return state.ready;
    },
    set ready(v: boolean) {
      state.ready = v;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(v: number) {
      state.delayMs = v;
    },
    failNext(code, times = 1, message = 'injected failure') {
      failures = { code, left: times, message };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}
