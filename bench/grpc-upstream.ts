// The model server of the gRPC bench, in a process of its own: a grpc-js
// Open Inference Protocol server whose ModelInfer reads the whole request
// (as any server must) and answers a small fixed response.
//
//   node grpc-upstream.mjs <port>
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { loadOipGrpcService } from '../src/grpc/service.js';

const MAX = 128 * 1024 * 1024;
const service = loadOipGrpcService();
const answer = service.encodeInferResponse({
  model_name: 'echo',
  model_version: '1',
  outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: ['1'], contents: { fp32_contents: [1] } }],
});
const server = new Server({ 'grpc.max_receive_message_length': MAX });
const ok = (_c: unknown, cb: sendUnaryData<unknown>) => cb(null, { ready: true, live: true });
server.addService(
  { ...service.decoded, ModelInfer: service.passthrough.ModelInfer! },
  {
    ServerLive: ok,
    ServerReady: ok,
    ModelReady: ok,
    ModelInfer: (_c: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb(null, answer),
  },
);
server.bindAsync(`127.0.0.1:${process.argv[2]}`, ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
});
