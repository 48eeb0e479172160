// `junction export nginx`: a config revision → a file for nginx's `http`
// context (SPEC §10). A request carrying `x-junction-target: model@version`
// for a remote target goes straight to that target's endpoints with the
// protocol's path (the same path the server's backend would use for the
// generic objective call); everything else — no header, an in-process or
// unknown target, a protocol whose body Junction must rewrite — goes to
// Junction, which decides as usual. Pure: text in, text out.
//
// Balancers (a backend's `balance`, a cell's or candidate's
// `{ target, balance }`, SPEC §14) are invisible here: x-junction-target names
// a target, not an arm, and nginx spreads a routed request over the target's
// servers with its own round robin. A balancer arm is only an arm through
// Junction; the export says so when a config has one.
//
// With `grpcListen`, a second `server` (HTTP/2, SPEC §15) routes `oip-grpc`
// targets on the same header (gRPC metadata is HTTP/2 headers) with grpc_pass.
// nginx cannot rewrite a protobuf body, so a caller there names the target's
// own model and version in its message (the SDK's `decision.grpc` gives them);
// anything else is answered with a gRPC status, never sent on to Junction's
// gRPC face, whose `model_name` is an objective, not a served model.
import type { Call } from '../call/types.js';
import { armTarget, type Config, type HttpBackendConfig } from '../config/schema.js';
import { PROTOCOLS } from '../config/protocols/index.js';
import { onlyThroughJunction } from '../backends/protocols/direct.js';
import { HTTP_WIRES } from '../backends/protocols/index.js';
import { servedModel, servedVersion } from '../backends/protocols/names.js';
import { compileTargets } from '../routing/compile.js';
import type { Target } from '../routing/types.js';

export interface NginxExportOptions {
  /** `ADDR:PORT` (or a port) nginx listens on for routed requests. */
  listen: string;
  /** Junction's data-plane URL, for requests nginx does not route itself. */
  junction: string;
  /** Shown in the header comment: `revision 7`, or `file junction.yaml`. */
  source: string;
  /** Keep-alive connections nginx keeps per upstream (per worker). */
  keepalive?: number;
  /** `ADDR:PORT` (or a port) of the HTTP/2 listener routing `oip-grpc` targets; none without it. */
  grpcListen?: string;
}

interface Routed {
  target: Target;
  name: string;
  scheme: string;
  servers: string[];
  /** The request path on the endpoint: its base path + the protocol's path for the generic call. */
  path: string;
}

/** Why a target is left to Junction, or undefined when nginx can route it. */
function notRoutable(target: Target): string | undefined {
  const b = target.backend;
  const only = onlyThroughJunction(b);
  if (only !== undefined || b.type !== 'http') return only;
  // The same table the HTTP backend sends with: a protocol that rewrites the body cannot go straight to nginx.
  if (HTTP_WIRES[b.protocol]?.rewriteBody !== undefined)
    return `protocol ${b.protocol} rewrites the body, which only Junction does`;
  const urls = b.endpoints.map((e) => new URL(e));
  if (new Set(urls.map((u) => `${u.protocol}${u.pathname}${u.search}`)).size > 1)
    return 'its endpoints differ in scheme or path';
  return undefined;
}

function upstreamName(id: string): string {
  return `junction_target_${id.replace(/[^A-Za-z0-9_]/g, (c) => `_${c.charCodeAt(0).toString(16)}_`)}`;
}

/** host:port; without a port, 443 for TLS schemes and 80 otherwise (as Junction's HTTP and gRPC backends dial). */
function hostPort(u: URL): string {
  const secure = u.protocol === 'https:' || u.protocol === 'grpcs:';
  return nginxWord(
    `${u.hostname.includes(':') && !u.hostname.startsWith('[') ? `[${u.hostname}]` : u.hostname}:${u.port || (secure ? '443' : '80')}`,
  );
}

/**
 * A bare nginx word (an address, host:port): URL hostnames may hold `;`, `{`,
 * `$`, which would end or add a directive, so anything beyond the characters of
 * a host, a port and an IPv6 literal is refused.
 */
function nginxWord(value: string): string {
  if (!/^[A-Za-z0-9.:_[\]-]+$/.test(value))
    throw new Error(`"${value}" cannot be written into an nginx config as an address`);
  return value;
}

/**
 * An nginx string literal. Target ids cannot hold these characters (TARGET_REF);
 * an endpoint path with `$` (a variable to nginx, with no escape) or a quote is refused.
 */
function q(value: string): string {
  if (/[\r\n"\\$;{}]/.test(value))
    throw new Error(`"${value}" cannot be written into an nginx config (it holds $, a quote, a brace or ;)`);
  return `"${value}"`;
}

function routed(target: Target): Routed {
  const b = target.backend as HttpBackendConfig;
  const first = new URL(b.endpoints[0]!);
  const basePath = (first.pathname === '/' ? '' : first.pathname.replace(/\/$/, '')) + first.search;
  const call = { operation: 'invoke', query: '', method: 'POST', target, headers: {} } as unknown as Call;
  const rest = HTTP_WIRES[b.protocol]!.path(call, b);
  const path = basePath + rest;
  return {
    target,
    name: upstreamName(target.id),
    scheme: first.protocol.slice(0, -1),
    servers: b.endpoints.map((e) => hostPort(new URL(e))),
    path: path.startsWith('/') ? path : `/${path}`,
  };
}

export function nginxConfig(config: Config, opts: NginxExportOptions): string {
  const keepalive = opts.keepalive ?? 64;
  const junction = new URL(opts.junction);
  const targets = [...compileTargets(config).values()];
  const routes = targets.filter((t) => notRoutable(t) === undefined).map(routed);
  const left = targets.flatMap((t) => {
    const why = notRoutable(t);
    return why === undefined ? [] : [`#   ${t.id}: ${why}`];
  });
  const maxBody = Math.max(1024 * 1024, ...Object.values(config.objectives).map((o) => o.policy.maxBodyBytes));
  const out: string[] = [
    `# Generated by \`junction export nginx\` from config ${opts.source}. Do not edit:`,
    "# it is rewritten on every revision. Include it in nginx's http context:",
    '#   http { include junction.conf; }',
    '#',
    '# A request carrying `x-junction-target: model@version` (set by junction-router-client, or',
    "# taken from POST /v1/decide's routingKey) for a remote target goes straight to that",
    '# target; any other request goes to Junction, which decides as usual.',
    ...(left.length > 0 ? ['#', '# Targets left to Junction:', ...left] : []),
    ...(usesBalanceArms(config)
      ? [
          '#',
          '# This config has balancer arms ({ target, balance } cells or candidates): nginx routes',
          '# by target and balances with round robin, so those arms differ only through Junction.',
        ]
      : []),
    '',
  ];
  for (const r of routes) {
    out.push(
      `# ${r.target.id} (${(r.target.backend as HttpBackendConfig).protocol}): objectives ${objectivesUsing(config, r.target.id).join(', ') || '(none)'}`,
    );
    out.push(`upstream ${r.name} {`);
    for (const s of r.servers) out.push(`    server ${s};`);
    out.push(`    keepalive ${keepalive};`, '}', '');
  }
  out.push('# Junction decides everything nginx does not route itself.');
  out.push('upstream junction_decides {', `    server ${hostPort(junction)};`, `    keepalive ${keepalive};`, '}', '');

  out.push('map $http_x_junction_target $junction_upstream {', '    default junction_decides;');
  for (const r of routes) out.push(`    ${q(r.target.id)} ${r.name};`);
  out.push('}', '');
  out.push('map $http_x_junction_target $junction_scheme {', `    default ${junction.protocol.slice(0, -1)};`);
  for (const r of routes)
    if (r.scheme !== junction.protocol.slice(0, -1)) out.push(`    ${q(r.target.id)} ${r.scheme};`);
  out.push('}', '');
  out.push("# The path on the target: the protocol's own, as Junction's backend would send it.");
  out.push('map $http_x_junction_target $junction_uri {', '    default $request_uri;');
  for (const r of routes) out.push(`    ${q(r.target.id)} "${q(r.path).slice(1, -1)}$is_args$args";`);
  out.push('}', '');
  out.push('# x-model on a routed request, as Junction would set it; empty (not sent) otherwise.');
  out.push('map $http_x_junction_target $junction_model {', '    default "";');
  for (const r of routes) out.push(`    ${q(r.target.id)} ${q(r.target.id)};`);
  out.push('}', '');
  out.push(
    'server {',
    `    listen ${nginxWord(opts.listen)};`,
    `    client_max_body_size ${maxBody};`,
    '    location / {',
    '        proxy_pass $junction_scheme://$junction_upstream$junction_uri;',
    '        proxy_http_version 1.1;',
    '        proxy_set_header Connection "";',
    '        proxy_set_header x-model $junction_model;',
    '        # Bodies and answers (SSE included) stream through, as through Junction.',
    '        proxy_request_buffering off;',
    '        proxy_buffering off;',
    '        proxy_read_timeout 300s;',
    '    }',
    '}',
    '',
  );
  if (opts.grpcListen !== undefined) out.push(...grpcServer(config, targets, opts.grpcListen, keepalive));
  return out.join('\n');
}

/** Why nginx's gRPC listener cannot route a target, or undefined when it can. */
function notGrpcRoutable(target: Target): string | undefined {
  const only = onlyThroughJunction(target.backend, 'grpc');
  if (only !== undefined) return only;
  const schemes = new Set((target.backend as HttpBackendConfig).endpoints.map((e) => new URL(e).protocol));
  return schemes.size > 1 ? 'its endpoints mix grpc:// and grpcs://' : undefined;
}

// A gRPC status nginx itself answers with: HTTP 200, `content-type:
// application/grpc` and grpc-status/grpc-message in the one HEADERS frame that
// ends the stream ("trailers-only"), which gRPC clients read as the call's
// status (checked: nginx 1.22 sends exactly that for `return 200`). Not the
// 204 often shown for this: nginx drops content-type on a 204, and the gRPC
// HTTP/2 spec wants 200 with it (grpc-js forgives that, a stricter client may not).
const GRPC_ANSWERS = [
  {
    location: '@junction_grpc_not_found',
    why: 'no x-junction-target, or one naming no oip-grpc target routed here',
    status: 5, // NOT_FOUND
    code: 'not_found',
    message: 'x-junction-target names no oip-grpc target routed by this nginx (see junction export nginx)',
  },
  {
    location: '@junction_grpc_too_large',
    why: 'a message over client_max_body_size',
    status: 8, // RESOURCE_EXHAUSTED
    code: 'payload_too_large',
    message: 'request over the limit of this nginx (client_max_body_size)',
  },
  {
    location: '@junction_grpc_unavailable',
    why: 'the target unreachable, or silent past the timeouts',
    status: 14, // UNAVAILABLE
    code: 'upstream_error',
    message: 'the target did not answer through this nginx',
  },
] as const;

function grpcServer(config: Config, targets: Target[], listen: string, keepalive: number): string[] {
  const routes = targets.filter((t) => notGrpcRoutable(t) === undefined);
  const left = targets.flatMap((t) => {
    const why = notGrpcRoutable(t);
    // Only gRPC targets: the rest are the HTTP listener's business, listed above.
    const grpc = t.backend.type === 'http' && PROTOCOLS[t.backend.protocol].transport === 'grpc';
    return why === undefined || !grpc ? [] : [`#   ${t.id}: ${why}`];
  });
  // The objectives' limit, as Junction applies it to a message, plus the 5-byte gRPC prefix nginx counts too;
  // nginx has one limit per server, so the largest of the objectives that can reach a routed target.
  const limits = routes.flatMap((r) =>
    objectivesUsing(config, r.id).map((o) => config.objectives[o]!.policy.maxBodyBytes),
  );
  const maxBody = Math.max(1024 * 1024, ...limits) + 5;
  const out: string[] = [
    '# ---- gRPC (HTTP/2): oip-grpc targets, routed on the x-junction-target metadata ----',
    '# The caller names the served model and version in its ModelInfer message (nginx',
    "# forwards the bytes; only Junction rewrites them): junction-router-client's decision.grpc.",
    '# Anything nginx cannot route is answered with a gRPC status (grpc-status, x-error-code):',
    ...GRPC_ANSWERS.map((a) => `#   ${a.status} (${a.code}): ${a.why}`),
    ...(left.length > 0 ? ['# Not routed here (Junction serves them, on its own gRPC port):', ...left] : []),
    '',
  ];
  for (const t of routes) {
    out.push(
      // JSON.stringify: a served name is any string, and a line break in it would end the comment.
      `# ${t.id} (oip-grpc, model ${JSON.stringify(servedModel(t.backend as HttpBackendConfig, t))} version ${JSON.stringify(servedVersion(t.backend as HttpBackendConfig, t))}): objectives ${objectivesUsing(config, t.id).join(', ') || '(none)'}`,
    );
    out.push(`upstream ${upstreamName(t.id)} {`);
    for (const e of (t.backend as HttpBackendConfig).endpoints) out.push(`    server ${hostPort(new URL(e))};`);
    out.push(`    keepalive ${keepalive};`, '}', '');
  }
  const secure = routes.filter((t) => new URL((t.backend as HttpBackendConfig).endpoints[0]!).protocol === 'grpcs:');
  out.push('map $http_x_junction_target $junction_grpc_upstream {', '    default "";');
  for (const t of routes) out.push(`    ${q(t.id)} ${upstreamName(t.id)};`);
  out.push('}', '');
  out.push('map $http_x_junction_target $junction_grpc_scheme {', '    default grpc;');
  for (const t of secure) out.push(`    ${q(t.id)} grpcs;`);
  out.push('}', '');
  if (secure.length > 0) {
    // SNI and the name a verifying nginx checks: the endpoint's host, not the upstream block's name.
    out.push('map $http_x_junction_target $junction_grpc_ssl_name {', '    default "";');
    for (const t of secure)
      out.push(`    ${q(t.id)} ${nginxWord(new URL((t.backend as HttpBackendConfig).endpoints[0]!).hostname)};`);
    out.push('}', '');
  }
  out.push('map $http_x_junction_target $junction_grpc_model {', '    default "";');
  for (const t of routes) out.push(`    ${q(t.id)} ${q(t.id)};`);
  out.push('}', '');
  out.push(
    'server {',
    // `listen … http2` is what nginx before 1.25.1 accepts; later ones accept it too (with a notice).
    `    listen ${nginxWord(listen)} http2;`,
    `    client_max_body_size ${maxBody};`,
    '    error_page 418 = @junction_grpc_not_found;',
    '    error_page 413 = @junction_grpc_too_large;',
    '    error_page 502 503 504 = @junction_grpc_unavailable;',
    '    location / {',
    '        if ($junction_grpc_upstream = "") {',
    '            return 418;',
    '        }',
    '        grpc_pass $junction_grpc_scheme://$junction_grpc_upstream;',
    '        grpc_set_header x-model $junction_grpc_model;',
    ...(secure.length > 0
      ? [
          "        # Verification is nginx's grpc_ssl_verify and grpc_ssl_trusted_certificate: set them in the http context.",
          '        grpc_ssl_server_name on;',
          '        grpc_ssl_name $junction_grpc_ssl_name;',
        ]
      : []),
    '        grpc_connect_timeout 10s;',
    "        # Between two reads or writes, not for the whole call: the caller's grpc-timeout reaches the target.",
    '        grpc_read_timeout 300s;',
    '        grpc_send_timeout 300s;',
    '    }',
  );
  for (const a of GRPC_ANSWERS)
    out.push(
      `    location ${a.location} {`,
      '        default_type application/grpc;',
      `        add_header grpc-status ${a.status} always;`,
      `        add_header grpc-message ${q(a.message)} always;`,
      `        add_header x-error-code ${a.code} always;`,
      '        return 200;',
      '    }',
    );
  out.push('}', '');
  return out;
}

function usesBalanceArms(config: Config): boolean {
  return Object.values(config.objectives).some(
    (o) =>
      (o.rollout !== undefined && typeof o.rollout.candidate !== 'string') ||
      o.experiments.some((e) => Object.values(e.cells).some((c) => typeof c.use !== 'string')),
  );
}

function objectivesUsing(config: Config, target: string): string[] {
  return Object.entries(config.objectives)
    .filter(([, o]) =>
      [
        o.default,
        ...Object.values(o.pins),
        ...o.rules.map((r) => r.use),
        ...o.experiments.flatMap((e) => Object.values(e.cells).map((c) => armTarget(c.use))),
        ...(o.rollout ? [armTarget(o.rollout.candidate)] : []),
        ...o.policy.fallback,
      ].includes(target),
    )
    .map(([name]) => name);
}
