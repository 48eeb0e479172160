// The gRPC face's cost per megabyte: ModelInfer with a raw tensor of growing
// size, sent by a real gRPC client straight to a gRPC model server, then
// through Junction (gRPC face → routing → oip-grpc backend → the same server),
// in one run. Junction reads and rewrites only the model name and version, so
// its added time should grow with one copy of the bytes, not with a decode.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type Client,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { Client as GrpcClient } from '@grpc/grpc-js';
import { startJunction } from '../src/app.js';
import { loadOipGrpcService } from '../src/grpc/service.js';
import type { BenchSection } from './report.js';

const MAX = 64 * 1024 * 1024;
const CONCURRENCY = 4;

async function modelServer(): Promise<{ address: string; close(): void }> {
  const service = loadOipGrpcService();
  const answer = service.encodeInferResponse({
    model_name: 'echo',
    model_version: '1',
    outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: ['1'], contents: { fp32_contents: [1] } }],
  });
  const server = new Server({ 'grpc.max_receive_message_length': MAX });
  const ok = (_c: unknown, cb: sendUnaryData<unknown>) => cb(null, { ready: true });
  server.addService(
    { ...service.decoded, ModelInfer: service.passthrough.ModelInfer! },
    {
      ServerReady: ok,
      ModelReady: ok,
      ModelInfer: (_c: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb(null, answer),
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

/** Mean ms per call with CONCURRENCY callers for about `seconds`. */
async function measure(client: Client, message: Buffer, seconds: number): Promise<{ ms: number; calls: number }> {
  const path = '/inference.GRPCInferenceService/ModelInfer';
  const once = () =>
    new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        message,
        new Metadata(),
        {},
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  for (let i = 0; i < 3; i++) await once(); // warm the channel
  const end = performance.now() + seconds * 1000;
  let calls = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await once();
        calls++;
      }
    }),
  );
  return { ms: ((performance.now() - started) * CONCURRENCY) / calls, calls };
}

export async function benchGrpc(seconds = 1.5): Promise<BenchSection> {
  const service = loadOipGrpcService();
  const backend = await modelServer();
  const junction = await startJunction({
    port: 0,
    grpc: { port: 0 },
    config: {
      models: {
        echo: {
          versions: {
            '1': { backend: { type: 'http', protocol: 'oip-grpc', endpoints: [`grpc://${backend.address}`] } },
          },
        },
      },
      objectives: { echo: { interface: 'oip', default: 'echo@1', policy: { maxBodyBytes: MAX } } },
    },
  });
  const options = { 'grpc.max_send_message_length': MAX };
  const direct = new GrpcClient(backend.address, credentials.createInsecure(), options);
  const via = new GrpcClient(`127.0.0.1:${junction.grpc!.port}`, credentials.createInsecure(), options);
  const rows: BenchSection['rows'] = [];
  try {
    for (const mib of [0.0625, 1, 4]) {
      const tensor = randomBytes(Math.round(mib * 1024 * 1024));
      const message = (name: string) =>
        service.decoded.ModelInfer!.requestSerialize({
          model_name: name,
          inputs: [{ name: 'INPUT0', datatype: 'UINT8', shape: ['1', String(tensor.length)] }],
          raw_input_contents: [tensor],
        });
      const d = await measure(direct, message('echo'), seconds);
      const j = await measure(via, message('echo'), seconds);
      rows.push({
        'raw tensor': mib < 1 ? `${mib * 1024} KiB` : `${mib} MiB`,
        'direct ms/call': d.ms.toFixed(2),
        'via Junction ms/call': j.ms.toFixed(2),
        ratio: (j.ms / d.ms).toFixed(2),
        'added ms per MiB': ((j.ms - d.ms) / mib).toFixed(2),
      });
    }
  } finally {
    direct.close();
    via.close();
    await junction.close();
    backend.close();
  }
  return {
    name: 'grpc (ModelInfer, raw_input_contents, oip-grpc backend)',
    rows,
    notes: [
      `${CONCURRENCY} concurrent callers, ~${seconds} s per case; client, Junction and the model server share this machine`,
      'Junction rewrites model_name/model_version on the wire and copies the rest once; nothing else is decoded',
    ],
  };
}
