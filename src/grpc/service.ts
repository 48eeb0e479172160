// The Open Inference Protocol v2 gRPC service (proto/grpc_predict_v2.proto),
// loaded once per server or backend that needs it. ModelInfer carries the
// message bytes as they are (Buffer in, Buffer out): tensors are never decoded
// on the way through; the small calls (health, metadata) are decoded as usual.
// The full codecs stay available for the few places that must read or write a
// whole message (in-process ONNX, a JSON reply turned into protobuf).
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type MethodDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export const SERVICE_NAME = 'inference.GRPCInferenceService';

/** The .proto kept in the repository (same path relative to src/ and dist/). */
export const PROTO_PATH = fileURLToPath(new URL('../../proto/grpc_predict_v2.proto', import.meta.url));

export type MethodName =
  'ServerLive' | 'ServerReady' | 'ModelReady' | 'ServerMetadata' | 'ModelMetadata' | 'ModelInfer';

/** Field names as in the .proto (snake_case), 64-bit integers as strings, bytes as Buffers, defaults filled in. */
export const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true } as const;

type AnyMethod = MethodDefinition<unknown, unknown>;

export interface OipGrpcService {
  /** The service as Junction serves it: ModelInfer in bytes both ways, ModelReady and ModelMetadata answering bytes. */
  passthrough: ServiceDefinition;
  /** The service with every message decoded, for codecs and for test clients. */
  decoded: ServiceDefinition;
  method(name: MethodName): AnyMethod;
  encodeInferResponse(value: object): Buffer;
  decodeInferRequest(bytes: Buffer): InferRequestMessage;
}

export interface TensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Array<string | number>;
  uint_contents?: number[];
  uint64_contents?: Array<string | number>;
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}

export interface InferRequestMessage {
  model_name: string;
  model_version: string;
  id: string;
  inputs: Array<{ name: string; datatype: string; shape: string[]; contents: TensorContents | null }>;
  outputs: Array<{ name: string }>;
  raw_input_contents: Buffer[];
}

const identity = (b: unknown): Buffer => b as Buffer;

export function loadOipGrpcService(): OipGrpcService {
  const definition = loadSync(PROTO_PATH, LOADER_OPTIONS);
  const pkg = loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: { service: ServiceDefinition } };
  };
  const decoded = pkg.inference.GRPCInferenceService.service;
  const infer = decoded.ModelInfer as AnyMethod;
  // Model calls answer with bytes: a gRPC backend's answer passes through as it came.
  const bytesOut = (m: AnyMethod): AnyMethod => ({ ...m, responseSerialize: identity, responseDeserialize: identity });
  const passthrough: ServiceDefinition = {
    ...decoded,
    ModelReady: bytesOut(decoded.ModelReady as AnyMethod),
    ModelMetadata: bytesOut(decoded.ModelMetadata as AnyMethod),
    ModelInfer: { ...bytesOut(infer), requestSerialize: identity, requestDeserialize: identity },
  };
  return {
    passthrough,
    decoded,
    method: (name) => passthrough[name] as AnyMethod,
    encodeInferResponse: (value) => infer.responseSerialize(value),
    decodeInferRequest: (bytes) => infer.requestDeserialize(bytes) as InferRequestMessage,
  };
}
