// A gRPC backend's `tls` files and `headers` (SPEC §4), read when the revision
// is built: credentials for grpcs:// endpoints, and the metadata sent on every
// call. Header values may name a secret (`${env:NAME}`, `${file:/path}`); the
// resolved values live only here, never in logs, errors or metrics.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { ConfigError } from '../../config/issues.js';
import type { HttpBackendConfig } from '../../config/schema.js';

function readFile(path: string, baseDir: string, at: string): Buffer {
  try {
    return readFileSync(resolve(baseDir, path));
  } catch (err) {
    throw new ConfigError([{ path: at, message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
}

export function tlsCredentials(cfg: HttpBackendConfig, baseDir: string, at: string): ChannelCredentials | undefined {
  const tls = cfg.tls;
  if (tls === undefined) return undefined;
  const file = (name: 'ca' | 'cert' | 'key') => (tls[name] === undefined ? null : readFile(tls[name], baseDir, `${at}.tls.${name}`));
  return credentials.createSsl(file('ca'), file('key'), file('cert'));
}

const SECRET = /^\$\{(env|file):([^}]+)\}$/;

export function upstreamHeaders(cfg: HttpBackendConfig, baseDir: string, at: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(cfg.headers ?? {})) {
    const m = SECRET.exec(value);
    const where = `${at}.headers.${name}`;
    if (m === null) {
      out[name.toLowerCase()] = value;
    } else if (m[1] === 'env') {
      const found = process.env[m[2]!];
      if (found === undefined) throw new ConfigError([{ path: where, message: `environment variable ${m[2]} is not set` }]);
      out[name.toLowerCase()] = found;
    } else {
      out[name.toLowerCase()] = readFile(m[2]!, baseDir, where).toString('utf8').trim();
    }
  }
  return out;
}
