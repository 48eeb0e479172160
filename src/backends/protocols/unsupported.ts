import type { Call } from '../../call/types.js';
import { JunctionError } from '../../errors.js';

/** A face asked a backend for an operation its protocol does not have. */
export function unsupported(protocol: string, call: Call): JunctionError {
  return new JunctionError(
    'invalid_request',
    `${call.target.id} speaks ${protocol}, which has no "${call.operation}" operation`,
    {
      objective: call.objective.name,
    },
  );
}

/** A ModelInfer that came over gRPC met a target that speaks OIP over HTTP/JSON: the message is not translated. */
export function grpcOnly(call: Call): JunctionError {
  return new JunctionError(
    'invalid_request',
    `${call.target.id} speaks oip over HTTP; a gRPC ModelInfer reaches oip-grpc and in-process ONNX targets only`,
    {
      objective: call.objective.name,
    },
  );
}
