// An OIP REST server for tensors of any size: it never holds a request body,
// only hashes it as it streams in (SHA-256) and counts its bytes, then answers
// `infer` in the binary data extension: a JSON header, the 32-byte digest of
// what it received as output DIGEST, and `replyBytes` more bytes as output
// ECHO (a repeated 64 KiB pattern, see `patternDigest`). Tests check the exact
// bytes crossed Junction both ways; the tensors bench (bench/tensors.ts) uses
// it as the model server, in a process of its own.
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DigestRequest {
  url: string;
  headers: IncomingHttpHeaders;
  bytes: number;
  sha256: string;
}

export interface DigestServer {
  url: string;
  server: Server;
  /** Every infer received, in order (headers, byte count and digest: never the body). */
  received: DigestRequest[];
  close(): Promise<void>;
}

/** The pattern ECHO repeats: 64 KiB of bytes 0..255, over and over. */
export const PATTERN = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => i & 255));

/** SHA-256 (hex) of `bytes` bytes of the repeated pattern, as a client checks ECHO. */
export function patternDigest(bytes: number): string {
  const hash = createHash('sha256');
  for (let left = bytes; left > 0; left -= PATTERN.length)
    hash.update(PATTERN.subarray(0, Math.min(left, PATTERN.length)));
  return hash.digest('hex');
}

/** The answer's JSON header and its tensors, as the binary data extension lays them out. */
function answer(digest: Buffer, replyBytes: number): { header: Buffer; total: number } {
  const outputs: object[] = [{ name: 'DIGEST', datatype: 'UINT8', shape: [32], parameters: { binary_data_size: 32 } }];
  if (replyBytes > 0)
    outputs.push({
      name: 'ECHO',
      datatype: 'UINT8',
      shape: [replyBytes],
      parameters: { binary_data_size: replyBytes },
    });
  const header = Buffer.from(JSON.stringify({ model_name: 'digest', model_version: '1', outputs }));
  return { header, total: header.length + digest.length + replyBytes };
}

export interface DigestServerOptions {
  /** Bytes of ECHO in every answer (default 0). */
  replyBytes?: number;
  port?: number;
  /** Told the body bytes received so far by the infer in progress, as they arrive. */
  progress?: (bytes: number) => void;
}

export async function startDigestServer(opts: DigestServerOptions = {}): Promise<DigestServer> {
  const replyBytes = opts.replyBytes ?? 0;
  const received: DigestRequest[] = [];
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      // Readiness (the health check) and anything else that is not an infer.
      res.writeHead(200, { 'content-length': 0 });
      res.end();
      return;
    }
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
      opts.progress?.(bytes);
    });
    req.on('end', () => {
      const digest = hash.digest();
      received.push({ url: req.url ?? '/', headers: req.headers, bytes, sha256: digest.toString('hex') });
      const { header, total } = answer(digest, replyBytes);
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': header.length,
        'content-length': total,
      });
      res.write(header);
      res.write(digest);
      // ECHO in pattern-sized writes, honouring back-pressure: the server never holds the reply either.
      let left = replyBytes;
      const more = () => {
        while (left > 0) {
          const n = Math.min(left, PATTERN.length);
          left -= n;
          if (!res.write(PATTERN.subarray(0, n))) {
            res.once('drain', more);
            return;
          }
        }
        res.end();
      };
      more();
    });
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    received,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
