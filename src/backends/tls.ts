// TLS client settings for upstream connections (SPEC §4: `tls: { ca, cert,
// key, servername }`, files relative to the config). Loaded once when a
// revision is built; a missing or unreadable file is a config issue naming its
// path. The result is undici's `connect` options (also Node's tls.connect
// options), so any backend that dials TLS (HTTP pools, gRPC) can use it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigIssue } from '../config/issues.js';

export interface TlsFiles {
  /** PEM bundle of the CAs trusted for the upstream's certificate (default: Node's public CAs). */
  ca?: string | undefined;
  /** Client certificate and key (PEM), for mutual TLS. */
  cert?: string | undefined;
  key?: string | undefined;
  /** SNI and certificate name to expect, when it differs from the endpoint host. */
  servername?: string | undefined;
}

export interface TlsConnectOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
}

/** Reads the files of a `tls` block; problems go to `issues` with their config path. */
export function loadTlsOptions(
  tls: TlsFiles | undefined,
  at: string,
  baseDir: string,
  issues: ConfigIssue[],
): TlsConnectOptions | undefined {
  if (tls === undefined) return undefined;
  const out: TlsConnectOptions = {};
  const read = (field: 'ca' | 'cert' | 'key'): void => {
    const file = tls[field];
    if (file === undefined) return;
    try {
      out[field] = readFileSync(resolve(baseDir, file));
    } catch (err) {
      issues.push({
        path: `${at}.${field}`,
        message: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      });
    }
  };
  read('ca');
  read('cert');
  read('key');
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    issues.push({ path: at, message: 'mutual TLS needs both cert and key' });
  }
  if (tls.servername !== undefined) out.servername = tls.servername;
  return out;
}
