// `junction export nginx` against a real nginx (Debian's nginx-light): a
// request with x-junction-target for a remote target is served by that target
// without touching Junction; without it, or naming an in-process or unknown
// target, Junction decides; with --watch an applied revision's targets serve.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { freePort } from '../../bench/tools.js';
import { REPO_ROOT } from '../support/onnx.js';
import { parsePrometheus } from '../support/prometheus.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { NGINX, writeNginxMain } from '../support/nginx.js';

const CLI = fileURLToPath(new URL('../support/junction-cli.ts', import.meta.url));
const quiet = { error() {}, warn() {}, info() {} };

describe.skipIf(NGINX === undefined)(
  `nginx routing on x-junction-target${NGINX ? '' : ' (skipped: nginx not installed)'}`,
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-nginx-'));
    const conf = join(dir, 'junction.conf');
    let a: Upstream;
    let b: Upstream;
    let c: Upstream;
    let j: Junction;
    let exporter: ChildProcess;
    let nginx: ChildProcess;
    let edge: string;
    let exporterLog = '';

    const config = (withThird: boolean) => ({
      models: {
        m: {
          class: 'scorer',
          versions: {
            '1': { backend: { type: 'http', endpoints: [`${a.url}/score`] } },
            '2': {
              backend: { type: 'http', protocol: 'oip', endpoints: [b.url], model: 'ranker-served', version: '2' },
            },
            ...(withThird ? { '3': { backend: { type: 'http', endpoints: [`${c.url}/v3`] } } } : {}),
          },
        },
        ranker: { class: 'scorer', versions: { '6': { backend: { type: 'onnx', path: 'models/ranker-6.onnx' } } } },
      },
      objectives: {
        cw: {
          interface: 'oip',
          default: 'm@1',
          rules: [{ id: 'br', when: { context: { country: 'BR' } }, use: 'm@2' }],
        },
        ranking: { default: 'ranker@6' },
      },
    });

    async function requestsServed(): Promise<number> {
      const samples = parsePrometheus(await (await request(`${j.url}/metrics`)).body.text());
      return samples.filter((s) => s.name === 'junction_requests_total').reduce((n, s) => n + s.value, 0);
    }

    async function viaEdge(path: string, headers: Record<string, string>, body = '{"x":1}') {
      const res = await request(`${edge}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    }

    beforeAll(async () => {
      a = await startUpstream('m1');
      b = await startUpstream('m2');
      c = await startUpstream('m3');
      j = await startJunction({
        port: 0,
        config: config(false),
        baseDir: REPO_ROOT,
        control: { data: ':memory:', admin: { port: 0, insecure: true } },
        log: quiet,
      });
      const port = await freePort();
      edge = `http://127.0.0.1:${port}`;
      writeNginxMain(dir, conf);
      const reload = `${NGINX} -c ${join(dir, 'nginx.conf')} -s reload`;
      exporter = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          CLI,
          'export',
          'nginx',
          '--admin',
          j.control!.adminUrl!,
          '--listen',
          `127.0.0.1:${port}`,
          '--junction',
          j.url,
          '--out',
          conf,
          '--watch',
          '--reload',
          reload,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      exporter.stderr!.on('data', (d: Buffer) => {
        exporterLog += d.toString();
      });
      for (let i = 0; i < 600 && !existsSync(conf); i++) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(conf), exporterLog).toBe(true);
      const check = spawnSync(NGINX!, ['-t', '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
      nginx = spawn(NGINX!, ['-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
      for (let i = 0; i < 200; i++) {
        try {
          await (await request(`${edge}/healthz`)).body.dump();
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 25));
        }
      }
    }, 60_000);

    afterAll(async () => {
      exporter?.kill('SIGTERM');
      nginx?.kill('SIGQUIT');
      await j?.close();
      await Promise.all([a, b, c].map((u) => u?.close()));
    });

    it("the generated file is readable: it names its revision and each target's objectives, and keeps keep-alive pools", () => {
      const text = readFileSync(conf, 'utf8');
      expect(text).toMatch(/from config revision 1\./);
      expect(text).toMatch(/# m@2 \(oip\): objectives cw/);
      expect(text).toMatch(/ranker@6: runs in Junction's process/);
      expect(text).toMatch(/keepalive \d+;/);
    });

    it("a request naming a remote target goes straight to it, with the protocol's path and x-model; Junction serves nothing", async () => {
      const before = await requestsServed();
      const raw = await viaEdge('/v1/objectives/cw?debug=1', { 'x-junction-target': 'm@1' });
      expect(raw.status).toBe(200);
      expect(JSON.parse(raw.text)).toEqual({ served: 'm1' });
      expect(a.received.at(-1)).toMatchObject({ url: '/score?debug=1' });
      expect(a.received.at(-1)!.headers['x-model']).toBe('m@1');

      const oip = await viaEdge('/v1/objectives/cw', { 'x-junction-target': 'm@2' });
      expect(JSON.parse(oip.text)).toEqual({ served: 'm2' });
      expect(b.received.at(-1)!.url).toBe('/v2/models/ranker-served/versions/2/infer');
      expect(await requestsServed()).toBe(before);
    });

    it('without the header, or naming an in-process or unknown target, Junction decides as usual', async () => {
      const before = await requestsServed();
      const decided = await viaEdge('/v1/objectives/cw', { 'x-unit-id': 'u1', 'x-context-country': 'BR' });
      expect(decided.status).toBe(200);
      expect(decided.headers['x-model']).toBe('m@2');
      expect(decided.headers['x-decision']).toMatch(/^rule=rule:br revision=1$/);

      const body = readFileSync(join(REPO_ROOT, 'examples/requests/continue-watching-ranking.json'), 'utf8');
      const onnx = await viaEdge(
        '/v1/objectives/ranking',
        { 'x-junction-target': 'ranker@6', 'x-unit-id': 'u1' },
        body,
      );
      expect(onnx.status).toBe(200);
      expect(onnx.headers['x-model']).toBe('ranker@6');
      expect(JSON.parse(onnx.text).outputs.score).toHaveLength(3);

      const unknown = await viaEdge('/v1/objectives/cw', { 'x-junction-target': 'm@99', 'x-unit-id': 'u1' });
      expect(unknown.headers['x-model']).toBe('m@1');
      expect(await requestsServed()).toBe(before + 3);
    });

    it('with --watch, an applied revision is written, nginx reloads, and its new target serves', async () => {
      await j.control!.plane.apply({ source: config(true), author: 'test', message: 'add m@3' });
      let served = '';
      for (let i = 0; i < 400 && served !== 'm3'; i++) {
        // A reload retires the old workers, which close their idle keep-alive
        // connections: a request sent on one just then meets a closed socket
        // (as any HTTP client's can); that poll is not an answer, so it polls again.
        const res = await viaEdge('/v1/objectives/cw', { 'x-junction-target': 'm@3' }).catch(() => undefined);
        served = res?.status === 200 ? (JSON.parse(res.text) as { served: string }).served : '';
        if (served !== 'm3') await new Promise((r) => setTimeout(r, 25));
      }
      expect(served, exporterLog).toBe('m3');
      expect(c.received.at(-1)!.url).toBe('/v3');
      expect(readFileSync(conf, 'utf8')).toMatch(/from config revision 2\./);
    }, 30_000);
  },
);
