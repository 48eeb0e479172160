// A real gRPC client of the OIP service, built from the repository's .proto,
// answering each call with its value or error and the response metadata.
import { credentials, Metadata, type Client, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { LOADER_OPTIONS, PROTO_PATH } from '../../src/grpc/service.js';

export interface GrpcResult<T = Record<string, any>> {
  value?: T;
  error?: ServiceError;
  /** Response headers (initial metadata), or the error's trailers. */
  metadata: Record<string, string>;
}

export interface OipClient {
  call<T = Record<string, any>>(
    method: string,
    request: object,
    metadata?: Record<string, string>,
    deadlineMs?: number,
  ): Promise<GrpcResult<T>>;
  /** Starts a call and cancels it after `afterMs`, as a caller that gives up does. */
  cancelAfter(method: string, request: object, afterMs: number): Promise<GrpcResult>;
  close(): void;
}

export function oipClient(address: string): OipClient {
  const pkg = loadPackageDefinition(loadSync(PROTO_PATH, LOADER_OPTIONS)) as any;
  const client: Client & Record<string, (...args: unknown[]) => ClientUnaryCall> =
    new pkg.inference.GRPCInferenceService(address, credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    });
  return {
    call(method, request, metadata = {}, deadlineMs) {
      const md = new Metadata();
      for (const [k, v] of Object.entries(metadata)) md.set(k, v);
      return new Promise((resolve) => {
        let headers: Record<string, string> = {};
        const flat = (m: Metadata) =>
          Object.fromEntries(Object.entries(m.getMap()).filter(([, v]) => typeof v === 'string')) as Record<
            string,
            string
          >;
        const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
        const pending = client[method]!(request, md, options, (error: ServiceError | null, value: any) => {
          resolve(error ? { error, metadata: flat(error.metadata) } : { value, metadata: headers });
        });
        pending.on('metadata', (m: Metadata) => {
          headers = flat(m);
        });
      });
    },
    cancelAfter(method, request, afterMs) {
      return new Promise((resolve) => {
        const pending = client[method]!(request, new Metadata(), {}, (error: ServiceError | null, value: any) =>
          resolve({ error: error ?? undefined, value, metadata: {} }),
        );
        setTimeout(() => pending.cancel(), afterMs);
      });
    },
    close: () => client.close(),
  };
}
