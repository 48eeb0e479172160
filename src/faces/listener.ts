// The one place a listening server is made, plain or TLS (SPEC §4:
// `serve --tls-cert FILE --tls-key FILE` serves the data plane and the admin
// API over HTTPS). Both servers are node:http servers underneath; with TLS
// they are node:https ones, the same request handling on top.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

/** A listener's certificate chain and key, PEM. */
export interface ListenerTls {
  cert: Buffer;
  key: Buffer;
}

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

export function createListener(tls: ListenerTls | undefined, options: ServerOptions, handler: RequestListener): Server {
  // An https.Server is an http.Server (tls.Server underneath) with the same request events.
  return tls === undefined
    ? createHttpServer(options, handler)
    : createHttpsServer({ ...options, cert: tls.cert, key: tls.key }, handler);
}

/** `http://` or `https://` host:port, for the URLs printed and returned. */
export function listenerUrl(tls: ListenerTls | undefined, host: string, port: number): string {
  return `${tls === undefined ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
