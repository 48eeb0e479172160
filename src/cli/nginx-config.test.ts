import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { nginxConfig } from './nginx-config.js';

const opts = { listen: '127.0.0.1:8090', junction: 'http://127.0.0.1:8080', source: 'revision 4' };
const http = (endpoints: string[], extra: Record<string, unknown> = {}) => ({
  backend: { type: 'http', endpoints, ...extra },
});

function exported(versions: Record<string, unknown>, iface = 'json'): string {
  return nginxConfig(
    validateConfig({
      models: { m: { class: 'generator', versions } },
      objectives: { o: { interface: iface, default: `m@${Object.keys(versions)[0]}` } },
    }),
    opts,
  );
}

describe('nginx export', () => {
  it('maps each remote target to its upstream, its protocol path and x-model; Junction is the default', () => {
    const text = exported({
      '1': http(['http://10.0.0.1:8000/predict', 'http://10.0.0.2:8000/predict']),
      '2': http(['http://10.0.0.3:8501'], { protocol: 'tfserving', model: 'served' }),
    });
    expect(text).toContain('from config revision 4.');
    expect(text).toMatch(
      /upstream junction_target_m_40_1 \{\n {4}server 10\.0\.0\.1:8000;\n {4}server 10\.0\.0\.2:8000;\n {4}keepalive 64;\n\}/,
    );
    expect(text).toContain('"m@1" "/predict$is_args$args";');
    expect(text).toContain('"m@2" "/v1/models/served/versions/2:predict$is_args$args";');
    expect(text).toContain('"m@2" "m@2";');
    expect(text).toMatch(/map \$http_x_junction_target \$junction_upstream \{\n {4}default junction_decides;/);
    expect(text).toContain('listen 127.0.0.1:8090;');
    expect(text).toContain('proxy_pass $junction_scheme://$junction_upstream$junction_uri;');
  });

  it('leaves to Junction what nginx cannot do: bodies to rewrite (openai), endpoints that differ in path', () => {
    const text = exported(
      {
        '1': http(['http://10.0.0.1:8000'], { protocol: 'openai' }),
        '2': http(['http://10.0.0.1:8000/a', 'http://10.0.0.2:8000/b']),
      },
      'openai',
    );
    expect(text).toContain('#   m@1: protocol openai rewrites the body, which only Junction does');
    expect(text).toContain('#   m@2: its endpoints differ in scheme or path');
    expect(text).not.toContain('upstream junction_target_');
  });

  it('an https target gets its scheme; nginx syntax in an endpoint path is refused, not written', () => {
    expect(exported({ '1': http(['https://models.example:443/x']) })).toContain('"m@1" https;');
    expect(() => exported({ '1': http(['http://10.0.0.1:8000/a$b']) })).toThrow(
      /cannot be written into an nginx config/,
    );
  });

  it('refuses an endpoint host or listen address that would end or add an nginx directive', () => {
    expect(() => exported({ '1': http(['http://a;b{c}$d:80/']) })).toThrow(/cannot be written into an nginx config/);
    expect(() =>
      nginxConfig(
        validateConfig({
          models: { m: { versions: { '1': http(['http://10.0.0.1:80/']) } } },
          objectives: { o: { default: 'm@1' } },
        }),
        { ...opts, listen: '8090; include /etc/passwd' },
      ),
    ).toThrow(/cannot be written into an nginx config/);
  });

  it('says balancer arms are Junction-only, and lists their targets like any other', () => {
    const config = (use: unknown) =>
      validateConfig({
        models: { m: { versions: { '1': http(['http://10.0.0.1:8000']), '2': http(['http://10.0.0.2:8000']) } } },
        objectives: {
          o: {
            default: 'm@1',
            experiments: [{ id: 'e', population: 1, cells: { A: { weight: 50, use: 'm@1' }, B: { weight: 50, use } } }],
          },
        },
      });
    const arms = nginxConfig(config({ target: 'm@2', balance: 'least-load' }), opts);
    expect(arms).toContain('# This config has balancer arms');
    expect(arms).toContain('# m@2 (raw): objectives o');
    expect(nginxConfig(config('m@2'), opts)).not.toContain('balancer arms');
  });

  describe('gRPC (--grpc-listen)', () => {
    const grpc = (endpoints: string[], extra: Record<string, unknown> = {}) =>
      http(endpoints, { protocol: 'oip-grpc', ...extra });
    const config = (versions: Record<string, unknown>, maxBodyBytes?: number) =>
      validateConfig({
        models: { m: { versions } },
        objectives: {
          o: {
            interface: 'oip',
            default: `m@${Object.keys(versions)[0]}`,
            policy: maxBodyBytes ? { maxBodyBytes } : {},
          },
        },
      });

    it('no --grpc-listen, no HTTP/2 server: oip-grpc targets are left to Junction as before', () => {
      const text = nginxConfig(config({ '1': grpc(['grpc://10.0.0.1:8001']) }), opts);
      expect(text).not.toContain('http2');
      expect(text).toContain('#   m@1: protocol oip-grpc is not plain HTTP');
    });

    it('routes each oip-grpc target to its upstream with grpc_pass, naming its served model', () => {
      const text = nginxConfig(
        config({
          '1': grpc(['grpc://10.0.0.1:8001', 'grpc://10.0.0.2:8001'], { model: 'served', version: '' }),
          '2': grpc(['grpcs://models.example']),
          '3': http(['http://10.0.0.3:8000']),
        }),
        { ...opts, grpcListen: '127.0.0.1:8091' },
      );
      expect(text).toContain('# m@1 (oip-grpc, model "served" version ""): objectives o');
      expect(text).toMatch(
        /upstream junction_target_m_40_1 \{\n {4}server 10\.0\.0\.1:8001;\n {4}server 10\.0\.0\.2:8001;\n {4}keepalive 64;\n\}/,
      );
      // grpcs without a port is 443, with TLS and SNI of the endpoint's own host.
      expect(text).toMatch(/upstream junction_target_m_40_2 \{\n {4}server models\.example:443;/);
      expect(text).toMatch(
        /map \$http_x_junction_target \$junction_grpc_scheme \{\n {4}default grpc;\n {4}"m@2" grpcs;\n\}/,
      );
      expect(text).toContain('"m@2" models.example;');
      expect(text).toContain('grpc_ssl_name $junction_grpc_ssl_name;');
      expect(text).toMatch(
        /map \$http_x_junction_target \$junction_grpc_upstream \{\n {4}default "";\n {4}"m@1" junction_target_m_40_1;\n {4}"m@2" junction_target_m_40_2;\n\}/,
      );
      expect(text).toContain('listen 127.0.0.1:8091 http2;');
      expect(text).toContain('grpc_pass $junction_grpc_scheme://$junction_grpc_upstream;');
      expect(text).toContain('grpc_read_timeout 300s;');
      // The HTTP target is the HTTP listener's alone.
      expect(text.slice(text.indexOf('---- gRPC'))).not.toContain('m@3');
      // Unknown targets, oversize messages and unreachable targets get a trailers-only gRPC status.
      expect(text).toMatch(
        /location @junction_grpc_not_found \{\n {8}default_type application\/grpc;\n {8}add_header grpc-status 5 always;/,
      );
      expect(text).toContain('add_header grpc-status 8 always;');
      expect(text).toContain('add_header grpc-status 14 always;');
    });

    it("client_max_body_size is the largest limit of the objectives reaching a routed target, plus gRPC's 5-byte prefix", () => {
      const text = nginxConfig(config({ '1': grpc(['grpc://10.0.0.1:8001']) }, 32 * 1024 * 1024), {
        ...opts,
        grpcListen: '8091',
      });
      expect(text).toContain(`client_max_body_size ${32 * 1024 * 1024 + 5};`);
    });

    it('leaves credentialed or mixed-scheme gRPC targets to Junction, and refuses a listen address that is not one', () => {
      const text = nginxConfig(
        config({
          '1': grpc(['grpc://10.0.0.1:8001'], { headers: { authorization: 'Bearer k' } }),
          '2': grpc(['grpc://10.0.0.1:8001', 'grpcs://10.0.0.2:8001']),
        }),
        { ...opts, grpcListen: '8091' },
      );
      expect(text).toContain('#   m@1: it needs upstream credentials or TLS settings only Junction holds');
      expect(text).toContain('#   m@2: its endpoints mix grpc:// and grpcs://');
      expect(text).not.toContain('upstream junction_target_');
      expect(() =>
        nginxConfig(config({ '1': grpc(['grpc://10.0.0.1:8001']) }), { ...opts, grpcListen: '8091 http2; root /' }),
      ).toThrow(/cannot be written into an nginx config/);
    });
  });
});
