// A real HTTP upstream for tests: records what it received and answers as told.
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface Upstream {
  url: string;
  server: Server;
  received: Received[];
  /** Replace the handler (default: 200 JSON naming the upstream). */
  handle(handler: Handler): void;
  close(): Promise<void>;
}

export async function startUpstream(name = 'upstream', opts: { bufferBody?: boolean } = {}): Promise<Upstream> {
  const received: Received[] = [];
  let handler: Handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ served: name }));
  };
  const server = createServer(
    (req, res) =>
      void (async () => {
        if (opts.bufferBody === false) {
          received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.alloc(0) });
          await handler(req, res, Buffer.alloc(0));
          return;
        }
        const chunks: Buffer[] = [];
        try {
          for await (const c of req) chunks.push(c as Buffer);
        } catch {
          return; // the proxy cut the request (e.g. body over its limit): nothing to answer
        }
        const body = Buffer.concat(chunks);
        received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        await handler(req, res, body);
      })(),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    received,
    handle(h) {
      handler = h;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
