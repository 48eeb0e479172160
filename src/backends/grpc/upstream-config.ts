// A gRPC backend's `tls` files and `headers` (SPEC §4), read when the revision
// is built through the same secret and TLS loaders as the HTTP backends
// (backends/secrets.ts, backends/tls.ts): credentials for grpcs:// endpoints,
// and the metadata sent on every call. Every problem is reported with its
// config path, all at once.
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { ConfigError, type ConfigIssue } from '../../config/issues.js';
import type { HttpBackendConfig } from '../../config/schema.js';
import { resolveHeaders } from '../secrets.js';
import { loadTlsOptions } from '../tls.js';

export interface GrpcUpstreamConfig {
  /** Metadata sent on every call (secrets resolved). */
  headers: Record<string, string>;
  /** Channel credentials for grpcs:// endpoints, when `tls` is set. */
  tls: ChannelCredentials | undefined;
  /** The same files for the stream proxy's own HTTP/2 sessions (h2-sessions.ts). */
  tlsFiles:
    | { ca?: Buffer | string | undefined; cert?: Buffer | string | undefined; key?: Buffer | string | undefined }
    | undefined;
}

export function grpcUpstreamConfig(cfg: HttpBackendConfig, baseDir: string, at: string): GrpcUpstreamConfig {
  const issues: ConfigIssue[] = [];
  const headers = resolveHeaders(cfg.headers, `${at}.headers`, baseDir, issues);
  const files = loadTlsOptions(cfg.tls, `${at}.tls`, baseDir, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  const tls =
    files === undefined ? undefined : credentials.createSsl(files.ca ?? null, files.key ?? null, files.cert ?? null);
  return { headers, tls, tlsFiles: files };
}
