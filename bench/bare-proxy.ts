// The floor for any Node.js gateway: node:http in, undici Pool out, a coin
// flip between two upstreams, bodies piped, nothing else. Junction is measured
// against this (SPEC §9: ≥ 0.9×).
import { createServer } from 'node:http';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

const [port, a, b] = process.argv.slice(2);
const pools = [new Pool(a!, { connections: 128 }), new Pool(b!, { connections: 128 })];

createServer((req, res) => {
  const pool = pools[Math.random() < 0.5 ? 0 : 1]!;
  pool.request({ path: req.url!, method: req.method as 'POST', headers: req.headers, body: req }).then(
    (up) => {
      res.writeHead(up.statusCode, up.headers as Record<string, string>);
      pipeline(up.body, res, () => undefined);
    },
    () => { res.writeHead(502); res.end(); },
  );
}).listen(Number(port), '127.0.0.1');
