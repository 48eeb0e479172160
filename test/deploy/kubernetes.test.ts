// deploy/kubernetes/, proven without a cluster: the ports the container's args
// serve on are the ports it declares, the Services and the PodMonitor name, and
// the probes use (gRPC included); kustomize lists every manifest; and the
// Deployment's own args (ports mapped to free ones, the ConfigMap's config, an
// embedded store instead of the Secret's PostgreSQL, one worker) start a Junction whose
// /metrics and gRPC service answer on the ports those names point at.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { freePort } from '../../bench/tools.js';
import { oipClient } from '../support/grpc-client.js';
import { spawnJunction, type JunctionProcess } from '../support/junction-process.js';

const DIR = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));

interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  resources?: string[];
}

function manifests(dir: string): Array<Manifest & { file: string }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => ({ ...(d.toJSON() as Manifest), file })),
    );
}

const base = manifests(DIR);
const monitoring = manifests(join(DIR, 'monitoring'));
const one = (list: Manifest[], kind: string, name?: string) => {
  const found = list.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0]!;
};
const deployment = one(base, 'Deployment');
const pod = deployment.spec.template;
const container = pod.spec.containers.find((c: { name: string }) => c.name === 'junction');
const args: string[] = container.args;
const flag = (name: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ??
  args[args.indexOf(`--${name}`) + 1 /* a separate value */];
const ports = new Map<string, number>(
  container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
);
/** Which listener each container port name must be: the serve flag that sets it. */
const LISTENERS = { http: 'port', grpc: 'grpc-port', admin: 'admin-port' } as const;

describe('deploy/kubernetes', () => {
  it('each listener the args start is a named container port with the same number, gRPC included', () => {
    for (const [name, f] of Object.entries(LISTENERS)) {
      expect(flag(f), `--${f}`).toBeDefined();
      expect(ports.get(name), `containerPort ${name}`).toBe(Number(flag(f)));
    }
    expect(ports.size).toBe(Object.keys(LISTENERS).length);
  });

  it('the Services select the pods and point at named container ports; clients reach gRPC on the data Service', () => {
    const services = base.filter((m) => m.kind === 'Service');
    for (const s of services) {
      for (const [k, v] of Object.entries(s.spec.selector)) expect(pod.metadata.labels[k], s.metadata.name).toBe(v);
      for (const p of s.spec.ports) expect(ports.has(p.targetPort), `${s.metadata.name} → ${p.targetPort}`).toBe(true);
    }
    const data = one(base, 'Service', 'junction').spec.ports;
    const grpc = data.find((p: { targetPort: string }) => p.targetPort === 'grpc');
    expect(grpc).toMatchObject({ name: 'grpc', appProtocol: 'kubernetes.io/h2c' });
    // The admin API stays off the clients' Service.
    expect(data.map((p: { targetPort: string }) => p.targetPort)).not.toContain('admin');
  });

  it('the probes use the data-plane port', () => {
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
  });

  it('kustomize lists every manifest; the monitoring overlay adds the PodMonitor and PrometheusRule to the base', () => {
    const listed = one(base, 'Kustomization').resources!;
    const files = new Set(base.map((m) => m.file));
    files.delete('kustomization.yaml');
    files.delete('secret.example.yaml'); // made out of band
    expect(new Set(listed)).toEqual(files);
    const overlay = one(monitoring, 'Kustomization').resources!;
    expect(overlay).toEqual(['../', 'podmonitor.yaml', 'prometheus-rule.yaml']);
    expect(new Set(monitoring.map((m) => m.kind))).toEqual(new Set(['Kustomization', 'PodMonitor', 'PrometheusRule']));
  });

  it("the PodMonitor scrapes /metrics on the pods' data-plane port", () => {
    const monitor = one(monitoring, 'PodMonitor');
    expect(monitor).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1' });
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) expect(pod.metadata.labels[k]).toBe(v);
    expect(monitor.spec.podMetricsEndpoints).toHaveLength(1);
    const endpoint = monitor.spec.podMetricsEndpoints[0];
    expect(endpoint.path).toBe('/metrics');
    expect(ports.get(endpoint.port)).toBe(Number(flag('port'))); // /metrics is served by the data plane
  });
});

describe("the Deployment's args, run", () => {
  let j: JunctionProcess | undefined;
  afterAll(async () => {
    await j?.stop();
  });

  it('serve /metrics and gRPC on the ports the Service and PodMonitor name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-k8s-'));
    const config = join(dir, 'junction.yaml');
    writeFileSync(config, one(base, 'ConfigMap').data!['junction.yaml']!);
    const free = new Map<string, number>();
    for (const name of Object.keys(LISTENERS)) free.set(name, await freePort());
    const byFlag = new Map(Object.entries(LISTENERS).map(([name, f]) => [f, free.get(name)!]));
    const local = args.flatMap((a): string[] => {
      const [name, value] = a.replace(/^--/, '').split(/=(.*)/s) as [string, string | undefined];
      if (name === 'config') return [`--config=${config}`];
      if (byFlag.has(name as never)) return [`--${name}=${byFlag.get(name as never)}`];
      // One process: every --workers process loads the sources through tsx on its own, too slow on a busy
      // machine (test/control/workers.test.ts covers --workers).
      if (name === 'workers') return ['--workers=1'];
      // The Secret's PostgreSQL and Redis, and the namespace's Host names, stand in as an embedded store.
      if (value?.includes('$(')) return [];
      return [a];
    });
    j = await spawnJunction(
      [...local, '--data', dir, '--host', '127.0.0.1'],
      { JUNCTION_ADMIN_TOKEN: 'k8s-test-token' },
      100_000,
    );
    const metrics = await request(`http://127.0.0.1:${free.get('http')}/metrics`);
    expect(metrics.statusCode).toBe(200);
    expect(await metrics.body.text()).toContain('# TYPE junction_requests_total counter');
    const grpc = oipClient(`127.0.0.1:${free.get('grpc')}`);
    try {
      await expect
        .poll(async () => (await grpc.call('ServerLive', {})).value?.live, { timeout: 20_000, interval: 100 })
        .toBe(true);
    } finally {
      grpc.close();
    }
  }, 150_000);
});
