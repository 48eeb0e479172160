// The floor for the gRPC bench: a bare node:http2 proxy that forwards each
// stream the obvious way (request piped up, response piped down, trailers
// passed on), no routing, no limits, no records. Junction's gRPC face does
// strictly more; the bench reads its cost as a ratio to this.
//
//   node grpc-floor.mjs <port> <upstream host:port>
import { connect, createServer, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';

const [port, upstream] = process.argv.slice(2);
let session: ClientHttp2Session | undefined;
const upstreamSession = () => {
  if (session === undefined || session.closed || session.destroyed) {
    session = connect(`http://${upstream}`);
    session.on('error', () => (session = undefined));
  }
  return session;
};
const server = createServer();
server.on('stream', (stream, headers: IncomingHttpHeaders) => {
  stream.on('error', () => undefined);
  const out: Record<string, string | string[] | undefined> = {};
  for (const key in headers) if (key !== ':authority' && key !== ':scheme') out[key] = headers[key];
  const up = upstreamSession().request(out);
  up.on('error', () => stream.destroy());
  let trailers: IncomingHttpHeaders = { 'grpc-status': '0' };
  up.on('trailers', (t) => (trailers = t));
  up.on('response', (h) => {
    const status = h[':status'];
    const reply: Record<string, string | string[] | number | undefined> = { ...h, ':status': status };
    stream.respond(reply, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    up.pipe(stream);
  });
  stream.pipe(up);
});
server.listen(Number(port), '127.0.0.1');
