// `junction serve --grpc-port`: the CLI serves the gRPC face next to HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oipClient, type OipClient } from '../support/grpc-client.js';
import { spawnJunction, type JunctionProcess } from '../support/junction-process.js';
import { REPO_ROOT } from '../support/onnx.js';

let dir: string;
let j: JunctionProcess;
let client: OipClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'junction-grpc-'));
  j = await spawnJunction([
    'serve',
    '--config',
    join(REPO_ROOT, 'examples/quickstart.yaml'),
    '--data',
    join(dir, 'data'),
    '--port',
    '0',
    '--admin-port',
    '0',
    '--grpc-port',
    '0',
    '--host',
    '127.0.0.1',
    '--insecure-admin',
  ]);
  const port = /gRPC on port (\d+)/.exec(j.stdout())?.[1];
  client = oipClient(`127.0.0.1:${port}`);
}, 60_000);

afterAll(async () => {
  client?.close();
  await j?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('serve --grpc-port', () => {
  it('serves the OIP gRPC service with routing', async () => {
    expect(j.stdout()).toMatch(/gRPC on port \d+/);
    expect((await client.call('ServerLive', {})).value).toEqual({ live: true });
    const r = await client.call('ModelInfer', {
      model_name: 'ranking-tensors',
      inputs: [
        {
          name: 'features',
          datatype: 'FP32',
          shape: [1, 8],
          contents: { fp32_contents: [0.9, 0.9, 0.8, 0.8, 0.6, 0.3, 0.5, 0] },
        },
      ],
    });
    expect(r.metadata['x-model']).toBe('ranker@7');
    expect(r.value!.outputs[0].contents.fp32_contents).toHaveLength(1);
  });
});

describe('a taken gRPC port', () => {
  it('is refused at start as EADDRINUSE, naming the address', async () => {
    const { startGrpcModelServer } = await import('../support/servers/grpc-oip.js');
    const { startJunction } = await import('../../src/app.js');
    const holder = await startGrpcModelServer({});
    try {
      const port = Number(holder.address.split(':')[1]);
      await expect(
        startJunction({ port: 0, config: { models: {}, objectives: {} }, grpc: { port } }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE', message: expect.stringContaining(`127.0.0.1:${port}`) });
    } finally {
      await holder.close();
    }
  });
});
