// A ModelInfer that came over gRPC, read as the OIP JSON request the in-process
// model already answers (typed contents or raw_input_contents). The JSON answer
// goes back to the gRPC caller as a ModelInferResponse (faces/grpc/exchange.ts).
// In-process models are small: decoding here costs little, and nothing is
// decoded on the way to a remote gRPC backend.
import { withCall, type Call } from '../../call/types.js';
import { inferRequestToJson } from '../../grpc/oip-json.js';
import { loadOipGrpcService, type OipGrpcService } from '../../grpc/service.js';

/** The service codecs, loaded by the first gRPC call a backend sees. */
export function grpcInferReader(): (call: Call) => Promise<Call> {
  let service: OipGrpcService | undefined;
  return async (call) => {
    service ??= loadOipGrpcService();
    const message = service.decodeInferRequest(await call.body.readAll());
    return withCall(call, { parsedBody: inferRequestToJson(message, call.objective.name) });
  };
}
