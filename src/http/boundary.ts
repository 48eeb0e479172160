// The one request boundary every listener the process runs goes through (data
// plane, admin API, any later face): a handler may throw or reject anywhere,
// and the boundary turns it into the documented error reply. If even writing
// that reply fails, the socket is destroyed: never an uncaught exception, so
// one request can never end the process.
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;
/** Writes the error reply for a failed request; must not throw, but the boundary copes if it does. */
export type OnFailure = (req: IncomingMessage, res: ServerResponse, err: unknown) => void;
/** Told when even the error reply could not be written (a bug): for the logs. */
export type OnBug = (err: unknown) => void;

export function requestBoundary(handle: Handler, onFailure: OnFailure, onBug: OnBug): RequestListener {
  const failSafely = (req: IncomingMessage, res: ServerResponse, err: unknown) => {
    try {
      onFailure(req, res, err);
    } catch (bug) {
      try {
        onBug(bug);
      } catch {
        /* a logger that throws must not end the process either */
      }
      res.destroy();
    }
  };
  return (req, res) => {
    let done: Promise<void> | void;
    try {
      done = handle(req, res);
    } catch (err) {
      failSafely(req, res, err);
      return;
    }
    if (done !== undefined) done.catch((err: unknown) => failSafely(req, res, err));
  };
}

/** Parser failures that have their own status; anything else malformed is a 400. */
const CLIENT_ERROR_STATUS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/** How long a socket answered with a bare status may wait for its peer to read it and leave. */
const CLIENT_ERROR_LINGER_MS = 2_000;

type MaybeTls = Socket & { _secureEstablished?: boolean; _httpMessage?: { headersSent?: boolean } | null };

/**
 * Malformed bytes Node's parser rejects never reach a handler: answer them
 * with a bare status and close (the same on every listener). Closed means
 * closed: the socket is destroyed once the answer is written (or after a
 * short linger), never left half-open waiting on a peer that may never leave.
 * A TLS socket whose handshake never finished (timed out, reset, not TLS)
 * cannot carry an answer: writing one would wait on the handshake forever,
 * so it is destroyed at once.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: MaybeTls) => {
    const replyStarted = socket._httpMessage?.headersSent === true;
    if (!socket.writable || socket._secureEstablished === false || replyStarted) {
      socket.destroy();
      return;
    }
    socket.end(
      `HTTP/1.1 ${CLIENT_ERROR_STATUS[err.code ?? ''] ?? '400 Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
    );
    // HTTP sockets are half-open capable: end() alone waits for the peer's FIN, which may never come.
    setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
  });
}

/** `/a/b?x=1` → path and query (with its `?`, or ''); never throws, whatever the request line held. */
export function splitUrl(url: string | undefined): { path: string; query: string } {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? { path: u, query: '' } : { path: u.slice(0, q), query: u.slice(q) };
}

const CONTINUE = Symbol('junction.expectsContinue');
type Expecting = IncomingMessage & { [CONTINUE]?: boolean };

/**
 * `Expect: 100-continue` is answered here, on the caller's side, never
 * forwarded: the listener marks such requests instead of letting Node answer
 * 100 at once, and the route calls `continueBody` once the request is
 * admitted, so a refused caller never sends its body.
 */
export function answerExpectContinue(server: Server, listener: RequestListener): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    (req as Expecting)[CONTINUE] = true;
    listener(req, res);
  });
}

/** Tells a caller waiting on `Expect: 100-continue` to send its body (once). */
export function continueBody(req: IncomingMessage, res: ServerResponse): void {
  const r = req as Expecting;
  if (r[CONTINUE] !== true) return;
  r[CONTINUE] = false;
  if (!res.headersSent && !res.destroyed) res.writeContinue();
}
