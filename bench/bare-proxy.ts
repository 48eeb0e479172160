// The floor for any Node.js gateway, written the obvious way: node:http in, an
// undici Pool out (default settings), a coin flip between two upstreams, the
// caller's headers passed on, `up.body.pipe(res)`, nothing else. Junction is
// measured against this (SPEC §9: ≥ 0.9×).
//
// It runs as plain JavaScript (bench/http.ts compiles it with esbuild first),
// as Junction runs from dist/: a TypeScript loader in the process (tsx) turns
// on source maps and costs a proxy like this a third of its throughput here.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, a, b] = process.argv.slice(2);
const pools = [new Pool(a!), new Pool(b!)];

createServer((req, res) => {
  const pool = pools[Math.random() < 0.5 ? 0 : 1]!;
  pool.request({ path: req.url!, method: req.method as 'POST', headers: req.headers, body: req }).then(
    (up) => {
      res.writeHead(up.statusCode, up.headers as Record<string, string>);
      up.body.pipe(res);
    },
    () => {
      res.writeHead(502);
      res.end();
    },
  );
}).listen(Number(port), '127.0.0.1');
