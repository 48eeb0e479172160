// gRPC at the edge (SPEC §15) with real parts: `junction export nginx
// --grpc-listen` run as the CLI, a real nginx on its output, two real OIP gRPC
// model servers (grpc-js) behind it, and a grpc-js client that decides with
// junction-router-client and calls nginx with `x-junction-target` metadata. Junction
// serves the snapshot and nothing else.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { request } from 'undici';
import { JunctionClient } from '../../packages/client/src/index.js';
import { startJunction, type Junction } from '../../src/app.js';
import { freePort } from '../../bench/tools.js';
import { oipClient, type OipClient } from '../support/grpc-client.js';
import { REPO_ROOT } from '../support/onnx.js';
import { parsePrometheus } from '../support/prometheus.js';
import { startGrpcModelServer, type GrpcModelServer } from '../support/servers/grpc-oip.js';
import { NGINX, writeNginxMain } from '../support/nginx.js';

const CLI = fileURLToPath(new URL('../support/junction-cli.ts', import.meta.url));
const quiet = { error() {}, warn() {}, info() {} };
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.skipIf(NGINX === undefined)(
  `nginx routing gRPC on x-junction-target${NGINX ? '' : ' (skipped: nginx not installed)'}`,
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-nginx-grpc-'));
    const conf = join(dir, 'junction.conf');
    let v1: GrpcModelServer;
    let v2: GrpcModelServer;
    let j: Junction;
    let jc: JunctionClient;
    let nginx: ChildProcess;
    let edge: OipClient;
    let nginxLog = '';

    beforeAll(async () => {
      // Two versions on two servers; v2's server knows its model by another name, so a call
      // that reaches it must carry the served name the SDK hands out.
      v1 = await startGrpcModelServer({ simple: ['1'] });
      v2 = await startGrpcModelServer({ 'simple-v2': ['2'] });
      const closed = await freePort(); // nothing listens there: a target nginx cannot reach
      const grpc = (url: string, extra: Record<string, unknown> = {}) => ({
        backend: { type: 'http', protocol: 'oip-grpc', endpoints: [url], ...extra },
      });
      const config = {
        models: {
          simple: {
            versions: {
              '1': grpc(v1.url),
              '2': grpc(v2.url, { model: 'simple-v2' }),
              down: grpc(`grpc://127.0.0.1:${closed}`, { model: 'simple', version: '1' }),
              // Needs a header only Junction holds: never routed by nginx, never handed to a caller.
              keyed: grpc(v1.url, { model: 'simple', version: '1', headers: { authorization: 'Bearer k' } }),
            },
          },
        },
        objectives: {
          identity: {
            interface: 'oip',
            default: 'simple@1',
            rules: [
              { id: 'br', when: { context: { country: 'BR' } }, use: 'simple@2' },
              { id: 'xx', when: { context: { country: 'XX' } }, use: 'simple@down' },
              { id: 'kk', when: { context: { country: 'KK' } }, use: 'simple@keyed' },
            ],
          },
        },
      };
      j = await startJunction({ port: 0, config, baseDir: REPO_ROOT, log: quiet });
      jc = await JunctionClient.connect({ url: j.url, exposures: false });

      const file = join(dir, 'junction.json');
      writeFileSync(file, JSON.stringify(config));
      const [httpPort, grpcPort] = [await freePort(), await freePort()];
      const exported = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          CLI,
          'export',
          'nginx',
          '--config',
          file,
          '--listen',
          `127.0.0.1:${httpPort}`,
          '--grpc-listen',
          `127.0.0.1:${grpcPort}`,
          '--junction',
          j.url,
          '--out',
          conf,
        ],
        { encoding: 'utf8' },
      );
      expect(exported.status, exported.stderr).toBe(0);
      writeNginxMain(dir, conf);
      const check = spawnSync(NGINX!, ['-t', '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
      nginx = spawn(NGINX!, ['-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      nginx.stderr!.on('data', (d: Buffer) => {
        nginxLog += d.toString();
      });
      // A grpc-js channel that found nothing listening backs off for seconds: dial once nginx listens.
      const listening = () =>
        new Promise<boolean>((resolve) => {
          const socket = connect(grpcPort, '127.0.0.1', () => {
            socket.end();
            resolve(true);
          });
          socket.on('error', () => resolve(false));
        });
      for (let i = 0; i < 800 && !(await listening()); i++) await new Promise((r) => setTimeout(r, 25));
      edge = oipClient(`127.0.0.1:${grpcPort}`);
    }, 60_000);

    afterAll(async () => {
      edge?.close();
      nginx?.kill('SIGQUIT');
      await jc?.close();
      await j?.close();
      await Promise.all([v1, v2].map((s) => s?.close()));
    });

    async function requestsServed(): Promise<number> {
      const samples = parsePrometheus(await (await request(`${j.url}/metrics`)).body.text());
      return samples.filter((s) => s.name === 'junction_requests_total').reduce((n, s) => n + s.value, 0);
    }

    /** A ModelInfer for the target the SDK decided, in the names its server knows. */
    function inferFor(country: string, extra: Record<string, unknown> = {}) {
      const d = jc.decide('identity', { unit: 'u1', context: { country } });
      expect(d.grpc, `${d.target} should be callable over gRPC`).not.toBeNull();
      const message = {
        model_name: d.grpc!.model,
        model_version: d.grpc!.version,
        id: `call-${country}`,
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: ['1', '2'], contents: { fp32_contents: [1, 2] } }],
        ...extra,
      };
      return { d, message, metadata: { 'x-junction-target': d.routingKey } };
    }

    it('the file names each gRPC target with its served model and its objectives, and leaves the keyed one out', () => {
      const text = readFileSync(conf, 'utf8');
      expect(text).toMatch(/# simple@2 \(oip-grpc, model "simple-v2" version "2"\): objectives identity/);
      expect(text).toContain('#   simple@keyed: it needs upstream credentials');
      expect(text).toMatch(/grpc_pass \$junction_grpc_scheme:\/\/\$junction_grpc_upstream;/);
    });

    it('the SDK decides, the grpc-js client calls nginx with x-junction-target, and the decided server answers', async () => {
      const before = await requestsServed();
      const one = inferFor('US');
      expect(one.d).toMatchObject({ target: 'simple@1', protocol: 'oip-grpc', remote: false });
      expect(one.d.grpc).toEqual({ endpoints: [v1.url], model: 'simple', version: '1' });
      const r1 = await edge.call('ModelInfer', one.message, one.metadata);
      expect(r1.error, nginxLog).toBeUndefined();
      expect(r1.value).toMatchObject({ model_name: 'simple', model_version: '1', id: 'call-US' });
      expect(v1.received.filter((x) => x.method === 'ModelInfer').at(-1)!.metadata['x-model']).toBe('simple@1');

      const two = inferFor('BR');
      expect(two.d.grpc).toEqual({ endpoints: [v2.url], model: 'simple-v2', version: '2' });
      const r2 = await edge.call('ModelInfer', two.message, two.metadata);
      expect(r2.error, nginxLog).toBeUndefined();
      expect(r2.value).toMatchObject({ model_name: 'simple-v2', model_version: '2', id: 'call-BR' });
      expect(v2.received.filter((x) => x.method === 'ModelInfer').map((x) => x.request.id)).toEqual(['call-BR']);
      expect(v1.received.some((x) => x.request.id === 'call-BR')).toBe(false);
      // Junction decided nothing and carried nothing.
      expect(await requestsServed()).toBe(before);
    });

    it('an unknown, missing or Junction-only target is answered NOT_FOUND with x-error-code by nginx itself', async () => {
      const { message } = inferFor('US');
      const calls = v1.received.length;
      const asked: Array<Record<string, string>> = [
        { 'x-junction-target': 'simple@99' },
        {},
        { 'x-junction-target': 'simple@keyed' },
      ];
      for (const metadata of asked) {
        const r = await edge.call('ModelInfer', message, metadata);
        expect(r.error?.code, JSON.stringify(metadata)).toBe(status.NOT_FOUND);
        expect(r.error?.details).toMatch(/names no oip-grpc target routed by this nginx/);
        expect(r.metadata['x-error-code']).toBe('not_found');
      }
      expect(v1.received.length).toBe(calls);
      expect(jc.decide('identity', { unit: 'u1', context: { country: 'KK' } }).grpc).toBeNull();
    });

    it('a target nginx cannot reach is UNAVAILABLE', async () => {
      const { message, metadata } = inferFor('XX');
      const r = await edge.call('ModelInfer', message, metadata);
      expect(r.error?.code).toBe(status.UNAVAILABLE);
      expect(r.metadata['x-error-code']).toBe('upstream_error');
    });

    it('an 8 MiB raw_input_contents passes both ways intact; one over the limit is RESOURCE_EXHAUSTED', async () => {
      const tensor = randomBytes(8 * 1024 * 1024);
      const { message, metadata } = inferFor('BR', {
        id: 'big',
        inputs: [{ name: 'INPUT0', datatype: 'UINT8', shape: ['1', String(tensor.length)] }],
        raw_input_contents: [tensor],
      });
      const r = await edge.call('ModelInfer', message, metadata);
      expect(r.error, nginxLog).toBeUndefined();
      const got = v2.received.filter((x) => x.request.id === 'big').at(-1)!;
      expect(sha256((got.request.raw_input_contents as Buffer[])[0]!)).toBe(sha256(tensor));
      expect(sha256(r.value!.raw_output_contents[0])).toBe(sha256(tensor));

      // The objective's maxBodyBytes (10 MiB by default) is nginx's client_max_body_size here.
      const over = randomBytes(11 * 1024 * 1024);
      const big = inferFor('BR', { id: 'over', raw_input_contents: [over] });
      const refused = await edge.call('ModelInfer', big.message, big.metadata);
      expect(refused.error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(v2.received.some((x) => x.request.id === 'over')).toBe(false);
    }, 30_000);
  },
);
