// `oip-grpc`: the Open Inference Protocol over gRPC (Triton, KServe). Carried by
// gRPC channels (backends/grpc/), not undici: each operation is an RPC of
// inference.GRPCInferenceService, and readiness is ModelReady.
import type { ProtocolDeclaration } from './declaration.js';

// `satisfies`, not a type annotation: the RPC names keep their literal types, so the
// gRPC backend's table of them is checked against the .proto's methods when compiled.
export const oipGrpc = {
  transport: 'grpc',
  schemes: ['grpc', 'grpcs'],
  endpointForm: 'grpc://host:port (or grpcs://)',
  interfaces: ['oip'],
  operations: { invoke: 'ModelInfer', infer: 'ModelInfer', metadata: 'ModelMetadata', ready: 'ModelReady' },
  health: { operation: 'ready' },
} as const satisfies ProtocolDeclaration;
