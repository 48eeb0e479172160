// The Open Inference Protocol over gRPC (SPEC §13): `serve --grpc-port N`.
// Only the face is new: model calls go through the shared invoke path
// (admission, routing, policies, the request record and its observers), with
// `model_name` as the objective and `model_version` as an override request.
// ModelInfer's message is never decoded here: its model name and version are
// read from the wire bytes, and the bytes travel on as the call's body.
import { performance } from 'node:perf_hooks';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { Operation } from '../../call/types.js';
import { toJunctionError } from '../../errors.js';
import { loadOipGrpcService, SERVICE_NAME, type MethodName, type OipGrpcService } from '../../grpc/service.js';
import { GRPC_CONTENT_TYPE } from '../../grpc/content-type.js';
import { readModelRef, type ModelRef } from '../../grpc/wire.js';
import { newRecord } from '../../observe/record.js';
import { RequestIds } from '../../observe/request-ids.js';
import type { DataPlane } from '../data-plane.js';
import { readiness } from '../health.js';
import { invokeExchange } from '../invoke.js';
import { versionOverride } from '../oip.js';
import { grpcExchange } from './exchange.js';
import { headersOf } from './metadata.js';

export interface GrpcFaceOptions {
  port: number;
  host?: string;
  /** Largest message accepted (grpc-js refuses bigger ones with RESOURCE_EXHAUSTED); objectives' maxBodyBytes apply within it. */
  maxMessageBytes?: number;
  /** Reported by ServerMetadata. */
  version?: string;
}

export interface GrpcFace {
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

const DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024;

type Unary = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void;

export async function startGrpcFace(dp: DataPlane, opts: GrpcFaceOptions): Promise<GrpcFace> {
  const service = loadOipGrpcService();
  const maxMessage = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE;
  const server = new Server({
    'grpc.max_receive_message_length': maxMessage,
    'grpc.max_send_message_length': maxMessage,
  });
  const ids = new RequestIds(); // one per listener, as on the data plane
  const handlers: Record<MethodName, Unary> = {
    ServerLive: (_call, callback) => callback(null, { live: true }),
    ServerReady: (_call, callback) => callback(null, { ready: readiness(dp.runtime.current).ready }),
    ServerMetadata: (_call, callback) =>
      callback(null, { name: 'junction', version: opts.version ?? '', extensions: [] }),
    ModelReady: modelCall(dp, service, ids, 'ModelReady', 'ready', (req) => nameAndVersion(req)),
    ModelMetadata: modelCall(dp, service, ids, 'ModelMetadata', 'metadata', (req) => nameAndVersion(req)),
    ModelInfer: modelCall(dp, service, ids, 'ModelInfer', 'infer', (req) => readModelRef(req as Buffer)),
  };
  server.addService(service.passthrough, handlers);
  const address = `${opts.host ?? '127.0.0.1'}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => {
      if (err === null) return resolve(bound);
      // grpc-js reports a taken port inside its message; say it the way node:net does.
      reject(
        err.message.includes('EADDRINUSE')
          ? Object.assign(new Error(`listen EADDRINUSE: gRPC address ${address} already in use`), {
              code: 'EADDRINUSE',
            })
          : err,
      );
    });
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // Calls in flight get a moment to finish; then whatever is left is cut.
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

function nameAndVersion(req: unknown): ModelRef {
  const { name, version } = req as { name?: string; version?: string };
  return { name: name ?? '', version: version ?? '' };
}

function modelCall(
  dp: DataPlane,
  service: OipGrpcService,
  ids: RequestIds,
  method: MethodName,
  operation: Operation,
  modelOf: (req: unknown) => ModelRef,
): Unary {
  const path = `/${SERVICE_NAME}/${method}`;
  const encode = (value: object) => service.decoded[method]!.responseSerialize(value);
  return (call, callback) => {
    const start = performance.now();
    const headers = headersOf(call.metadata, call.getDeadline());
    const record = newRecord(ids.fromHeader(headers['x-request-id']), 'POST', path, start);
    // ModelInfer's message is the body, as it came; the other calls carry none.
    const body = operation === 'infer' ? (call.request as Buffer) : Buffer.alloc(0);
    if (operation === 'infer') headers['content-type'] = GRPC_CONTENT_TYPE;
    const exchange = grpcExchange(
      call,
      callback,
      headers,
      body,
      record,
      { encode, method, operation },
      dp.observers,
      dp.log,
    );
    let model: ModelRef;
    try {
      model = modelOf(call.request);
    } catch (err) {
      const jerr = toJunctionError(err);
      record.status = jerr.status;
      record.errorCode = jerr.code;
      exchange.error(jerr);
      return;
    }
    const ir = {
      face: 'oip' as const,
      operation,
      objective: model.name,
      query: '',
      override: model.version === '' ? undefined : versionOverride(dp, model.name, model.version),
    };
    invokeExchange(dp, exchange, record, ir).catch((err: unknown) => {
      // Refusals before the invoke path's own error handling (no config loaded yet).
      const jerr = toJunctionError(err);
      record.status = jerr.status;
      record.errorCode = jerr.code;
      exchange.error(jerr);
    });
  };
}
