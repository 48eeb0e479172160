// The one place a listening server is made, plain or TLS (SPEC §4:
// `serve --tls-cert FILE --tls-key FILE` serves the data plane and the admin
// API over HTTPS). Both servers are node:http servers underneath; with TLS
// they are node:https ones, the same request handling on top. Every listener
// made here has its connections guarded (`connections.ts`): silent ones cut,
// a cap with the oldest idle shed first, a drain for shutdown.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { guardConnections, type ConnectionGuard, type ConnectionHooks, type ConnectionLimits } from './connections.js';

/** A listener's certificate chain and key, PEM. */
export interface ListenerTls {
  cert: Buffer;
  key: Buffer;
}

/** What a listener bounds about its connections (see `connections.ts`); the TLS handshake budget too. */
export interface ListenerLimits extends ConnectionLimits {
  /** A TLS handshake not done by then is cut (default 10 s; Node's own is 120 s). */
  handshakeTimeoutMs?: number;
}

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Reads the listener's certificate and key files; `what` names the flags in the error. */
export function loadListenerTls(certFile: string, keyFile: string): ListenerTls {
  const read = (file: string, flag: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${flag}: cannot read ${file} (${String((err as NodeJS.ErrnoException).code ?? err)})`, {
        cause: err,
      });
    }
  };
  return { cert: read(certFile, '--tls-cert'), key: read(keyFile, '--tls-key') };
}

const GUARD = Symbol('junction.connections');
type Guarded = Server & { [GUARD]?: ConnectionGuard };

export function createListener(
  tls: ListenerTls | undefined,
  options: ServerOptions,
  handler: RequestListener,
  limits: ListenerLimits = {},
  hooks: ConnectionHooks = {},
): Server {
  // An https.Server is an http.Server (tls.Server underneath) with the same request events.
  const server: Guarded =
    tls === undefined
      ? createHttpServer(options, handler)
      : createHttpsServer(
          {
            ...options,
            cert: tls.cert,
            key: tls.key,
            handshakeTimeout: limits.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
          },
          handler,
        );
  server[GUARD] = guardConnections(server, limits, hooks);
  return server;
}

/** The connection guard of a server `createListener` made. */
export function listenerConnections(server: Server): ConnectionGuard | undefined {
  return (server as Guarded)[GUARD];
}

/**
 * Stops a listener within `graceMs` whatever its sockets are doing: idle
 * connections closed now, requests in flight given until the deadline.
 * A server made elsewhere is closed with Node's own means.
 */
export function drainListener(server: Server, graceMs: number): Promise<void> {
  const guard = listenerConnections(server);
  if (guard !== undefined) return guard.drain(graceMs);
  return new Promise<void>((resolve) => {
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** `http://` or `https://` host:port, for the URLs printed and returned. */
export function listenerUrl(tls: ListenerTls | undefined, host: string, port: number): string {
  return `${tls === undefined ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
