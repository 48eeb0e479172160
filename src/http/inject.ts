// junction.inject(): a request through the data plane's own request handler,
// without a socket (in the spirit of fastify's `inject` and Hono's
// `app.request`). The handler is the one the listening server runs (taken from
// the server, not rebuilt), so routing, admission, policies, backends,
// observers and error replies are exactly those of a request over the network.
// What it cannot show is the network itself: back-pressure from a slow client,
// socket timeouts, TLS. Tests of those keep real sockets.
//
// The fake request/response pair is light-my-request's (fastify's library for
// exactly this). A streamed reply (SSE) is collected whole.
import type { IncomingHttpHeaders, OutgoingHttpHeaders, RequestListener, Server } from 'node:http';
import type { Readable } from 'node:stream';
import lightMyRequest from 'light-my-request';

export interface InjectRequest {
  method?: string;
  /** Path and query, e.g. `/v1/objectives/rank?x=1`. */
  url: string;
  headers?: OutgoingHttpHeaders;
  /** Bytes or text as sent; a plain object is sent as JSON (content-type set unless given). */
  body?: string | Buffer | Uint8Array | Readable | object;
  /** The client's address as the handler sees it (default 127.0.0.1). */
  remoteAddress?: string;
}

export interface InjectResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The whole body as text (a stream's events concatenated). */
  body: string;
  rawBody: Buffer;
  json<T = unknown>(): T;
}

/** Runs one request through `server`'s request handler; the server need not listen. */
export async function injectInto(server: Server, req: InjectRequest): Promise<InjectResponse> {
  const handler = server.listeners('request')[0] as RequestListener | undefined;
  if (handler === undefined) throw new Error('the server has no request handler');
  // light-my-request's response writes to a null socket, so Node never reports it finished
  // (writableFinished stays false) and the request would be recorded as a caller who left.
  // Finished, for an in-memory response, is ended: the whole reply was handed over.
  const injected: RequestListener = (request, response) => {
    Object.defineProperty(response, 'writableFinished', { get: () => response.writableEnded });
    return handler(request, response);
  };
  const res = await lightMyRequest(injected, {
    method: (req.method ?? 'GET') as 'GET',
    url: req.url,
    headers: req.headers,
    payload: req.body instanceof Uint8Array && !Buffer.isBuffer(req.body) ? Buffer.from(req.body) : req.body,
    remoteAddress: req.remoteAddress,
  });
  const rawBody = res.rawPayload;
  return {
    status: res.statusCode,
    headers: res.headers as IncomingHttpHeaders,
    body: rawBody.toString('utf8'),
    rawBody,
    json: <T>() => JSON.parse(rawBody.toString('utf8')) as T,
  };
}
